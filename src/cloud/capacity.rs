//! Quotas (DescribeAccountQuota) and zone stock: the two walls a growing fleet hits.

use super::catalog::{ChargeType, TypeIdx, ZoneIdx};

/// One zone's quota settings. `None` means unlimited.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZoneQuota {
    /// POSTPAID_BY_HOUR instances alive at once.
    pub postpaid: Option<u32>,
    /// PREPAID instances purchased (counted while alive).
    pub prepaid: Option<u32>,
    /// Most PREPAID instances in one purchase (`OnceQuota`).
    pub prepaid_once: Option<u32>,
    /// SPOTPAID vCPU cores alive at once.
    pub spot_cores: Option<u32>,
    /// Part of each quota already used outside the simulation (console purchases).
    pub used_outside: [u32; 3],
}

/// Quota use per zone and charge type.
#[derive(Clone, Debug)]
pub struct Quotas {
    limits: Vec<ZoneQuota>,
    /// used[zone][charge]: instances (prepaid, postpaid) or vCPU cores (spot), by the simulation.
    used: Vec<[u32; 3]>,
    /// The 30-day month prepaid use counts in.
    month: u64,
}

impl Quotas {
    pub fn new(limits: Vec<ZoneQuota>) -> Self {
        let n = limits.len();
        Quotas {
            limits,
            used: vec![[0; 3]; n],
            month: 0,
        }
    }

    /// How many quota units one instance of `vcpus` takes under `charge`.
    pub fn units(charge: ChargeType, vcpus: u32) -> u32 {
        if charge == ChargeType::Spotpaid {
            vcpus
        } else {
            1
        }
    }

    pub fn total(&self, z: ZoneIdx, c: ChargeType) -> Option<u32> {
        let l = &self.limits[z.0 as usize];
        match c {
            ChargeType::Prepaid => l.prepaid,
            ChargeType::PostpaidByHour => l.postpaid,
            ChargeType::Spotpaid => l.spot_cores,
        }
    }

    pub fn once(&self, z: ZoneIdx) -> Option<u32> {
        self.limits[z.0 as usize].prepaid_once
    }

    /// Used units, counting those used outside the simulation.
    pub fn used(&self, z: ZoneIdx, c: ChargeType) -> u32 {
        self.used[z.0 as usize][c.index()] + self.limits[z.0 as usize].used_outside[c.index()]
    }

    /// Units still free (`u32::MAX` when unlimited).
    pub fn remaining(&self, z: ZoneIdx, c: ChargeType) -> u32 {
        match self.total(z, c) {
            None => u32::MAX,
            Some(t) => t.saturating_sub(self.used(z, c)),
        }
    }

    /// Prepaid `UsedQuota` counts this month's purchases: a new (30-day) month starts from
    /// zero. Called before every API call.
    pub fn roll_month(&mut self, now: crate::engine::SimTime) {
        let month = now.ms() / crate::cloud::api::prepaid_period(1).ms();
        if month != self.month {
            self.month = month;
            for u in &mut self.used {
                u[ChargeType::Prepaid.index()] = 0;
            }
        }
    }

    pub fn take(&mut self, z: ZoneIdx, c: ChargeType, units: u32) {
        self.used[z.0 as usize][c.index()] += units;
    }

    pub fn give_back(&mut self, z: ZoneIdx, c: ChargeType, units: u32) {
        let u = &mut self.used[z.0 as usize][c.index()];
        *u = u.saturating_sub(units);
    }

    pub fn zones(&self) -> usize {
        self.limits.len()
    }
}

/// Stock per zone and instance type, in instances. `None` means ample.
#[derive(Clone, Debug)]
pub struct Stock {
    types: usize,
    /// capacity[zone * types + type]; `None` = unlimited.
    capacity: Vec<Option<u32>>,
    used: Vec<u32>,
    /// Whether the zone sells the type at all (`ResourceUnavailable.InstanceType` if not).
    offered: Vec<bool>,
    /// Zones in an outage (`[[faults]]`): nothing can be placed there until it ends.
    down: Vec<bool>,
}

/// The outcome of asking for stock.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StockAnswer {
    Available,
    NotOffered,
    /// Some left, fewer than asked.
    Low(u32),
    SoldOut,
}

impl Stock {
    pub fn new(zones: usize, types: usize) -> Self {
        Stock {
            types,
            capacity: vec![None; zones * types],
            used: vec![0; zones * types],
            offered: vec![true; zones * types],
            down: vec![false; zones],
        }
    }

    /// Marks a zone as out (an outage) or back.
    pub fn set_zone_down(&mut self, z: ZoneIdx, down: bool) {
        self.down[z.0 as usize] = down;
    }

    /// Whether the zone is in an outage.
    pub fn zone_down(&self, z: ZoneIdx) -> bool {
        self.down[z.0 as usize]
    }

    fn at(&self, z: ZoneIdx, t: TypeIdx) -> usize {
        z.0 as usize * self.types + t.0 as usize
    }

    pub fn set_capacity(&mut self, z: ZoneIdx, t: TypeIdx, cap: Option<u32>) {
        let i = self.at(z, t);
        self.capacity[i] = cap;
    }

    pub fn set_offered(&mut self, z: ZoneIdx, t: TypeIdx, offered: bool) {
        let i = self.at(z, t);
        self.offered[i] = offered;
    }

    pub fn capacity(&self, z: ZoneIdx, t: TypeIdx) -> Option<u32> {
        self.capacity[self.at(z, t)]
    }

    pub fn used(&self, z: ZoneIdx, t: TypeIdx) -> u32 {
        self.used[self.at(z, t)]
    }

    /// Whether the zone offers the type at all (sold out or not).
    pub fn offered(&self, z: ZoneIdx, t: TypeIdx) -> bool {
        self.offered[self.at(z, t)]
    }

    pub fn free(&self, z: ZoneIdx, t: TypeIdx) -> u32 {
        let i = self.at(z, t);
        match self.capacity[i] {
            None => u32::MAX,
            Some(c) => c.saturating_sub(self.used[i]),
        }
    }

    pub fn ask(&self, z: ZoneIdx, t: TypeIdx, n: u32) -> StockAnswer {
        let i = self.at(z, t);
        if !self.offered[i] {
            return StockAnswer::NotOffered;
        }
        let free = self.free(z, t);
        if free >= n {
            StockAnswer::Available
        } else if free == 0 {
            StockAnswer::SoldOut
        } else {
            StockAnswer::Low(free)
        }
    }

    /// `DescribeZoneInstanceConfigInfos` status: SELL or SOLD_OUT.
    pub fn status(&self, z: ZoneIdx, t: TypeIdx) -> &'static str {
        if self.offered[self.at(z, t)] && self.free(z, t) > 0 && !self.zone_down(z) {
            "SELL"
        } else {
            "SOLD_OUT"
        }
    }

    pub fn take(&mut self, z: ZoneIdx, t: TypeIdx, n: u32) {
        let i = self.at(z, t);
        self.used[i] += n;
    }

    pub fn give_back(&mut self, z: ZoneIdx, t: TypeIdx, n: u32) {
        let i = self.at(z, t);
        self.used[i] = self.used[i].saturating_sub(n);
    }
}
