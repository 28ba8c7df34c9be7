//! A workload's client (`Owner::Workload`): on each arrival it draws a request, places it by
//! its policy (`weighted`, `round_robin`, `spread`, `cheapest`, `least_quota_used`), serves
//! what it can from the shared prepaid pool and calls RunInstances for the rest (with its zone
//! and spot fallbacks, see [`Holder`]); it ends each instance when its lifetime is over, and
//! with `replace_failed` relaunches what the platform took from it.
//!
//! It learns only what a CVM client learns: call results and the state changes of its own
//! instances. The one shortcut is the spot price read of `cheapest` (prices are public).

use crate::cloud::api::{Notice, Observer, PlatformNotice, QuotaView};
use crate::cloud::capacity::Quotas;
use crate::cloud::{
    ActorIdx, ChargeType, Cloud, ErrorCode, InstanceId, InstanceKey, InstanceState, Request,
    Response, ZoneIdx,
};
use crate::engine::SimTime;
use crate::engine::hash::FxHashMap;
use crate::scenario::schema::Placement;
use crate::workload::{Demand, Workload};

use super::Event;
use super::actor::{Actor, Ctx, RetryCall};
use super::holder::{Held, Holder, Terms};

/// A workload client's own events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClientEvent {
    /// Its next request arrives.
    Arrival,
    /// Its work on the instance at this handle is done.
    End(InstanceKey),
}

/// Last DescribeAccountQuota answer for a charge type: (used, total) per zone. Its own
/// launches since are added to `used`.
struct QuotaCache {
    charge: ChargeType,
    zones: Vec<(u32, Option<u32>)>,
}

/// A workload and the client that makes its calls.
pub struct WorkloadClient {
    /// Its index in the scenario's workloads (`Owner::Workload(index)`).
    index: ActorIdx,
    /// The arrival model and its counts (requests, instances asked for and refused).
    pub workload: Workload,
    held: Held,
    /// Its instances alive per zone (catalogue index), from its launches and release notices
    /// (`spread`).
    alive: Vec<u32>,
    /// The quota answer `least_quota_used` places by.
    quota: Option<QuotaCache>,
    /// When it last asked (answered or not), so a refused call is not repeated at every
    /// request.
    quota_asked: Option<SimTime>,
    /// Lifetime ends of its instances, with `replace_failed`.
    replace_ends: FxHashMap<InstanceId, SimTime>,
}

/// Is this refusal one `zone_fallback` moves on from (quota or stock)?
fn zone_error(code: ErrorCode) -> bool {
    use ErrorCode as E;
    matches!(
        code,
        E::InstanceQuota
            | E::PrepayQuota
            | E::SpotQuota
            | E::SoldOutType
            | E::ResourceInsufficientType
            | E::InsufficientOfferingMinimum
            | E::ZoneSoldOut
            | E::TypeUnavailable
    )
}

impl WorkloadClient {
    /// Workload `index` of a cloud with `zones` zones.
    pub fn new(index: ActorIdx, workload: Workload, zones: usize) -> Self {
        WorkloadClient {
            index,
            workload,
            held: Held::default(),
            alive: vec![0; zones],
            quota: None,
            quota_asked: None,
            replace_ends: FxHashMap::default(),
        }
    }

