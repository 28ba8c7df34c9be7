//! The control plane: the one door to the fleet (DESIGN.md principle 5). Every change, whoever
//! asks for it, is a [`Request`] that passes rate limit → parameter validation → state
//! precondition → quota → stock, and is then accepted (the instance enters its transient state
//! and a completion event is scheduled) or refused with CVM's error code.

use crate::engine::{Dist, RandomStream, RngStreams, Scheduler, SimDuration, SimTime};

mod checks;
mod faults;
mod inquiry;
mod lifecycle;
mod orders;
mod polls;
mod prepaid;
mod reads;
mod requests;
mod spot;

pub use faults::{OutageMode, PlatformNotice};
pub use orders::{ResizeQuote, ReturnCounts, ReturnQuote};
pub use requests::*;

use crate::cloud::billing::{Accrual, BillingRules, Piece};
use crate::cloud::capacity::{Quotas, Stock, StockAnswer};
use crate::cloud::catalog::{Catalog, ChargeType, TypeIdx, ZoneIdx};
use crate::cloud::errors::{ApiError, ErrorCode};
use crate::cloud::fleet::{Fleet, InstanceKey};
use crate::cloud::instance::{
    BillingState, Instance, InstanceFlags, InstanceId, LatestOperation, Operation, OperationState,
    OptTime, OptTypeIdx, Owner, PendingEvent, RenewFlag, StoppedMode,
};
use crate::cloud::money::Money;
use crate::cloud::ratelimit::{RateLimiter, RateLimits};
use crate::cloud::spot_market::{SpotMarket, SpotModel};
use crate::cloud::state::{After, InstanceState, Transition, next_state};

/// Transition durations (CVM.md: ASSUMPTION, all settings), in milliseconds.
#[derive(Clone, Debug)]
pub struct Timings {
    pub pending: Dist,
    pub stopping: Dist,
    pub starting: Dist,
    pub rebooting: Dist,
    pub terminating: Dist,
    pub reset_type: Dist,
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
            reset_type: u(60, 180),
        }
    }
}

/// Events the control plane schedules for itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CloudEvent {
    /// The operation in flight on this instance completes.
    Complete(InstanceKey),
    /// A PREPAID instance's paid period may have ended.
    Expire(InstanceKey),
    /// An isolated instance's time in the recycle bin may be up.
    BinExpire(InstanceKey),
    /// A SPOTPAID instance's reclaim notice runs out.
    Reclaim(InstanceKey),
    /// A LAUNCH_FAILED instance's time is up: the platform removes it.
    Cleanup(InstanceKey),
}

/// What a [`Change`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// The instance was created, moved between states, or was released.
    State,
    /// Billing without a move: a renewal, a refund, a charge-type change (`from == to`).
    Charge,
    /// The end of the run closes the instance's open billing interval (`from == to`).
    Close,
}

/// A state change, as observers see it.
pub struct Change<'a> {
    pub kind: ChangeKind,
    pub time: SimTime,
    pub instance: &'a Instance,
    /// The instance's fleet handle (stale once `to` is `None`), so an owner reacting to the
    /// change can call about it without an id lookup.
    pub key: InstanceKey,
    /// `None`: the instance was just created.
    pub from: Option<InstanceState>,
    /// `None`: the instance was released and has left the fleet.
    pub to: Option<InstanceState>,
    /// Instance type and charge type before the change (they differ from the instance's own
    /// after ResetInstancesType and ModifyInstancesChargeType).
    pub from_type: TypeIdx,
    pub from_charge: ChargeType,
    /// The billing interval this change closed (or an up-front charge, start == end).
    pub accrual: Accrual<'a>,
    pub catalog: &'a Catalog,
}

/// One API call's outcome, as observers see it.
pub struct CallRecord<'a> {
    pub time: SimTime,
    pub caller: Owner,
    /// Which try of the client's call this is (1: the first).
    pub attempt: u32,
    pub request: &'a Request,
    pub result: &'a Result<Response, ApiError>,
}

