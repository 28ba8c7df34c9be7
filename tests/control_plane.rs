//! The control plane driven the way a client drives it: every error code the model can return,
//! triggered by the call that would trigger it on CVM; the lifecycle of each action with exact
//! (fixed) transition times; listings, quotas and stock as the Describe* calls report them; and
//! properties over random call sequences (quota and stock never overrun, paging lists every
//! instance once, a refused call changes nothing).
//!
//! The cloud runs inside the engine: `Ev` wraps `CloudEvent`, `M` forwards it to
//! `Cloud::handle`, and the tests make calls between `run_until` steps.

use std::collections::BTreeSet;

use fleetsim::cloud::api::{
    Action, CallRecord, Change, Cloud, CloudEvent, CloudSetup, ConfigView, Filter, InstanceRef,
    InstanceView, Observer, QuotaView, Request, Response, RunInstances, Timings,
};
use fleetsim::cloud::billing::BillingRules;
use fleetsim::cloud::capacity::{Quotas, Stock, ZoneQuota};
use fleetsim::cloud::catalog::{self, Catalog, ChargeType, TypeIdx, Zone, ZoneIdx};
use fleetsim::cloud::errors::ApiError;
use fleetsim::cloud::instance::{InstanceId, OperationState, Owner, RenewFlag, StoppedMode};
use fleetsim::cloud::money::Money;
use fleetsim::cloud::ratelimit::{Limit, RateLimits, WindowKind};
use fleetsim::cloud::spot_market::SpotModel;
use fleetsim::cloud::state::InstanceState;
use fleetsim::engine::{Dist, EventId, Model, RngStreams, Scheduler, SimDuration, SimTime};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// The account: two zones of ap-guangzhou, three S5 sizes.

const GZ3: ZoneIdx = ZoneIdx(0);
const GZ4: ZoneIdx = ZoneIdx(1);
/// S5.MEDIUM4: 2 vCPU.
const MEDIUM: TypeIdx = TypeIdx(0);
/// S5.LARGE8: 4 vCPU.
const LARGE: TypeIdx = TypeIdx(1);
/// S5.SMALL2: 1 vCPU.
const SMALL: TypeIdx = TypeIdx(2);
const ZONES: [(&str, u32); 2] = [("ap-guangzhou-3", 100003), ("ap-guangzhou-4", 100004)];
const TYPES: [&str; 3] = ["S5.MEDIUM4", "S5.LARGE8", "S5.SMALL2"];

const PRE: ChargeType = ChargeType::Prepaid;
const POST: ChargeType = ChargeType::PostpaidByHour;
const SPOT: ChargeType = ChargeType::Spotpaid;

/// Fixed transition times (ms), all different so a mix-up shows.
const PENDING_MS: u64 = 60_000;
const STOPPING_MS: u64 = 20_000;
const STARTING_MS: u64 = 40_000;
const REBOOTING_MS: u64 = 70_000;
const TERMINATING_MS: u64 = 10_000;
const RESET_MS: u64 = 120_000;
/// Longer than any transition: after it, nothing is in flight.
const SETTLE_MS: u64 = 3_600_000;
/// Notice a reclaimed spot instance gets.
const SPOT_NOTICE_MS: u64 = 120_000;
const DAY_MS: u64 = 24 * 3_600_000;
/// How long an isolated instance waits in the recycle bin.
const RECYCLE_BIN_MS: u64 = 7 * DAY_MS;
/// A prepaid month (30 days).
const MONTH_MS: u64 = 30 * DAY_MS;
/// Spot market price as a fraction of the postpaid price (constant).
const SPOT_FRACTION: f64 = 0.1;

fn catalog() -> Catalog {
    let types: Vec<_> = TYPES
        .iter()
        .map(|n| catalog::parse_instance_type(n).expect("valid type name"))
        .collect();
    Catalog {
        zones: ZONES
            .iter()
            .map(|&(name, zone_id)| Zone {
                name: name.to_string(),
                zone_id,
                region: "ap-guangzhou".to_string(),
            })
            .collect(),
        prices: types.iter().map(catalog::illustrative_price).collect(),
        types,
        spot_fraction: 0.1,
        disk_gib_hourly: 300,
        disk_gib: 50,
        attach: Default::default(),
        currency: "CNY".to_string(),
    }
}

fn fixed_timings() -> Timings {
    let f = |ms: u64| Dist::Fixed(ms as f64);
    Timings {
        pending: f(PENDING_MS),
        stopping: f(STOPPING_MS),
        starting: f(STARTING_MS),
        rebooting: f(REBOOTING_MS),
        terminating: f(TERMINATING_MS),
        reset_type: f(RESET_MS),
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the cloud inside the engine.

enum Ev {
    Cloud(CloudEvent),
}

impl From<CloudEvent> for Ev {
    fn from(e: CloudEvent) -> Self {
        Ev::Cloud(e)
    }
}

/// Records every state change and counts calls.
#[derive(Default)]
struct Recorder {
    changes: Vec<(
        SimTime,
        InstanceId,
        Option<InstanceState>,
        Option<InstanceState>,
    )>,
    calls: u64,
}

impl Observer for Recorder {
    fn state_change(&mut self, c: &Change<'_>) {
        self.changes.push((c.time, c.instance.id, c.from, c.to));
    }
    fn api_call(&mut self, _call: &CallRecord<'_>) {
        self.calls += 1;
    }
}

struct M {
    cloud: Cloud,
    obs: Recorder,
}

impl Model for M {
    type Event = Ev;
    type Error = fleetsim::engine::ScheduleError;
    fn handle(&mut self, ev: Ev, sched: &mut Scheduler<Ev>) -> Result<(), Self::Error> {
        match ev {
            Ev::Cloud(e) => self.cloud.handle(e, sched, &mut self.obs),
        }
        Ok(())
    }
}

/// How a test's cloud is set up; `Cfg::new()` is unlimited quotas, ample stock, no throttling,
/// fixed timings, no launch failures.
struct Cfg {
    quotas: Vec<ZoneQuota>,
    stock: Stock,
    limits: RateLimits,
    timings: Timings,
    launch_failure: f64,
    seed: u64,
}

impl Cfg {
    fn new() -> Self {
        Cfg {
            quotas: vec![ZoneQuota::default(); ZONES.len()],
            stock: Stock::new(ZONES.len(), TYPES.len()),
            limits: RateLimits::unlimited(),
            timings: fixed_timings(),
            launch_failure: 0.0,
            seed: 7,
        }
    }
    fn quota(mut self, z: ZoneIdx, q: ZoneQuota) -> Self {
        self.quotas[z.0 as usize] = q;
        self
    }
    fn capacity(mut self, z: ZoneIdx, t: TypeIdx, cap: u32) -> Self {
        self.stock.set_capacity(z, t, Some(cap));
        self
    }
    fn not_offered(mut self, z: ZoneIdx, t: TypeIdx) -> Self {
        self.stock.set_offered(z, t, false);
        self
    }
    fn limits(mut self, l: RateLimits) -> Self {
        self.limits = l;
        self
    }
    fn launch_failure(mut self, p: f64) -> Self {
        self.launch_failure = p;
        self
    }
    fn build(self) -> Sim {
        let outside = self.quotas.iter().map(|q| q.used_outside).collect();
        let cloud = Cloud::new(
            CloudSetup {
                catalog: catalog(),
                rules: BillingRules::default(),
                timings: self.timings,
                launch_failure: self.launch_failure,
                quotas: Quotas::new(self.quotas),
                stock: self.stock,
                rate_limits: self.limits,
                spot_model: SpotModel::Constant {
                    fraction: SPOT_FRACTION,
                },
                spot_step: SimDuration::from_hours(1),
                spot_notice: SimDuration(SPOT_NOTICE_MS),
                recycle_bin: SimDuration(RECYCLE_BIN_MS),
            },
            &RngStreams::new(self.seed),
        );
        Sim {
            m: M {
                cloud,
                obs: Recorder::default(),
            },
            s: Scheduler::new(SimTime::MAX),
            outside,
        }
    }
}

fn postpaid_quota(n: u32) -> ZoneQuota {
    ZoneQuota {
        postpaid: Some(n),
        ..Default::default()
    }
}

struct Sim {
    m: M,
    s: Scheduler<Ev>,
    /// `used_outside` per zone, to recompute quota use from the fleet.
    outside: Vec<[u32; 3]>,
}

impl Sim {
    fn now(&self) -> SimTime {
        self.s.now()
    }
    fn cloud(&self) -> &Cloud {
        &self.m.cloud
    }
    /// Makes a call. Every refusal must be a code CVM documents for the action (its list in
    /// the SDK's client.go, or a common code): every test here checks that too.
    #[track_caller]
    fn call(&mut self, r: Request) -> Result<Response, ApiError> {
        let action = r.action().as_str();
        let result = self
            .m
            .cloud
            .call(Owner::Script, r, &mut self.s, &mut self.m.obs);
        if let Err(e) = &result {
            assert!(
                fleetsim::cloud::sdk_codes::allowed(action, e.code.as_str()),
                "{action} answered {}, a code its SDK list does not have ({e})",
                e.code
            );
        }
        result
    }
    /// The call must fail with exactly `code` (CVM's spelling).
    #[track_caller]
    fn refuse(&mut self, r: Request, code: &str) -> ApiError {
        let what = format!("{r:?}");
        match self.call(r) {
            Err(e) => {
                assert_eq!(e.code.as_str(), code, "{what}: {e}");
                e
            }
            Ok(resp) => panic!("{what}: expected {code}, got {resp:?}"),
        }
    }
    #[track_caller]
    fn accept(&mut self, r: Request) -> Response {
        let what = format!("{r:?}");
        match self.call(r) {
            Ok(resp) => resp,
            Err(e) => panic!("{what}: refused with {e}"),
        }
    }
    /// Handles every event strictly before `now + ms`; the clock then reads `now + ms`.
    fn advance(&mut self, ms: u64) {
        let until = self.now() + SimDuration(ms);
        self.s.run_until(until, &mut self.m).unwrap();
    }
    fn advance_to(&mut self, t: SimTime) {
        self.s.run_until(t, &mut self.m).unwrap();
    }
    fn settle(&mut self) {
        self.advance(SETTLE_MS);
    }
    #[track_caller]
    fn launch(&mut self, r: RunInstances) -> Vec<InstanceId> {
        match self.accept(Request::RunInstances(r)) {
            Response::Launched { ids, .. } => ids.into_vec(),
            other => panic!("RunInstances answered {other:?}"),
        }
    }
    /// `n` instances launched and RUNNING.
    #[track_caller]
    fn running(&mut self, z: ZoneIdx, t: TypeIdx, c: ChargeType, n: u32) -> Vec<InstanceId> {
        let ids = self.launch(run(z, t, c, n));
        assert_eq!(ids.len(), n as usize);
        self.settle();
        ids
    }
    /// Running, then stopped with KEEP_CHARGING.
    #[track_caller]
    fn stopped(&mut self, z: ZoneIdx, t: TypeIdx, c: ChargeType, n: u32) -> Vec<InstanceId> {
        let ids = self.running(z, t, c, n);
        self.accept(stop(&ids));
        self.settle();
        ids
    }
    #[track_caller]
    fn describe(
        &mut self,
        ids: fleetsim::cloud::api::InstanceRefs,
        filters: Vec<Filter>,
        offset: u32,
        limit: Option<u32>,
    ) -> (u32, Vec<InstanceView>) {
        match self.accept(Request::DescribeInstances {
            ids,
            filters,
            offset,
            limit,
        }) {
            Response::Instances { total, items } => (total, items),
            other => panic!("DescribeInstances answered {other:?}"),
        }
    }
    fn view(&mut self, id: InstanceId) -> Option<InstanceView> {
        let (total, items) = self.describe(std::iter::once(id.into()).collect(), vec![], 0, None);
        assert!(total <= 1);
        items.into_iter().next()
    }
    fn state(&mut self, id: InstanceId) -> Option<InstanceState> {
        self.view(id).map(|v| v.state)
    }
    fn op(&mut self, id: InstanceId) -> (Option<&'static str>, Option<OperationState>) {
        let v = self.view(id).expect("instance listed");
        (v.latest_operation, v.latest_operation_state)
    }
    /// Every page of DescribeInstances with `filters` at `limit`, concatenated; checks that
    /// TotalCount is the same on every page and each page is as full as it should be.
    fn list_all_filtered(&mut self, filters: Vec<Filter>, limit: u32) -> Vec<InstanceView> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let (total, items) =
                self.describe(Default::default(), filters.clone(), offset, Some(limit));
            let want = (total.saturating_sub(offset)).min(limit) as usize;
            assert_eq!(items.len(), want, "page at offset {offset}, limit {limit}");
            out.extend(items);
            offset += limit;
            if offset >= total {
                assert_eq!(out.len(), total as usize);
                return out;
            }
        }
    }
    fn list_all(&mut self, limit: u32) -> Vec<InstanceView> {
        self.list_all_filtered(vec![], limit)
    }
    fn quotas(&mut self) -> Vec<QuotaView> {
        match self.accept(Request::DescribeAccountQuota { zone: None }) {
            Response::Quotas(q) => q,
            other => panic!("DescribeAccountQuota answered {other:?}"),
        }
    }
    fn quota(&mut self, z: ZoneIdx, c: ChargeType) -> QuotaView {
        match self.accept(Request::DescribeAccountQuota { zone: Some(z) }) {
            Response::Quotas(q) => q
                .into_iter()
                .find(|v| v.charge == c)
                .expect("every charge type is reported"),
            other => panic!("DescribeAccountQuota answered {other:?}"),
        }
    }
    fn configs(&mut self, zone: Option<ZoneIdx>) -> Vec<ConfigView> {
        match self.accept(Request::DescribeZoneInstanceConfigInfos { zone }) {
            Response::Configs(c) => c,
            other => panic!("DescribeZoneInstanceConfigInfos answered {other:?}"),
        }
    }
    fn status(&mut self, z: ZoneIdx, t: TypeIdx) -> &'static str {
        self.configs(Some(z))
            .into_iter()
            .find(|c| c.itype == t)
            .expect("every type is reported")
            .status
    }
    fn stock_used(&self, z: ZoneIdx, t: TypeIdx) -> u32 {
        self.cloud().stock().used(z, t)
    }
}

// Requests as a client writes them.

