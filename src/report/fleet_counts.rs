//! Live counts of the fleet per zone, charge type and state, kept up to date from state
//! changes so that sampling costs O(zones × charge types × states), never O(instances).

use crate::cloud::{Change, ChargeType, InstanceState};

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Count {
    pub instances: u64,
    pub vcpus: u64,
    pub memory_gib: u64,
}

/// counts[zone][charge][state].
#[derive(Clone, Debug)]
pub struct FleetCounts {
    zones: usize,
    cells: Vec<Count>,
}

const CHARGES: usize = 3;

impl FleetCounts {
    pub fn new(zones: usize) -> Self {
        FleetCounts {
            zones,
            cells: vec![Count::default(); zones * CHARGES * InstanceState::COUNT],
        }
    }

    fn at(&self, zone: usize, c: ChargeType, s: InstanceState) -> usize {
        (zone * CHARGES + c.index()) * InstanceState::COUNT + s.index()
    }

    pub fn get(&self, zone: usize, c: ChargeType, s: InstanceState) -> Count {
        self.cells[self.at(zone, c, s)]
    }

    pub fn zones(&self) -> usize {
        self.zones
    }

    /// Instances in the fleet (every state).
    pub fn total_instances(&self) -> u64 {
        self.cells.iter().map(|c| c.instances).sum()
    }

    pub fn apply(&mut self, ch: &Change<'_>) {
        if ch.from == ch.to
            && ch.from_type == ch.instance.itype
            && ch.from_charge == ch.instance.charge
        {
            return;
        }
        let inst = ch.instance;
        let z = inst.zone.0 as usize;
        if let Some(from) = ch.from {
            let t = ch.catalog.itype(ch.from_type);
            let i = self.at(z, ch.from_charge, from);
            let c = &mut self.cells[i];
            c.instances -= 1;
            c.vcpus -= t.vcpus as u64;
            c.memory_gib -= t.memory_gib as u64;
        }
        let t = ch.catalog.itype(inst.itype);
        if let Some(to) = ch.to {
            let i = self.at(z, inst.charge, to);
            let c = &mut self.cells[i];
            c.instances += 1;
            c.vcpus += t.vcpus as u64;
            c.memory_gib += t.memory_gib as u64;
        }
    }
}