/// Who watches the run: accounting, metrics, the journal, the output files. Observers read,
/// never write: nothing the model decides depends on them, so any observer (or none) gives
/// the same run.
pub trait Observer {
    fn state_change(&mut self, change: &Change<'_>);
    fn api_call(&mut self, _call: &CallRecord<'_>) {}
    /// A client gave up on a call after `attempts` tries, the last refused with `code`.
    fn give_up(&mut self, _time: SimTime, _action: Action, _code: ErrorCode, _attempts: u32) {}
    /// The platform did something to a zone (an outage begins or ends), in words.
    fn platform(&mut self, _time: SimTime, _zone: &str, _what: &str) {}
}

/// An observer that watches nothing (a run whose outputs nobody reads).
impl Observer for () {
    fn state_change(&mut self, _change: &Change<'_>) {}
}

/// Two observers watching the same run, `.0` first.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn state_change(&mut self, change: &Change<'_>) {
        self.0.state_change(change);
        self.1.state_change(change);
    }
    fn api_call(&mut self, call: &CallRecord<'_>) {
        self.0.api_call(call);
        self.1.api_call(call);
    }
    fn give_up(&mut self, time: SimTime, action: Action, code: ErrorCode, attempts: u32) {
        self.0.give_up(time, action, code, attempts);
        self.1.give_up(time, action, code, attempts);
    }
    fn platform(&mut self, time: SimTime, zone: &str, what: &str) {
        self.0.platform(time, zone, what);
        self.1.platform(time, zone, what);
    }
}

/// A state change that concerns an instance's owner: the control plane's own word to the
/// client that holds the instance (as CVM clients learn from polling), kept in its outbox
/// until the world hands it on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Notice {
    pub owner: Owner,
    pub id: InstanceId,
    /// Its fleet handle (stale once released), for calls about it without an id lookup.
    pub key: InstanceKey,
    pub to: Option<InstanceState>,
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    /// The instance was destroyed by a spot reclaim.
    pub reclaimed: bool,
}

/// What a change did beyond the instance's own record: the kind, the states and types before
/// and after, and the billing interval it closed (from `start` to now; `pieces`: the interval's
/// pieces are in the cloud's scratch buffer, else the amount is charged at one instant).
struct Move {
    kind: ChangeKind,
    from: Option<InstanceState>,
    to: Option<InstanceState>,
    from_type: TypeIdx,
    from_charge: ChargeType,
    start: SimTime,
    amount: Money,
    pieces: bool,
}

impl Move {
    /// A state change that closed the billing interval from `start` (its pieces are in the
    /// cloud's scratch buffer) with `amount`.
    fn interval(
        from: Option<InstanceState>,
        to: Option<InstanceState>,
        from_type: TypeIdx,
        from_charge: ChargeType,
        start: SimTime,
        amount: Money,
    ) -> Move {
        Move {
            kind: ChangeKind::State,
            from,
            to,
            from_type,
            from_charge,
            start,
            amount,
            pieces: true,
        }
    }

    /// A change whose `amount` is charged (or, negative, refunded) at one instant.
    fn point(
        kind: ChangeKind,
        from: Option<InstanceState>,
        to: Option<InstanceState>,
        from_type: TypeIdx,
        from_charge: ChargeType,
        amount: Money,
    ) -> Move {
        Move {
            kind,
            from,
            to,
            from_type,
            from_charge,
            start: SimTime::ZERO,
            amount,
            pieces: false,
        }
    }
}

/// Most ids one call may name.
pub const MAX_IDS_PER_CALL: usize = 100;
/// Most instances one RunInstances may ask for, by default (`[api] max_instance_count`; the
/// simulated clients never ask for more in one call).
pub const MAX_RUN_COUNT: u32 = 100;
/// The highest `[api] max_instance_count`: RunInstances documents InstanceCount 1–500 in
/// mainland China regions.
pub const MAX_RUN_COUNT_LIMIT: u32 = 500;

/// The simulated CVM account in one run: catalogue, fleet, quotas, stock, timings.
pub struct Cloud {
    pub catalog: Catalog,
    pub rules: BillingRules,
    pub timings: Timings,
    /// Probability that a launch ends in LAUNCH_FAILED (ASSUMPTION, default 0.1%).
    pub launch_failure: f64,
    /// How long an isolated instance waits in the recycle bin.
    pub recycle_bin: SimDuration,
    /// Most instances one RunInstances may ask for (`[api] max_instance_count`).
    pub max_run_count: u32,
    /// How long a LAUNCH_FAILED instance stays listed before the platform removes it
    /// (ASSUMPTION, `[cloud] launch_failed_cleanup`).
    pub launch_failed_cleanup: SimDuration,
    /// Notice a reclaimed spot instance gets.
    pub spot_notice: SimDuration,
    limiter: RateLimiter,
    market: SpotMarket,
    /// ClientTokens of accepted RunInstances calls and the instances each created.
    client_tokens: crate::engine::hash::FxHashMap<String, LaunchedIds>,
    /// Spot instances holding stock, per zone × type, by id (newest last): reclaim victims.
    spot_holders: Vec<crate::cloud::spot_holders::SpotHolders>,
    /// Scratch buffer for the pieces of the interval being closed (no allocation per event).
    pieces: Vec<Piece>,
    /// State changes their owners have not yet been told of.
    outbox: Vec<Notice>,
    /// Instances RUNNING per zone (the platform's failure hazards depend on it).
    running: Vec<u64>,
    /// The account's returns of prepaid instances this year.
    returns: ReturnCounts,
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
    pub rate_limits: RateLimits,
    pub spot_model: SpotModel,
    /// Length of a spot price step.
    pub spot_step: SimDuration,
    pub spot_notice: SimDuration,
    pub recycle_bin: SimDuration,
}

