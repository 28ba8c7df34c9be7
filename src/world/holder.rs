//! What workload clients and trace replays share: they launch instances for a lifetime, end
//! them when the work is done, and clean up after the control plane (a launch that failed, a
//! prepaid instance in the recycle bin, one that ended while still booting). The behaviour is
//! written once here, over the few things that differ ([`Holder`]'s required methods).

use crate::cloud::api::{InstanceRef, Notice, Observer, PlatformNotice};
use crate::cloud::{
    ChargeType, Cloud, ErrorCode, InstanceId, InstanceKey, InstanceState, RenewFlag, Request,
    Response, RunInstances, ZoneIdx,
};
use crate::engine::SimTime;
use crate::engine::hash::{FxHashMap, FxHashSet};
use crate::workload::Demand;

use super::Event;
use super::actor::{Ctx, RetryCall};

/// What a holder keeps about its instances between events.
#[derive(Default)]
pub struct Held {
    /// Instances whose end came while they were still booting: ended once RUNNING.
    end_when_running: FxHashSet<InstanceId>,
    /// Prepaid instances it ended (isolated, to be destroyed once SHUTDOWN).
    ended_prepaid: FxHashSet<InstanceId>,
    /// Spot instances of a holder with a fallback: when their work ends.
    spot_ends: FxHashMap<InstanceId, SimTime>,
    /// Instances the platform released; notices of their last moves are not acted on twice.
    lost: FxHashSet<InstanceId>,
}

/// Removes `id` from `set`, without hashing it when the set is empty (it nearly always is).
#[inline]
fn forget(set: &mut FxHashSet<InstanceId>, id: InstanceId) {
    if !set.is_empty() {
        set.remove(&id);
    }
}

/// A caller's terms on RunInstances.
pub struct Terms {
    pub renew_flag: RenewFlag,
    pub max_price: Option<u64>,
    pub attach: Option<std::sync::Arc<crate::cloud::pricing::Attachments>>,
}

/// An actor that holds instances for a lifetime (workload clients, trace replays).
pub trait Holder {
    /// Its bookkeeping.
    fn held(&mut self) -> &mut Held;
    /// Its terms on RunInstances.
    fn terms(&self) -> Terms;
    /// The charge type a refused spot request falls back to, if it has one.
    fn fallback(&self) -> Option<ChargeType>;
    /// The prepaid period of requests it makes afresh (a spot fallback's relaunch).
    fn period_months(&self) -> u32;
    /// `zone_fallback`: the zone to try next after `code` refused `demand`.
    fn zone_after(&self, _demand: &Demand, _code: ErrorCode) -> Option<ZoneIdx> {
        None
    }
    /// RunInstances launched `ids` for `demand`.
    fn launched(&mut self, _demand: &Demand, _ids: &[InstanceId], _now: SimTime, _cloud: &Cloud) {}
    /// Counts instances the control plane refused it.
    fn refused(&mut self, n: u64);
    /// The event that ends its use of the instance at `key`.
    fn end_event(&self, key: InstanceKey) -> Event;

    /// Calls RunInstances for a demand (attempt `attempt`, counted from 1); on a refusal it
    /// moves to the next zone, falls back from spot, or retries, as the holder's terms say.
    fn launch<O: Observer>(&mut self, demand: Demand, attempt: u32, ctx: &mut Ctx<'_, O>) {
        let Terms {
            renew_flag,
            max_price,
            attach,
        } = self.terms();
        let req = Request::RunInstances(RunInstances {
            zone: demand.zone,
            itype: demand.itype,
            charge: demand.charge,
            count: demand.lifetimes.len() as u32,
            min_count: None,
            dry_run: false,
            period_months: demand.period_months,
            renew_flag,
            max_price,
            client_token: None,
            attach,
        });
        match ctx.call_attempt(req, attempt) {
            Ok(Response::Launched { ids, keys }) => {
                let now = ctx.now();
                self.launched(&demand, &ids, now, ctx.cloud());
                let refused = demand.lifetimes.len() - ids.len();
                self.refused(refused as u64);
                let track_spot = demand.charge == ChargeType::Spotpaid && self.fallback().is_some();
                // Lifetimes count from the original request, whatever the retries took.
                for (i, (id, life)) in ids.into_iter().zip(&demand.lifetimes).enumerate() {
                    let end = (demand.requested + *life).max(now);
                    // The handle, so the end needs no id lookup.
                    let fleet = ctx.cloud().fleet();
                    let key = match keys.get(i) {
                        Some(&k) if fleet.get(k).is_some_and(|inst| inst.id == id) => Some(k),
                        _ => fleet.key_of(id),
                    };
                    if let Some(key) = key {
                        let ev = self.end_event(key);
                        ctx.schedule_at(end, ev);
                    }
                    if track_spot {
                        self.held().spot_ends.insert(id, end);
                    }
                }
            }
            Ok(_) => {}
            Err(e) if self.zone_after(&demand, e.code).is_some() => {
                // The next zone at once, as part of the same request.
                let next = self.zone_after(&demand, e.code).expect("checked");
                let mut d = demand;
                d.tried.push(d.zone);
                d.zone = next;
                self.launch(d, 1, ctx);
            }
            Err(e) if self.falls_back(&demand, e.code) => {
                // A new request under the fallback charge type: its zones afresh.
                let mut d = demand;
                d.charge = self.fallback().expect("checked");
                d.tried.clear();
                self.launch(d, 1, ctx);
            }
            Err(e) => {
                // A retry is a new request: its zones afresh.
                let n = demand.lifetimes.len() as u64;
                let mut d = demand;
                d.tried.clear();
                if !ctx.retry_later(attempt, e.code, RetryCall::Run(d)) {
                    self.refused(n);
                }
            }
        }
    }