fn run(zone: ZoneIdx, itype: TypeIdx, charge: ChargeType, count: u32) -> RunInstances {
    RunInstances {
        zone,
        itype,
        charge,
        count,
        min_count: None,
        dry_run: false,
        period_months: 1,
        renew_flag: RenewFlag::default(),
        max_price: None,
        client_token: None,
        attach: None,
    }
}
fn refs(ids: &[InstanceId]) -> fleetsim::cloud::api::InstanceRefs {
    ids.iter().map(|&i| i.into()).collect()
}
fn text(s: &str) -> fleetsim::cloud::api::InstanceRefs {
    std::iter::once(InstanceRef::Text(s.to_string())).collect()
}
fn stop(ids: &[InstanceId]) -> Request {
    Request::StopInstances {
        ids: refs(ids),
        stopped_mode: StoppedMode::KeepCharging,
    }
}
fn stop_charging(ids: &[InstanceId]) -> Request {
    Request::StopInstances {
        ids: refs(ids),
        stopped_mode: StoppedMode::StopCharging,
    }
}
fn start(ids: &[InstanceId]) -> Request {
    Request::StartInstances { ids: refs(ids) }
}
fn reboot(ids: &[InstanceId]) -> Request {
    Request::RebootInstances { ids: refs(ids) }
}
fn terminate(ids: &[InstanceId]) -> Request {
    Request::TerminateInstances { ids: refs(ids) }
}
fn reset(id: InstanceId, itype: TypeIdx, force_stop: bool) -> Request {
    Request::ResetInstancesType {
        ids: refs(&[id]),
        itype,
        force_stop,
    }
}
fn renew(ids: &[InstanceId], period_months: u32) -> Request {
    Request::RenewInstances {
        ids: refs(ids),
        period_months,
    }
}
fn modify(ids: &[InstanceId], charge: ChargeType, period_months: u32) -> Request {
    Request::ModifyInstancesChargeType {
        ids: refs(ids),
        charge,
        period_months,
    }
}
fn filter(name: &str, values: &[&str]) -> Filter {
    Filter {
        name: name.to_string(),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}
fn describe_req(
    ids: fleetsim::cloud::api::InstanceRefs,
    filters: Vec<Filter>,
    limit: Option<u32>,
) -> Request {
    Request::DescribeInstances {
        ids,
        filters,
        offset: 0,
        limit,
    }
}

// ---------------------------------------------------------------------------------------------
// RequestLimitExceeded

#[test]
fn request_limit_fixed_window_throttles_exactly_50_of_150_run_instances_in_a_minute() {
    let mut sim = Cfg::new().limits(RateLimits::per_minute_2018()).build();
    let mut throttled = Vec::new();
    for i in 0..150u64 {
        // one call every 400 ms: all 150 fall in the window [0 s, 60 s)
        sim.advance_to(SimTime(i * 400));
        match sim.call(Request::RunInstances(run(GZ3, MEDIUM, POST, 1))) {
            Ok(Response::Launched { ids, .. }) => assert_eq!(ids.len(), 1),
            Err(e) => {
                assert_eq!(e.code.as_str(), "RequestLimitExceeded");
                throttled.push(i);
            }
            Ok(other) => panic!("{other:?}"),
        }
    }
    // a fixed window: the first 100 pass, the last 50 are throttled
    assert_eq!(throttled, (100..150).collect::<Vec<_>>());
    assert_eq!(sim.cloud().fleet().created(), 100);
    assert_eq!(sim.cloud().fleet().len(), 100);
    assert_eq!(sim.m.obs.calls, 150, "throttled calls are still observed");
    // the next window opens at exactly 60 s
    sim.advance_to(SimTime(59_999));
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 1)),
        "RequestLimitExceeded",
    );
    sim.advance_to(SimTime(60_000));
    sim.launch(run(GZ3, MEDIUM, POST, 1));
}

#[test]
fn request_limit_total_caps_all_actions_and_comes_before_validation() {
    // 2018 figures: 100/min per action, 1,000/min in total. Requests here are all invalid
    // (empty id lists, InstanceCount 0) or harmless: the limiter answers first, so a throttled
    // call is RequestLimitExceeded whatever else is wrong with it.
    let mut sim = Cfg::new().limits(RateLimits::per_minute_2018()).build();
    let req = |a: Action| -> Request {
        match a {
            Action::RunInstances => Request::RunInstances(run(GZ3, MEDIUM, POST, 0)),
            Action::StartInstances => Request::StartInstances {
                ids: Default::default(),
            },
            Action::StopInstances => stop(&[]),
            Action::RebootInstances => reboot(&[]),
            Action::TerminateInstances => terminate(&[]),
            Action::ResetInstancesType => Request::ResetInstancesType {
                ids: Default::default(),
                itype: LARGE,
                force_stop: false,
            },
            Action::RenewInstances => renew(&[], 1),
            Action::ModifyInstancesChargeType => modify(&[], PRE, 1),
            Action::DescribeInstances => describe_req(Default::default(), vec![], None),
            Action::DescribeAccountQuota => Request::DescribeAccountQuota { zone: None },
            Action::DescribeZoneInstanceConfigInfos => {
                Request::DescribeZoneInstanceConfigInfos { zone: None }
            }
            Action::DescribeInstancesStatus => Request::DescribeInstancesStatus {
                ids: Default::default(),
                zones: vec![],
                offset: 0,
                limit: None,
            },
            Action::ModifyInstancesRenewFlag => Request::ModifyInstancesRenewFlag {
                ids: Default::default(),
                flag: RenewFlag::NotifyAndAutoRenew,
            },
            Action::DescribeZones => Request::DescribeZones,
            Action::DescribeRegions => Request::DescribeRegions,
            Action::DescribeInstanceTypeConfigs => {
                Request::DescribeInstanceTypeConfigs { zone: None }
            }
            Action::InquiryPriceRunInstances => {
                Request::InquiryPriceRunInstances(run(GZ3, MEDIUM, POST, 0))
            }
            Action::InquiryPriceRenewInstances => Request::InquiryPriceRenewInstances {
                ids: Default::default(),
                period_months: 1,
            },
            Action::InquiryPriceResetInstancesType => Request::InquiryPriceResetInstancesType {
                ids: Default::default(),
                itype: LARGE,
            },
            Action::InquiryPriceTerminateInstances => Request::InquiryPriceTerminateInstances {
                ids: Default::default(),
            },
            Action::InquiryPriceModifyInstancesChargeType => {
                Request::InquiryPriceModifyInstancesChargeType {
                    ids: Default::default(),
                    charge: PRE,
                    period_months: 1,
                }
            }
        }
    };
    let mut passed = 0;
    for i in 0..1200usize {
        let a = Action::ALL[i % Action::ALL.len()];
        match sim.call(req(a)) {
            Err(e) if e.code.as_str() == "RequestLimitExceeded" => {}
            _ => passed += 1,
        }
    }
    assert_eq!(passed, 1000);
    assert!(sim.cloud().fleet().is_empty());
}

#[test]
fn request_limit_per_second_preset_10_mutating_40_describe() {
    let mut sim = Cfg::new().limits(RateLimits::per_second_current()).build();
    let ok_runs = (0..15)
        .filter(|_| {
            sim.call(Request::RunInstances(run(GZ3, SMALL, POST, 1)))
                .is_ok()
        })
        .count();
    assert_eq!(ok_runs, 10);
    let ok_describes = (0..50)
        .filter(|_| {
            sim.call(describe_req(Default::default(), vec![], None))
                .is_ok()
        })
        .count();
    assert_eq!(ok_describes, 40);
    sim.advance(1000);
    assert!(
        sim.call(Request::RunInstances(run(GZ3, SMALL, POST, 1)))
            .is_ok()
    );
}

#[test]
fn request_limit_token_bucket_follows_its_formula() {
    // RunInstances limited to 10 per second, token bucket: capacity C = 10, refill r = 10/s.
    let limits = RateLimits {
        window: WindowKind::TokenBucket,
        total: None,
        per_action: vec![(Action::RunInstances, Limit::per_second(10))],
        default_action: None,
    };
    let mut sim = Cfg::new().limits(limits).build();
    let try_run = |sim: &mut Sim| match sim.call(Request::RunInstances(run(GZ3, SMALL, POST, 1))) {
        Ok(_) => true,
        Err(e) => {
            assert_eq!(e.code.as_str(), "RequestLimitExceeded");
            false
        }
    };
    // Saturating demand, one call every millisecond from t = 0: by time t the bucket has
    // admitted min(t + 1, C + floor(t × r)) calls.
    let mut admitted = 0u64;
    for t in 0..3000u64 {
        sim.advance_to(SimTime(t));
        if try_run(&mut sim) {
            admitted += 1;
        }
        assert_eq!(admitted, (t + 1).min(10 + t * 10 / 1000), "at t = {t} ms");
    }
    assert_eq!(admitted, 39);
    // A long idle spell fills the bucket only to its capacity: a burst of 25 passes 10.
    sim.advance_to(SimTime(10_000));
    let burst = (0..25).filter(|_| try_run(&mut sim)).count();
    assert_eq!(burst, 10);
    // Refill is continuous: 150 ms later there are 1.5 tokens (one call), at 199 ms 0.99 (none),
    // at 200 ms 1.0 (one).
    sim.advance_to(SimTime(10_150));
    assert!(try_run(&mut sim));
    assert!(!try_run(&mut sim));
    sim.advance_to(SimTime(10_199));
    assert!(!try_run(&mut sim));
    sim.advance_to(SimTime(10_200));
    assert!(try_run(&mut sim));
    assert!(!try_run(&mut sim));
    assert_eq!(sim.cloud().fleet().created(), 39 + 10 + 2);
}

// ---------------------------------------------------------------------------------------------
// Instance ids: NotFound, Malformed, LimitExceeded

#[test]
fn invalid_instance_id_not_found() {
    let mut sim = Cfg::new().build();
    let ids = sim.running(GZ3, MEDIUM, POST, 2);
    let (a, b) = (ids[0], ids[1]);
    let never = InstanceId(a.0 + 1000);
    sim.refuse(stop(&[never]), "InvalidInstanceId.NotFound");
    sim.refuse(start(&[never]), "InvalidInstanceId.NotFound");
    sim.refuse(reboot(&[never]), "InvalidInstanceId.NotFound");
    sim.refuse(terminate(&[never]), "InvalidInstanceId.NotFound");
    sim.refuse(reset(never, LARGE, true), "InvalidInstanceId.NotFound");
    sim.refuse(renew(&[never], 1), "InvalidInstanceId.NotFound");
    sim.refuse(modify(&[never], PRE, 1), "InvalidInstanceId.NotFound");
    // a well-formed id, given as text, that names nothing
    sim.refuse(
        Request::StopInstances {
            ids: text(&InstanceId(123_456).to_string()),
            stopped_mode: StoppedMode::KeepCharging,
        },
        "InvalidInstanceId.NotFound",
    );
    // one unknown id refuses the whole call: the good one is untouched
    sim.refuse(stop(&[a, never]), "InvalidInstanceId.NotFound");
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    sim.accept(stop(&[a])); // and not busy
    // the text form of a real id is accepted
    sim.accept(Request::RebootInstances {
        ids: text(&b.to_string()),
    });
    // a released instance is not found any more
    sim.settle();
    sim.accept(terminate(&[a]));
    sim.settle();
    assert_eq!(sim.state(a), None);
    sim.refuse(start(&[a]), "InvalidInstanceId.NotFound");
    // DescribeInstances does not fail on unknown ids: it lists what exists
    let (total, items) = sim.describe(refs(&[never, b]), vec![], 0, None);
    assert_eq!(total, 1);
    assert_eq!(items[0].id, b);
}

#[test]
fn invalid_instance_id_malformed() {
    let mut sim = Cfg::new().build();
    let a = sim.running(GZ3, MEDIUM, POST, 1)[0];
    for bad in [
        "ins-XYZ",
        "ins-ABCDEFGH",
        "vm-12345678",
        "",
        "ins-123456789",
        "ins-1234567",
    ] {
        sim.refuse(
            Request::StopInstances {
                ids: text(bad),
                stopped_mode: StoppedMode::KeepCharging,
            },
            "InvalidInstanceId.Malformed",
        );
        sim.refuse(
            Request::TerminateInstances { ids: text(bad) },
            "InvalidInstanceId.Malformed",
        );
        sim.refuse(
            describe_req(text(bad), vec![], None),
            "InvalidInstanceId.Malformed",
        );
    }
    // a malformed id next to a good one refuses the whole call
    let mut ids = refs(&[a]);
    ids.push(InstanceRef::Text("ins-XYZ".into()));
    sim.refuse(
        Request::StopInstances {
            ids,
            stopped_mode: StoppedMode::KeepCharging,
        },
        "InvalidInstanceId.Malformed",
    );
    assert_eq!(sim.state(a), Some(InstanceState::Running));
}

#[test]
fn invalid_parameter_value_limit_exceeded() {
    let mut sim = Cfg::new().build();
    let mut ids = sim.running(GZ3, SMALL, POST, 100);
    ids.extend(sim.running(GZ3, SMALL, POST, 1));
    assert_eq!(ids.len(), 101);
    let code = "InvalidParameterValue.LimitExceeded";
    sim.refuse(stop(&ids), code);
    sim.refuse(reboot(&ids), code);
    sim.refuse(terminate(&ids), code);
    sim.refuse(renew(&ids, 1), code);
    sim.refuse(describe_req(refs(&ids), vec![], Some(100)), code);
    assert!(
        sim.list_all(100)
            .iter()
            .all(|v| v.state == InstanceState::Running)
    );
    // ResetInstancesType takes one id, ModifyInstancesChargeType 20
    sim.refuse(
        Request::ResetInstancesType {
            ids: refs(&ids[..2]),
            itype: LARGE,
            force_stop: true,
        },
        code,
    );
    sim.refuse(modify(&ids[..21], PRE, 1), code);
    // DescribeInstances: at most 10 filters of 5 values
    let eleven = vec![filter("zone", &["ap-guangzhou-3"]); 11];
    sim.refuse(describe_req(Default::default(), eleven, None), code);
    // a filter of more than 5 values has its own code
    let six_values = filter("instance-state", &["A", "B", "C", "D", "E", "F"]);
    sim.refuse(
        describe_req(Default::default(), vec![six_values], None),
        "InvalidFilterValue.LimitExceeded",
    );
    let (total, _) = sim.describe(
        Default::default(),
        vec![filter("zone", &["ap-guangzhou-3"]); 10],
        0,
        None,
    );
    assert_eq!(total, 101);
    // 100 ids is the cap, not over it
    sim.accept(stop(&ids[..100]));
    let (_, items) = sim.describe(refs(&ids[..100]), vec![], 0, Some(100));
    assert_eq!(items.len(), 100);
}

// ---------------------------------------------------------------------------------------------
// InvalidParameterValue, InvalidParameter, InvalidPeriod