impl Cloud {
    /// A cloud whose randomness comes from the streams `cloud:timings` and `cloud:failures`.
    pub fn new(setup: CloudSetup, streams: &RngStreams) -> Self {
        let market = SpotMarket::new(&setup.catalog, setup.spot_model, setup.spot_step, streams);
        let cells = setup.catalog.zones.len() * setup.catalog.types.len();
        let zones = setup.catalog.zones.len();
        Cloud {
            catalog: setup.catalog,
            rules: setup.rules,
            timings: setup.timings,
            launch_failure: setup.launch_failure,
            recycle_bin: setup.recycle_bin,
            max_run_count: MAX_RUN_COUNT,
            launch_failed_cleanup: SimDuration::from_hours(1),
            spot_notice: setup.spot_notice,
            limiter: RateLimiter::new(&setup.rate_limits),
            spot_holders: vec![Default::default(); cells],
            client_tokens: Default::default(),
            market,
            pieces: Vec::new(),
            outbox: Vec::new(),
            running: vec![0; zones],
            returns: ReturnCounts::default(),
            fleet: Fleet::new(),
            quotas: setup.quotas,
            stock: setup.stock,
            timing_rng: streams.stream("cloud:timings"),
            failure_rng: streams.stream("cloud:failures"),
        }
    }

    /// Moves the owners' notices gathered since the last take into `into` (emptied first).
    pub fn take_notices(&mut self, into: &mut Vec<Notice>) {
        into.clear();
        std::mem::swap(into, &mut self.outbox);
    }

