//! The simulated world: the cloud, the workloads that call it, and the recorder watching it.
//! It is the engine's [`Model`]; its events are the cloud's own plus the actors'.

use crate::engine::hash::{FxHashMap, FxHashSet};

use crate::cloud::api::{InstanceRef, Notice, Observer};
use crate::cloud::{
    Cloud, CloudEvent, InstanceId, InstanceState, Owner, Request, Response, RunInstances,
};
use crate::engine::RandomStream;
use crate::engine::{Model, Scheduler, SimTime};
use crate::report::recorder::Recorder;
use crate::scenario::RetryPolicy;
use crate::workload::pool::Pool;
use crate::workload::script::{ScriptAction, ScriptCall};
use crate::workload::{Demand, Workload};

mod controllers;

/// Everything that can happen in a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    Cloud(CloudEvent),
    /// A workload's next request arrives.
    Arrival(u32),
    /// A workload is done with an instance (held by its fleet handle, so the end finds it
    /// without an id lookup; a stale handle means the instance is already gone).
    End(u32, crate::cloud::InstanceKey),
    /// A trace replay's VM is done with an instance (as `End`).
    TraceEnd(u32, crate::cloud::InstanceKey),
    /// Time to sample the fleet.
    Sample,
    /// A client retries a call (index into the world's pending retries).
    Retry(u32),
    /// A scripted action (index into the scenario's actions).
    Script(u32),
    /// A trace replay's next RunInstances is due (index into the world's traces).
    Trace(u32),
    /// An autoscaler evaluates (index into the scenario's autoscalers).
    Autoscale(u32),
    /// A step of the fault plan (zone outage begins or ends, failures start or stop).
    Fault(u32),
    /// A random-failure process strikes (index into the failure processes).
    Failure(u32),
}

/// The event that ends `who`'s use of the instance at `key` (workloads and trace replays hold
/// instances for a lifetime).
fn end_event(who: Owner, key: crate::cloud::InstanceKey) -> Option<Event> {
    match who {
        Owner::Workload(w) => Some(Event::End(w, key)),
        Owner::Trace(t) => Some(Event::TraceEnd(t, key)),
        _ => None,
    }
}

/// A call waiting to be retried.
#[derive(Clone, Debug)]
enum RetryCall {
    Run(Demand),
    /// A TerminateInstances, naming the instance as the first call did (by handle, usually).
    Terminate(InstanceRef),
    /// Any other call (scripts, renewals), retried as it was.
    Plain(Request),
}

#[derive(Clone, Debug)]
struct PendingRetry {
    who: Owner,
    /// Attempts already made.
    attempts: u32,
    call: RetryCall,
}

impl From<CloudEvent> for Event {
    fn from(e: CloudEvent) -> Self {
        Event::Cloud(e)
    }
}

/// Called on every Sample event with the world as it is (writes `timeseries.csv`).
pub type Sampler<O = Recorder> = Box<dyn FnMut(SimTime, &O, &Cloud) -> anyhow::Result<()>>;

/// Fleet state integrated over time, for time-average figures (Little's law checks).
#[derive(Default, Clone, Copy, Debug)]
pub struct Occupancy {
    last: SimTime,
    current: u64,
    /// Σ instances × ms.
    pub area: u128,
    pub peak: u64,
}

impl Occupancy {
    fn advance(&mut self, now: SimTime, current: u64) {
        self.area += self.current as u128 * now.since(self.last).ms() as u128;
        self.last = now;
        self.current = current;
        self.peak = self.peak.max(current);
    }
    pub fn mean(&self, until: SimTime) -> f64 {
        let area = self.area + self.current as u128 * until.since(self.last).ms() as u128;
        if until.ms() == 0 {
            0.0
        } else {
            area as f64 / until.ms() as f64
        }
    }
}

