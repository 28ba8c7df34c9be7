//! Who calls the API: sources of demand. A workload draws everything about a request (when it
//! comes, its type, zone and lifetimes) from its own random stream in a fixed order at arrival,
//! so the demand sample path does not depend on what the control plane answers (common random
//! numbers across strategies).

pub mod ahead;
pub mod arrival;
pub mod autoscale;
pub mod faults;
pub mod fit;
pub mod lifetimes;
pub mod pool;
pub mod script;
pub mod trace;

use serde::{Deserialize, Serialize};

use crate::cloud::pricing::Attachments;
use crate::cloud::{ChargeType, InstanceId, RenewFlag, TypeIdx, ZoneIdx};
use crate::engine::{Dist, RandomStream, RngStreams, SimDuration, SimTime};

/// A workload, resolved to catalogue indices.
#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    pub name: String,
    pub charge: ChargeType,
    /// Requests per millisecond (the base rate of a non-homogeneous process).
    pub rate_per_ms: f64,
    /// Profile, growth, bursts and batch sizes (see [`arrival`]).
    pub arrival: arrival::ArrivalSpec,
    /// Lifetime in milliseconds.
    pub lifetime: Dist,
    /// Per entry of `types`: the lifetime law replacing `lifetime` for that type, if any.
    pub lifetime_by_type: Vec<Option<Dist>>,
    pub types: Vec<TypeIdx>,
    pub type_cumulative: Vec<f64>,
    pub zones: Vec<ZoneIdx>,
    pub zone_cumulative: Vec<f64>,
    pub placement: Placement,
    pub per_request: u32,
    pub period_months: u32,
    pub renew_flag: RenewFlag,
    /// Spot bid, micro-CNY per hour.
    pub max_price: Option<u64>,
    /// For SPOTPAID: the charge type to launch on instead when spot is refused or reclaimed.
    pub fallback: Option<ChargeType>,
    /// On a quota or stock refusal, try the next zone at once (`zone_fallback`).
    pub zone_fallback: bool,
    /// Relaunch instances the platform lost or stopped (`replace_failed`).
    pub replace_failed: bool,
    /// `least_quota_used`: how long a DescribeAccountQuota answer is used.
    pub quota_refresh: SimDuration,
    /// RunInstances `SystemDisk`, `DataDisks`, `InternetAccessible`.
    pub attach: Option<std::sync::Arc<Attachments>>,
}

/// Zone placement policies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Random, in proportion to the weights.
    #[default]
    Weighted,
    /// Cycle through the zones in name order (weights ignored).
    RoundRobin,
    /// The zone whose quota for the charge type is least used (used / total), from a cached
    /// DescribeAccountQuota call.
    LeastQuotaUsed,
    /// The zone where the type is cheapest (the spot market price for SPOTPAID).
    Cheapest,
    /// The zone with the fewest of this workload's instances alive.
    Spread,
}

/// How clients retry (resolved from `[api.retry]`).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: SimDuration,
    pub max_delay: SimDuration,
    pub jitter: bool,
}

/// The lifetimes of one request's instances.
pub type Lifetimes = smallvec::SmallVec<[SimDuration; 2]>;

/// One request drawn from a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Demand {
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    pub period_months: u32,
    /// One lifetime per instance asked for, counted from the request. Inline up to two: a
    /// request is drawn on every arrival, and a heap allocation each was a measurable share of
    /// a large run.
    pub lifetimes: Lifetimes,
    /// When the request was first made.
    pub requested: SimTime,
    /// Zones that refused this request for its charge type (`zone_fallback` tries each zone
    /// once per request; a retry or a change of charge type starts the list afresh).
    pub tried: Vec<ZoneIdx>,
}

/// A running workload.
pub struct Workload {
    pub spec: WorkloadSpec,
    /// Where its requests come from: drawn here, or ahead on a helper thread.
    source: Source,
    /// Requests made, instances asked for, and instances refused by the control plane.
    pub requests: u64,
    pub asked: u64,
    pub refused: u64,
}

/// A workload's draws: its random streams and the state of its arrival process. Everything a
/// request is (when it comes, its type, zone and lifetimes) follows from these alone.
pub struct Drawer {
    arrivals: RandomStream,
    attributes: RandomStream,
    /// State of a non-homogeneous arrival process (profile, growth, bursts).
    process: arrival::ArrivalProcess,
    round_robin: usize,
    /// The time of the next request, once drawn: where drawing ahead starts.
    upcoming: Option<SimTime>,
}

