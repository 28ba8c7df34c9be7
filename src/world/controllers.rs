//! The world's side of controllers and faults: zone placement policies that read the fleet,
//! `zone_fallback`, target-tracking autoscalers, and the fault injector.
//!
//! Clients (workloads, autoscalers) act only through `Cloud::call`, and learn only what a CVM
//! client learns: call results and the state-change notices of their own instances. The one
//! shortcut is the spot price read of `cheapest` (prices are public; CVM's
//! InquiryPriceRunInstances is not modelled). The platform (faults) acts through the cloud's
//! own fault methods (`cloud/api/faults.rs`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;
use crate::cloud::api::{MAX_IDS_PER_CALL, Notice, OutageMode, PlatformNotice, QuotaView};
use crate::cloud::capacity::Quotas;
use crate::cloud::{ChargeType, ErrorCode, ZoneIdx};
use crate::engine::RngStreams;
use crate::scenario::schema::Placement;
use crate::workload::autoscale::{Autoscaler, AutoscalerSpec, ScaleAction, Signal};
use crate::workload::faults::{FailureProcess, FaultInjector, FaultSpec, Step};

/// What a workload keeps to place its requests.
#[derive(Default)]
struct ClientState {
    /// Its instances alive per zone (catalogue index), from its launches and release notices
    /// (`spread`).
    alive: Vec<u32>,
    /// Last DescribeAccountQuota answer for its charge type: when it was asked, the charge
    /// type, and (used, total) per zone (`least_quota_used`). Its own launches since are
    /// added to `used`.
    quota: Option<QuotaCache>,
    /// When it last asked (answered or not), so a refused call is not repeated at every
    /// request.
    quota_asked: Option<SimTime>,
    /// Ends of the lifetimes it wants now, kept only when an autoscaler reads it.
    wanted: Option<BinaryHeap<Reverse<SimTime>>>,
}

struct QuotaCache {
    charge: ChargeType,
    zones: Vec<(u32, Option<u32>)>,
}

/// Controllers and faults, kept by the world.
#[derive(Default)]
pub(super) struct Controllers {
    clients: Vec<ClientState>,
    autoscalers: Vec<Autoscaler>,
    faults: FaultInjector,
    /// Instances the platform released; notices of their last moves are not acted on twice.
    lost: FxHashSet<InstanceId>,
    /// Lifetime ends of instances of workloads with `replace_failed`.
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

impl<O: Observer> World<O> {
    /// Installs the autoscalers and the fault plan (before [`World::start`]). Failure process
    /// `i` of `faults` draws from the stream `faults:<i>`.
    pub fn set_controllers(
        &mut self,
        autoscalers: Vec<AutoscalerSpec>,
        faults: &[FaultSpec],
        streams: &RngStreams,
    ) {
        self.ctl.autoscalers = autoscalers.into_iter().map(Autoscaler::new).collect();
        self.ctl.faults = FaultInjector::new(faults, streams);
    }

    /// The autoscalers, as they stand.
    pub fn autoscalers(&self) -> &[Autoscaler] {
        &self.ctl.autoscalers
    }

    /// The random-failure processes, as they stand (failures so far, exposure).
    pub fn failure_processes(&self) -> &[FailureProcess] {
        &self.ctl.faults.processes
    }

    /// Sizes the clients' state and schedules the first evaluations and the fault steps.
    pub(super) fn start_controllers(&mut self, sched: &mut Scheduler<Event>) {
        let zones = self.cloud.catalog.zones.len();
        self.ctl.clients = (0..self.workloads.len())
            .map(|_| ClientState {
                alive: vec![0; zones],
                ..Default::default()
            })
            .collect();
        for a in &self.ctl.autoscalers {
            if let Signal::Workload(w) = a.spec.signal
                && let Some(c) = self.ctl.clients.get_mut(w as usize)
            {
                c.wanted.get_or_insert_with(BinaryHeap::new);
            }
        }
        for i in 0..self.ctl.autoscalers.len() {
            sched.schedule_at(SimTime::ZERO, Event::Autoscale(i as u32));
        }
        for (k, &(t, _)) in self.ctl.faults.steps.iter().enumerate() {
            sched.schedule_at(t, Event::Fault(k as u32));
        }
    }