#[test]
fn invalid_parameter_value() {
    let mut sim = Cfg::new().build();
    let code = "InvalidParameterValue";
    // InstanceCount outside 1..=100: InvalidParameterValue.Range (RunInstances' list)
    let range = "InvalidParameterValue.Range";
    sim.refuse(Request::RunInstances(run(GZ3, MEDIUM, POST, 0)), range);
    sim.refuse(Request::RunInstances(run(GZ3, MEDIUM, POST, 101)), range);
    // MinCount above InstanceCount, or 0
    let mut r = run(GZ3, MEDIUM, POST, 5);
    r.min_count = Some(6);
    sim.refuse(
        Request::RunInstances(r.clone()),
        "InvalidParameterValue.InvalidParameterMinCount",
    );
    r.min_count = Some(0);
    sim.refuse(Request::RunInstances(r), range);
    assert_eq!(sim.cloud().fleet().created(), 0);
    // DescribeInstances Limit outside 1..=100
    sim.refuse(describe_req(Default::default(), vec![], Some(0)), code);
    sim.refuse(describe_req(Default::default(), vec![], Some(101)), code);
    // no ids at all
    sim.refuse(stop(&[]), code);
    sim.refuse(start(&[]), code);
    // ModifyInstancesChargeType to the charge type it already has, or to SPOTPAID
    let a = sim.running(GZ3, MEDIUM, POST, 1)[0];
    sim.refuse(modify(&[a], POST, 1), code);
    sim.refuse(modify(&[a], SPOT, 1), code);
    // ResetInstancesType to the type it already has
    sim.refuse(reset(a, MEDIUM, true), code);
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    // the bounds themselves are fine
    sim.launch(run(GZ3, SMALL, POST, 100));
    let (_, items) = sim.describe(Default::default(), vec![], 0, Some(100));
    assert_eq!(items.len(), 100);
    let (_, items) = sim.describe(Default::default(), vec![], 0, Some(1));
    assert_eq!(items.len(), 1);
}

#[test]
fn invalid_parameter() {
    let mut sim = Cfg::new().build();
    let post = sim.running(GZ3, MEDIUM, POST, 1)[0];
    let spot = sim.running(GZ3, MEDIUM, SPOT, 1)[0];
    // InstanceIds together with Filters
    sim.refuse(
        describe_req(
            refs(&[post]),
            vec![filter("zone", &["ap-guangzhou-3"])],
            None,
        ),
        "InvalidParameter",
    );
    // an unknown filter name: InvalidFilter
    sim.refuse(
        describe_req(
            Default::default(),
            vec![filter("no-such-filter", &["x"])],
            None,
        ),
        "InvalidFilter",
    );
    // TerminateInstances with two charge types in one call: nothing is terminated
    // (UnsupportedOperation.InstanceMixedPricingModel, TerminateInstances' list)
    sim.refuse(
        terminate(&[post, spot]),
        "UnsupportedOperation.InstanceMixedPricingModel",
    );
    assert_eq!(sim.state(post), Some(InstanceState::Running));
    assert_eq!(sim.state(spot), Some(InstanceState::Running));
    // one charge type per call is fine
    sim.accept(terminate(&[post]));
    sim.accept(terminate(&[spot]));
}

#[test]
fn invalid_period() {
    let mut sim = Cfg::new().build();
    for months in [0, 13, 25, 61] {
        let mut r = run(GZ3, MEDIUM, PRE, 1);
        r.period_months = months;
        sim.refuse(Request::RunInstances(r), "InvalidPeriod");
    }
    assert_eq!(sim.cloud().fleet().created(), 0);
    // the period of a postpaid purchase is not looked at
    let mut r = run(GZ3, MEDIUM, POST, 1);
    r.period_months = 13;
    let post = sim.launch(r)[0];
    // every documented period is accepted
    for months in [1, 2, 6, 11, 12, 24, 36, 48, 60] {
        let mut r = run(GZ3, MEDIUM, PRE, 1);
        r.period_months = months;
        sim.launch(r);
    }
    sim.settle();
    let pre = sim
        .list_all(100)
        .into_iter()
        .find(|v| v.charge == PRE)
        .expect("a prepaid instance")
        .id;
    sim.refuse(renew(&[pre], 13), "InvalidPeriod");
    sim.refuse(modify(&[post], PRE, 13), "InvalidPeriod");
    assert_eq!(sim.view(post).map(|v| v.charge), Some(POST));
}

// ---------------------------------------------------------------------------------------------
// UnsupportedOperation.InstanceState<State> and OperationDenied.InstanceOperationInProgress

#[test]
fn unsupported_operation_instance_state_for_every_reachable_idle_state() {
    let mut sim = Cfg::new().build();
    let running = sim.running(GZ3, MEDIUM, POST, 1)[0];
    let stopped = sim.stopped(GZ3, MEDIUM, POST, 1)[0];
    // RUNNING
    sim.refuse(
        start(&[running]),
        "UnsupportedOperation.InstanceStateRunning",
    );
    sim.refuse(
        reset(running, LARGE, false),
        "UnsupportedOperation.InstanceStateRunning",
    );
    // STOPPED
    sim.refuse(
        stop(&[stopped]),
        "UnsupportedOperation.InstanceStateStopped",
    );
    sim.refuse(
        reboot(&[stopped]),
        "UnsupportedOperation.InstanceStateStopped",
    );
    // SHUTDOWN: a prepaid instance after its first TerminateInstances
    let pre = sim.running(GZ3, MEDIUM, PRE, 1)[0];
    sim.accept(terminate(&[pre]));
    assert_eq!(sim.state(pre), Some(InstanceState::Shutdown));
    let code = "UnsupportedOperation.InstanceStateShutdown";
    sim.refuse(stop(&[pre]), code);
    sim.refuse(start(&[pre]), code);
    sim.refuse(reboot(&[pre]), code);
    sim.refuse(reset(pre, LARGE, true), code);
    sim.refuse(modify(&[pre], POST, 1), code);
    // one instance in the wrong state refuses the whole call
    sim.refuse(
        stop(&[running, stopped]),
        "UnsupportedOperation.InstanceStateStopped",
    );
    assert_eq!(sim.state(running), Some(InstanceState::Running));
}

#[test]
fn unsupported_operation_instance_state_launch_failed() {
    let mut sim = Cfg::new()
        .launch_failure(1.0)
        .quota(GZ3, postpaid_quota(2))
        .capacity(GZ3, MEDIUM, 2)
        .build();
    let a = sim.launch(run(GZ3, MEDIUM, POST, 2))[0];
    assert_eq!(sim.quota(GZ3, POST).used, 2);
    sim.advance(PENDING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::LaunchFailed));
    assert_eq!(
        sim.op(a),
        (Some("RunInstances"), Some(OperationState::Failed))
    );
    // a failed launch gives its quota and stock back at once
    assert_eq!(sim.quota(GZ3, POST).used, 0);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    // TerminateInstances lists UnsupportedOperation.InstanceStateLaunchFailed: CVM removes a
    // failed launch itself. Start/Stop/Reboot do not list it: they answer with the generic
    // code their lists have (InvalidInstance.NotSupported, UnsupportedOperation).
    sim.refuse(
        terminate(&[a]),
        "UnsupportedOperation.InstanceStateLaunchFailed",
    );
    sim.refuse(start(&[a]), "InvalidInstance.NotSupported");
    sim.refuse(stop(&[a]), "InvalidInstance.NotSupported");
    sim.refuse(reboot(&[a]), "UnsupportedOperation");
    // the platform removes it after `launch_failed_cleanup` (default 1 hour)
    sim.advance(3_600_000 - 2);
    assert_eq!(sim.state(a), Some(InstanceState::LaunchFailed));
    sim.advance(2);
    assert_eq!(sim.state(a), None);
    assert_eq!(sim.quota(GZ3, POST).used, 0);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
}

#[test]
fn a_transient_state_gets_its_own_code() {
    let mut sim = Cfg::new().build();
    // Each transient state answers with its own UnsupportedOperation.InstanceState<State>,
    // which Start/Stop/Reboot/TerminateInstances all list; an instance in an accepted state
    // with an operation still in flight gets OperationDenied.InstanceOperationInProgress.
    let code = "OperationDenied.InstanceOperationInProgress";
    let s = |st: &str| format!("UnsupportedOperation.InstanceState{st}");
    // PENDING: Stop right after Run.
    let a = sim.launch(run(GZ3, MEDIUM, POST, 1))[0];
    assert_eq!(sim.state(a), Some(InstanceState::Pending));
    let e = sim.refuse(stop(&[a]), &s("Pending"));
    assert!(e.message.contains("PENDING"), "{e}");
    sim.refuse(terminate(&[a]), &s("Pending"));
    sim.refuse(start(&[a]), &s("Pending"));
    // the launch is undisturbed and lands on time
    sim.advance(PENDING_MS);
    assert_eq!(sim.state(a), Some(InstanceState::Pending));
    sim.advance(1);
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    // REBOOTING
    sim.accept(reboot(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Rebooting));
    sim.refuse(stop(&[a]), &s("Rebooting"));
    sim.refuse(reboot(&[a]), &s("Rebooting"));
    sim.advance(REBOOTING_MS + 1);
    // STOPPING
    sim.accept(stop(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Stopping));
    sim.refuse(start(&[a]), &s("Stopping"));
    sim.refuse(terminate(&[a]), &s("Stopping"));
    sim.advance(STOPPING_MS + 1);
    // STARTING
    sim.accept(start(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Starting));
    sim.refuse(stop(&[a]), &s("Starting"));
    sim.advance(STARTING_MS + 1);
    // STOPPED but with a ResetInstancesType in flight
    sim.accept(stop(&[a]));
    sim.advance(STOPPING_MS + 1);
    sim.accept(reset(a, LARGE, false));
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    sim.refuse(start(&[a]), code);
    sim.refuse(reset(a, SMALL, false), code);
    sim.refuse(terminate(&[a]), code);
    sim.advance(RESET_MS + 1);
    // TERMINATING
    sim.accept(terminate(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Terminating));
    sim.refuse(terminate(&[a]), &s("Terminating"));
    sim.refuse(stop(&[a]), &s("Terminating"));
}

// ---------------------------------------------------------------------------------------------
// StoppedMode and charge type restrictions

#[test]
fn stop_charging_only_for_postpaid() {
    let mut sim = Cfg::new().build();
    let pre = sim.running(GZ3, MEDIUM, PRE, 1)[0];
    let spot = sim.running(GZ3, MEDIUM, SPOT, 1)[0];
    let post = sim.running(GZ3, MEDIUM, POST, 1)[0];
    let code = "UnsupportedOperation.StoppedModeStopCharging";
    sim.refuse(stop_charging(&[pre]), code);
    sim.refuse(stop_charging(&[spot]), code);
    sim.refuse(stop_charging(&[pre, spot]), code);
    assert_eq!(sim.state(pre), Some(InstanceState::Running));
    // a mixed batch: the postpaid instance stops without charging, the others with charging
    sim.accept(stop_charging(&[post, pre, spot]));
    sim.advance(STOPPING_MS + 1);
    let mode = |sim: &Sim, id| {
        let f = sim.cloud().fleet();
        f.get(f.key_of(id).unwrap()).unwrap().stopped_mode()
    };
    for (id, want) in [
        (post, StoppedMode::StopCharging),
        (pre, StoppedMode::KeepCharging),
        (spot, StoppedMode::KeepCharging),
    ] {
        assert_eq!(sim.state(id), Some(InstanceState::Stopped));
        assert_eq!(mode(&sim, id), want, "{id}");
    }
}

#[test]
fn unsupported_operation_instance_charge_type() {
    let mut sim = Cfg::new().build();
    let code = "UnsupportedOperation.InstanceChargeType";
    // spot instances cannot be reconfigured, stopped or with ForceStop (ResetInstancesType's
    // list has no charge-type code: InvalidInstance.NotSupported)
    let spot_running = sim.running(GZ3, MEDIUM, SPOT, 1)[0];
    let spot_stopped = sim.stopped(GZ3, MEDIUM, SPOT, 1)[0];
    sim.refuse(
        reset(spot_stopped, LARGE, false),
        "InvalidInstance.NotSupported",
    );
    sim.refuse(
        reset(spot_running, LARGE, true),
        "InvalidInstance.NotSupported",
    );
    assert_eq!(sim.state(spot_running), Some(InstanceState::Running));
    // nor change charge type
    sim.refuse(modify(&[spot_running], PRE, 1), code);
    // only prepaid instances are renewed
    let post = sim.running(GZ3, MEDIUM, POST, 1)[0];
    sim.refuse(renew(&[post], 1), code);
    sim.refuse(renew(&[spot_running], 1), code);
    let pre = sim.running(GZ3, MEDIUM, PRE, 1)[0];
    sim.refuse(renew(&[pre, post], 1), code);
    sim.accept(renew(&[pre], 1));
}

// ---------------------------------------------------------------------------------------------
// Quotas

#[test]
fn limit_exceeded_instance_quota_postpaid() {
    let mut sim = Cfg::new()
        .quota(GZ3, postpaid_quota(5))
        .quota(GZ4, postpaid_quota(1))
        .build();
    // more than the remaining quota fails whole
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 6)),
        "LimitExceeded.InstanceQuota",
    );
    assert_eq!(sim.cloud().fleet().created(), 0);
    let ids = sim.running(GZ3, MEDIUM, POST, 5);
    let q = sim.quota(GZ3, POST);
    assert_eq!((q.used, q.remaining, q.total), (5, Some(0), Some(5)));
    sim.refuse(
        Request::RunInstances(run(GZ3, SMALL, POST, 1)),
        "LimitExceeded.InstanceQuota",
    );
    // quotas are per zone
    sim.running(GZ4, SMALL, POST, 1);
    // a stopped instance still counts; a released one does not
    sim.accept(stop(&ids[..1]));
    sim.settle();
    sim.refuse(
        Request::RunInstances(run(GZ3, SMALL, POST, 1)),
        "LimitExceeded.InstanceQuota",
    );
    sim.accept(terminate(&ids[..1]));
    assert_eq!(sim.quota(GZ3, POST).used, 5, "held while TERMINATING");
    sim.advance(TERMINATING_MS + 1);
    assert_eq!(sim.quota(GZ3, POST).used, 4);
    sim.launch(run(GZ3, SMALL, POST, 1));
}

