//! Who calls the API: sources of demand. A workload draws everything about a request (when it
//! comes, its type, zone and lifetimes) from its own random stream in a fixed order at arrival,
//! so the demand sample path does not depend on what the control plane answers (common random
//! numbers across strategies).

pub mod pool;
pub mod script;

use crate::cloud::{ChargeType, InstanceId, TypeIdx, ZoneIdx};
use crate::engine::{RandomStream, RngStreams, SimDuration, SimTime};
use crate::scenario::WorkloadSpec;
use crate::scenario::schema::Placement;

/// One request drawn from a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Demand {
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    pub period_months: u32,
    /// One lifetime per instance asked for, counted from the request.
    pub lifetimes: Vec<SimDuration>,
    /// When the request was first made.
    pub requested: SimTime,
}

/// A running workload.
pub struct Workload {
    pub spec: WorkloadSpec,
    arrivals: RandomStream,
    attributes: RandomStream,
    round_robin: usize,
    /// Requests made, instances asked for, and instances refused by the control plane.
    pub requests: u64,
    pub asked: u64,
    pub refused: u64,
}

impl Workload {
    pub fn new(spec: WorkloadSpec, streams: &RngStreams) -> Self {
        let arrivals = streams.stream(&format!("workload:{}:arrivals", spec.name));
        let attributes = streams.stream(&format!("workload:{}:attributes", spec.name));
        Workload {
            spec,
            arrivals,
            attributes,
            round_robin: 0,
            requests: 0,
            asked: 0,
            refused: 0,
        }
    }

    /// Time of the next request after `now` (exponential gaps of a Poisson process).
    pub fn next_arrival(&mut self, now: SimTime) -> SimTime {
        let gap = -self.arrivals.uniform().ln() / self.spec.rate_per_ms;
        // Gaps are rounded to the millisecond; a gap of 0 ms is a legal tie.
        now + SimDuration(gap.round().min(1e15) as u64)
    }

    /// Draws the next request's attributes.
    pub fn draw(&mut self, now: SimTime) -> Demand {
        let s = &self.spec;
        let itype = s.types[self.attributes.pick_cumulative(&s.type_cumulative)];
        let zone = match s.placement {
            Placement::Weighted => s.zones[self.attributes.pick_cumulative(&s.zone_cumulative)],
            Placement::RoundRobin => {
                let z = s.zones[self.round_robin % s.zones.len()];
                self.round_robin += 1;
                z
            }
        };
        let lifetimes = (0..s.per_request)
            .map(|_| SimDuration(s.lifetime.sample(&mut self.attributes).round().max(1.0) as u64))
            .collect();
        self.requests += 1;
        self.asked += s.per_request as u64;
        Demand {
            zone,
            itype,
            charge: s.charge,
            period_months: s.period_months,
            lifetimes,
            requested: now,
        }
    }
}

/// A request for an instance to be ended, kept until the instance can take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndRequest {
    pub workload: u32,
    pub id: InstanceId,
}