    // ---- workloads: placement, zone fallback, replacement ---------------------------------

    /// A workload's request was drawn: count what it wants, and let a policy that reads the
    /// fleet choose its zone (the drawn zone stays for `weighted` and `round_robin`).
    pub(super) fn on_arrival(&mut self, w: u32, demand: &mut Demand, sched: &mut Scheduler<Event>) {
        if let Some(c) = self.ctl.clients.get_mut(w as usize)
            && let Some(heap) = c.wanted.as_mut()
        {
            for life in &demand.lifetimes {
                heap.push(Reverse(demand.requested + *life));
            }
        }
        self.place_demand(w, demand, sched);
    }

    /// Applies workload `w`'s placement policy to `demand`.
    fn place_demand(&mut self, w: u32, demand: &mut Demand, sched: &mut Scheduler<Event>) {
        let Some(wl) = self.workloads.get(w as usize) else {
            return;
        };
        if let Placement::Weighted | Placement::RoundRobin = wl.spec.placement {
            // The zone drawn stands (the common case: nothing to copy or look up).
            return;
        }
        let now = sched.now();
        let zones = wl.spec.zones.clone();
        let pick = match wl.spec.placement {
            Placement::Weighted | Placement::RoundRobin => None,
            Placement::Spread => {
                let alive = &self.ctl.clients[w as usize].alive;
                zones.iter().copied().min_by_key(|z| alive[z.0 as usize])
            }
            Placement::Cheapest => {
                let t = demand.itype;
                let price = self.cloud.catalog.price(t).clone();
                let mut best: Option<(u64, ZoneIdx)> = None;
                for &z in &zones {
                    let p = match demand.charge {
                        ChargeType::Spotpaid => self.cloud.spot_market_price(z, t, now),
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
                self.refresh_quota(w, demand.charge, sched);
                match &self.ctl.clients[w as usize].quota {
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
    fn refresh_quota(&mut self, w: u32, charge: ChargeType, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let refresh = self.workloads[w as usize].spec.quota_refresh;
        let c = &self.ctl.clients[w as usize];
        let fresh = c.quota_asked.is_some_and(|t| now.since(t) < refresh)
            && c.quota.as_ref().is_none_or(|q| q.charge == charge);
        if fresh {
            return;
        }
        self.ctl.clients[w as usize].quota_asked = Some(now);
        let req = Request::DescribeAccountQuota { zone: None };
        if let Ok(Response::Quotas(views)) =
            self.cloud
                .call(Owner::Workload(w), req, sched, &mut self.rec)
        {
            let mut zones = vec![(0, None); self.cloud.catalog.zones.len()];
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
            self.ctl.clients[w as usize].quota = Some(QuotaCache { charge, zones });
        }
    }

    /// RunInstances launched `ids` for caller `who`'s `demand`.
    pub(super) fn on_launched(
        &mut self,
        who: Owner,
        demand: &Demand,
        ids: &[InstanceId],
        sched: &mut Scheduler<Event>,
    ) {
        let Owner::Workload(w) = who else {
            return;
        };
        let wl = &self.workloads[w as usize];
        let replace = wl.spec.replace_failed;
        let z = demand.zone.0 as usize;
        let vcpus = self.cloud.catalog.itype(demand.itype).vcpus;
        let c = &mut self.ctl.clients[w as usize];
        c.alive[z] += ids.len() as u32;
        if let Some(q) = c.quota.as_mut()
            && q.charge == demand.charge
        {
            q.zones[z].0 += ids.len() as u32 * Quotas::units(demand.charge, vcpus);
        }
        if replace {
            for (id, life) in ids.iter().zip(&demand.lifetimes) {
                let end = (demand.requested + *life).max(sched.now());
                self.ctl.replace_ends.insert(*id, end);
            }
        }
    }

    /// `zone_fallback`: the zone to try next after `code` refused `demand` (the next zone of
    /// the workload's list after the one refused, wrapping, not yet tried by this request).
    pub(super) fn zone_fallback_to(
        &self,
        who: Owner,
        demand: &Demand,
        code: ErrorCode,
    ) -> Option<ZoneIdx> {
        let wl = self.workload(who)?;
        if !wl.spec.zone_fallback || !zone_error(code) {
            return None;
        }
        let zones = &wl.spec.zones;
        let tried = &demand.tried;
        let at = zones.iter().position(|&z| z == demand.zone).unwrap_or(0);
        (1..zones.len())
            .map(|k| zones[(at + k) % zones.len()])
            .find(|z| *z != demand.zone && !tried.contains(z))
    }

    /// Calls RunInstances again at once in the next zone (see [`World::zone_fallback_to`]).
    pub(super) fn launch_next_zone(
        &mut self,
        w: Owner,
        demand: Demand,
        code: ErrorCode,
        sched: &mut Scheduler<Event>,
    ) {
        let Some(next) = self.zone_fallback_to(w, &demand, code) else {
            return;
        };
        let mut d = demand;
        d.tried.push(d.zone);
        d.zone = next;
        self.launch(w, d, 1, sched);
    }

    /// Bookkeeping on a notice before the owners' usual handling; `true` when the notice is
    /// fully handled here (autoscalers' notices, and moves of instances the platform already
    /// released).
    pub(super) fn controller_notice(&mut self, n: &Notice) -> bool {
        if let Owner::Autoscaler(a) = n.owner {
            if let Some(a) = self.ctl.autoscalers.get_mut(a as usize) {
                a.notice(n.id, n.to);
            }
            return true;
        }
        if n.to.is_none() {
            self.ctl.lost.remove(&n.id);
            self.ctl.replace_ends.remove(&n.id);
            if let Owner::Workload(w) = n.owner
                && let Some(c) = self.ctl.clients.get_mut(w as usize)
            {
                let a = &mut c.alive[n.zone.0 as usize];
                *a = a.saturating_sub(1);
            }
            return false;
        }
        self.ctl.lost.contains(&n.id)
    }

    /// Owners learn what the platform did to their instances. A workload with
    /// `replace_failed` relaunches a lost instance, or one stopped by an outage (which it
    /// terminates), for the rest of its lifetime, placed by its policy (from the zone it was
    /// in) and with its zone fallback.
    fn platform_notices(&mut self, notices: Vec<PlatformNotice>, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        for n in notices {
            if n.lost {
                self.ctl.lost.insert(n.id);
            }
            let Owner::Workload(w) = n.owner else {
                continue;
            };
            let Some(wl) = self.workloads.get(w as usize) else {
                continue;
            };
            if !wl.spec.replace_failed {
                continue;
            }
            let period_months = wl.spec.period_months;
            let Some(&end) = self.ctl.replace_ends.get(&n.id) else {
                continue;
            };
            if end <= now {
                continue;
            }
            match n.state {
                None => {}
                Some(InstanceState::Stopped) => {
                    self.ctl.replace_ends.remove(&n.id);
                    self.terminate(Owner::Workload(w), n.id, sched);
                }
                // A failed launch is cleaned up by the usual notice.
                Some(InstanceState::LaunchFailed) => {
                    self.ctl.replace_ends.remove(&n.id);
                }
                Some(_) => continue,
            }
            let mut d = Demand {
                zone: n.zone,
                itype: n.itype,
                charge: n.charge,
                period_months,
                lifetimes: smallvec::smallvec![end.since(now)],
                requested: now,
                tried: Vec::new(),
            };
            self.place_demand(w, &mut d, sched);
            self.launch(Owner::Workload(w), d, 1, sched);
        }
    }

    // ---- autoscalers ----------------------------------------------------------------------

    /// Instances workload `w` wants now.
    fn wanted_now(&mut self, w: u32, now: SimTime) -> u64 {
        let Some(heap) = self
            .ctl
            .clients
            .get_mut(w as usize)
            .and_then(|c| c.wanted.as_mut())
        else {
            return 0;
        };
        while heap.peek().is_some_and(|Reverse(t)| *t <= now) {
            heap.pop();
        }
        heap.len() as u64
    }

    /// Autoscaler `i` evaluates: terminates its unhealthy instances, then scales toward
    /// `desired`, cooldowns permitting. The next evaluation is `interval` later.
    pub(super) fn autoscale(&mut self, i: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let Some(a) = self.ctl.autoscalers.get(i as usize) else {
            return;
        };
        sched.schedule_in(a.spec.interval, Event::Autoscale(i));
        let signal = match a.spec.signal {
            Signal::Workload(w) => self.wanted_now(w, now) as f64,
            ref s => s.profile_at(now).unwrap_or(0.0),
        };
        let a = &mut self.ctl.autoscalers[i as usize];
        let desired = a.desired_for(signal);
        a.desired = desired;
        let unhealthy = a.unhealthy();
        for chunk in unhealthy.chunks(MAX_IDS_PER_CALL) {
            self.autoscaler_terminate(i, chunk, sched);
        }
        let a = &self.ctl.autoscalers[i as usize];
        let have = a.in_service();
        let out_ok = a
            .last_scale_out
            .is_none_or(|t| now.since(t) >= a.spec.scale_out_cooldown);
        let in_ok = a
            .last_action
            .is_none_or(|t| now.since(t) >= a.spec.scale_in_cooldown);
        if desired > have && out_ok {
            let n = self.scale_out(i, desired - have, sched);
            if n > 0 {
                let a = &mut self.ctl.autoscalers[i as usize];
                a.last_scale_out = Some(now);
                a.last_action = Some(now);
                a.history.push(ScaleAction {
                    time: now,
                    delta: n as i64,
                    desired,
                });
            }
        } else if desired < have && in_ok {
            let victims = self.ctl.autoscalers[i as usize].victims(have - desired);
            let mut n = 0;
            for chunk in victims.chunks(MAX_IDS_PER_CALL) {
                if self.autoscaler_terminate(i, chunk, sched) {
                    n += chunk.len();
                }
            }
            if n > 0 {
                let a = &mut self.ctl.autoscalers[i as usize];
                a.last_action = Some(now);
                a.history.push(ScaleAction {
                    time: now,
                    delta: -(n as i64),
                    desired,
                });
            }
        }
    }

    /// TerminateInstances on behalf of autoscaler `i`; whether it was accepted.
    fn autoscaler_terminate(
        &mut self,
        i: u32,
        ids: &[InstanceId],
        sched: &mut Scheduler<Event>,
    ) -> bool {
        let req = Request::TerminateInstances {
            ids: ids.iter().map(|&id| id.into()).collect(),
        };
        let ok = self
            .cloud
            .call(Owner::Autoscaler(i), req, sched, &mut self.rec)
            .is_ok();
        if ok {
            self.ctl.autoscalers[i as usize].leaving(ids);
        }
        ok
    }

    /// Launches up to `n` instances for autoscaler `i`, spread over its zones; returns how many
    /// were launched. A zone that refuses is closed for this evaluation and its share goes to
    /// the others; a throttled call ends the evaluation's launches.
    fn scale_out(&mut self, i: u32, n: u32, sched: &mut Scheduler<Event>) -> u32 {
        let spec = self.ctl.autoscalers[i as usize].spec.clone();
        let mut open = vec![true; spec.zones.len()];
        let mut left = n;
        let mut launched = 0;
        'evaluation: while left > 0 {
            let plan = self.ctl.autoscalers[i as usize].allocate(left, &open);
            if plan.is_empty() {
                break;
            }
            for (z, k) in plan {
                let zi = spec.zones.iter().position(|&x| x == z).unwrap_or(0);
                let mut k = k;
                while k > 0 {
                    let count = k.min(self.cloud.max_run_count);
                    let req = Request::RunInstances(RunInstances {
                        zone: z,
                        itype: spec.itype,
                        charge: spec.charge,
                        count,
                        min_count: Some(1),
                        dry_run: false,
                        period_months: 1,
                        renew_flag: Default::default(),
                        max_price: spec.max_price,
                        client_token: None,
                        attach: None,
                    });
                    match self
                        .cloud
                        .call(Owner::Autoscaler(i), req, sched, &mut self.rec)
                    {
                        Ok(Response::Launched { ids, .. }) => {
                            let got = ids.len() as u32;
                            self.ctl.autoscalers[i as usize].launched(z, &ids);
                            launched += got;
                            left = left.saturating_sub(got);
                            k -= count;
                            if got < count {
                                // A partial delivery: the zone has no more.
                                open[zi] = false;
                                break;
                            }
                        }
                        Err(e) if e.code == ErrorCode::RequestLimitExceeded => {
                            break 'evaluation;
                        }
                        _ => {
                            open[zi] = false;
                            break;
                        }
                    }
                }
            }
        }
        launched
    }

    // ---- faults ---------------------------------------------------------------------------

    /// Instances RUNNING now, in one zone or all.
    fn running_now(&self, zone: Option<ZoneIdx>) -> u64 {
        self.cloud.running(zone)
    }

    /// Step `k` of the fault plan.
    pub(super) fn fault_step(&mut self, k: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let Some(&(_, step)) = self.ctl.faults.steps.get(k as usize) else {
            return;
        };
        match step {
            Step::OutageBegins(z, mode) => {
                let what = match mode {
                    OutageMode::Lost => "its instances are lost",
                    OutageMode::Stopped => "its instances are stopped",
                };
                self.narrate(now, z, &format!("outage of {{zone}} begins: {what}"));
                let notices = self.cloud.begin_zone_outage(z, mode, sched, &mut self.rec);
                self.platform_notices(notices, sched);
            }
            Step::OutageEnds(z) => {
                self.narrate(now, z, "outage of {zone} ends");
                self.cloud.end_zone_outage(z);
            }
            Step::FailuresOn(p) => {
                let zone = self.ctl.faults.processes[p as usize].zone;
                let n = self.running_now(zone);
                let proc = &mut self.ctl.faults.processes[p as usize];
                proc.set_active(now, true);
                proc.running = n;
                self.reschedule_failure(p, sched);
            }
            Step::FailuresOff(p) => {
                let proc = &mut self.ctl.faults.processes[p as usize];
                proc.set_active(now, false);
                if let Some(ev) = proc.pending.take() {
                    sched.cancel(ev);
                }
            }
        }
    }

    /// Narrates a platform event for `--trace` (`{zone}` is replaced by the zone's name).
    fn narrate(&mut self, now: SimTime, z: ZoneIdx, what: &str) {
        let name = &self.cloud.catalog.zone(z).name;
        self.rec.platform(now, name, &what.replace("{zone}", name));
    }

    fn reschedule_failure(&mut self, p: u32, sched: &mut Scheduler<Event>) {
        let proc = &mut self.ctl.faults.processes[p as usize];
        if let Some(ev) = proc.pending.take() {
            sched.cancel(ev);
        }
        if let Some(t) = proc.due(sched.now()) {
            proc.pending = Some(sched.schedule_at(t, Event::Failure(p)));
        }
    }

    /// Failure process `p` strikes: a RUNNING instance picked uniformly is lost.
    pub(super) fn failure(&mut self, p: u32, sched: &mut Scheduler<Event>) {
        let now = sched.now();
        let zone = self.ctl.faults.processes[p as usize].zone;
        let n = self.running_now(zone);
        let proc = &mut self.ctl.faults.processes[p as usize];
        proc.pending = None;
        let victim = proc.strike(now, n).and_then(|k| {
            self.cloud
                .fleet()
                .iter()
                .filter(|(_, i)| {
                    i.state == InstanceState::Running && zone.is_none_or(|z| i.zone == z)
                })
                .nth(k as usize)
                .map(|(_, i)| i.id)
        });
        if let Some(id) = victim
            && let Some(notice) = self.cloud.fail_instance(id, sched, &mut self.rec)
        {
            self.ctl.faults.processes[p as usize].failures += 1;
            self.platform_notices(vec![notice], sched);
        }
        let n = self.running_now(zone);
        self.ctl.faults.processes[p as usize].running = n;
        self.reschedule_failure(p, sched);
    }

    /// After every event: a failure process whose count of RUNNING instances changed spends
    /// its hazard so far at the old count and is rescheduled at the new one.
    pub(super) fn after_event(&mut self, sched: &mut Scheduler<Event>) {
        for p in 0..self.ctl.faults.processes.len() {
            let proc = &self.ctl.faults.processes[p];
            if !proc.is_active() {
                continue;
            }
            let n = self.running_now(proc.zone);
            if n != self.ctl.faults.processes[p].running {
                let proc = &mut self.ctl.faults.processes[p];
                proc.advance(sched.now());
                proc.running = n;
                self.reschedule_failure(p as u32, sched);
            }
        }
    }
}