#[test]
fn limit_exceeded_prepay_quota_and_once_quota() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                prepaid: Some(5),
                prepaid_once: Some(3),
                ..Default::default()
            },
        )
        .build();
    // OnceQuota: at most 3 in one purchase
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, PRE, 4)),
        "LimitExceeded.PrepayQuota",
    );
    let q = sim.quota(GZ3, PRE);
    assert_eq!((q.used, q.once), (0, Some(3)));
    sim.launch(run(GZ3, MEDIUM, PRE, 3));
    // with MinCount the purchase is cut to OnceQuota / what is left of the total
    let mut r = run(GZ3, MEDIUM, PRE, 5);
    r.min_count = Some(3);
    sim.refuse(
        Request::RunInstances(r.clone()),
        "LimitExceeded.PrepayQuota",
    );
    r.min_count = Some(2);
    assert_eq!(sim.launch(r).len(), 2);
    let q = sim.quota(GZ3, PRE);
    assert_eq!((q.used, q.remaining, q.total), (5, Some(0), Some(5)));
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, PRE, 1)),
        "LimitExceeded.PrepayQuota",
    );
    // OnceQuota is only reported for prepaid
    for c in [POST, SPOT] {
        assert_eq!(sim.quota(GZ3, c).once, None);
    }
}

#[test]
fn limit_exceeded_spot_quota_counts_vcpu_cores() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                spot_cores: Some(8),
                ..Default::default()
            },
        )
        .build();
    // 8 cores: 5 × S5.MEDIUM4 (10 cores) is too many, 4 (8 cores) fit
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, SPOT, 5)),
        "LimitExceeded.SpotQuota",
    );
    let ids = sim.launch(run(GZ3, MEDIUM, SPOT, 4));
    let q = sim.quota(GZ3, SPOT);
    assert_eq!((q.used, q.remaining, q.total), (8, Some(0), Some(8)));
    sim.refuse(
        Request::RunInstances(run(GZ3, SMALL, SPOT, 1)),
        "LimitExceeded.SpotQuota",
    );
    // releasing one S5.MEDIUM4 frees 2 cores: one S5.LARGE8 (4) does not fit, two SMALL2 do
    sim.settle();
    sim.accept(terminate(&ids[..1]));
    sim.settle();
    assert_eq!(sim.quota(GZ3, SPOT).used, 6);
    sim.refuse(
        Request::RunInstances(run(GZ3, LARGE, SPOT, 1)),
        "LimitExceeded.SpotQuota",
    );
    sim.launch(run(GZ3, SMALL, SPOT, 2));
    assert_eq!(sim.quota(GZ3, SPOT).used, 8);
    // postpaid quota is separate
    sim.launch(run(GZ3, LARGE, POST, 1));
}

#[test]
fn min_count_partial_delivery_on_quota() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                postpaid: Some(4),
                used_outside: [0, 1, 0],
                ..Default::default()
            },
        )
        .build();
    // quota 4 with 1 used in the console: 3 remain
    let q = sim.quota(GZ3, POST);
    assert_eq!((q.used, q.remaining), (1, Some(3)));
    let mut r = run(GZ3, MEDIUM, POST, 5);
    r.min_count = Some(4);
    sim.refuse(
        Request::RunInstances(r.clone()),
        "LimitExceeded.InstanceQuota",
    );
    r.min_count = Some(2);
    let ids = sim.launch(r);
    assert_eq!(ids.len(), 3);
    let q = sim.quota(GZ3, POST);
    assert_eq!((q.used, q.remaining), (4, Some(0)));
    assert_eq!(sim.list_all(100).len(), 3);
}

#[test]
fn modify_charge_type_moves_quota_and_respects_it() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                postpaid: Some(3),
                prepaid: Some(2),
                ..Default::default()
            },
        )
        .build();
    let ids = sim.running(GZ3, MEDIUM, POST, 3);
    // ModifyInstancesChargeType lists LimitExceeded.InstanceQuota for either quota
    sim.refuse(modify(&ids, PRE, 1), "LimitExceeded.InstanceQuota");
    sim.accept(modify(&ids[..1], PRE, 12));
    assert_eq!(sim.view(ids[0]).map(|v| v.charge), Some(PRE));
    assert_eq!(
        sim.op(ids[0]),
        (
            Some("ModifyInstancesChargeType"),
            Some(OperationState::Success)
        )
    );
    assert_eq!(sim.quota(GZ3, PRE).used, 1);
    assert_eq!(sim.quota(GZ3, POST).used, 2);
    // the postpaid quota is full again: the instance cannot come back to postpaid
    sim.launch(run(GZ3, MEDIUM, POST, 1));
    sim.refuse(modify(&ids[..1], POST, 1), "LimitExceeded.InstanceQuota");
    // back to postpaid from STOPPED once there is room; the prepaid purchase still counts
    // (PrePaidQuota's UsedQuota counts this month's purchases)
    sim.accept(terminate(&ids[2..3]));
    sim.settle();
    sim.accept(stop(&ids[..1]));
    sim.settle();
    sim.accept(modify(&ids[..1], POST, 1));
    assert_eq!(sim.view(ids[0]).map(|v| v.charge), Some(POST));
    assert_eq!(sim.quota(GZ3, POST).used, 3);
    assert_eq!(sim.quota(GZ3, PRE).used, 1);
    // one prepaid purchase left this month
    sim.accept(modify(&ids[1..2], PRE, 1));
    assert_eq!(sim.quota(GZ3, PRE).used, 2);
    sim.accept(modify(&ids[1..2], POST, 1));
    sim.refuse(modify(&ids[1..2], PRE, 1), "LimitExceeded.InstanceQuota");
}

#[test]
fn quota_is_checked_before_stock() {
    let mut sim = Cfg::new()
        .quota(GZ3, postpaid_quota(0))
        .capacity(GZ3, MEDIUM, 0)
        .build();
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 1)),
        "LimitExceeded.InstanceQuota",
    );
}

// ---------------------------------------------------------------------------------------------
// Stock

#[test]
fn resources_sold_out_insufficient_and_unavailable() {
    let mut sim = Cfg::new()
        .capacity(GZ3, MEDIUM, 3)
        .capacity(GZ3, LARGE, 0)
        .capacity(GZ4, MEDIUM, 5)
        .not_offered(GZ4, MEDIUM)
        .build();
    // none at all
    sim.refuse(
        Request::RunInstances(run(GZ3, LARGE, POST, 1)),
        "ResourcesSoldOut.SpecifiedInstanceType",
    );
    // some, but fewer than asked: nothing is launched
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 5)),
        "ResourceInsufficient.SpecifiedInstanceType",
    );
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    // not offered in the zone, whatever its capacity
    sim.refuse(
        Request::RunInstances(run(GZ4, MEDIUM, POST, 1)),
        "ResourceUnavailable.InstanceType",
    );
    assert_eq!(sim.cloud().fleet().created(), 0);
    // MinCount takes what is left; below MinCount: ResourceInsufficient.InsufficientOfferingMinimum
    let mut r = run(GZ3, MEDIUM, POST, 5);
    r.min_count = Some(4);
    sim.refuse(
        Request::RunInstances(r.clone()),
        "ResourceInsufficient.InsufficientOfferingMinimum",
    );
    r.min_count = Some(2);
    let ids = sim.launch(r);
    assert_eq!(ids.len(), 3);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 3);
    assert_eq!(sim.cloud().stock().free(GZ3, MEDIUM), 0);
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 1)),
        "ResourcesSoldOut.SpecifiedInstanceType",
    );
    // ResetInstancesType to a type that cannot be had
    let a = sim.stopped(GZ3, SMALL, POST, 1)[0];
    sim.refuse(
        reset(a, LARGE, false),
        "ResourcesSoldOut.SpecifiedInstanceType",
    );
    sim.refuse(
        reset(a, MEDIUM, false),
        "ResourcesSoldOut.SpecifiedInstanceType",
    );
    let b = sim.stopped(GZ4, SMALL, POST, 1)[0];
    sim.refuse(reset(b, MEDIUM, false), "ResourceUnavailable.InstanceType");
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    // a KEEP_CHARGING stop keeps the capacity
    sim.accept(stop(&ids[..1]));
    sim.settle();
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 3);
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 1)),
        "ResourcesSoldOut.SpecifiedInstanceType",
    );
    // release gives it back
    sim.accept(terminate(&ids[..1]));
    sim.settle();
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 2);
    sim.launch(run(GZ3, MEDIUM, POST, 1));
}

#[test]
fn stop_charging_gives_capacity_away_and_start_can_fail() {
    let mut sim = Cfg::new().capacity(GZ3, MEDIUM, 1).build();
    let a = sim.running(GZ3, MEDIUM, POST, 1)[0];
    assert_eq!(sim.status(GZ3, MEDIUM), "SOLD_OUT");
    sim.accept(stop_charging(&[a]));
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1, "held while STOPPING");
    sim.advance(STOPPING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    assert_eq!(sim.status(GZ3, MEDIUM), "SELL");
    // another instance takes the capacity: the start is accepted and fails when it
    // completes, as CVM's does (LatestOperationState FAILED, STOPPED again)
    let b = sim.running(GZ3, MEDIUM, POST, 1)[0];
    sim.accept(start(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Starting));
    sim.advance(STARTING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    assert_eq!(
        sim.op(a),
        (Some("StartInstances"), Some(OperationState::Failed))
    );
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1);
    // once it is free again the start succeeds and takes it back
    sim.accept(terminate(&[b]));
    sim.settle();
    sim.accept(start(&[a]));
    assert_eq!(
        sim.stock_used(GZ3, MEDIUM),
        0,
        "taken back when the start completes"
    );
    sim.advance(STARTING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1);
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 1)),
        "ResourcesSoldOut.SpecifiedInstanceType",
    );
}

#[test]
fn start_instances_gets_capacity_per_instance_when_it_completes() {
    let mut sim = Cfg::new().capacity(GZ3, MEDIUM, 2).build();
    let ids = sim.running(GZ3, MEDIUM, POST, 2);
    sim.accept(stop_charging(&ids));
    sim.settle();
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    sim.running(GZ3, MEDIUM, POST, 1); // one slot left
    sim.accept(start(&ids));
    sim.settle();
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 2, "never above the capacity");
    let mut states: Vec<_> = ids.iter().map(|&i| sim.state(i).unwrap()).collect();
    states.sort();
    assert_eq!(states, vec![InstanceState::Running, InstanceState::Stopped]);
}

#[test]
fn reset_instances_type_reserves_the_new_capacity() {
    let mut sim = Cfg::new().capacity(GZ3, LARGE, 1).build();
    let a = sim.stopped(GZ3, MEDIUM, POST, 1)[0];
    sim.accept(reset(a, LARGE, false));
    // the reset is in flight; a client asks for the last S5.LARGE8
    let result = sim.call(Request::RunInstances(run(GZ3, LARGE, POST, 1)));
    sim.settle();
    assert_eq!(sim.view(a).map(|v| v.itype), Some(LARGE));
    assert!(
        sim.stock_used(GZ3, LARGE) <= 1,
        "stock used {} of capacity 1 (RunInstances during the reset answered {result:?})",
        sim.stock_used(GZ3, LARGE)
    );
}

#[test]
fn renew_restores_only_with_capacity() {
    let mut sim = Cfg::new().capacity(GZ3, MEDIUM, 1).build();
    let a = sim.running(GZ3, MEDIUM, POST, 1)[0];
    sim.accept(stop_charging(&[a]));
    sim.settle();
    // An instance stopped without charging accepts only StartInstances (ModifyInstances-
    // ChargeType: "关机不收费的实例…不支持该操作"), so a prepaid instance without capacity in
    // the recycle bin can no longer be made this way.
    sim.refuse(modify(&[a], PRE, 1), "InvalidInstance.NotSupported");
    // (S5.MEDIUM4 to S5.LARGE8: within the family, which has its own code)
    sim.refuse(
        reset(a, LARGE, false),
        "UnsupportedOperation.StoppedModeStopChargingSameFamily",
    );
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    sim.accept(start(&[a]));
    sim.settle();
    sim.accept(modify(&[a], PRE, 1));
    sim.settle();
    let b = a;
    sim.accept(terminate(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Shutdown));
    let result = sim.call(renew(&[a], 1));
    sim.settle();
    let running = sim
        .list_all(100)
        .iter()
        .filter(|v| v.state == InstanceState::Running && v.itype == MEDIUM)
        .count();
    assert!(
        running <= 1,
        "{running} S5.MEDIUM4 RUNNING in a zone with capacity 1 ({a} renewed: {result:?}, \
         {b} running), stock used {}",
        sim.stock_used(GZ3, MEDIUM)
    );
}