    fn arrival<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        let w = self.index;
        let now = ctx.now();
        let mut demand = self.workload.draw(now);
        let next = self.workload.next_arrival(now);
        ctx.schedule_at(next, Event::Arrival(w));
        ctx.log_demand(w.into(), &demand);
        ctx.want(
            w.into(),
            demand.lifetimes.iter().map(|l| demand.requested + *l),
        );
        self.place(&mut demand, ctx);
        if let Some(pool) = ctx.pool.as_mut()
            && pool.serves(w.into())
        {
            // Place what the prepaid base can take on idle base instances; no API call.
            while let Some(id) = pool.take(demand.zone, demand.itype) {
                let Some(life) = demand.lifetimes.pop() else {
                    pool.give_back(demand.zone, demand.itype, id);
                    break;
                };
                let end = (demand.requested + life).max(now);
                if let Some(key) = ctx.cloud.fleet().key_of(id) {
                    ctx.sched.schedule_at(end, Event::End(w, key));
                }
            }
            if demand.lifetimes.is_empty() {
                return;
            }
        }
        self.launch(demand, 1, ctx);
    }

    /// Applies the placement policy to `demand` (the drawn zone stays for `weighted` and
    /// `round_robin`).
    fn place<O: Observer>(&mut self, demand: &mut Demand, ctx: &mut Ctx<'_, O>) {
        let spec = &self.workload.spec;
        if let Placement::Weighted | Placement::RoundRobin = spec.placement {
            // The zone drawn stands (the common case: nothing to copy or look up).
            return;
        }
        let zones = spec.zones.clone();
        let pick = match spec.placement {
            Placement::Weighted | Placement::RoundRobin => None,
            Placement::Spread => zones
                .iter()
                .copied()
                .min_by_key(|z| self.alive[z.0 as usize]),
            Placement::Cheapest => {
                let t = demand.itype;
                let price = ctx.cloud().catalog.price(t).clone();
                let mut best: Option<(u64, ZoneIdx)> = None;
                for &z in &zones {
                    let p = match demand.charge {
                        ChargeType::Spotpaid => ctx.spot_price(z, t),
                        ChargeType::PostpaidByHour => price.postpaid_hourly,
                        ChargeType::Prepaid => price.prepaid_monthly,
                    };
                    if best.is_none_or(|(b, _)| p < b) {
                        best = Some((p, z));
                    }
                }
                best.map(|(_, z)| z)
            }
            Placement::LeastQuotaUsed => {
                self.refresh_quota(demand.charge, ctx);
                match &self.quota {
                    Some(q) if q.charge == demand.charge => {
                        let key = |z: ZoneIdx| {
                            let (used, total) = q.zones[z.0 as usize];
                            let frac = match total {
                                Some(t) if t > 0 => used as f64 / t as f64,
                                Some(_) => f64::INFINITY,
                                None => 0.0,
                            };
                            (frac, used)
                        };
                        let mut best: Option<((f64, u32), ZoneIdx)> = None;
                        for &z in &zones {
                            let k = key(z);
                            if best.is_none_or(|(b, _)| k < b) {
                                best = Some((k, z));
                            }
                        }
                        best.map(|(_, z)| z)
                    }
                    _ => None,
                }
            }
        };
        if let Some(z) = pick {
            demand.zone = z;
        }
    }

    /// `least_quota_used`: asks DescribeAccountQuota (through the API, rate-limited, no retry)
    /// when the cached answer is older than `quota_refresh`. A refused call leaves the old
    /// answer in use until the next refresh.
    fn refresh_quota<O: Observer>(&mut self, charge: ChargeType, ctx: &mut Ctx<'_, O>) {
        let now = ctx.now();
        let refresh = self.workload.spec.quota_refresh;
        let fresh = self.quota_asked.is_some_and(|t| now.since(t) < refresh)
            && self.quota.as_ref().is_none_or(|q| q.charge == charge);
        if fresh {
            return;
        }
        self.quota_asked = Some(now);
        let req = Request::DescribeAccountQuota { zone: None };
        if let Ok(Response::Quotas(views)) = ctx.call(req) {
            let mut zones = vec![(0, None); ctx.cloud().catalog.zones.len()];
            for QuotaView {
                zone,
                charge: c,
                used,
                total,
                ..
            } in views
            {
                if c == charge {
                    zones[zone.0 as usize] = (used, total);
                }
            }
            self.quota = Some(QuotaCache { charge, zones });
        }
    }
}

impl Holder for WorkloadClient {
    fn held(&mut self) -> &mut Held {
        &mut self.held
    }

    fn terms(&self) -> Terms {
        let spec = &self.workload.spec;
        Terms {
            renew_flag: spec.renew_flag,
            max_price: spec.max_price,
            attach: spec.attach.clone(),
        }
    }

    fn fallback(&self) -> Option<ChargeType> {
        self.workload.spec.fallback
    }

