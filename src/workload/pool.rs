//! A prepaid base: instances bought PREPAID up front (auto-renewed) per zone and type, on which
//! the workloads it serves place their jobs before launching anything postpaid. This is how a
//! team uses prepaid capacity for the steady part of its demand.

use std::collections::HashSet;

use crate::cloud::{InstanceId, TypeIdx, ZoneIdx};

#[derive(Clone, Debug)]
pub struct Pool {
    types: usize,
    /// Target size per zone × type.
    sizes: Vec<u32>,
    idle: Vec<Vec<InstanceId>>,
    members: HashSet<InstanceId>,
    /// Which workloads place jobs on the base.
    scope: Vec<bool>,
    pub period_months: u32,
}

impl Pool {
    /// A base of `sizes[zone * types + type]` instances serving the workloads marked in
    /// `scope`.
    pub fn new(types: usize, sizes: Vec<u32>, scope: Vec<bool>, period_months: u32) -> Self {
        Pool {
            types,
            idle: vec![Vec::new(); sizes.len()],
            sizes,
            members: HashSet::new(),
            scope,
            period_months,
        }
    }

    fn cell(&self, z: ZoneIdx, t: TypeIdx) -> usize {
        z.0 as usize * self.types + t.0 as usize
    }

    /// What to buy: (zone, type, count) for every cell with a size.
    pub fn orders(&self) -> Vec<(ZoneIdx, TypeIdx, u32)> {
        self.sizes
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| {
                (
                    ZoneIdx((i / self.types) as u16),
                    TypeIdx((i % self.types) as u16),
                    n,
                )
            })
            .collect()
    }

    pub fn serves(&self, workload: u32) -> bool {
        self.scope.get(workload as usize).copied().unwrap_or(false)
    }

    pub fn is_member(&self, id: InstanceId) -> bool {
        self.members.contains(&id)
    }

    pub fn add(&mut self, z: ZoneIdx, t: TypeIdx, id: InstanceId) {
        self.members.insert(id);
        let c = self.cell(z, t);
        self.idle[c].push(id);
    }

    /// An idle base instance of the type in the zone, if any.
    pub fn take(&mut self, z: ZoneIdx, t: TypeIdx) -> Option<InstanceId> {
        let c = self.cell(z, t);
        self.idle[c].pop()
    }

    pub fn give_back(&mut self, z: ZoneIdx, t: TypeIdx, id: InstanceId) {
        let c = self.cell(z, t);
        self.idle[c].push(id);
    }

    /// Total size of the base.
    pub fn size(&self) -> u32 {
        self.sizes.iter().sum()
    }
}