#[test]
fn duplicate_ids_in_one_call_do_not_panic() {
    use InstanceState as S;
    // (call, state before, state after a single transition)
    type Case = (fn(&[InstanceId]) -> Request, S, S);
    let cases: [Case; 4] = [
        (stop, S::Running, S::Stopping),
        (start, S::Stopped, S::Starting),
        (reboot, S::Running, S::Rebooting),
        (terminate, S::Running, S::Terminating),
    ];
    let mut failures = Vec::new();
    for (req, before, after) in cases {
        let mut sim = Cfg::new().build();
        let a = if before == S::Stopped {
            sim.stopped(GZ3, MEDIUM, POST, 1)[0]
        } else {
            sim.running(GZ3, MEDIUM, POST, 1)[0]
        };
        let r = req(&[a, a]);
        let what = format!("{r:?}");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.call(r)));
        let Ok(result) = result else {
            failures.push(format!("{what} panicked"));
            continue;
        };
        // refused, or accepted as if named once
        let want = if result.is_ok() { after } else { before };
        if sim.state(a) != Some(want) {
            failures.push(format!(
                "{what} answered {result:?}, left {:?}",
                sim.state(a)
            ));
        }
    }
    // RenewInstances naming an instance twice: refused, or renewed by one period
    let mut sim = Cfg::new().build();
    let p = sim.running(GZ3, MEDIUM, PRE, 1)[0];
    let expires = |sim: &Sim| {
        let f = sim.cloud().fleet();
        f.get(f.key_of(p).unwrap())
            .unwrap()
            .expires()
            .get()
            .unwrap()
    };
    let before = expires(&sim);
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.call(renew(&[p, p], 1))));
    match result {
        Err(_) => failures.push("RenewInstances [p, p] panicked".to_string()),
        Ok(Ok(_)) if expires(&sim).ms() - before.ms() != 30 * 24 * 3_600_000 => {
            failures.push(format!(
                "RenewInstances [p, p] with Period 1 extended ExpiredTime by {} days",
                (expires(&sim).ms() - before.ms()) / (24 * 3_600_000)
            ))
        }
        Ok(_) => {}
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

// ---------------------------------------------------------------------------------------------
// Spot: MaxPrice and reclaims

#[test]
fn bid_price_too_low() {
    let mut sim = Cfg::new().build();
    let market = (catalog().price(MEDIUM).postpaid_hourly as f64 * SPOT_FRACTION).round() as u64;
    let mut r = run(GZ3, MEDIUM, SPOT, 1);
    r.max_price = Some(market - 1);
    sim.refuse(
        Request::RunInstances(r.clone()),
        "InvalidParameterValue.InsufficientPrice",
    );
    assert_eq!(sim.cloud().fleet().created(), 0);
    // a bid at the market price, or none (bids the market), is accepted
    r.max_price = Some(market);
    sim.launch(r.clone());
    r.max_price = None;
    sim.launch(r);
    // MaxPrice means nothing to other charge types
    let mut r = run(GZ3, MEDIUM, POST, 1);
    r.max_price = Some(1);
    sim.launch(r);
}

#[test]
fn on_demand_launch_reclaims_spot_capacity_after_a_notice() {
    let mut sim = Cfg::new()
        .capacity(GZ3, MEDIUM, 2)
        .quota(
            GZ3,
            ZoneQuota {
                spot_cores: Some(4),
                ..Default::default()
            },
        )
        .build();
    let spot = sim.running(GZ3, MEDIUM, SPOT, 2);
    assert_eq!(sim.quota(GZ3, SPOT).used, 4);
    // spot never displaces spot
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, SPOT, 1)),
        "LimitExceeded.SpotQuota",
    );
    // more on-demand than spot could free (even with one more slot): refused, nobody reclaimed
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 3)),
        "ResourcesSoldOut.SpecifiedInstanceType",
    );
    assert!(sim.cloud().fleet().iter().all(|(_, i)| !i.reclaiming()));
    // an on-demand launch takes the capacity of the newest spot instance at once
    let post = sim.launch(run(GZ3, MEDIUM, POST, 1))[0];
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 2);
    assert_eq!(sim.state(post), Some(InstanceState::Pending));
    // the victim runs out its notice, then the platform terminates it
    let victim = spot[1];
    sim.advance(SPOT_NOTICE_MS);
    assert_eq!(sim.state(victim), Some(InstanceState::Running));
    sim.advance(1);
    assert_eq!(sim.state(victim), Some(InstanceState::Terminating));
    assert_eq!(sim.op(victim).0, Some("SpotReclaim"));
    sim.advance(TERMINATING_MS);
    assert_eq!(sim.state(victim), None);
    assert_eq!(sim.state(spot[0]), Some(InstanceState::Running));
    assert_eq!(sim.quota(GZ3, SPOT).used, 2);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 2);
    // with MinCount, the launch takes what the last spot instance can free
    let mut r = run(GZ3, MEDIUM, POST, 3);
    r.min_count = Some(1);
    assert_eq!(sim.launch(r).len(), 1);
    sim.settle();
    assert_eq!(sim.state(spot[0]), None);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 2);
}

/// A stopped spot instance under a reclaim notice that is started again takes stock again but
/// is no holder any more: when the notice runs out and it is destroyed, the holders' count must
/// not lose a second holder (it did: a debug build overflowed, a release build kept sweeping),
/// and the remaining holders are still found for the next reclaim.
#[test]
fn spot_started_during_its_notice_is_destroyed_without_losing_a_holder() {
    let mut sim = Cfg::new().capacity(GZ3, MEDIUM, 2).build();
    let spot = sim.stopped(GZ3, MEDIUM, SPOT, 2);
    let (a, b) = (spot[0], spot[1]);
    // an on-demand launch reclaims the newest stopped spot instance
    let post = sim.launch(run(GZ3, MEDIUM, POST, 1))[0];
    assert!(
        sim.cloud()
            .fleet()
            .iter()
            .any(|(_, i)| i.id == b && i.reclaiming())
    );
    // a leaves, freeing its capacity; b is started during its notice and takes it
    sim.accept(terminate(&[a]));
    sim.accept(start(&[b]));
    sim.advance(STARTING_MS + 1);
    assert_eq!(sim.state(b), Some(InstanceState::Running));
    assert!(
        sim.cloud()
            .fleet()
            .iter()
            .any(|(_, i)| i.id == b && i.holds_stock())
    );
    // the notice runs out: b is destroyed and gives its capacity back
    sim.settle();
    assert_eq!(sim.state(a), None);
    assert_eq!(sim.state(b), None);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1);
    // a new spot instance is a holder like any other: the next on-demand launch reclaims it
    let c = sim.running(GZ3, MEDIUM, SPOT, 1)[0];
    sim.launch(run(GZ3, MEDIUM, POST, 1));
    assert!(
        sim.cloud()
            .fleet()
            .iter()
            .any(|(_, i)| i.id == c && i.reclaiming())
    );
    sim.settle();
    assert_eq!(sim.state(c), None);
    assert_eq!(sim.state(post), Some(InstanceState::Running));
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 2);
}

#[test]
fn dry_run_of_a_launch_that_would_reclaim_spot() {
    let mut sim = Cfg::new().capacity(GZ3, MEDIUM, 1).build();
    let spot = sim.running(GZ3, MEDIUM, SPOT, 1)[0];
    let mut r = run(GZ3, MEDIUM, POST, 1);
    r.dry_run = true;
    sim.refuse(Request::RunInstances(r), "DryRunOperation");
    assert!(sim.cloud().fleet().iter().all(|(_, i)| !i.reclaiming()));
    // the real call succeeds
    sim.launch(run(GZ3, MEDIUM, POST, 1));
    sim.settle();
    assert_eq!(sim.state(spot), None);
}

// ---------------------------------------------------------------------------------------------
// Prepaid expiry of a failed launch

#[test]
fn expiry_of_a_launch_failed_prepaid_instance_does_not_spin() {
    let mut sim = Cfg::new().launch_failure(1.0).build();
    let a = sim.launch(run(GZ3, MEDIUM, PRE, 1))[0];
    sim.advance(PENDING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::LaunchFailed));
    let before = sim.s.processed();
    sim.advance_to(SimTime(MONTH_MS + 3_600_000));
    let events = sim.s.processed() - before;
    assert!(
        events < 10,
        "{events} events in the hour after the expiry of a LAUNCH_FAILED instance"
    );
}

#[test]
fn auto_renewal_does_not_charge_a_launch_failed_instance() {
    let mut sim = Cfg::new().launch_failure(1.0).build();
    let mut r = run(GZ3, MEDIUM, PRE, 1);
    r.renew_flag = RenewFlag::NotifyAndAutoRenew;
    let a = sim.launch(r)[0];
    sim.advance(PENDING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::LaunchFailed));
    let charged = |sim: &Sim| {
        let f = sim.cloud().fleet();
        f.key_of(a).map(|k| f.get(k).unwrap().billing.charged)
    };
    let before = charged(&sim);
    // not renewed while it waits for the platform's cleanup (1 hour by default)...
    sim.advance(3_600_000 - 2);
    assert_eq!(charged(&sim), before, "{:?}", sim.op(a));
    // ...and gone after it, so there is nothing left to renew at the end of the month
    sim.advance_to(SimTime(MONTH_MS + 1));
    assert_eq!(
        charged(&sim),
        None,
        "a LAUNCH_FAILED instance outlived its cleanup"
    );
}

// ---------------------------------------------------------------------------------------------
// DryRun

#[test]
fn dry_run_answers_dry_run_operation_and_changes_nothing() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                postpaid: Some(5),
                spot_cores: Some(4),
                ..Default::default()
            },
        )
        .capacity(GZ3, MEDIUM, 5)
        .build();
    let quotas_before = sim.quotas();
    let mut r = run(GZ3, MEDIUM, POST, 5);
    r.dry_run = true;
    sim.refuse(Request::RunInstances(r.clone()), "DryRunOperation");
    // with MinCount it is a dry run of the partial delivery
    r.count = 8;
    r.min_count = Some(1);
    sim.refuse(Request::RunInstances(r), "DryRunOperation");
    assert_eq!(sim.quotas(), quotas_before);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    assert_eq!(sim.cloud().fleet().created(), 0, "no id was spent");
    assert!(sim.list_all(100).is_empty());
    assert!(sim.m.obs.changes.is_empty());
    assert_eq!(sim.s.pending(), 0);
    // a dry run of a call that would fail gives that failure
    let mut r = run(GZ3, MEDIUM, SPOT, 3);
    r.dry_run = true;
    sim.refuse(Request::RunInstances(r), "LimitExceeded.SpotQuota");
    let mut r = run(GZ3, MEDIUM, POST, 6);
    r.dry_run = true;
    sim.refuse(Request::RunInstances(r), "LimitExceeded.InstanceQuota");
    let mut r = run(GZ3, MEDIUM, POST, 0);
    r.dry_run = true;
    sim.refuse(Request::RunInstances(r), "InvalidParameterValue.Range");
    // and the real call afterwards succeeds with the first ids
    let ids = sim.launch(run(GZ3, MEDIUM, POST, 5));
    assert_eq!(ids[0], InstanceId(0));
}

#[test]
fn client_token_makes_run_instances_idempotent() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                postpaid: Some(5),
                ..Default::default()
            },
        )
        .build();
    let mut r = run(GZ3, MEDIUM, POST, 3);
    r.client_token = Some("deploy-42".into());
    let first = sim.launch(r.clone());
    assert_eq!(first.len(), 3);
    let quotas = sim.quotas();
    // The same token again (a client retrying after a lost answer): the same instances, nothing
    // new, no quota taken — even though 3 more would exceed the quota of 5.
    let again = sim.launch(r.clone());
    assert_eq!(again, first);
    assert_eq!(sim.cloud().fleet().created(), 3);
    assert_eq!(sim.quotas(), quotas);
    // Still the same answer after the instances ran and one was terminated.
    sim.settle();
    sim.accept(terminate(&first[..1]));
    sim.settle();
    assert_eq!(sim.launch(r), first);
    // Another token is a new purchase, and meets the quota (2 alive + 4 > 5).
    let mut other = run(GZ3, MEDIUM, POST, 4);
    other.client_token = Some("deploy-43".into());
    sim.refuse(Request::RunInstances(other), "LimitExceeded.InstanceQuota");
    // A refused call does not claim its token: the same token can succeed later.
    let mut small = run(GZ3, MEDIUM, POST, 1);
    small.client_token = Some("deploy-43".into());
    assert_eq!(sim.launch(small.clone()).len(), 1);
    assert_eq!(sim.launch(small).len(), 1);
    assert_eq!(sim.cloud().fleet().created(), 4);
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

#[test]
fn run_stop_start_reboot_with_exact_timings_and_latest_operation() {
    let mut sim = Cfg::new().build();
    let a = sim.launch(run(GZ3, MEDIUM, POST, 1))[0];
    assert_eq!(sim.state(a), Some(InstanceState::Pending));
    assert_eq!(
        sim.op(a),
        (Some("RunInstances"), Some(OperationState::Operating))
    );
    sim.advance(PENDING_MS);
    assert_eq!(sim.state(a), Some(InstanceState::Pending));
    sim.advance(1);
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    assert_eq!(
        sim.op(a),
        (Some("RunInstances"), Some(OperationState::Success))
    );

    let t0 = sim.now();
    sim.accept(stop(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Stopping));
    assert_eq!(
        sim.op(a),
        (Some("StopInstances"), Some(OperationState::Operating))
    );
    sim.advance(STOPPING_MS);
    assert_eq!(sim.state(a), Some(InstanceState::Stopping));
    sim.advance(1);
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    assert_eq!(
        sim.op(a),
        (Some("StopInstances"), Some(OperationState::Success))
    );

    sim.accept(start(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Starting));
    assert_eq!(
        sim.op(a),
        (Some("StartInstances"), Some(OperationState::Operating))
    );
    sim.advance(STARTING_MS);
    assert_eq!(sim.state(a), Some(InstanceState::Starting));
    sim.advance(1);
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    assert_eq!(
        sim.op(a),
        (Some("StartInstances"), Some(OperationState::Success))
    );

    sim.accept(reboot(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Rebooting));
    assert_eq!(
        sim.op(a),
        (Some("RebootInstances"), Some(OperationState::Operating))
    );
    sim.advance(REBOOTING_MS);
    assert_eq!(sim.state(a), Some(InstanceState::Rebooting));
    sim.advance(1);
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    assert_eq!(
        sim.op(a),
        (Some("RebootInstances"), Some(OperationState::Success))
    );

    // the observer saw each change at its exact time
    let seen: Vec<_> = sim
        .m
        .obs
        .changes
        .iter()
        .filter(|c| c.1 == a && c.0 >= t0)
        .map(|c| (c.0.ms() - t0.ms(), c.2, c.3))
        .collect();
    use InstanceState as S;
    let s1 = STOPPING_MS + 1;
    let s2 = s1 + STARTING_MS + 1;
    assert_eq!(
        seen,
        vec![
            (0, Some(S::Running), Some(S::Stopping)),
            (STOPPING_MS, Some(S::Stopping), Some(S::Stopped)),
            (s1, Some(S::Stopped), Some(S::Starting)),
            (s1 + STARTING_MS, Some(S::Starting), Some(S::Running)),
            (s2, Some(S::Running), Some(S::Rebooting)),
            (s2 + REBOOTING_MS, Some(S::Rebooting), Some(S::Running)),
        ]
    );
}

#[test]
fn postpaid_terminate_releases_quota_and_stock() {
    let mut sim = Cfg::new()
        .quota(GZ3, postpaid_quota(2))
        .capacity(GZ3, MEDIUM, 2)
        .build();
    let ids = sim.running(GZ3, MEDIUM, POST, 2);
    let stopped = ids[1];
    sim.accept(stop(&[stopped]));
    sim.settle();
    // RUNNING and STOPPED can both be terminated, in one call
    sim.accept(terminate(&ids));
    for &id in &ids {
        assert_eq!(sim.state(id), Some(InstanceState::Terminating));
        assert_eq!(
            sim.op(id),
            (Some("TerminateInstances"), Some(OperationState::Operating))
        );
    }
    assert_eq!(sim.quota(GZ3, POST).used, 2);
    sim.advance(TERMINATING_MS);
    assert_eq!(sim.list_all(100).len(), 2);
    sim.advance(1);
    assert!(sim.list_all(100).is_empty());
    assert_eq!(sim.quota(GZ3, POST).used, 0);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    let gone: Vec<_> = sim
        .m
        .obs
        .changes
        .iter()
        .filter(|c| c.3.is_none())
        .map(|c| c.1)
        .collect();
    assert_eq!(gone, ids);
}