    fn period_months(&self) -> u32 {
        self.workload.spec.period_months
    }

    /// `zone_fallback`: the next zone of its list after the one refused, wrapping, not yet
    /// tried by this request.
    fn zone_after(&self, demand: &Demand, code: ErrorCode) -> Option<ZoneIdx> {
        let spec = &self.workload.spec;
        if !spec.zone_fallback || !zone_error(code) {
            return None;
        }
        let zones = &spec.zones;
        let tried = &demand.tried;
        let at = zones.iter().position(|&z| z == demand.zone).unwrap_or(0);
        (1..zones.len())
            .map(|k| zones[(at + k) % zones.len()])
            .find(|z| *z != demand.zone && !tried.contains(z))
    }

    fn launched(&mut self, demand: &Demand, ids: &[InstanceId], now: SimTime, cloud: &Cloud) {
        let z = demand.zone.0 as usize;
        let vcpus = cloud.catalog.itype(demand.itype).vcpus;
        self.alive[z] += ids.len() as u32;
        if let Some(q) = self.quota.as_mut()
            && q.charge == demand.charge
        {
            q.zones[z].0 += ids.len() as u32 * Quotas::units(demand.charge, vcpus);
        }
        if self.workload.spec.replace_failed {
            for (id, life) in ids.iter().zip(&demand.lifetimes) {
                let end = (demand.requested + *life).max(now);
                self.replace_ends.insert(*id, end);
            }
        }
    }

    fn refused(&mut self, n: u64) {
        self.workload.refused += n;
    }

    fn end_event(&self, key: InstanceKey) -> Event {
        Event::End(self.index, key)
    }
}

impl Actor for WorkloadClient {
    type Event = ClientEvent;
    type Reply = ();

    fn start<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        let t = self.workload.next_arrival(SimTime::ZERO);
        ctx.schedule_at(t, Event::Arrival(self.index));
    }

    fn handle<O: Observer>(&mut self, ev: ClientEvent, ctx: &mut Ctx<'_, O>) {
        match ev {
            ClientEvent::Arrival => self.arrival(ctx),
            ClientEvent::End(key) => self.end(key, ctx),
        }
    }

    fn notice<O: Observer>(&mut self, n: &Notice, ctx: &mut Ctx<'_, O>) {
        if n.to.is_none() {
            // Nearly always empty: no hash for an empty map.
            if !self.replace_ends.is_empty() {
                self.replace_ends.remove(&n.id);
            }
            let a = &mut self.alive[n.zone.0 as usize];
            *a = a.saturating_sub(1);
        }
        self.notice_held(n, ctx);
    }

    /// With `replace_failed`, a lost instance, or one stopped by an outage (which it
    /// terminates), is relaunched for the rest of its lifetime, placed by its policy (from the
    /// zone it was in) and with its zone fallback.
    fn platform_notice<O: Observer>(&mut self, n: &PlatformNotice, ctx: &mut Ctx<'_, O>) {
        self.platform_held(n);
        let now = ctx.now();
        if !self.workload.spec.replace_failed {
            return;
        }
        let Some(&end) = self.replace_ends.get(&n.id) else {
            return;
        };
        if end <= now {
            return;
        }
        match n.state {
            None => {}
            Some(InstanceState::Stopped) => {
                self.replace_ends.remove(&n.id);
                self.terminate_attempt(n.id.into(), 1, ctx);
            }
            // A failed launch is cleaned up by the usual notice.
            Some(InstanceState::LaunchFailed) => {
                self.replace_ends.remove(&n.id);
            }
            Some(_) => return,
        }
        let mut d = Demand {
            zone: n.zone,
            itype: n.itype,
            charge: n.charge,
            period_months: self.workload.spec.period_months,
            lifetimes: smallvec::smallvec![end.since(now)],
            requested: now,
            tried: Vec::new(),
        };
        self.place(&mut d, ctx);
        self.launch(d, 1, ctx);
    }

    fn retry<O: Observer>(&mut self, call: RetryCall, attempts: u32, ctx: &mut Ctx<'_, O>) {
        self.retry_held(call, attempts, ctx);
    }
}