    /// Whether state changes are waiting to be told to their owners.
    pub fn has_notices(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Instances RUNNING now, in one zone or in all.
    pub fn running(&self, zone: Option<ZoneIdx>) -> u64 {
        match zone {
            Some(z) => self.running[z.0 as usize],
            None => self.running.iter().sum(),
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

    /// Makes a call (a first try). The observers see the call's outcome and every state
    /// change it causes.
    pub fn call<E: From<CloudEvent>, O: Observer>(
        &mut self,
        caller: Owner,
        request: Request,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        self.call_attempt(caller, request, 1, sched, obs)
    }

    /// Makes a call that is try number `attempt` (1: the first) of the client's call.
    pub fn call_attempt<E: From<CloudEvent>, O: Observer>(
        &mut self,
        caller: Owner,
        request: Request,
        attempt: u32,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        self.quotas.roll_month(sched.now());
        let result = if self.limiter.admit(sched.now(), request.action()) {
            self.dispatch(caller, &request, sched, obs)
        } else {
            Err(ApiError::new(
                ErrorCode::RequestLimitExceeded,
                format!("{} throttled", request.action().as_str()),
            ))
        };
        obs.api_call(&CallRecord {
            time: sched.now(),
            caller,
            attempt,
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
            Request::StartInstances { ids } => self.start_instances(ids, sched, obs),
            Request::StopInstances { ids, stopped_mode } => {
                self.stop_instances(ids, *stopped_mode, sched, obs)
            }
            Request::RebootInstances { ids } => self.reboot_instances(ids, sched, obs),
            Request::ResetInstancesType {
                ids,
                itype,
                force_stop,
            } => self.reset_type(ids, *itype, *force_stop, sched, obs),
            Request::RenewInstances { ids, period_months } => {
                self.renew(ids, *period_months, sched, obs)
            }
            Request::ModifyInstancesChargeType {
                ids,
                charge,
                period_months,
            } => self.modify_charge(ids, *charge, *period_months, sched, obs),
            Request::DescribeInstances {
                ids,
                filters,
                offset,
                limit,
            } => self.describe_instances(ids, filters, *offset, *limit),
            Request::DescribeAccountQuota { zone } => self.describe_account_quota(*zone),
            Request::DescribeZoneInstanceConfigInfos { zone } => self.describe_zone_configs(*zone),
            Request::TerminateInstances { ids } => self.terminate_instances(ids, sched, obs),
            Request::DescribeInstancesStatus {
                ids,
                zones,
                offset,
                limit,
            } => self.describe_instances_status(ids, zones, *offset, *limit),
            Request::ModifyInstancesRenewFlag { ids, flag } => self.modify_renew_flag(ids, *flag),
            Request::DescribeZones => self.describe_zones(),
            Request::DescribeRegions => self.describe_regions(),
            Request::DescribeInstanceTypeConfigs { zone } => self.describe_type_configs(*zone),
            Request::InquiryPriceRunInstances(r) => self.inquire_run(r, sched.now()),
            Request::InquiryPriceRenewInstances { ids, period_months } => {
                self.inquire_renew(ids, *period_months)
            }
            Request::InquiryPriceResetInstancesType { ids, itype } => {
                self.inquire_reset(ids, *itype, sched.now())
            }
            Request::InquiryPriceTerminateInstances { ids } => {
                self.inquire_terminate(ids, sched.now())
            }
            Request::InquiryPriceModifyInstancesChargeType {
                ids,
                charge,
                period_months,
            } => self.inquire_modify_charge(ids, *charge, *period_months, sched.now()),
        }
    }

    /// Resolves ids to live instances that accept the call: per-call cap, format, existence,
    /// operation in flight, state. All-or-nothing: one bad id refuses the whole call, and
    /// nothing has changed.
    fn resolve(
        &self,
        action: Action,
        ids: &[InstanceRef],
        accepted: &[InstanceState],
    ) -> Result<Resolved, ApiError> {
        self.resolve_capped(action, ids, accepted, MAX_IDS_PER_CALL)
    }

    /// Parses an id given as text (`InvalidInstanceId.Malformed` if it is not one).
    fn parse_ref(r: &InstanceRef) -> Result<InstanceId, ApiError> {
        match r {
            InstanceRef::Id(id) | InstanceRef::Known(id, _) => Ok(*id),
            InstanceRef::Text(t) => InstanceId::parse(t).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidInstanceIdMalformed,
                    format!("`{t}` is not an instance id (ins-xxxxxxxx)"),
                )
            }),
        }
    }

    fn resolve_capped(
        &self,
        action: Action,
        refs: &[InstanceRef],
        accepted: &[InstanceState],
        cap: usize,
    ) -> Result<Resolved, ApiError> {
        if refs.is_empty() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "InstanceIds must name at least one instance",
            ));
        }
        if refs.len() > cap {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueLimitExceeded,
                format!("{} ids given, at most {cap} per call", refs.len()),
            ));
        }
        if refs.len() > 1 {
            let mut seen = refs
                .iter()
                .map(Self::parse_ref)
                .collect::<Result<Vec<_>, _>>()?;
            seen.sort();
            if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    format!("InstanceIds names {} more than once", w[0]),
                ));
            }
        }
        if let [r] = refs {
            return Ok(Resolved::One([self.resolve_one(action, r, accepted)?]));
        }
        let keys = refs
            .iter()
            .map(|r| self.resolve_one(action, r, accepted))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Resolved::Many(keys))
    }

    /// One id of a call: it must name a live instance, in an accepted state, with no
    /// operation in flight. A state the action does not accept gets the code the action's
    /// list has for it ([`sdk_codes::state_refusal`]); an accepted state with an operation
    /// still in flight (a reset of a STOPPED instance) gets
    /// `OperationDenied.InstanceOperationInProgress`. A `Known` handle is checked by
    /// generation, an id is searched for.
    fn resolve_one(
        &self,
        action: Action,
        r: &InstanceRef,
        accepted: &[InstanceState],
    ) -> Result<InstanceKey, ApiError> {
        let id = Self::parse_ref(r)?;
        let found = match r {
            InstanceRef::Known(_, key) => self.fleet.get(*key).map(|_| *key),
            _ => self.fleet.key_of(id),
        };
        let key = found.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidInstanceIdNotFound,
                format!("{id} not found"),
            )
        })?;
        let inst = self.fleet.live(key);
        debug_assert_eq!(inst.id, id, "a live handle names its own instance");
        if !accepted.contains(&inst.state) {
            return Err(ApiError::new(
                crate::cloud::sdk_codes::state_refusal(action, inst.state),
                format!("{id} is {}", inst.state),
            ));
        }
        if inst.busy() {
            return Err(ApiError::new(
                ErrorCode::OperationInProgress,
                format!(
                    "{id} has {} in progress",
                    inst.latest_operation.unwrap_or("an operation")
                ),
            ));
        }
        Ok(key)
    }

    fn zone_list(&self, zone: Option<ZoneIdx>) -> impl Iterator<Item = ZoneIdx> + use<> {
        let n = self.catalog.zones.len() as u16;
        let (a, b) = match zone {
            Some(z) => (z.0, z.0 + 1),
            None => (0, n),
        };
        (a..b).map(ZoneIdx)
    }

    fn stock_error(&self, z: ZoneIdx, t: TypeIdx, answer: StockAnswer) -> ApiError {
        let code = match answer {
            StockAnswer::NotOffered => ErrorCode::TypeUnavailable,
            StockAnswer::Low(_) => ErrorCode::ResourceInsufficientType,
            _ => ErrorCode::SoldOutType,
        };
        ApiError::new(
            code,
            format!(
                "{} in {}: {} free",
                self.catalog.itype(t).name,
                self.catalog.zone(z).name,
                self.stock.free(z, t).min(1_000_000_000)
            ),
        )
    }

    fn run_instances<E: From<CloudEvent>, O: Observer>(
        &mut self,
        caller: Owner,
        r: &RunInstances,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) -> Result<Response, ApiError> {
        Self::check_client_token(r)?;
        // Idempotency: a token already used by an accepted call answers with that call's
        // instances, whatever has happened to them since, and creates nothing.
        if let Some(t) = &r.client_token
            && let Some(ids) = self.client_tokens.get(t)
        {
            return Ok(Response::Launched {
                ids: ids.clone(),
                keys: LaunchedKeys::new(),
            });
        }
        self.check_run(r)?;
        let min = r.min_count.unwrap_or(r.count);
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
        // A spot bid below the market price is refused.
        if c == ChargeType::Spotpaid
            && let Some(bid) = r.max_price
        {
            let market = self.market.price_at(z, t, sched.now());
            if bid < market {
                return Err(ApiError::new(
                    ErrorCode::InsufficientPrice,
                    format!(
                        "MaxPrice {} is below the market price {} of {} in {}",
                        Money::from_micros(bid as i128),
                        Money::from_micros(market as i128),
                        self.catalog.itype(t).name,
                        self.catalog.zone(z).name
                    ),
                ));
            }
        }
        // A zone in an outage takes nothing (and displaces no spot capacity).
        self.zone_outage_check(Action::RunInstances, z)?;
        // On-demand demand displaces spot: when stock is short, spot instances of the type get
        // a reclaim notice and give up their capacity to this request.
        let mut displaced = 0;
        if c != ChargeType::Spotpaid && self.stock.ask(z, t, n) != StockAnswer::Available {
            let free = self.stock.free(z, t).min(n);
            let wanted = n - free;
            let can = self.reclaimable(z, t, wanted);
            if free + can >= min {
                displaced = can.min(wanted);
            }
        }
        // Stock.
        if displaced > 0 && r.dry_run {
            // What the stock would say once the displaced spot capacity is freed.
            let free = self.stock.free(z, t).saturating_add(displaced);
            return Err(ApiError::new(
                if free >= min {
                    ErrorCode::DryRunOperation
                } else if r.min_count.is_some() {
                    ErrorCode::InsufficientOfferingMinimum
                } else {
                    ErrorCode::SoldOutType
                },
                "the request would have displaced spot capacity",
            ));
        }
        if displaced > 0 {
            self.reclaim_for(z, t, displaced, sched);
        }
        match self.stock.ask(z, t, n) {
            StockAnswer::Available => {}
            StockAnswer::Low(free) if free >= min => n = free,
            answer => {
                let code = match answer {
                    StockAnswer::NotOffered => ErrorCode::TypeUnavailable,
                    // Some stock, but not even MinCount: CVM's own code for that.
                    _ if r.min_count.is_some() => ErrorCode::InsufficientOfferingMinimum,
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
        // Prepaid quota counts this month's purchases, not instances alive.
        let holds_quota = c != ChargeType::Prepaid;
        let mut ids = LaunchedIds::with_capacity(n as usize);
        let mut keys = LaunchedKeys::with_capacity(n as usize);
        for _ in 0..n {
            let id = self.fleet.next_id();
            let expires = (c == ChargeType::Prepaid).then(|| now + prepaid_period(r.period_months));
            let inst = Instance {
                id,
                zone: z,
                itype: t,
                charge: c,
                state: InstanceState::Pending,
                state_since: now,
                created: now,
                first_running: OptTime::NONE,
                owner: caller,
                latest_operation: LatestOperation::some(Operation::RunInstances),
                latest_operation_state: Some(OperationState::Operating),
                pending: PendingEvent::NONE,
                next_type: OptTypeIdx::NONE,
                renew_flag: r.renew_flag,
                flags: InstanceFlags::new(holds_quota),
                billing: BillingState::default(),
            };
            let key = self.fleet.insert(inst);
            if let Some(e) = expires {
                self.fleet.live_mut(key).set_expires(OptTime::some(e));
            }
            keys.push(key);
            self.attach(key, &r.attach);
            let mut upfront = Money::ZERO;
            if c == ChargeType::Prepaid {
                let order = self.quote_order(t, r.attach.as_deref(), r.period_months);
                self.book_order(key, order, Some(now));
                self.fleet.live_mut(key).set_bought_new(true);
                upfront = order.total();
            }
            if let Some(e) = expires {
                sched.schedule_at(e, CloudEvent::Expire(key).into());
            }
            if c == ChargeType::Spotpaid {
                self.holders_mut(z, t).insert(id, key);
            }
            let inst = self.fleet.live_mut(key);
            let delay = sample_ms(&self.timings.pending, &mut self.timing_rng);
            inst.pending =
                PendingEvent::some(sched.schedule_in(delay, CloudEvent::Complete(key).into()));
            self.tell(
                key,
                now,
                Move::point(
                    ChangeKind::State,
                    None,
                    Some(InstanceState::Pending),
                    t,
                    c,
                    upfront,
                ),
                obs,
            );
            ids.push(id);
        }
        if let Some(t) = &r.client_token {
            self.client_tokens.insert(t.clone(), ids.clone());
        }
        Ok(Response::Launched { ids, keys })
    }

    /// Tells the observers of a change to the instance at `key` (the one place a [`Change`] is
    /// built), and its owner too, through the outbox, when it moved between states; keeps the
    /// model's own count of RUNNING instances.
    fn tell<O: Observer>(&mut self, key: InstanceKey, now: SimTime, m: Move, obs: &mut O) {
        let inst = self.fleet.live(key);
        obs.state_change(&Change {
            kind: m.kind,
            time: now,
            instance: inst,
            key,
            from: m.from,
            to: m.to,
            from_type: m.from_type,
            from_charge: m.from_charge,
            accrual: Accrual {
                start: if m.pieces { m.start } else { now },
                end: now,
                amount: m.amount,
                pieces: if m.pieces { &self.pieces } else { &[] },
            },
            catalog: &self.catalog,
        });
        let z = inst.zone.0 as usize;
        if m.from == Some(InstanceState::Running) {
            self.running[z] -= 1;
        }
        if m.to == Some(InstanceState::Running) {
            self.running[z] += 1;
        }
        if m.kind == ChangeKind::State
            && let Owner::Workload(_) | Owner::Autoscaler(_) | Owner::Trace(_) = inst.owner
        {
            self.outbox.push(Notice {
                owner: inst.owner,
                id: inst.id,
                key,
                to: m.to,
                zone: inst.zone,
                itype: inst.itype,
                reclaimed: inst.reclaiming(),
            });
        }
    }

    fn mark(&mut self, key: InstanceKey, op: Operation, st: OperationState) {
        let inst = self.fleet.live_mut(key);
        inst.latest_operation = LatestOperation::some(op);
        inst.latest_operation_state = Some(st);
    }

    /// Starts an operation: enter the transient state now, complete after a sampled delay.
    fn begin<E: From<CloudEvent>, O: Observer>(
        &mut self,
        key: InstanceKey,
        t: Transition,
        op: Operation,
        duration: fn(&Timings) -> &Dist,
        sched: &mut Scheduler<E>,
        obs: &mut O,
    ) {
        self.mark(key, op, OperationState::Operating);
        self.apply(key, t, sched.now(), obs);
        let delay = sample_ms(duration(&self.timings), &mut self.timing_rng);
        let ev = sched.schedule_in(delay, CloudEvent::Complete(key).into());
        self.fleet.live_mut(key).pending = PendingEvent::some(ev);
    }

    /// Applies one legal transition: closes the billing interval, moves the state, frees quota
    /// and stock on release, tells the observers. Panics on an illegal move, which would be a
    /// bug in this module (callers check preconditions first).
    fn apply<O: Observer>(&mut self, key: InstanceKey, t: Transition, now: SimTime, obs: &mut O) {
        let inst = self.fleet.live_mut(key);
        let from = inst.state;
        let after = next_state(from, t)
            .unwrap_or_else(|s| panic!("illegal transition {t:?} from {s} (control plane bug)"));
        let (acc_start, acc_amount) =
            self.rules
                .accrue(&self.catalog, &mut self.market, inst, now, &mut self.pieces);
        match after {
            After::State(to) => {
                inst.state = to;
                inst.state_since = now;
                debug_assert_eq!(inst.billing_since(), now, "the next interval opens now");
                if to == InstanceState::Running && inst.first_running.is_none() {
                    inst.first_running = OptTime::some(now);
                }
                let (z, ty, c, vcpus) = (
                    inst.zone,
                    inst.itype,
                    inst.charge,
                    self.catalog.itype(inst.itype).vcpus,
                );
                // A prepaid purchase that never launched is refunded whole.
                let mut refund = Money::ZERO;
                if to == InstanceState::LaunchFailed && inst.charge == ChargeType::Prepaid {
                    refund = inst.billing.prepaid_paid();
                    inst.billing.add_refund(refund);
                    inst.billing.prepaid_mut().paid = Money::ZERO;
                    if let Some(x) = inst.billing.extra.as_deref_mut() {
                        x.net_disk -= x.paid_disk;
                        x.net_network -= x.paid_network;
                        x.paid_disk = Money::ZERO;
                        x.paid_network = Money::ZERO;
                    }
                    inst.set_expires(OptTime::some(now));
                }
                if to == InstanceState::LaunchFailed && inst.holds_quota() {
                    inst.set_holds_quota(false);
                    self.quotas.give_back(z, c, Quotas::units(c, vcpus));
                }
                let frees_stock = to == InstanceState::LaunchFailed
                    || (to == InstanceState::Stopped
                        && inst.stopped_mode() == StoppedMode::StopCharging);
                if frees_stock && inst.holds_stock() {
                    let listed = inst.spot_listed();
                    inst.set_holds_stock(false);
                    self.stock.give_back(z, ty, 1);
                    if listed {
                        let id = inst.id;
                        let (cell, fleet) = self.holders_and_fleet(z, ty);
                        cell.forget(id, fleet);
                    }
                }
                let m = Move::interval(Some(from), Some(to), ty, c, acc_start, acc_amount - refund);
                self.tell(key, now, m, obs);
            }
            After::Released => {
                // Observers see the record where it lies; it is then dropped in place (moving
                // the record out cost a copy of it on every release).
                let inst = self.fleet.live(key);
                let (zone, itype, charge) = (inst.zone, inst.itype, inst.charge);
                let (holds_quota, holds_stock) = (inst.holds_quota(), inst.holds_stock());
                let spot_listed = inst.spot_listed();
                let m = Move::interval(Some(from), None, itype, charge, acc_start, acc_amount);
                self.tell(key, now, m, obs);
                self.fleet.release(key);
                if holds_quota {
                    let vcpus = self.catalog.itype(itype).vcpus;
                    self.quotas
                        .give_back(zone, charge, Quotas::units(charge, vcpus));
                }
                if holds_stock {
                    self.stock.give_back(zone, itype, 1);
                }
                // Not one that was started again during its reclaim notice: it took stock
                // again, but is no candidate.
                if spot_listed {
                    let (cell, fleet) = self.holders_and_fleet(zone, itype);
                    cell.departed(fleet);
                }
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
            CloudEvent::Expire(key) => self.expire(key, sched, obs),
            CloudEvent::BinExpire(key) => self.bin_expire(key, sched.now(), obs),
            CloudEvent::Reclaim(key) => self.reclaim(key, sched, obs),
            CloudEvent::Cleanup(key) => {
                if self
                    .fleet
                    .get(key)
                    .is_some_and(|i| i.state == InstanceState::LaunchFailed)
                {
                    self.apply(key, Transition::CleanedUp, sched.now(), obs);
                }
            }
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
        inst.pending = PendingEvent::NONE;
        let t = match inst.state {
            InstanceState::Pending => {
                if self.failure_rng.bernoulli(self.launch_failure) {
                    Transition::LaunchFailed
                } else {
                    Transition::LaunchSucceeded
                }
            }
            InstanceState::Stopping if inst.next_type.is_some() => {
                // ResetInstancesType with ForceStop: stopped; now the reset itself.
                self.apply(key, Transition::StopDone, now, obs);
                let delay = sample_ms(&self.timings.reset_type, &mut self.timing_rng);
                let ev = sched.schedule_in(delay, CloudEvent::Complete(key).into());
                self.fleet.live_mut(key).pending = PendingEvent::some(ev);
                return;
            }
            InstanceState::Stopped if inst.next_type.is_some() => {
                self.finish_reset(key, now, obs);
                return;
            }
            InstanceState::Stopping => Transition::StopDone,
            InstanceState::Starting => {
                self.finish_start(key, now, sched, obs);
                return;
            }
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
        if t == Transition::LaunchFailed {
            self.schedule_cleanup(key, sched);
        }
    }

    /// A failed launch stays listed (LAUNCH_FAILED, refused by TerminateInstances) until the
    /// platform removes it, `launch_failed_cleanup` later.
    pub(super) fn schedule_cleanup<E: From<CloudEvent>>(
        &mut self,
        key: InstanceKey,
        sched: &mut Scheduler<E>,
    ) {
        sched.schedule_in(self.launch_failed_cleanup, CloudEvent::Cleanup(key).into());
    }

    /// Completes a ResetInstancesType: the stopped interval is billed at the old type, the
    /// stock of the old type is freed and the new one taken, price tiers restart, and the
    /// instance starts RUNNING with the new type.
    fn finish_reset<O: Observer>(&mut self, key: InstanceKey, now: SimTime, obs: &mut O) {
        let inst = self.fleet.live_mut(key);
        let Some(new_type) = inst.next_type.take() else {
            return;
        };
        let old_type = inst.itype;
        let (acc_start, acc_amount) =
            self.rules
                .accrue(&self.catalog, &mut self.market, inst, now, &mut self.pieces);
        if inst.holds_stock() {
            self.stock.give_back(inst.zone, old_type, 1);
        }
        // The new type's capacity was reserved when the reset was accepted.
        inst.set_holds_stock(true);
        inst.itype = new_type;
        inst.billing.tier_ms = 0;
        let from = inst.state;
        let Ok(After::State(to)) = next_state(from, Transition::ResetTypeDone) else {
            panic!("reset completes only from STOPPED (control plane bug)");
        };
        inst.state = to;
        inst.state_since = now;
        debug_assert_eq!(inst.billing_since(), now, "the next interval opens now");
        inst.latest_operation_state = Some(OperationState::Success);
        let charge = inst.charge;
        let m = Move::interval(
            Some(from),
            Some(to),
            old_type,
            charge,
            acc_start,
            acc_amount,
        );
        self.tell(key, now, m, obs);
    }

    /// Closes every open billing interval at the end of the run, so bills cover the whole run.
    /// The instances are closed in id order (the order of their `instances.csv` rows), which
    /// visits their records in no order at all: each record is prefetched a few instances
    /// ahead, so a large fleet does not wait on memory for every one. The handles are taken
    /// from the id-ordered list a batch at a time: at the end of a run the fleet is usually at
    /// its largest, and a list of them all would raise the run's peak memory.
    pub fn close_books<O: Observer>(&mut self, now: SimTime, obs: &mut O) {
        const AHEAD: usize = 8;
        const BATCH: usize = 4096;
        let mut keys: Vec<InstanceKey> = Vec::with_capacity(BATCH);
        let listed = self.fleet.listed();
        for start in (0..listed).step_by(BATCH) {
            keys.clear();
            keys.extend(self.fleet.live_keys_at(start..listed.min(start + BATCH)));
            self.close_batch(&keys, AHEAD, now, obs);
        }
    }

    /// [`Cloud::close_books`] for one batch of live handles.
    fn close_batch<O: Observer>(
        &mut self,
        keys: &[InstanceKey],
        ahead: usize,
        now: SimTime,
        obs: &mut O,
    ) {
        for (i, &key) in keys.iter().enumerate() {
            if let Some(&next) = keys.get(i + ahead) {
                self.fleet.prefetch(next);
            }
            let inst = self.fleet.live_mut(key);
            let (acc_start, acc_amount) =
                self.rules
                    .accrue(&self.catalog, &mut self.market, inst, now, &mut self.pieces);
            let (state, itype, charge) = (inst.state, inst.itype, inst.charge);
            let mut m = Move::interval(
                Some(state),
                Some(state),
                itype,
                charge,
                acc_start,
                acc_amount,
            );
            m.kind = ChangeKind::Close;
            self.tell(key, now, m, obs);
        }
    }
}

fn inst_op(inst: Option<&Instance>) -> Operation {
    inst.and_then(|i| i.latest_operation.get())
        .unwrap_or(Operation::RunInstances)
}

/// The instances a call resolved to, in call order. Nearly every call names one instance, so
/// that case is kept inline: no allocation per call on the hot path.
pub(super) enum Resolved {
    One([InstanceKey; 1]),
    Many(Vec<InstanceKey>),
}

impl std::ops::Deref for Resolved {
    type Target = [InstanceKey];
    fn deref(&self) -> &[InstanceKey] {
        match self {
            Resolved::One(one) => one,
            Resolved::Many(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a Resolved {
    type Item = &'a InstanceKey;
    type IntoIter = std::slice::Iter<'a, InstanceKey>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Samples a duration in whole milliseconds (at least 1 ms, so an operation never completes in
/// the same instant it starts).
pub fn sample_ms(d: &Dist, rng: &mut RandomStream) -> SimDuration {
    SimDuration((crate::engine::dist::round(d.sample(rng)).max(1.0)) as u64)
}

/// A prepaid period of `months`, as 30-day months (ASSUMPTION: CVM bills calendar months; the
/// simulator's clock has no calendar).
pub fn prepaid_period(months: u32) -> SimDuration {
    SimDuration(months as u64 * 30 * crate::engine::time::MS_PER_DAY)
}