#[test]
fn prepaid_terminate_twice_and_renew_from_shutdown() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                prepaid: Some(3),
                ..Default::default()
            },
        )
        .capacity(GZ3, MEDIUM, 2)
        .build();
    let ids = sim.running(GZ3, MEDIUM, PRE, 2);
    let (a, b) = (ids[0], ids[1]);
    // first TerminateInstances: into the recycle bin at once, not busy
    sim.accept(terminate(&[a]));
    assert_eq!(sim.state(a), Some(InstanceState::Shutdown));
    assert_eq!(
        sim.op(a),
        (Some("TerminateInstances"), Some(OperationState::Success))
    );
    // still holds its quota and capacity in the bin
    assert_eq!(sim.quota(GZ3, PRE).used, 2);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 2);
    // RenewInstances restores it to RUNNING
    let expires_before = {
        let f = sim.cloud().fleet();
        f.get(f.key_of(a).unwrap())
            .unwrap()
            .expires()
            .get()
            .unwrap()
    };
    sim.accept(renew(&[a], 2));
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    assert_eq!(
        sim.op(a),
        (Some("RenewInstances"), Some(OperationState::Success))
    );
    let expires_after = {
        let f = sim.cloud().fleet();
        f.get(f.key_of(a).unwrap())
            .unwrap()
            .expires()
            .get()
            .unwrap()
    };
    assert_eq!(
        expires_after.ms() - expires_before.ms(),
        2 * 30 * 24 * 3_600_000,
        "Period 2 extends ExpiredTime by two 30-day months"
    );
    // a stopped prepaid instance goes into the bin too; the second call destroys it
    sim.accept(stop(&[b]));
    sim.settle();
    sim.accept(terminate(&[b]));
    assert_eq!(sim.state(b), Some(InstanceState::Shutdown));
    sim.accept(terminate(&[b]));
    assert_eq!(sim.state(b), Some(InstanceState::Terminating));
    sim.advance(TERMINATING_MS);
    assert_eq!(sim.state(b), Some(InstanceState::Terminating));
    sim.advance(1);
    assert_eq!(sim.state(b), None);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1);
    // PrePaidQuota counts this month's purchases: a release gives nothing back
    assert_eq!(sim.quota(GZ3, PRE).used, 2);
    // mixing SHUTDOWN and RUNNING prepaid instances in one call is fine (one charge type)
    let c = sim.running(GZ3, MEDIUM, PRE, 1)[0];
    sim.accept(terminate(&[c]));
    sim.accept(terminate(&[a, c]));
    assert_eq!(sim.state(a), Some(InstanceState::Shutdown));
    assert_eq!(sim.state(c), Some(InstanceState::Terminating));
}

#[test]
fn prepaid_expiry_isolates_and_the_recycle_bin_releases() {
    let mut sim = Cfg::new().capacity(GZ3, MEDIUM, 3).build();
    // bought at t = 0 for one month
    let ids = sim.launch(run(GZ3, MEDIUM, PRE, 3));
    let mut r = run(GZ3, SMALL, PRE, 1);
    r.renew_flag = RenewFlag::NotifyAndAutoRenew;
    let auto = sim.launch(r)[0];
    let expires = |sim: &Sim, id: InstanceId| {
        let f = sim.cloud().fleet();
        f.get(f.key_of(id).unwrap())
            .unwrap()
            .expires()
            .get()
            .unwrap()
            .ms()
    };
    sim.advance_to(SimTime(MONTH_MS));
    assert_eq!(sim.state(ids[0]), Some(InstanceState::Running));
    sim.advance(1);
    // at expiry: isolated into the recycle bin, or renewed by a month with auto-renewal
    for &id in &ids {
        assert_eq!(sim.state(id), Some(InstanceState::Shutdown));
    }
    assert_eq!(sim.state(auto), Some(InstanceState::Running));
    assert_eq!(sim.op(auto).0, Some("RenewInstances"));
    assert_eq!(expires(&sim, auto), 2 * MONTH_MS);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 3, "held in the bin");
    // RenewInstances within the bin's 7 days restores; ExpiredTime runs on from where it was
    sim.advance(DAY_MS);
    sim.accept(renew(&ids[..1], 1));
    assert_eq!(sim.state(ids[0]), Some(InstanceState::Running));
    assert_eq!(expires(&sim, ids[0]), 2 * MONTH_MS);
    // the others are released exactly 7 days after isolation
    sim.advance_to(SimTime(MONTH_MS + RECYCLE_BIN_MS));
    assert_eq!(sim.state(ids[1]), Some(InstanceState::Shutdown));
    sim.advance(1);
    assert_eq!(sim.state(ids[1]), None);
    assert_eq!(sim.state(ids[2]), None);
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1);
    assert_eq!(sim.state(ids[0]), Some(InstanceState::Running));
}

#[test]
fn reset_instances_type_from_stopped_moves_stock() {
    let mut sim = Cfg::new()
        .capacity(GZ3, MEDIUM, 2)
        .capacity(GZ3, LARGE, 1)
        .build();
    let a = sim.stopped(GZ3, MEDIUM, POST, 1)[0];
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1);
    sim.accept(reset(a, LARGE, false));
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    assert_eq!(
        sim.op(a),
        (Some("ResetInstancesType"), Some(OperationState::Operating))
    );
    sim.advance(RESET_MS);
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    assert_eq!(sim.view(a).unwrap().itype, MEDIUM);
    sim.advance(1);
    let v = sim.view(a).unwrap();
    assert_eq!((v.state, v.itype), (InstanceState::Running, LARGE));
    assert_eq!(
        (v.latest_operation, v.latest_operation_state),
        (Some("ResetInstancesType"), Some(OperationState::Success))
    );
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    assert_eq!(sim.stock_used(GZ3, LARGE), 1);
    assert_eq!(sim.status(GZ3, LARGE), "SOLD_OUT");
    // the instance-type filter sees the new type
    let (total, _) = sim.describe(
        Default::default(),
        vec![filter("instance-type", &["S5.LARGE8"])],
        0,
        None,
    );
    assert_eq!(total, 1);
}

#[test]
fn reset_instances_type_with_force_stop_from_running() {
    let mut sim = Cfg::new().build();
    let a = sim.running(GZ3, MEDIUM, POST, 1)[0];
    sim.accept(reset(a, SMALL, true));
    // the API stops it first
    assert_eq!(sim.state(a), Some(InstanceState::Stopping));
    assert_eq!(
        sim.op(a),
        (Some("ResetInstancesType"), Some(OperationState::Operating))
    );
    sim.advance(STOPPING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    assert_eq!(
        sim.op(a),
        (Some("ResetInstancesType"), Some(OperationState::Operating)),
        "still operating between the stop and the reset"
    );
    sim.refuse(start(&[a]), "OperationDenied.InstanceOperationInProgress");
    sim.advance(RESET_MS - 1);
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    sim.advance(1);
    let v = sim.view(a).unwrap();
    assert_eq!((v.state, v.itype), (InstanceState::Running, SMALL));
    assert_eq!(v.latest_operation_state, Some(OperationState::Success));
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 0);
    assert_eq!(sim.stock_used(GZ3, SMALL), 1);
    // prepaid instances can be reconfigured too
    let p = sim.stopped(GZ3, MEDIUM, PRE, 1)[0];
    sim.accept(reset(p, LARGE, false));
    sim.settle();
    assert_eq!(sim.view(p).unwrap().itype, LARGE);
}

// ---------------------------------------------------------------------------------------------
// Describe*

#[test]
fn describe_instances_pages_with_limit_offset_and_total_count() {
    let mut sim = Cfg::new().build();
    let mut ids = sim.launch(run(GZ3, MEDIUM, POST, 15));
    ids.extend(sim.launch(run(GZ4, SMALL, SPOT, 10)));
    // default Limit is 20
    let (total, items) = sim.describe(Default::default(), vec![], 0, None);
    assert_eq!((total, items.len()), (25, 20));
    let mut seen = Vec::new();
    for (offset, want) in [(0, 10), (10, 10), (20, 5), (25, 0), (40, 0)] {
        let (total, items) = sim.describe(Default::default(), vec![], offset, Some(10));
        assert_eq!(total, 25);
        assert_eq!(items.len(), want, "offset {offset}");
        seen.extend(items.into_iter().map(|v| v.id));
    }
    assert_eq!(seen, ids, "pages in creation order, each instance once");
    for limit in [1, 3, 7, 24, 25, 100] {
        let all: Vec<_> = sim.list_all(limit).into_iter().map(|v| v.id).collect();
        assert_eq!(all, ids, "limit {limit}");
    }
    // a view carries what DescribeInstances reports
    let v = sim.view(ids[20]).unwrap();
    assert_eq!(
        (v.zone, v.itype, v.charge, v.state),
        (GZ4, SMALL, SPOT, InstanceState::Pending)
    );
}

#[test]
fn describe_instances_filters() {
    let mut sim = Cfg::new().build();
    let gz3 = sim.running(GZ3, MEDIUM, POST, 4);
    let gz4 = sim.running(GZ4, SMALL, PRE, 3);
    sim.accept(stop(&[gz3[0], gz3[1]]));
    sim.accept(stop(&[gz4[0]]));
    sim.settle();
    let ids_of = |sim: &mut Sim, f: Vec<Filter>| -> Vec<InstanceId> {
        sim.list_all_filtered(f, 2)
            .into_iter()
            .map(|v| v.id)
            .collect()
    };
    assert_eq!(
        ids_of(&mut sim, vec![filter("zone", &["ap-guangzhou-4"])]),
        gz4
    );
    assert_eq!(
        ids_of(&mut sim, vec![filter("instance-state", &["STOPPED"])]),
        vec![gz3[0], gz3[1], gz4[0]]
    );
    // filters are ANDed, values within one are alternatives
    assert_eq!(
        ids_of(
            &mut sim,
            vec![
                filter("zone", &["ap-guangzhou-3"]),
                filter("instance-state", &["STOPPED"]),
            ]
        ),
        vec![gz3[0], gz3[1]]
    );
    assert_eq!(
        ids_of(
            &mut sim,
            vec![filter("zone", &["ap-guangzhou-3", "ap-guangzhou-4"])]
        )
        .len(),
        7
    );
    assert_eq!(
        ids_of(
            &mut sim,
            vec![filter("instance-state", &["RUNNING", "PENDING"])]
        ),
        vec![gz3[2], gz3[3], gz4[1], gz4[2]]
    );
    assert_eq!(
        ids_of(&mut sim, vec![filter("instance-charge-type", &["PREPAID"])]),
        gz4
    );
    assert_eq!(
        ids_of(&mut sim, vec![filter("instance-type", &["S5.MEDIUM4"])]),
        gz3
    );
    let one = gz4[2].to_string();
    assert_eq!(
        ids_of(&mut sim, vec![filter("instance-id", &[one.as_str()])]),
        vec![gz4[2]]
    );
    assert!(ids_of(&mut sim, vec![filter("zone", &["ap-shanghai-2"])]).is_empty());
    // TotalCount is the filtered count
    let (total, items) = sim.describe(
        Default::default(),
        vec![filter("instance-state", &["RUNNING"])],
        0,
        Some(1),
    );
    assert_eq!((total, items.len()), (4, 1));
}

