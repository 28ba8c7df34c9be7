//! The control plane: the one door to the fleet (DESIGN.md principle 5). Every change, whoever
//! asks for it, is a [`Request`] that passes rate limit → parameter validation → state
//! precondition → quota → stock, and is then accepted (the instance enters its transient state
//! and a completion event is scheduled) or refused with CVM's error code.

use crate::engine::{Dist, RandomStream, RngStreams, Scheduler, SimDuration, SimTime};

use super::billing::{Accrual, BillingRules};
use super::capacity::{Quotas, Stock, StockAnswer};
use super::catalog::{Catalog, ChargeType, TypeIdx, ZoneIdx};
use super::errors::{ApiError, ErrorCode};
use super::fleet::{Fleet, InstanceKey};
use super::instance::{BillingState, Instance, InstanceId, OperationState, Owner, StoppedMode};
use super::money::Money;
use super::state::{After, InstanceState, Transition, next_state};

/// CVM's API actions.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Action {
    RunInstances,
    StartInstances,
    StopInstances,
    RebootInstances,
    TerminateInstances,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::RunInstances,
        Action::StartInstances,
        Action::StopInstances,
        Action::RebootInstances,
        Action::TerminateInstances,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::RunInstances => "RunInstances",
            Action::StartInstances => "StartInstances",
            Action::StopInstances => "StopInstances",
            Action::RebootInstances => "RebootInstances",
            Action::TerminateInstances => "TerminateInstances",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// RunInstances parameters.
#[derive(Clone, Debug)]
pub struct RunInstances {
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    /// InstanceCount.
    pub count: u32,
    /// MinCount: accept a partial delivery of at least this many.
    pub min_count: Option<u32>,
    pub dry_run: bool,
    /// PREPAID period in months.
    pub period_months: u32,
}

/// A call to the API.
#[derive(Clone, Debug)]
pub enum Request {
    RunInstances(RunInstances),
    StartInstances {
        ids: Vec<InstanceId>,
    },
    StopInstances {
        ids: Vec<InstanceId>,
        stopped_mode: StoppedMode,
    },
    RebootInstances {
        ids: Vec<InstanceId>,
    },
    TerminateInstances {
        ids: Vec<InstanceId>,
    },
}

impl Request {
    pub fn action(&self) -> Action {
        match self {
            Request::RunInstances(_) => Action::RunInstances,
            Request::StartInstances { .. } => Action::StartInstances,
            Request::StopInstances { .. } => Action::StopInstances,
            Request::RebootInstances { .. } => Action::RebootInstances,
            Request::TerminateInstances { .. } => Action::TerminateInstances,
        }
    }
}

/// A successful answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// RunInstances: the `InstanceIdSet`.
    Launched(Vec<InstanceId>),
    /// Any other mutating call: accepted, the work goes on asynchronously.
    Accepted,
}

/// Transition durations (CVM.md: ASSUMPTION, all settings), in milliseconds.
#[derive(Clone, Debug)]
pub struct Timings {
    pub pending: Dist,
    pub stopping: Dist,
    pub starting: Dist,
    pub rebooting: Dist,
    pub terminating: Dist,
}

impl Default for Timings {
    fn default() -> Self {
        let u = |lo: u64, hi: u64| Dist::Uniform {
            low: (lo * 1000) as f64,
            high: (hi * 1000) as f64,
        };
        Timings {
            pending: u(30, 90),
            stopping: u(10, 30),
            starting: u(20, 60),
            rebooting: u(30, 90),
            terminating: u(5, 20),
        }
    }
}

/// Events the control plane schedules for itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CloudEvent {
    /// The operation in flight on this instance completes.
    Complete(InstanceKey),
}

/// A state change, as observers see it.
pub struct Change<'a> {
    pub time: SimTime,
    pub instance: &'a Instance,
    /// `None`: the instance was just created.
    pub from: Option<InstanceState>,
    /// `None`: the instance was released and has left the fleet.
    pub to: Option<InstanceState>,
    /// The billing interval this change closed (or an up-front charge, start == end).
    pub accrual: Accrual,
    pub catalog: &'a Catalog,
}

/// One API call's outcome, as observers see it.
pub struct CallRecord<'a> {
    pub time: SimTime,
    pub caller: Owner,
    pub request: &'a Request,
    pub result: &'a Result<Response, ApiError>,
}