/// The world, watched by the observer `O` (the [`Recorder`] in a normal run).
pub struct World<O: Observer = Recorder> {
    pub cloud: Cloud,
    pub workloads: Vec<Workload>,
    pub rec: O,
    /// Instances whose end came while they were still booting: ended once RUNNING.
    end_when_running: FxHashSet<InstanceId>,
    /// Prepaid instances their workload ended (isolated, to be destroyed once SHUTDOWN).
    ended_prepaid: FxHashSet<InstanceId>,
    /// Spot instances of workloads with a fallback: when their work ends.
    spot_ends: FxHashMap<InstanceId, SimTime>,
    /// The owners' notices being handed on (a buffer kept between events, so neither side
    /// allocates per event).
    notices: Vec<Notice>,
    /// A prepaid base shared by workloads (`compare` strategies).
    pub pool: Option<Pool>,
    /// Every request drawn, in order (kept when set to `Some`, for common-random-number checks).
    pub demand_log: Option<Vec<(u32, Demand)>>,
    /// Called on every Sample event, with the world as it is.
    pub sampler: Option<Sampler<O>>,
    pub sample_interval: crate::engine::SimDuration,
    pub occupancy: Occupancy,
    pub error: Option<anyhow::Error>,
    pub retry: RetryPolicy,
    retry_rng: RandomStream,
    retries: Vec<Option<PendingRetry>>,
    free_retries: Vec<u32>,
    scripts: Vec<ScriptAction>,
    /// Per scripted action: the instances it was applied to (sorted), and its random stream.
    script_sets: Vec<Vec<InstanceId>>,
    script_rngs: Vec<RandomStream>,
    /// Trace replays (`[[traces]]`), callers `Owner::Trace(index)`.
    pub traces: Vec<crate::workload::trace::TraceReplay>,
    /// Placement state, autoscalers and faults (`world/controllers.rs`).
    ctl: controllers::Controllers,
}

impl<O: Observer> World<O> {
    pub fn new(
        cloud: Cloud,
        workloads: Vec<Workload>,
        rec: O,
        retry: RetryPolicy,
        retry_rng: RandomStream,
    ) -> Self {
        World {
            cloud,
            workloads,
            rec,
            end_when_running: Default::default(),
            ended_prepaid: Default::default(),
            spot_ends: Default::default(),
            notices: Vec::new(),
            pool: None,
            demand_log: None,
            sampler: None,
            sample_interval: crate::engine::SimDuration::from_hours(1),
            occupancy: Occupancy::default(),
            error: None,
            retry,
            retry_rng,
            retries: Vec::new(),
            free_retries: Vec::new(),
            scripts: Vec::new(),
            script_sets: Vec::new(),
            script_rngs: Vec::new(),
            traces: Vec::new(),
            ctl: Default::default(),
        }
    }

    /// Installs the scripted actions, each with its own random stream `script:<index>`.
    pub fn set_scripts(&mut self, scripts: Vec<ScriptAction>, streams: &crate::engine::RngStreams) {
        self.script_sets = vec![Vec::new(); scripts.len()];
        self.script_rngs = (0..scripts.len())
            .map(|i| streams.stream(&format!("script:{i}")))
            .collect();
        self.scripts = scripts;
    }