enum Source {
    /// Boxed: a drawer holds its streams' buffers (about 1 KB), a feed a few channels.
    Here(Box<Drawer>),
    Ahead(ahead::Feed),
}

impl Workload {
    pub fn new(spec: WorkloadSpec, streams: &RngStreams) -> Self {
        let arrivals = streams.stream(&format!("workload:{}:arrivals", spec.name));
        let attributes = streams.stream(&format!("workload:{}:attributes", spec.name));
        let process = arrival::ArrivalProcess::new(&spec.arrival, streams, &spec.name);
        Workload {
            spec,
            source: Source::Here(Box::new(Drawer {
                arrivals,
                attributes,
                process,
                round_robin: 0,
                upcoming: None,
            })),
            requests: 0,
            asked: 0,
            refused: 0,
        }
    }

    /// Time of the next request after `now`: exponential gaps of a Poisson process, or the
    /// next point of the workload's non-homogeneous process (see [`arrival`]). Called once
    /// at the start (with zero) and then after each [`Workload::draw`], at its time.
    pub fn next_arrival(&mut self, now: SimTime) -> SimTime {
        match &mut self.source {
            Source::Here(d) => d.next_arrival(&self.spec, now),
            Source::Ahead(feed) => feed.next_arrival(),
        }
    }

    /// Whether its requests are being drawn ahead on a helper thread ([`ahead::draw_ahead`]).
    pub fn drawn_ahead(&self) -> bool {
        matches!(self.source, Source::Ahead(_))
    }

    /// Draws the next request's attributes, in a fixed order: type, zone, batch size (when it
    /// is random), then one lifetime per instance from the type's lifetime law.
    pub fn draw(&mut self, now: SimTime) -> Demand {
        let demand = match &mut self.source {
            Source::Here(d) => d.draw(&self.spec, now),
            Source::Ahead(feed) => match feed.draw(now) {
                Ok(demand) => demand,
                // Past the horizon the helper drew to, the drawer is back: go on here.
                Err(mut d) => {
                    let demand = d.draw(&self.spec, now);
                    self.source = Source::Here(d);
                    demand
                }
            },
        };
        self.requests += 1;
        self.asked += demand.lifetimes.len() as u64;
        demand
    }
}

impl Drawer {
    fn next_arrival(&mut self, spec: &WorkloadSpec, now: SimTime) -> SimTime {
        let t = if !spec.arrival.is_homogeneous() {
            self.process
                .next(now, spec.rate_per_ms, &spec.arrival, &mut self.arrivals)
        } else {
            let gap = -self.arrivals.uniform().ln() / spec.rate_per_ms;
            // Gaps are rounded to the millisecond; a gap of 0 ms is a legal tie.
            now + SimDuration(crate::engine::dist::round(gap).min(1e15) as u64)
        };
        self.upcoming = Some(t);
        t
    }

    fn draw(&mut self, s: &WorkloadSpec, now: SimTime) -> Demand {
        let ti = self.attributes.pick_cumulative(&s.type_cumulative);
        let itype = s.types[ti];
        let zone = match s.placement {
            // The policies that read the fleet (the world applies them to the drawn demand)
            // draw the weighted zone all the same, so the rest of the draw (batch size,
            // lifetimes) is the one `weighted` makes, whatever the fleet looks like.
            Placement::Weighted
            | Placement::LeastQuotaUsed
            | Placement::Cheapest
            | Placement::Spread => s.zones[self.attributes.pick_cumulative(&s.zone_cumulative)],
            Placement::RoundRobin => {
                let z = s.zones[self.round_robin % s.zones.len()];
                self.round_robin += 1;
                z
            }
        };
        let k = match &s.arrival.batch {
            Some(b) => b.sample(&mut self.attributes),
            None => s.per_request,
        };
        let law = s
            .lifetime_by_type
            .get(ti)
            .and_then(Option::as_ref)
            .unwrap_or(&s.lifetime);
        let lifetimes = (0..k)
            .map(|_| {
                SimDuration(
                    crate::engine::dist::round(law.sample(&mut self.attributes)).max(1.0) as u64,
                )
            })
            .collect();
        Demand {
            zone,
            itype,
            charge: s.charge,
            period_months: s.period_months,
            lifetimes,
            requested: now,
            tried: Vec::new(),
        }
    }
}

/// A request for an instance to be ended, kept until the instance can take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndRequest {
    pub workload: u32,
    pub id: InstanceId,
}