#[test]
fn describe_account_quota_used_remaining_total() {
    let mut sim = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                postpaid: Some(30),
                prepaid: Some(10),
                prepaid_once: Some(5),
                spot_cores: Some(64),
                used_outside: [2, 3, 4],
            },
        )
        .build();
    sim.launch(run(GZ3, MEDIUM, POST, 3));
    sim.launch(run(GZ3, MEDIUM, PRE, 2));
    sim.launch(run(GZ3, LARGE, SPOT, 3)); // 12 cores
    let all = sim.quotas();
    assert_eq!(all.len(), 2 * 3, "every zone and charge type");
    let get = |c: ChargeType| all.iter().find(|q| q.zone == GZ3 && q.charge == c).unwrap();
    assert_eq!(
        get(POST),
        &QuotaView {
            zone: GZ3,
            charge: POST,
            used: 6,
            remaining: Some(24),
            total: Some(30),
            once: None,
        }
    );
    assert_eq!(
        get(PRE),
        &QuotaView {
            zone: GZ3,
            charge: PRE,
            used: 4,
            remaining: Some(6),
            total: Some(10),
            once: Some(5),
        }
    );
    assert_eq!(
        get(SPOT),
        &QuotaView {
            zone: GZ3,
            charge: SPOT,
            used: 16,
            remaining: Some(48),
            total: Some(64),
            once: None,
        }
    );
    // an unlimited zone reports no total and no remaining
    for q in all.iter().filter(|q| q.zone == GZ4) {
        assert_eq!((q.used, q.remaining, q.total), (0, None, None));
    }
    // asking for one zone gives that zone's three
    match sim.accept(Request::DescribeAccountQuota { zone: Some(GZ4) }) {
        Response::Quotas(q) => {
            assert_eq!(q.len(), 3);
            assert!(q.iter().all(|v| v.zone == GZ4));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn describe_zone_instance_config_infos_sell_and_sold_out() {
    let mut sim = Cfg::new()
        .capacity(GZ3, MEDIUM, 2)
        .capacity(GZ3, LARGE, 0)
        .not_offered(GZ4, SMALL)
        .build();
    let all = sim.configs(None);
    assert_eq!(all.len(), 2 * 3);
    let status = |z: ZoneIdx, t: TypeIdx| {
        all.iter()
            .find(|c| c.zone == z && c.itype == t)
            .unwrap()
            .status
    };
    assert_eq!(status(GZ3, MEDIUM), "SELL");
    assert_eq!(status(GZ3, LARGE), "SOLD_OUT");
    assert_eq!(status(GZ3, SMALL), "SELL");
    assert_eq!(status(GZ4, MEDIUM), "SELL");
    assert_eq!(status(GZ4, SMALL), "SOLD_OUT", "not offered");
    let ids = sim.launch(run(GZ3, MEDIUM, POST, 2));
    assert_eq!(sim.status(GZ3, MEDIUM), "SOLD_OUT");
    sim.settle();
    sim.accept(terminate(&ids[..1]));
    assert_eq!(
        sim.status(GZ3, MEDIUM),
        "SOLD_OUT",
        "held while TERMINATING"
    );
    sim.settle();
    assert_eq!(sim.status(GZ3, MEDIUM), "SELL");
    assert_eq!(sim.configs(Some(GZ4)).len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Properties over random call sequences

/// Which instance a random call names.
#[derive(Clone, Debug)]
enum Pick {
    /// One of the instances launched so far (index modulo their number), live or released.
    Known(usize),
    /// A well-formed id never issued.
    Unknown(u64),
    /// Not an id at all.
    Malformed,
}

#[derive(Clone, Debug)]
enum Op {
    Run {
        zone: u16,
        itype: u16,
        charge: ChargeType,
        count: u32,
        min_count: Option<u32>,
        dry_run: bool,
        period: u32,
    },
    Stop(Vec<Pick>, bool),
    Start(Vec<Pick>),
    Reboot(Vec<Pick>),
    Terminate(Vec<Pick>),
    Reset(Pick, u16, bool),
    Renew(Vec<Pick>, u32),
    Modify(Vec<Pick>, bool),
    Advance(u64),
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        18 => any::<usize>().prop_map(Pick::Known),
        1 => (0u64..1000).prop_map(Pick::Unknown),
        1 => Just(Pick::Malformed),
    ]
}

fn picks() -> impl Strategy<Value = Vec<Pick>> {
    prop::collection::vec(pick(), 1..=3)
}

fn charge() -> impl Strategy<Value = ChargeType> {
    prop_oneof![Just(PRE), Just(POST), Just(SPOT)]
}

fn op() -> impl Strategy<Value = Op> {
    let run = (
        0u16..2,
        0u16..3,
        charge(),
        1u32..=6,
        prop::option::of(1u32..=6),
        prop::bool::weighted(0.1),
        prop::sample::select(vec![1u32, 1, 12, 13]),
    )
        .prop_map(
            |(zone, itype, charge, count, min_count, dry_run, period)| Op::Run {
                zone,
                itype,
                charge,
                count,
                min_count,
                dry_run,
                period,
            },
        );
    prop_oneof![
        5 => run,
        3 => (picks(), any::<bool>()).prop_map(|(p, sc)| Op::Stop(p, sc)),
        3 => picks().prop_map(Op::Start),
        1 => picks().prop_map(Op::Reboot),
        3 => picks().prop_map(Op::Terminate),
        1 => (pick(), 0u16..3, any::<bool>()).prop_map(|(p, t, f)| Op::Reset(p, t, f)),
        1 => (picks(), prop::sample::select(vec![1u32, 1, 13])).prop_map(|(p, m)| Op::Renew(p, m)),
        1 => (picks(), any::<bool>()).prop_map(|(p, pre)| Op::Modify(p, pre)),
        5 => prop_oneof![
            9 => 0u64..=120_000,
            // long steps reach the recycle bin's release
            1 => 0u64..=3 * DAY_MS,
        ]
        .prop_map(Op::Advance),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..80)
}

/// Ops that steer clear of the three known stock bugs (multi-id StartInstances;
/// ResetInstancesType; ModifyInstancesChargeType, the way to a prepaid STOP_CHARGING instance
/// that RenewInstances restores without stock), to keep the stock invariant checked.
fn ops_without_known_stock_bugs() -> impl Strategy<Value = Vec<Op>> {
    let op = op().prop_filter_map("known stock bug", |o| match o {
        Op::Reset(..) | Op::Modify(..) => None,
        Op::Start(mut p) => {
            p.truncate(1);
            Some(Op::Start(p))
        }
        o => Some(o),
    });
    prop::collection::vec(op, 1..80)
}

/// Random runs stay within 29 days: past a prepaid expiry, a LAUNCH_FAILED prepaid instance
/// spins one event per second (see `expiry_of_a_launch_failed_prepaid_instance_does_not_spin`).
const PROP_HORIZON_MS: u64 = 29 * DAY_MS;

/// A small, tight account so that quotas and stock run out often.
fn prop_sim(seed: u64) -> Sim {
    let mut cfg = Cfg::new()
        .quota(
            GZ3,
            ZoneQuota {
                postpaid: Some(10),
                prepaid: Some(5),
                prepaid_once: Some(3),
                spot_cores: Some(12),
                used_outside: [0, 0, 0],
            },
        )
        .quota(
            GZ4,
            ZoneQuota {
                postpaid: Some(6),
                prepaid: None,
                prepaid_once: None,
                spot_cores: Some(6),
                used_outside: [1, 2, 2],
            },
        )
        .capacity(GZ3, MEDIUM, 8)
        .capacity(GZ3, LARGE, 3)
        .capacity(GZ4, MEDIUM, 5)
        .capacity(GZ4, SMALL, 2)
        .not_offered(GZ4, LARGE)
        .launch_failure(0.05);
    cfg.timings = Timings::default();
    cfg.seed = seed;
    cfg.build()
}

struct Driver {
    sim: Sim,
    launched: Vec<InstanceId>,
    /// Prepaid purchases per zone so far.
    prepaid_bought: [u32; ZONES.len()],
}

impl Driver {
    fn new(seed: u64) -> Self {
        Driver {
            sim: prop_sim(seed),
            launched: Vec::new(),
            prepaid_bought: [0; ZONES.len()],
        }
    }
    fn id(&self, p: &Pick) -> InstanceRef {
        match *p {
            Pick::Known(i) if !self.launched.is_empty() => {
                self.launched[i % self.launched.len()].into()
            }
            Pick::Known(i) => InstanceId(1_000_000 + (i % 1000) as u64).into(),
            Pick::Unknown(n) => InstanceId(1_000_000 + n).into(),
            Pick::Malformed => InstanceRef::Text("ins-XYZ".into()),
        }
    }
    /// The ids a call names, without repeats: the same id twice in one call panics the
    /// control plane (see `duplicate_ids_in_one_call_do_not_panic`).
    fn ids(&self, ps: &[Pick]) -> fleetsim::cloud::api::InstanceRefs {
        let mut out = fleetsim::cloud::api::InstanceRefs::new();
        for r in ps.iter().map(|p| self.id(p)) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
    /// Performs one op; the call's answer, or `None` for a step of time.
    fn step(&mut self, op: &Op) -> Option<Result<Response, ApiError>> {
        let req = match op {
            Op::Run {
                zone,
                itype,
                charge,
                count,
                min_count,
                dry_run,
                period,
            } => Request::RunInstances(RunInstances {
                min_count: *min_count,
                dry_run: *dry_run,
                period_months: *period,
                ..run(ZoneIdx(*zone), TypeIdx(*itype), *charge, *count)
            }),
            Op::Stop(p, stop_charging) => Request::StopInstances {
                ids: self.ids(p),
                stopped_mode: if *stop_charging {
                    StoppedMode::StopCharging
                } else {
                    StoppedMode::KeepCharging
                },
            },
            Op::Start(p) => Request::StartInstances { ids: self.ids(p) },
            Op::Reboot(p) => Request::RebootInstances { ids: self.ids(p) },
            Op::Terminate(p) => Request::TerminateInstances { ids: self.ids(p) },
            Op::Reset(p, t, force_stop) => Request::ResetInstancesType {
                ids: std::iter::once(self.id(p)).collect(),
                itype: TypeIdx(*t),
                force_stop: *force_stop,
            },
            Op::Renew(p, months) => Request::RenewInstances {
                ids: self.ids(p),
                period_months: *months,
            },
            Op::Modify(p, pre) => Request::ModifyInstancesChargeType {
                ids: self.ids(p),
                charge: if *pre { PRE } else { POST },
                period_months: 1,
            },
            Op::Advance(ms) => {
                let left = PROP_HORIZON_MS.saturating_sub(self.sim.now().ms());
                self.sim.advance((*ms).min(left));
                return None;
            }
        };
        let named: Vec<InstanceRef> = match &req {
            Request::ModifyInstancesChargeType { ids, charge, .. } if *charge == PRE => {
                ids.to_vec()
            }
            _ => vec![],
        };
        let r = self.sim.call(req);
        match &r {
            Ok(Response::Launched { ids, .. }) => {
                self.launched.extend(ids);
                if let Op::Run {
                    zone, charge: PRE, ..
                } = op
                {
                    self.prepaid_bought[*zone as usize] += ids.len() as u32;
                }
            }
            Ok(_) => {
                for id in named {
                    let InstanceRef::Id(id) = id else { continue };
                    let f = self.sim.cloud().fleet();
                    let zone = f.get(f.key_of(id).expect("modified")).expect("live").zone;
                    self.prepaid_bought[zone.0 as usize] += 1;
                }
            }
            Err(_) => {}
        }
        Some(r)
    }
}

/// (a) Quota use never exceeds the total, DescribeAccountQuota is self-consistent, and its use
/// is exactly what the live fleet holds (plus use outside the simulation).
fn check_quotas(d: &mut Driver) -> Result<(), TestCaseError> {
    let sim = &mut d.sim;
    for q in sim.quotas() {
        match q.total {
            Some(total) => {
                prop_assert!(q.used <= total, "{q:?}");
                prop_assert_eq!(q.remaining, Some(total - q.used), "{:?}", q);
            }
            None => prop_assert_eq!(q.remaining, None),
        }
        let cat = &sim.cloud().catalog;
        let held: u32 = sim
            .cloud()
            .fleet()
            .iter()
            .map(|(_, i)| i)
            .filter(|i| i.holds_quota() && i.zone == q.zone && i.charge == q.charge)
            .map(|i| Quotas::units(i.charge, cat.itype(i.itype).vcpus))
            .sum();
        let outside = sim.outside[q.zone.0 as usize][q.charge.index()];
        if q.charge == PRE {
            // PrePaidQuota counts purchases (RunInstances and changes to PREPAID), kept after
            // release
            let bought = d.prepaid_bought[q.zone.0 as usize];
            prop_assert_eq!(q.used, bought + outside, "{:?}", q);
        } else {
            prop_assert_eq!(q.used, held + outside, "{:?}", q);
        }
    }
    // only a failed launch gives its quota back before release (it may be TERMINATING since)
    for (_, i) in sim.cloud().fleet().iter() {
        use InstanceState as S;
        if i.charge == PRE {
            prop_assert!(!i.holds_quota(), "prepaid {} holds quota", i.id);
        } else if i.state == S::LaunchFailed {
            prop_assert!(!i.holds_quota(), "{} is {} with quota", i.id, i.state);
        } else if !i.holds_quota() {
            prop_assert_eq!(i.state, S::Terminating, "{} is without quota", i.id);
        }
    }
    Ok(())
}

/// (b) Stock used never exceeds capacity (free never "negative"), equals the instances holding
/// stock, and every instance that is or will soon be running holds stock.
fn check_stock(sim: &Sim) -> Result<(), TestCaseError> {
    let cloud = sim.cloud();
    let stock = cloud.stock();
    for z in 0..ZONES.len() {
        for t in 0..TYPES.len() {
            let (z, t) = (ZoneIdx(z as u16), TypeIdx(t as u16));
            let used = stock.used(z, t);
            if let Some(cap) = stock.capacity(z, t) {
                prop_assert!(used <= cap, "{z:?} {t:?}: used {used} > capacity {cap}");
                prop_assert_eq!(stock.free(z, t), cap - used);
            }
            // Holders, plus capacity reserved for a ResetInstancesType in flight.
            let holders = cloud
                .fleet()
                .iter()
                .filter(|(_, i)| {
                    i.zone == z
                        && ((i.holds_stock() && i.itype == t) || i.next_type.get() == Some(t))
                })
                .count() as u32;
            prop_assert_eq!(used, holders, "{:?} {:?}", z, t);
        }
    }
    for (_, i) in cloud.fleet().iter() {
        use InstanceState as S;
        // (a start after STOP_CHARGING takes its capacity back when it completes)
        let starting_bare = i.state == S::Starting && i.stopped_mode() == StoppedMode::StopCharging;
        if matches!(
            i.state,
            S::Pending | S::Running | S::Starting | S::Rebooting | S::Stopping
        ) && !starting_bare
        {
            // a reclaimed spot instance gave its capacity up and runs out its notice
            prop_assert!(
                i.holds_stock() || i.reclaiming(),
                "{} is {} without stock",
                i.id,
                i.state
            );
        }
    }
    Ok(())
}

/// (c) Paging with `limit` lists every live instance exactly once, in the order of the full
/// listing, with a constant TotalCount.
fn check_paging(sim: &mut Sim, limit: u32) -> Result<(), TestCaseError> {
    let fleet: Vec<InstanceId> = sim.cloud().fleet().iter().map(|(_, i)| i.id).collect();
    let full: Vec<InstanceId> = sim.list_all(100).into_iter().map(|v| v.id).collect();
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let (total, items) = sim.describe(Default::default(), vec![], offset, Some(limit));
        prop_assert_eq!(total as usize, fleet.len());
        prop_assert!(items.len() <= limit as usize);
        paged.extend(items.into_iter().map(|v| v.id));
        offset += limit;
        if offset >= total {
            break;
        }
    }
    let distinct: BTreeSet<_> = paged.iter().collect();
    prop_assert_eq!(distinct.len(), paged.len(), "an instance listed twice");
    prop_assert_eq!(&paged, &full);
    prop_assert_eq!(&paged, &fleet);
    Ok(())
}

/// Everything a call could change, as clients and the bookkeeping see it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    listing: Vec<InstanceView>,
    quotas: Vec<QuotaView>,
    stock: Vec<u32>,
    created: u64,
    pending_events: usize,
    state_changes: usize,
    #[allow(clippy::type_complexity)]
    inner: Vec<(
        InstanceId,
        Option<SimTime>,
        StoppedMode,
        Option<TypeIdx>,
        bool,
        bool,
        bool,
        Money,
        Option<EventId>,
    )>,
}

fn snapshot(sim: &mut Sim) -> Snapshot {
    let listing = sim.list_all(100);
    let quotas = sim.quotas();
    let cloud = sim.cloud();
    let mut stock = Vec::new();
    for z in 0..ZONES.len() {
        for t in 0..TYPES.len() {
            stock.push(cloud.stock().used(ZoneIdx(z as u16), TypeIdx(t as u16)));
        }
    }
    let inner = cloud
        .fleet()
        .iter()
        .map(|(_, i)| {
            (
                i.id,
                i.expires().get(),
                i.stopped_mode(),
                i.next_type.get(),
                i.holds_quota(),
                i.holds_stock(),
                i.reclaiming(),
                i.billing.charged,
                i.pending.get(),
            )
        })
        .collect();
    Snapshot {
        listing,
        quotas,
        stock,
        created: cloud.fleet().created(),
        pending_events: sim.s.pending(),
        state_changes: sim.m.obs.changes.len(),
        inner,
    }
}

fn config() -> ProptestConfig {
    // 64 cases keep the file fast in debug; PROPTEST_CASES=5000 searches harder
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        // a failure is reported with its minimal case; no regression file is written
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a) Used quota never exceeds the total in any zone and charge type.
    #[test]
    fn prop_quota_never_exceeded(seed in any::<u64>(), ops in ops()) {
        let mut d = Driver::new(seed);
        for op in &ops {
            d.step(op);
            check_quotas(&mut d)?;
        }
    }

    /// (b) Stock used never exceeds capacity, with every call of the model.
    #[test]
        fn prop_stock_never_overcommitted(seed in any::<u64>(), ops in ops()) {
        let mut d = Driver::new(seed);
        for op in &ops {
            d.step(op);
            check_stock(&d.sim)?;
        }
    }

    /// (b') The same, without the calls that reach the known stock bugs.
    #[test]
    fn prop_stock_never_overcommitted_outside_known_bugs(
        seed in any::<u64>(),
        ops in ops_without_known_stock_bugs(),
    ) {
        let mut d = Driver::new(seed);
        for op in &ops {
            d.step(op);
            check_stock(&d.sim)?;
        }
    }

    /// (c) Paging DescribeInstances with any Limit lists every instance exactly once.
    #[test]
    fn prop_paging_lists_every_instance_once(
        seed in any::<u64>(),
        ops in ops(),
        limits in prop::collection::vec(1u32..=100, 1..8),
    ) {
        let mut d = Driver::new(seed);
        for (k, op) in ops.iter().enumerate() {
            d.step(op);
            check_paging(&mut d.sim, limits[k % limits.len()])?;
        }
    }

    /// (d) A call refused with an error changes nothing.
    #[test]
    fn prop_refused_call_changes_nothing(seed in any::<u64>(), ops in ops()) {
        let mut d = Driver::new(seed);
        for op in &ops {
            let before = snapshot(&mut d.sim);
            if let Some(Err(e)) = d.step(op) {
                let after = snapshot(&mut d.sim);
                prop_assert_eq!(&after, &before, "{:?} was refused with {} but changed the cloud", op, e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Quotes of prepaid orders equal what the ledger then books.

#[test]
fn prepaid_quotes_are_the_bills_that_follow() {
    use fleetsim::cloud::api::ResizeQuote;
    use fleetsim::cloud::pricing::{Attachments, DiskSpec, DiskType};
    let mut sim = Cfg::new().build();
    let disks = Attachments {
        data_disks: vec![DiskSpec {
            disk_type: DiskType::CloudSsd,
            disk_size: 200,
        }],
        ..Default::default()
    };
    let quote = sim.cloud().quote_order(MEDIUM, Some(&disks), 12);
    let mut r = run(GZ3, MEDIUM, PRE, 3);
    r.period_months = 12;
    r.attach = Some(std::sync::Arc::new(disks));
    let ids = sim.launch(r);
    let charged = |sim: &Sim, id: InstanceId| {
        let f = sim.cloud().fleet();
        let b = &f.get(f.key_of(id).expect("live")).expect("live").billing;
        (b.charged, b.refunded())
    };
    for &id in &ids {
        assert_eq!(charged(&sim, id), (quote.total(), Money::ZERO));
    }
    assert!(quote.disk > Money::ZERO);
    // An upgrade 40 days in: the fee quoted is the fee charged.
    sim.advance(40 * DAY_MS);
    let key = |sim: &Sim, id| sim.cloud().fleet().key_of(id).expect("live");
    let q = sim
        .cloud()
        .quote_resize(key(&sim, ids[0]), LARGE, sim.now())
        .expect("quote");
    let ResizeQuote::Upgrade { fee } = q else {
        panic!("{q:?}");
    };
    sim.call(Request::StopInstances {
        ids: refs(&ids[..1]),
        stopped_mode: StoppedMode::KeepCharging,
    })
    .expect("stop");
    sim.settle();
    let before = charged(&sim, ids[0]).0;
    let q = sim
        .cloud()
        .quote_resize(key(&sim, ids[0]), LARGE, sim.now())
        .expect("quote");
    assert!(matches!(q, ResizeQuote::Upgrade { fee: f } if f <= fee));
    sim.call(Request::ResetInstancesType {
        ids: refs(&ids[..1]),
        itype: LARGE,
        force_stop: false,
    })
    .expect("reset");
    assert_eq!(charged(&sim, ids[0]).0 - before, q.amount());
    sim.settle();
    // Returns: the first within five days would be the five-day one; these are past it. Each
    // refund quoted is the refund booked.
    sim.advance(3 * DAY_MS);
    for &id in &ids {
        let q = sim
            .cloud()
            .quote_return(key(&sim, id), sim.now(), true)
            .expect("quote");
        assert!(!q.five_day);
        let (c, before) = charged(&sim, id);
        sim.call(Request::TerminateInstances { ids: refs(&[id]) })
            .expect("terminate");
        let (c2, after) = charged(&sim, id);
        assert_eq!(c2, c);
        assert_eq!(after - before, q.refund.total());
        assert!(q.refund.total() > Money::ZERO);
    }
}

// ---------------------------------------------------------------------------------------------
// The answers a real account gets (issue 13, items 8-10): each edge case names the code the
// SDK documents for the action (data/cvm-sdk/action-errors.tsv).

#[test]
fn invalid_client_token_too_long() {
    let mut sim = Cfg::new().build();
    // errorcodes.py: ClientToken 必须小于等于64字节
    let mut r = run(GZ3, MEDIUM, POST, 1);
    r.client_token = Some("t".repeat(65));
    sim.refuse(
        Request::RunInstances(r.clone()),
        "InvalidClientToken.TooLong",
    );
    assert_eq!(sim.cloud().fleet().created(), 0);
    r.client_token = Some("t".repeat(64));
    sim.launch(r);
}

#[test]
fn instance_count_cap_is_a_setting() {
    let mut sim = Cfg::new().build();
    // default: 100
    sim.refuse(
        Request::RunInstances(run(GZ3, SMALL, POST, 101)),
        "InvalidParameterValue.Range",
    );
    // mainland regions allow up to 500 (`[api] max_instance_count = 500`)
    sim.m.cloud.max_run_count = 500;
    assert_eq!(sim.launch(run(GZ3, SMALL, POST, 500)).len(), 500);
    sim.refuse(
        Request::RunInstances(run(GZ3, SMALL, POST, 501)),
        "InvalidParameterValue.Range",
    );
}

#[test]
fn on_demand_start_displaces_spot_as_a_launch_does() {
    let mut sim = Cfg::new().capacity(GZ3, MEDIUM, 1).build();
    let a = sim.running(GZ3, MEDIUM, POST, 1)[0];
    sim.accept(stop_charging(&[a]));
    sim.settle();
    // a spot instance takes the freed capacity
    let spot = sim.running(GZ3, MEDIUM, SPOT, 1)[0];
    assert_eq!(sim.status(GZ3, MEDIUM), "SOLD_OUT");
    // the postpaid instance starts again: the spot one is reclaimed for it
    sim.accept(start(&[a]));
    sim.advance(STARTING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::Running));
    assert_eq!(
        sim.op(a),
        (Some("StartInstances"), Some(OperationState::Success))
    );
    assert!(
        sim.cloud()
            .fleet()
            .iter()
            .any(|(_, i)| i.id == spot && i.reclaiming())
    );
    sim.settle();
    assert_eq!(sim.state(spot), None, "reclaimed after its notice");
    assert_eq!(sim.stock_used(GZ3, MEDIUM), 1);
}

#[test]
fn a_start_in_a_zone_outage_fails_asynchronously() {
    // StartInstances lists no capacity code: the start is accepted and fails when it lands.
    let mut sim = Cfg::new().build();
    let a = sim.running(GZ3, MEDIUM, POST, 1)[0];
    let b = sim.stopped(GZ3, MEDIUM, POST, 1)[0];
    sim.accept(stop_charging(&[a]));
    sim.settle();
    let mut s = std::mem::replace(&mut sim.s, Scheduler::new(SimTime::MAX));
    sim.m.cloud.begin_zone_outage(
        GZ3,
        fleetsim::cloud::api::OutageMode::Stopped,
        &mut s,
        &mut sim.m.obs,
    );
    sim.s = s;
    // RunInstances and ResetInstancesType each answer with the zone code their list has
    sim.refuse(
        Request::RunInstances(run(GZ3, MEDIUM, POST, 1)),
        "ResourceInsufficient.AvailabilityZoneSoldOut",
    );
    sim.refuse(reset(b, LARGE, false), "ResourcesSoldOut.AvailableZone");
    sim.accept(start(&[a]));
    sim.advance(STARTING_MS + 1);
    assert_eq!(sim.state(a), Some(InstanceState::Stopped));
    assert_eq!(
        sim.op(a),
        (Some("StartInstances"), Some(OperationState::Failed))
    );
}

/// One instance brought to `state` (or, for `None`, a postpaid instance stopped without
/// charging), in a cloud made for it.
fn instance_in(state: Option<InstanceState>, charge: ChargeType) -> (Sim, InstanceId) {
    use InstanceState as S;
    let failing = state == Some(S::LaunchFailed);
    let mut sim = Cfg::new()
        .launch_failure(if failing { 1.0 } else { 0.0 })
        .build();
    let charge = match state {
        // only prepaid instances go to the recycle bin, only postpaid ones stop without charge
        Some(S::Shutdown) => PRE,
        None => POST,
        _ => charge,
    };
    let id = match state {
        Some(S::Pending) => sim.launch(run(GZ3, MEDIUM, charge, 1))[0],
        Some(S::LaunchFailed) => {
            let id = sim.launch(run(GZ3, MEDIUM, charge, 1))[0];
            sim.advance(PENDING_MS + 1);
            id
        }
        Some(S::Running) => sim.running(GZ3, MEDIUM, charge, 1)[0],
        Some(S::Stopped) => sim.stopped(GZ3, MEDIUM, charge, 1)[0],
        Some(S::Stopping) => {
            let id = sim.running(GZ3, MEDIUM, charge, 1)[0];
            sim.accept(stop(&[id]));
            id
        }
        Some(S::Starting) => {
            let id = sim.stopped(GZ3, MEDIUM, charge, 1)[0];
            sim.accept(start(&[id]));
            id
        }
        Some(S::Rebooting) => {
            let id = sim.running(GZ3, MEDIUM, charge, 1)[0];
            sim.accept(reboot(&[id]));
            id
        }
        Some(S::Terminating) => {
            let id = sim.running(GZ3, MEDIUM, POST, 1)[0];
            sim.accept(terminate(&[id]));
            id
        }
        Some(S::Shutdown) => {
            let id = sim.running(GZ3, MEDIUM, PRE, 1)[0];
            sim.accept(terminate(&[id]));
            id
        }
        None => {
            let id = sim.running(GZ3, MEDIUM, POST, 1)[0];
            sim.accept(stop_charging(&[id]));
            sim.settle();
            id
        }
    };
    (sim, id)
}

/// A call of `action` naming `id` (the actions that name no instance get a call with one
/// parameter out of range or unknown, so they are refused too).
fn call_naming(action: Action, id: InstanceId, variant: u8) -> Request {
    let ids = [id];
    match action {
        Action::RunInstances => {
            let mut r = run(GZ3, MEDIUM, [POST, PRE, SPOT][variant as usize % 3], 1);
            match variant % 4 {
                0 => r.count = 0,
                1 => r.min_count = Some(2),
                2 => r.client_token = Some("x".repeat(65)),
                _ => r.max_price = Some(1),
            }
            Request::RunInstances(r)
        }
        Action::StartInstances => start(&ids),
        Action::StopInstances if variant.is_multiple_of(2) => stop(&ids),
        Action::StopInstances => stop_charging(&ids),
        Action::RebootInstances => reboot(&ids),
        Action::TerminateInstances => terminate(&ids),
        Action::ResetInstancesType => reset(id, LARGE, variant.is_multiple_of(2)),
        Action::RenewInstances => renew(&ids, 1),
        Action::ModifyInstancesChargeType => modify(&ids, [PRE, POST][variant as usize % 2], 1),
        Action::DescribeInstances => match variant % 3 {
            0 => describe_req(Default::default(), vec![filter("no-such", &["x"])], None),
            1 => describe_req(
                Default::default(),
                vec![filter("zone", &["a", "b", "c", "d", "e", "f"])],
                None,
            ),
            _ => describe_req(refs(&ids), vec![], Some(0)),
        },
        Action::DescribeInstancesStatus => Request::DescribeInstancesStatus {
            ids: refs(&ids),
            zones: vec![],
            offset: 0,
            limit: Some(0),
        },
        Action::ModifyInstancesRenewFlag => Request::ModifyInstancesRenewFlag {
            ids: refs(&ids),
            flag: RenewFlag::NotifyAndAutoRenew,
        },
        Action::DescribeAccountQuota => Request::DescribeAccountQuota { zone: None },
        Action::DescribeZoneInstanceConfigInfos => {
            Request::DescribeZoneInstanceConfigInfos { zone: None }
        }
        Action::DescribeZones => Request::DescribeZones,
        Action::DescribeRegions => Request::DescribeRegions,
        Action::DescribeInstanceTypeConfigs => Request::DescribeInstanceTypeConfigs { zone: None },
        Action::InquiryPriceRunInstances => {
            let mut r = run(GZ3, MEDIUM, [POST, PRE, SPOT][variant as usize % 3], 1);
            match variant % 3 {
                0 => r.count = 0,
                1 => r.client_token = Some("x".repeat(65)),
                _ => r.max_price = Some(1),
            }
            Request::InquiryPriceRunInstances(r)
        }
        Action::InquiryPriceRenewInstances => Request::InquiryPriceRenewInstances {
            ids: refs(&ids),
            period_months: 1,
        },
        Action::InquiryPriceResetInstancesType => Request::InquiryPriceResetInstancesType {
            ids: refs(&ids),
            itype: LARGE,
        },
        Action::InquiryPriceTerminateInstances => {
            Request::InquiryPriceTerminateInstances { ids: refs(&ids) }
        }
        Action::InquiryPriceModifyInstancesChargeType => {
            Request::InquiryPriceModifyInstancesChargeType {
                ids: refs(&ids),
                charge: [PRE, POST][variant as usize % 2],
                period_months: 1,
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Any action on an instance in any state (and spot bids, bad counts, tokens, filters)
    /// answers only with codes the action's SDK list has, or common ones: `Sim::call` checks
    /// each answer. The state's own code is the answer wherever the action lists it.
    #[test]
    fn prop_every_answer_is_in_the_actions_list(
        a in 0..Action::ALL.len(),
        s in 0..=InstanceState::ALL.len(),
        c in 0..3usize,
        variant in 0..12u8,
    ) {
        let action = Action::ALL[a];
        let state = InstanceState::ALL.get(s).copied();
        let (mut sim, id) = instance_in(state, [POST, PRE, SPOT][c]);
        let before = sim.state(id);
        let result = sim.call(call_naming(action, id, variant));
        if let (Err(e), Some(st)) = (&result, before) {
            let own = format!("UnsupportedOperation.InstanceState{}", st.camel());
            let listed = fleetsim::cloud::sdk_codes::action_codes(action.as_str())
                .is_some_and(|l| l.contains(own.as_str()));
            if e.message.ends_with(&format!("is {st}")) && listed {
                prop_assert_eq!(e.code.as_str(), own.as_str());
            }
        }
    }
}