    /// Schedules the first arrival of every workload, the scripted actions and the first
    /// sample.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        for (i, a) in self.scripts.iter().enumerate() {
            sched.schedule_at(a.at, Event::Script(i as u32));
        }
        for (i, w) in self.workloads.iter_mut().enumerate() {
            let t = w.next_arrival(SimTime::ZERO);
            sched.schedule_at(t, Event::Arrival(i as u32));
        }
        for t in 0..self.traces.len() {
            self.schedule_trace(t as u32, sched);
        }
        self.start_controllers(sched);
        sched.schedule_at(SimTime::ZERO, Event::Sample);
    }

    /// Reads trace `t` up to its next call and schedules it; a bad row stops the replay and
    /// becomes the run's error.
    fn schedule_trace(&mut self, t: u32, sched: &mut Scheduler<Event>) {
        let tr = &mut self.traces[t as usize];
        if let Err(e) = tr.fill() {
            tr.stop();
            self.error.get_or_insert(e);
        }
        if let Some(next) = tr.next_time() {
            sched.schedule_at(next, Event::Trace(t));
        }
    }

    /// Trace `t`: makes every call due now, then schedules the next.
    fn trace_step(&mut self, t: u32, sched: &mut Scheduler<Event>) {
        loop {
            let tr = &mut self.traces[t as usize];
            if let Err(e) = tr.fill() {
                tr.stop();
                self.error.get_or_insert(e);
                return;
            }
            match tr.pop_due(sched.now()) {
                Some(d) => self.launch(Owner::Trace(t), d, 1, sched),
                None => break,
            }
        }
        self.schedule_trace(t, sched);
    }

    /// The workload behind an owner, if it is one.
    fn workload(&self, who: Owner) -> Option<&Workload> {
        match who {
            Owner::Workload(w) => self.workloads.get(w as usize),
            _ => None,
        }
    }

    /// A caller's RenewFlag and spot bid (trace replays: auto-renew, bid the market).
    fn client_terms(&self, who: Owner) -> (crate::cloud::RenewFlag, Option<u64>) {
        match self.workload(who) {
            Some(wl) => (wl.spec.renew_flag, wl.spec.max_price),
            None => (crate::cloud::RenewFlag::NotifyAndAutoRenew, None),
        }
    }

    /// A caller's spot fallback (only workloads have one).
    fn fallback_of(&self, who: Owner) -> Option<crate::cloud::ChargeType> {
        self.workload(who).and_then(|wl| wl.spec.fallback)
    }

    /// Counts instances the control plane refused to a caller.
    fn add_refused(&mut self, who: Owner, n: u64) {
        match who {
            Owner::Workload(w) => self.workloads[w as usize].refused += n,
            Owner::Trace(t) => self.traces[t as usize].refused += n,
            _ => {}
        }
    }

    fn arrival(&mut self, w: u32, sched: &mut Scheduler<Event>) {
        let wl = &mut self.workloads[w as usize];
        let mut demand = wl.draw(sched.now());
        let next = wl.next_arrival(sched.now());
        sched.schedule_at(next, Event::Arrival(w));
        if let Some(log) = self.demand_log.as_mut() {
            log.push((w, demand.clone()));
        }
        self.on_arrival(w, &mut demand, sched);
        if let Some(pool) = self.pool.as_mut()
            && pool.serves(w)
        {
            // Place what the prepaid base can take on idle base instances; no API call.
            while let Some(id) = pool.take(demand.zone, demand.itype) {
                let Some(life) = demand.lifetimes.pop() else {
                    pool.give_back(demand.zone, demand.itype, id);
                    break;
                };
                let end = (demand.requested + life).max(sched.now());
                if let Some(key) = self.cloud.fleet().key_of(id) {
                    sched.schedule_at(end, Event::End(w, key));
                }
            }
            if demand.lifetimes.is_empty() {
                return;
            }
        }
        self.launch(Owner::Workload(w), demand, 1, sched);
    }

    /// Calls RunInstances for a demand (attempt `attempt`, counted from 1).
    fn launch(&mut self, w: Owner, demand: Demand, attempt: u32, sched: &mut Scheduler<Event>) {
        let (renew_flag, max_price) = self.client_terms(w);
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
            attach: self.workload(w).and_then(|wl| wl.spec.attach.clone()),
        });
        let result = self
            .cloud
            .call_attempt(w, req, attempt, sched, &mut self.rec);
        match result {
            Ok(Response::Launched { ids, keys }) => {
                self.on_launched(w, &demand, &ids, sched);
                let refused = demand.lifetimes.len() - ids.len();
                self.add_refused(w, refused as u64);
                let track_spot = demand.charge == crate::cloud::ChargeType::Spotpaid
                    && self.fallback_of(w).is_some();
                // Lifetimes count from the original request, whatever the retries took.
                for (i, (id, life)) in ids.into_iter().zip(&demand.lifetimes).enumerate() {
                    let end = (demand.requested + *life).max(sched.now());
                    // The handle, so the end needs no id lookup.
                    let fleet = self.cloud.fleet();
                    let key = match keys.get(i) {
                        Some(&k) if fleet.get(k).is_some_and(|inst| inst.id == id) => Some(k),
                        _ => fleet.key_of(id),
                    };
                    if let Some(ev) = key.and_then(|key| end_event(w, key)) {
                        sched.schedule_at(end, ev);
                    }
                    if track_spot {
                        self.spot_ends.insert(id, end);
                    }
                }
            }
            Ok(_) => {}
            Err(e) if self.zone_fallback_to(w, &demand, e.code).is_some() => {
                self.launch_next_zone(w, demand, e.code, sched);
            }
            Err(e) if self.should_fall_back(w, &demand, e.code) => {
                // A new request under the fallback charge type: its zones afresh.
                let mut d = demand;
                d.charge = self.fallback_of(w).expect("checked");
                d.tried.clear();
                self.launch(w, d, 1, sched);
            }
            Err(e) => {
                // A retry is a new request: its zones afresh.
                let n = demand.lifetimes.len() as u64;
                let mut d = demand;
                d.tried.clear();
                if !self.maybe_retry(w, attempt, e.code, RetryCall::Run(d), sched) {
                    self.add_refused(w, n);
                }
            }
        }
    }

    /// A spot request refused for capacity, quota or price falls back to the workload's
    /// fallback charge type, if it has one.
    fn should_fall_back(&self, w: Owner, demand: &Demand, code: crate::cloud::ErrorCode) -> bool {
        use crate::cloud::ErrorCode as E;
        demand.charge == crate::cloud::ChargeType::Spotpaid
            && self.fallback_of(w).is_some()
            && matches!(
                code,
                E::SpotQuota
                    | E::SoldOutType
                    | E::ResourceInsufficientType
                    | E::ZoneSoldOut
                    | E::TypeUnavailable
                    | E::BidPriceTooLow
            )
    }

    /// Schedules a retry of a refused call if the error is retryable and attempts remain;
    /// counts a give-up otherwise. Returns whether a retry was scheduled.
    fn maybe_retry(
        &mut self,
        who: Owner,
        attempts: u32,
        code: crate::cloud::ErrorCode,
        call: RetryCall,
        sched: &mut Scheduler<Event>,
    ) -> bool {
        if !code.retryable() {
            return false;
        }
        let action = match call {
            RetryCall::Run(_) => crate::cloud::Action::RunInstances,
            RetryCall::Terminate(_) => crate::cloud::Action::TerminateInstances,
            RetryCall::Plain(ref r) => r.action(),
        };
        if attempts >= self.retry.max_attempts {
            self.rec.give_up(sched.now(), action, code, attempts);
            return false;
        }
        let p = &self.retry;
        let backoff = p
            .base_delay
            .ms()
            .saturating_mul(1u64 << (attempts - 1).min(40))
            .min(p.max_delay.ms());
        let wait = if p.jitter {
            (backoff as f64 * self.retry_rng.uniform()).round() as u64
        } else {
            backoff
        };
        let pending = PendingRetry {
            who,
            attempts,
            call,
        };
        let slot = match self.free_retries.pop() {
            Some(i) => {
                self.retries[i as usize] = Some(pending);
                i
            }
            None => {
                self.retries.push(Some(pending));
                (self.retries.len() - 1) as u32
            }
        };
        sched.schedule_in(crate::engine::SimDuration(wait.max(1)), Event::Retry(slot));
        true
    }

    fn do_retry(&mut self, slot: u32, sched: &mut Scheduler<Event>) {
        let Some(p) = self.retries[slot as usize].take() else {
            return;
        };
        self.free_retries.push(slot);
        match p.call {
            RetryCall::Run(d) => self.launch(p.who, d, p.attempts + 1, sched),
            RetryCall::Plain(r) => {
                let _ = self.plain_call(p.who, r, p.attempts + 1, sched);
            }
            RetryCall::Terminate(target) => {
                self.terminate_attempt(p.who, target, p.attempts + 1, sched)
            }
        }
    }

    /// A workload ends an instance: terminate it if it can take the call now, else once it is
    /// RUNNING.
    fn end(&mut self, w: Owner, key: crate::cloud::InstanceKey, sched: &mut Scheduler<Event>) {
        let Some(inst) = self.cloud.fleet().get(key) else {
            return;
        };
        let id = inst.id;
        if let Some(pool) = self.pool.as_mut()
            && pool.is_member(id)
        {
            // A job on the prepaid base is done: the instance waits for the next one.
            pool.give_back(inst.zone, inst.itype, id);
            return;
        }
        match inst.state {
            InstanceState::Running | InstanceState::Stopped if !inst.busy() => {
                if inst.charge == crate::cloud::ChargeType::Prepaid {
                    // The first call only isolates it; the SHUTDOWN notice then destroys it.
                    self.ended_prepaid.insert(id);
                }
                self.terminate_known(w, id, key, sched);
            }
            InstanceState::Shutdown | InstanceState::LaunchFailed if !inst.busy() => {
                self.terminate_known(w, id, key, sched);
            }
            // Already on its way out.
            InstanceState::Terminating => {}
            _ => {
                self.end_when_running.insert(id);
            }
        }
    }

    /// Terminates an instance the caller holds a live handle to (no id lookup).
    fn terminate_known(
        &mut self,
        w: Owner,
        id: InstanceId,
        key: crate::cloud::InstanceKey,
        sched: &mut Scheduler<Event>,
    ) {
        self.terminate_attempt(w, InstanceRef::Known(id, key), 1, sched);
    }

    fn terminate(&mut self, w: Owner, id: InstanceId, sched: &mut Scheduler<Event>) {
        self.terminate_attempt(w, InstanceRef::Id(id), 1, sched);
    }

    fn terminate_attempt(
        &mut self,
        w: Owner,
        target: InstanceRef,
        attempt: u32,
        sched: &mut Scheduler<Event>,
    ) {
        let req = Request::TerminateInstances {
            ids: vec![target.clone()],
        };
        if let Err(e) = self
            .cloud
            .call_attempt(w, req, attempt, sched, &mut self.rec)
        {
            self.maybe_retry(w, attempt, e.code, RetryCall::Terminate(target), sched);
        }
    }

    /// Buys the prepaid base at the start of the run, in calls of at most 100 instances.
    pub fn buy_pool(&mut self, sched: &mut Scheduler<Event>) {
        let Some(pool) = self.pool.as_ref() else {
            return;
        };
        let orders = pool.orders();
        let months = pool.period_months;
        for (zone, itype, mut n) in orders {
            while n > 0 {
                let count = n.min(crate::cloud::api::MAX_RUN_COUNT);
                n -= count;
                let req = Request::RunInstances(RunInstances {
                    zone,
                    itype,
                    charge: crate::cloud::ChargeType::Prepaid,
                    count,
                    min_count: Some(1),
                    dry_run: false,
                    period_months: months,
                    renew_flag: crate::cloud::RenewFlag::NotifyAndAutoRenew,
                    max_price: None,
                    client_token: None,
                    attach: None,
                });
                if let Ok(Response::Launched { ids, .. }) =
                    self.cloud.call(Owner::Pool, req, sched, &mut self.rec)
                    && let Some(pool) = self.pool.as_mut()
                {
                    for id in ids {
                        pool.add(zone, itype, id);
                    }
                }
            }
        }
    }

    /// One call on behalf of `w` (a workload, trace replay or script); throttled calls are
    /// retried like any client's.
    fn plain_call(
        &mut self,
        w: Owner,
        req: Request,
        attempt: u32,
        sched: &mut Scheduler<Event>,
    ) -> Result<Response, crate::cloud::ApiError> {
        let res = self
            .cloud
            .call_attempt(w, req.clone(), attempt, sched, &mut self.rec);
        if let Err(e) = &res {
            self.maybe_retry(w, attempt, e.code, RetryCall::Plain(req), sched);
        }
        res
    }

    fn script_call(
        &mut self,
        req: Request,
        attempt: u32,
        sched: &mut Scheduler<Event>,
    ) -> Result<Response, crate::cloud::ApiError> {
        self.plain_call(Owner::Script, req, attempt, sched)
    }

    /// Runs scripted action `i`: selects its instances now and makes as many calls as the
    /// per-call caps need.
    fn script(&mut self, i: usize, sched: &mut Scheduler<Event>) {
        let a = self.scripts[i].clone();
        let mut applied: Vec<InstanceId> = Vec::new();
        match &a.call {
            ScriptCall::Run(_)
            | ScriptCall::DescribeQuota { .. }
            | ScriptCall::DescribeConfigs { .. }
            | ScriptCall::DescribeZones
            | ScriptCall::DescribeRegions
            | ScriptCall::DescribeTypeConfigs { .. } => {
                if let Ok(Response::Launched { ids, .. }) =
                    self.script_call(a.call.request(vec![]), 1, sched)
                {
                    applied = ids.into_vec();
                }
            }
            // Pricing a launch names no instances.
            ScriptCall::Inquire(c) if matches!(**c, ScriptCall::Run(_)) => {
                let _ = self.script_call(a.call.request(vec![]), 1, sched);
            }
            ScriptCall::Describe { page_size, filters } if a.select.is_none() => {
                // Page through everything: Offset advances until TotalCount is reached.
                let mut offset = 0u32;
                loop {
                    let req = Request::DescribeInstances {
                        ids: vec![],
                        filters: filters.clone(),
                        offset,
                        limit: Some(*page_size),
                    };
                    match self.cloud.call(Owner::Script, req, sched, &mut self.rec) {
                        Ok(Response::Instances { total, items }) => {
                            applied.extend(items.iter().map(|v| v.id));
                            offset += items.len() as u32;
                            if items.is_empty() || offset >= total {
                                break;
                            }
                        }
                        _ => break,
                    }
                }
            }
            call => {
                let sel = a.select.clone().unwrap_or_default();
                let earlier = sel
                    .from
                    .map(|j| self.script_sets[j].clone())
                    .unwrap_or_default();
                let refs = sel.pick(self.cloud.fleet(), &earlier, &mut self.script_rngs[i]);
                for batch in refs.chunks(call.ids_per_call()) {
                    if self
                        .script_call(call.request(batch.to_vec()), 1, sched)
                        .is_ok()
                    {
                        applied.extend(batch.iter().filter_map(InstanceRef::id));
                    }
                }
            }
        }
        applied.sort();
        applied.dedup();
        self.script_sets[i] = applied;
    }

    /// A call from a client outside the scenario (`Owner::External`), made now through the
    /// same door as every other (rate limits, quotas, stock), answered with the control
    /// plane's own response; the world then settles as after any event.
    pub fn external_call(
        &mut self,
        request: Request,
        sched: &mut Scheduler<Event>,
    ) -> Result<Response, crate::cloud::ApiError> {
        let result = self
            .cloud
            .call(Owner::External, request, sched, &mut self.rec);
        self.settle(sched);
        result
    }

    /// After an event or an external call: owners react to their notices, failure hazards
    /// follow the RUNNING count, the occupancy integral moves on.
    fn settle(&mut self, sched: &mut Scheduler<Event>) {
        self.dispatch_notices(sched);
        self.after_event(sched);
        let alive = self.cloud.fleet().len() as u64;
        if alive != self.occupancy.current {
            self.occupancy.advance(sched.now(), alive);
        }
    }

    /// Lets owners react to what happened to their instances.
    fn dispatch_notices(&mut self, sched: &mut Scheduler<Event>) {
        while self.cloud.has_notices() {
            let mut notices = std::mem::take(&mut self.notices);
            self.cloud.take_notices(&mut notices);
            for n in notices.drain(..) {
                if self.controller_notice(&n) {
                    continue;
                }
                let w = match n.owner {
                    Owner::Workload(_) | Owner::Trace(_) => n.owner,
                    _ => continue,
                };
                match n.to {
                    Some(InstanceState::Running) if self.end_when_running.remove(&n.id) => {
                        self.terminate_known(w, n.id, n.key, sched);
                    }
                    // A prepaid instance its workload ended sits in the recycle bin: destroy it.
                    // One that expired while still needed is renewed by hand for a month.
                    Some(InstanceState::Shutdown) => {
                        if self.ended_prepaid.remove(&n.id) {
                            self.terminate_known(w, n.id, n.key, sched);
                        } else {
                            let req = Request::RenewInstances {
                                ids: vec![InstanceRef::Known(n.id, n.key)],
                                period_months: 1,
                            };
                            let _ = self.plain_call(w, req, 1, sched);
                        }
                    }
                    // A failed launch is cleaned up.
                    Some(InstanceState::LaunchFailed) => {
                        self.end_when_running.remove(&n.id);
                        self.terminate_known(w, n.id, n.key, sched);
                    }
                    None => {
                        self.end_when_running.remove(&n.id);
                        self.ended_prepaid.remove(&n.id);
                        if let Some(end) = self.spot_ends.remove(&n.id)
                            && n.reclaimed
                            && end > sched.now()
                            && let Some(fb) = self.fallback_of(w)
                        {
                            // Reclaimed before its work was done: relaunch on the fallback
                            // for the rest of its lifetime.
                            let spec = &self.workload(w).expect("has a fallback").spec;
                            let d = Demand {
                                zone: n.zone,
                                itype: n.itype,
                                charge: fb,
                                period_months: spec.period_months,
                                lifetimes: smallvec::smallvec![end.since(sched.now())],
                                requested: sched.now(),
                                tried: Vec::new(),
                            };
                            self.launch(w, d, 1, sched);
                        }
                    }
                    _ => {}
                }
            }
            self.notices = notices;
        }
    }
}