/// Who watches the fleet: accounting, metrics, the journal. They read, never write.
pub trait Observer {
    fn state_change(&mut self, change: &Change<'_>);
    fn api_call(&mut self, _call: &CallRecord<'_>) {}
}

/// Most ids one call may name.
pub const MAX_IDS_PER_CALL: usize = 100;
/// Most instances one RunInstances may ask for.
pub const MAX_RUN_COUNT: u32 = 100;

/// The simulated CVM account in one run: catalogue, fleet, quotas, stock, timings.
pub struct Cloud {
    pub catalog: Catalog,
    pub rules: BillingRules,
    pub timings: Timings,
    /// Probability that a launch ends in LAUNCH_FAILED (ASSUMPTION, default 0.1%).
    pub launch_failure: f64,
    fleet: Fleet,
    quotas: Quotas,
    stock: Stock,
    timing_rng: RandomStream,
    failure_rng: RandomStream,
}

/// What a [`Cloud`] is built from.
pub struct CloudSetup {
    pub catalog: Catalog,
    pub rules: BillingRules,
    pub timings: Timings,
    pub launch_failure: f64,
    pub quotas: Quotas,
    pub stock: Stock,
}

impl Cloud {
    /// A cloud whose randomness comes from the streams `cloud:timings` and `cloud:failures`.
    pub fn new(setup: CloudSetup, streams: &RngStreams) -> Self {
        Cloud {
            catalog: setup.catalog,
            rules: setup.rules,
            timings: setup.timings,
            launch_failure: setup.launch_failure,
            fleet: Fleet::new(),
            quotas: setup.quotas,
            stock: setup.stock,
            timing_rng: streams.stream("cloud:timings"),
            failure_rng: streams.stream("cloud:failures"),
        }
    }

    /// Read-only view of the fleet.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }
    pub fn stock(&self) -> &Stock {
        &self.stock
    }

    /// Makes a call. The observers see the call's outcome and every state change it causes.
    pub fn call<E: From<CloudEvent>, O: Observer>(
        &mut self,
        caller: Owner,
        request: Request,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        let result = self.dispatch(caller, &request, sched, obs);
        obs.api_call(&CallRecord {
            time: sched.now(),
            caller,
            request: &request,
            result: &result,
        });
        result
    }

    fn dispatch<E: From<CloudEvent>, O: Observer>(
        &mut self,
        caller: Owner,
        request: &Request,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        match request {
            Request::RunInstances(r) => self.run_instances(caller, r, sched, obs),
            Request::StartInstances { ids } => {
                let keys = self.resolve(ids, &[InstanceState::Stopped])?;
                for &key in &keys {
                    let inst = self.fleet.get(key).expect("resolved");
                    if !inst.holds_stock {
                        let (z, t) = (inst.zone, inst.itype);
                        if self.stock.ask(z, t, 1) != StockAnswer::Available {
                            return Err(ApiError::new(
                                ErrorCode::ResourceInsufficientType,
                                format!(
                                    "{} cannot get its capacity back: {} is short of {}",
                                    inst.id,
                                    self.catalog.zone(z).name,
                                    self.catalog.itype(t).name
                                ),
                            ));
                        }
                    }
                }
                for key in keys {
                    let inst = self.fleet.get(key).expect("resolved");
                    if !inst.holds_stock {
                        let (z, t) = (inst.zone, inst.itype);
                        self.stock.take(z, t, 1);
                        self.fleet.get_mut(key).expect("resolved").holds_stock = true;
                    }
                    let d = self.timings.starting.clone();
                    self.begin(key, Transition::Start, "StartInstances", &d, sched, obs);
                }
                Ok(Response::Accepted)
            }
            Request::StopInstances { ids, stopped_mode } => {
                let keys = self.resolve(ids, &[InstanceState::Running])?;
                if *stopped_mode == StoppedMode::StopCharging {
                    for &key in &keys {
                        let inst = self.fleet.get(key).expect("resolved");
                        if inst.charge != ChargeType::PostpaidByHour {
                            return Err(ApiError::new(
                                ErrorCode::StoppedModeStopCharging,
                                format!(
                                    "{} is {}: STOP_CHARGING is only for POSTPAID_BY_HOUR",
                                    inst.id, inst.charge
                                ),
                            ));
                        }
                    }
                }
                for key in keys {
                    self.fleet.get_mut(key).expect("resolved").stopped_mode = *stopped_mode;
                    let d = self.timings.stopping.clone();
                    self.begin(key, Transition::Stop, "StopInstances", &d, sched, obs);
                }
                Ok(Response::Accepted)
            }
            Request::RebootInstances { ids } => {
                let keys = self.resolve(ids, &[InstanceState::Running])?;
                for key in keys {
                    let d = self.timings.rebooting.clone();
                    self.begin(key, Transition::Reboot, "RebootInstances", &d, sched, obs);
                }
                Ok(Response::Accepted)
            }
            Request::TerminateInstances { ids } => {
                use InstanceState as S;
                let keys =
                    self.resolve(ids, &[S::Running, S::Stopped, S::Shutdown, S::LaunchFailed])?;
                let first = self.fleet.get(keys[0]).expect("resolved").charge;
                if keys
                    .iter()
                    .any(|&k| self.fleet.get(k).expect("resolved").charge != first)
                {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        "TerminateInstances takes instances of one charge type per call",
                    ));
                }
                for key in keys {
                    let inst = self.fleet.get(key).expect("resolved");
                    let isolate = inst.charge == ChargeType::Prepaid
                        && matches!(inst.state, S::Running | S::Stopped);
                    if isolate {
                        // First call on a prepaid instance: into the recycle bin.
                        self.mark(key, "TerminateInstances", OperationState::Success);
                        self.apply(key, Transition::Isolate, sched.now(), obs);
                    } else {
                        let d = self.timings.terminating.clone();
                        self.begin(
                            key,
                            Transition::Terminate,
                            "TerminateInstances",
                            &d,
                            sched,
                            obs,
                        );
                    }
                }
                Ok(Response::Accepted)
            }
        }
    }