    /// A spot request refused for capacity, quota or price falls back to the holder's
    /// fallback charge type, if it has one.
    fn falls_back(&self, demand: &Demand, code: ErrorCode) -> bool {
        use ErrorCode as E;
        demand.charge == ChargeType::Spotpaid
            && self.fallback().is_some()
            && matches!(
                code,
                E::SpotQuota
                    | E::SoldOutType
                    | E::ResourceInsufficientType
                    | E::InsufficientOfferingMinimum
                    | E::ZoneSoldOut
                    | E::TypeUnavailable
                    | E::InsufficientPrice
            )
    }

    /// Its work on the instance at `key` is done: terminate it if it can take the call now,
    /// else once it is RUNNING. An instance of the shared prepaid pool goes back to the pool.
    fn end<O: Observer>(&mut self, key: InstanceKey, ctx: &mut Ctx<'_, O>) {
        let Some(inst) = ctx.cloud().fleet().get(key) else {
            return;
        };
        let (id, zone, itype, state, busy, charge) = (
            inst.id,
            inst.zone,
            inst.itype,
            inst.state,
            inst.busy(),
            inst.charge,
        );
        if let Some(pool) = ctx.pool()
            && pool.is_member(id)
        {
            // A job on the prepaid base is done: the instance waits for the next one.
            pool.give_back(zone, itype, id);
            return;
        }
        match state {
            InstanceState::Running | InstanceState::Stopped if !busy => {
                if charge == ChargeType::Prepaid {
                    // The first call only isolates it; the SHUTDOWN notice then destroys it.
                    self.held().ended_prepaid.insert(id);
                }
                self.terminate_attempt(InstanceRef::Known(id, key), 1, ctx);
            }
            InstanceState::Shutdown if !busy => {
                self.terminate_attempt(InstanceRef::Known(id, key), 1, ctx);
            }
            // CVM refuses TerminateInstances on a failed launch; the platform removes it.
            InstanceState::LaunchFailed => {}
            // Already on its way out.
            InstanceState::Terminating => {}
            _ => {
                self.held().end_when_running.insert(id);
            }
        }
    }

    /// TerminateInstances of one instance, retried if throttled.
    fn terminate_attempt<O: Observer>(
        &mut self,
        target: InstanceRef,
        attempt: u32,
        ctx: &mut Ctx<'_, O>,
    ) {
        let req = Request::TerminateInstances {
            ids: smallvec::smallvec![target.clone()],
        };
        if let Err(e) = ctx.call_attempt(req, attempt) {
            ctx.retry_later(attempt, e.code, RetryCall::Terminate(target));
        }
    }

    /// A retry of one of its calls is due.
    fn retry_held<O: Observer>(&mut self, call: RetryCall, attempts: u32, ctx: &mut Ctx<'_, O>) {
        match call {
            RetryCall::Run(d) => self.launch(d, attempts + 1, ctx),
            RetryCall::Plain(r) => {
                let _ = ctx.call_or_retry(r, attempts + 1);
            }
            RetryCall::Terminate(target) => self.terminate_attempt(target, attempts + 1, ctx),
        }
    }

    /// The platform lost, stopped or failed one of its instances: later moves of a lost one
    /// are not acted on.
    fn platform_held(&mut self, n: &PlatformNotice) {
        if n.lost {
            self.held().lost.insert(n.id);
        }
    }

    /// A state change of one of its instances.
    fn notice_held<O: Observer>(&mut self, n: &Notice, ctx: &mut Ctx<'_, O>) {
        let held = self.held();
        // The sets below are nearly always empty: looking in an empty one costs a hash each
        // time, on every notice, so emptiness is checked first.
        if n.to.is_some() && !held.lost.is_empty() && held.lost.contains(&n.id) {
            return;
        }
        let known = InstanceRef::Known(n.id, n.key);
        match n.to {
            Some(InstanceState::Running)
                if !held.end_when_running.is_empty() && held.end_when_running.remove(&n.id) =>
            {
                self.terminate_attempt(known, 1, ctx);
            }
            // A prepaid instance it ended sits in the recycle bin: destroy it. One that
            // expired while still needed is renewed by hand for a month.
            Some(InstanceState::Shutdown) => {
                if held.ended_prepaid.remove(&n.id) {
                    self.terminate_attempt(known, 1, ctx);
                } else {
                    let req = Request::RenewInstances {
                        ids: smallvec::smallvec![known],
                        period_months: 1,
                    };
                    let _ = ctx.call_or_retry(req, 1);
                }
            }
            // A failed launch is removed by the platform (CVM refuses TerminateInstances on
            // it): nothing to do but forget it.
            Some(InstanceState::LaunchFailed) => {
                held.end_when_running.remove(&n.id);
            }
            None => {
                forget(&mut held.lost, n.id);
                forget(&mut held.end_when_running, n.id);
                forget(&mut held.ended_prepaid, n.id);
                let now = ctx.now();
                if let Some(end) = (!held.spot_ends.is_empty())
                    .then(|| held.spot_ends.remove(&n.id))
                    .flatten()
                    && n.reclaimed
                    && end > now
                    && let Some(fb) = self.fallback()
                {
                    // Reclaimed before its work was done: relaunch on the fallback for the
                    // rest of its lifetime.
                    let d = Demand {
                        zone: n.zone,
                        itype: n.itype,
                        charge: fb,
                        period_months: self.period_months(),
                        lifetimes: smallvec::smallvec![end.since(now)],
                        requested: now,
                        tried: Vec::new(),
                    };
                    self.launch(d, 1, ctx);
                }
            }
            _ => {}
        }
    }
}