impl<O: Observer> Model for World<O> {
    type Event = Event;
    type Error = anyhow::Error;

    /// A workload's end, and the control plane's own events, touch an instance record that
    /// has usually left the cache since it was last used (ends come hours later).
    #[inline]
    fn prefetch(&self, next: &Event) {
        let key = match *next {
            Event::End(_, key) | Event::TraceEnd(_, key) => key,
            Event::Cloud(
                CloudEvent::Complete(key)
                | CloudEvent::Expire(key)
                | CloudEvent::BinExpire(key)
                | CloudEvent::Reclaim(key),
            ) => key,
            _ => return,
        };
        self.cloud.fleet().prefetch(key);
    }

    fn handle(&mut self, ev: Event, sched: &mut Scheduler<Event>) -> anyhow::Result<()> {
        match ev {
            Event::Cloud(e) => self.cloud.handle(e, sched, &mut self.rec),
            Event::Arrival(w) => self.arrival(w, sched),
            Event::End(w, key) => self.end(Owner::Workload(w), key, sched),
            Event::TraceEnd(t, key) => self.end(Owner::Trace(t), key, sched),
            Event::Retry(slot) => self.do_retry(slot, sched),
            Event::Script(i) => self.script(i as usize, sched),
            Event::Trace(t) => self.trace_step(t, sched),
            Event::Autoscale(i) => self.autoscale(i, sched),
            Event::Fault(k) => self.fault_step(k, sched),
            Event::Failure(p) => self.failure(p, sched),
            // A sample counts everything due at its instant, whatever order the events were
            // queued in: while anything else is due now, it steps behind it.
            Event::Sample if sched.next_time() == Some(sched.now()) => {
                sched.schedule_at(sched.now(), Event::Sample);
            }
            Event::Sample => {
                if let Some(f) = self.sampler.as_mut() {
                    f(sched.now(), &self.rec, &self.cloud)?;
                }
                sched.schedule_in(self.sample_interval, Event::Sample);
            }
        }
        self.settle(sched);
        // A bad trace row (or an unreadable trace) ends the run here, not at the horizon.
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