    /// Resolves ids to live instances that accept the call: per-call cap, format, existence,
    /// operation in flight, state. All-or-nothing: one bad id refuses the whole call, and
    /// nothing has changed.
    fn resolve(
        &self,
        ids: &[InstanceId],
        accepted: &[InstanceState],
    ) -> Result<Vec<InstanceKey>, ApiError> {
        if ids.is_empty() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "InstanceIds must name at least one instance",
            ));
        }
        if ids.len() > MAX_IDS_PER_CALL {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueLimitExceeded,
                format!(
                    "{} ids given, at most {MAX_IDS_PER_CALL} per call",
                    ids.len()
                ),
            ));
        }
        let mut keys = Vec::with_capacity(ids.len());
        for &id in ids {
            let key = self.fleet.key_of(id).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidInstanceIdNotFound,
                    format!("{id} not found"),
                )
            })?;
            let inst = self.fleet.get(key).expect("indexed");
            if inst.busy() {
                return Err(ApiError::new(
                    ErrorCode::OperationInProgress,
                    format!(
                        "{id} has {} in progress",
                        inst.latest_operation.unwrap_or("an operation")
                    ),
                ));
            }
            if !accepted.contains(&inst.state) {
                return Err(ApiError::new(
                    ErrorCode::InstanceState(inst.state),
                    format!("{id} is {}", inst.state),
                ));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    fn run_instances<E: From<CloudEvent>, O: Observer>(
        &mut self,
        caller: Owner,
        r: &RunInstances,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        if r.count == 0 || r.count > MAX_RUN_COUNT {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("InstanceCount {} is outside 1..{MAX_RUN_COUNT}", r.count),
            ));
        }
        let min = r.min_count.unwrap_or(r.count);
        if min == 0 || min > r.count {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "MinCount {min} must be within 1..=InstanceCount ({})",
                    r.count
                ),
            ));
        }
        if r.charge == ChargeType::Prepaid && !self.rules.valid_period(r.period_months) {
            return Err(ApiError::new(
                ErrorCode::InvalidPeriod,
                format!(
                    "Period {} is not an offered prepaid period",
                    r.period_months
                ),
            ));
        }
        let (z, t, c) = (r.zone, r.itype, r.charge);
        let vcpus = self.catalog.itype(t).vcpus;
        // Quota: how many instances the remaining quota allows.
        let per = Quotas::units(c, vcpus);
        let mut n = r.count.min(self.quotas.remaining(z, c) / per);
        if c == ChargeType::Prepaid
            && let Some(once) = self.quotas.once(z)
        {
            n = n.min(once);
        }
        if n < min {
            let code = match c {
                ChargeType::Prepaid => ErrorCode::PrepayQuota,
                ChargeType::PostpaidByHour => ErrorCode::InstanceQuota,
                ChargeType::Spotpaid => ErrorCode::SpotQuota,
            };
            return Err(ApiError::new(
                code,
                format!(
                    "{} {} quota in {}: {} used of {}, {} asked",
                    c,
                    if c == ChargeType::Spotpaid {
                        "core"
                    } else {
                        "instance"
                    },
                    self.catalog.zone(z).name,
                    self.quotas.used(z, c),
                    self.quotas.total(z, c).unwrap_or(u32::MAX),
                    r.count * per
                ),
            ));
        }
        // Stock.
        match self.stock.ask(z, t, n) {
            StockAnswer::Available => {}
            StockAnswer::Low(free) if free >= min => n = free,
            answer => {
                let code = match answer {
                    StockAnswer::NotOffered => ErrorCode::TypeUnavailable,
                    StockAnswer::Low(_) => ErrorCode::ResourceInsufficientType,
                    _ => ErrorCode::SoldOutType,
                };
                return Err(ApiError::new(
                    code,
                    format!(
                        "{} in {}: {} free, {} asked",
                        self.catalog.itype(t).name,
                        self.catalog.zone(z).name,
                        self.stock.free(z, t).min(1_000_000_000),
                        n
                    ),
                ));
            }
        }
        if r.dry_run {
            return Err(ApiError::new(
                ErrorCode::DryRunOperation,
                "the request would have succeeded",
            ));
        }
        self.quotas.take(z, c, n * per);
        self.stock.take(z, t, n);
        let now = sched.now();
        let mut ids = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let id = self.fleet.next_id();
            let expires = (c == ChargeType::Prepaid).then(|| {
                now + SimDuration(r.period_months as u64 * 30 * crate::engine::time::MS_PER_DAY)
            });
            let inst = Instance {
                id,
                zone: z,
                itype: t,
                charge: c,
                state: InstanceState::Pending,
                state_since: now,
                created: now,
                first_running: None,
                owner: caller,
                latest_operation: Some("RunInstances"),
                latest_operation_state: Some(OperationState::Operating),
                pending: None,
                stopped_mode: StoppedMode::KeepCharging,
                next_type: None,
                expires,
                holds_quota: true,
                holds_stock: true,
                billing: BillingState {
                    since: now,
                    ..Default::default()
                },
            };
            let key = self.fleet.insert(inst);
            let upfront = if c == ChargeType::Prepaid {
                self.rules
                    .prepaid_price(self.catalog.price(t).prepaid_monthly, r.period_months)
            } else {
                Money::ZERO
            };
            let inst = self.fleet.get_mut(key).expect("just inserted");
            inst.billing.charged += upfront;
            let delay = sample_ms(&self.timings.pending, &mut self.timing_rng);
            inst.pending = Some(sched.schedule_in(delay, CloudEvent::Complete(key).into()));
            obs.state_change(&Change {
                time: now,
                instance: inst,
                from: None,
                to: Some(InstanceState::Pending),
                accrual: Accrual {
                    start: now,
                    end: now,
                    amount: upfront,
                },
                catalog: &self.catalog,
            });
            ids.push(id);
        }
        Ok(Response::Launched(ids))
    }

    fn mark(&mut self, key: InstanceKey, op: &'static str, st: OperationState) {
        let inst = self.fleet.get_mut(key).expect("live");
        inst.latest_operation = Some(op);
        inst.latest_operation_state = Some(st);
    }

    /// Starts an operation: enter the transient state now, complete after a sampled delay.
    fn begin<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        t: Transition,
        op: &'static str,
        duration: &Dist,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        self.mark(key, op, OperationState::Operating);
        self.apply(key, t, sched.now(), obs);
        let delay = sample_ms(duration, &mut self.timing_rng);
        let ev = sched.schedule_in(delay, CloudEvent::Complete(key).into());
        self.fleet.get_mut(key).expect("live").pending = Some(ev);
    }

    /// Applies one legal transition: closes the billing interval, moves the state, frees quota
    /// and stock on release, tells the observers. Panics on an illegal move, which would be a
    /// bug in this module (callers check preconditions first).
    fn apply<O: Observer>(&mut self, key: InstanceKey, t: Transition, now: SimTime, obs: &mut O) {
        let inst = self.fleet.get_mut(key).expect("live instance");
        let from = inst.state;
        let after = next_state(from, t)
            .unwrap_or_else(|s| panic!("illegal transition {t:?} from {s} (control plane bug)"));
        let accrual = self.rules.accrue(&self.catalog, inst, now);
        match after {
            After::State(to) => {
                inst.state = to;
                inst.state_since = now;
                if to == InstanceState::Running && inst.first_running.is_none() {
                    inst.first_running = Some(now);
                }
                let (z, ty, c, vcpus) = (
                    inst.zone,
                    inst.itype,
                    inst.charge,
                    self.catalog.itype(inst.itype).vcpus,
                );
                if to == InstanceState::LaunchFailed && inst.holds_quota {
                    inst.holds_quota = false;
                    self.quotas.give_back(z, c, Quotas::units(c, vcpus));
                }
                let frees_stock = to == InstanceState::LaunchFailed
                    || (to == InstanceState::Stopped
                        && inst.stopped_mode == StoppedMode::StopCharging);
                if frees_stock && inst.holds_stock {
                    inst.holds_stock = false;
                    self.stock.give_back(z, ty, 1);
                }
                let inst = self.fleet.get(key).expect("live");
                obs.state_change(&Change {
                    time: now,
                    instance: inst,
                    from: Some(from),
                    to: Some(to),
                    accrual,
                    catalog: &self.catalog,
                });
            }
            After::Released => {
                let inst = self.fleet.remove(key).expect("live");
                let vcpus = self.catalog.itype(inst.itype).vcpus;
                if inst.holds_quota {
                    self.quotas.give_back(
                        inst.zone,
                        inst.charge,
                        Quotas::units(inst.charge, vcpus),
                    );
                }
                if inst.holds_stock {
                    self.stock.give_back(inst.zone, inst.itype, 1);
                }
                obs.state_change(&Change {
                    time: now,
                    instance: &inst,
                    from: Some(from),
                    to: None,
                    accrual,
                    catalog: &self.catalog,
                });
            }
        }
    }

    /// Handles one of the control plane's own events.
    pub fn handle<E: From<CloudEvent>, O: Observer>(
        &mut self,
        ev: CloudEvent,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        match ev {
            CloudEvent::Complete(key) => self.complete(key, sched, obs),
        }
    }

    fn complete<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        let now = sched.now();
        let Some(inst) = self.fleet.get_mut(key) else {
            return;
        };
        inst.pending = None;
        let t = match inst.state {
            InstanceState::Pending => {
                if self.failure_rng.bernoulli(self.launch_failure) {
                    Transition::LaunchFailed
                } else {
                    Transition::LaunchSucceeded
                }
            }
            InstanceState::Stopping => Transition::StopDone,
            InstanceState::Starting => Transition::StartDone,
            InstanceState::Rebooting => Transition::RebootDone,
            InstanceState::Terminating => Transition::Released,
            _ => return,
        };
        let st = if t == Transition::LaunchFailed {
            OperationState::Failed
        } else {
            OperationState::Success
        };
        if t != Transition::Released {
            self.mark(key, inst_op(self.fleet.get(key)), st);
        }
        self.apply(key, t, now, obs);
    }

    /// Closes every open billing interval at the end of the run, so bills cover the whole run.
    pub fn close_books<O: Observer>(&mut self, now: SimTime, obs: &mut O) {
        let keys: Vec<InstanceKey> = self.fleet.iter().map(|(k, _)| k).collect();
        for key in keys {
            let inst = self.fleet.get_mut(key).expect("live");
            let accrual = self.rules.accrue(&self.catalog, inst, now);
            let state = inst.state;
            let inst = self.fleet.get(key).expect("live");
            obs.state_change(&Change {
                time: now,
                instance: inst,
                from: Some(state),
                to: Some(state),
                accrual,
                catalog: &self.catalog,
            });
        }
    }
}

fn inst_op(inst: Option<&Instance>) -> &'static str {
    inst.and_then(|i| i.latest_operation)
        .unwrap_or("RunInstances")
}

/// Samples a duration in whole milliseconds (at least 1 ms, so an operation never completes in
/// the same instant it starts).
pub fn sample_ms(d: &Dist, rng: &mut RandomStream) -> SimDuration {
    SimDuration((d.sample(rng).round().max(1.0)) as u64)
}
