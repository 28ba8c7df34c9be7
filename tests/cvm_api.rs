//! The actions a client polls and prices with (issue 13, items 7 and 11), driven through the
//! control plane as a client drives it: DescribeInstancesStatus, ModifyInstancesRenewFlag,
//! DescribeZones, DescribeRegions, DescribeInstanceTypeConfigs.

use fleetsim::cloud::api::{
    Change, ChangeKind, Cloud, CloudEvent, CloudSetup, InstanceRef, Observer, Request, Response,
    RunInstances, Timings,
};
use fleetsim::cloud::billing::BillingRules;
use fleetsim::cloud::capacity::{Quotas, Stock, ZoneQuota};
use fleetsim::cloud::catalog::{self, Catalog, ChargeType, TypeIdx, Zone, ZoneIdx};
use fleetsim::cloud::errors::ApiError;
use fleetsim::cloud::instance::{InstanceId, Owner, RenewFlag};
use fleetsim::cloud::money::Money;
use fleetsim::cloud::ratelimit::RateLimits;
use fleetsim::cloud::spot_market::SpotModel;
use fleetsim::cloud::state::InstanceState;
use fleetsim::engine::{Dist, Model, RngStreams, Scheduler, SimDuration, SimTime};

const GZ3: ZoneIdx = ZoneIdx(0);
const GZ4: ZoneIdx = ZoneIdx(1);
const SH2: ZoneIdx = ZoneIdx(2);
/// S5.MEDIUM4, S5.LARGE8, S5.SMALL2.
const MEDIUM: TypeIdx = TypeIdx(0);
const LARGE: TypeIdx = TypeIdx(1);
const SMALL: TypeIdx = TypeIdx(2);
const ZONES: [(&str, u32, &str); 3] = [
    ("ap-guangzhou-3", 100003, "ap-guangzhou"),
    ("ap-guangzhou-4", 100004, "ap-guangzhou"),
    ("ap-shanghai-2", 200002, "ap-shanghai"),
];
const TYPES: [&str; 3] = ["S5.MEDIUM4", "S5.LARGE8", "S5.SMALL2"];
const PRE: ChargeType = ChargeType::Prepaid;
const POST: ChargeType = ChargeType::PostpaidByHour;
const SPOT: ChargeType = ChargeType::Spotpaid;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// Longer than any transition (all 1 minute here).
const SETTLE_MS: u64 = 600_000;

fn catalog() -> Catalog {
    let types: Vec<_> = TYPES
        .iter()
        .map(|n| catalog::parse_instance_type(n).expect("valid type name"))
        .collect();
    Catalog {
        zones: ZONES
            .iter()
            .map(|&(name, zone_id, region)| Zone {
                name: name.to_string(),
                zone_id,
                region: region.to_string(),
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

enum Ev {
    Cloud(CloudEvent),
}
impl From<CloudEvent> for Ev {
    fn from(e: CloudEvent) -> Self {
        Ev::Cloud(e)
    }
}

/// The ledger as observers see it: every change's time, instance, kind and amount, with the
/// part charged (or refunded) at the instant of the change.
#[derive(Default)]
struct Ledger {
    entries: Vec<(SimTime, InstanceId, ChangeKind, Money, Money)>,
}
impl Observer for Ledger {
    fn state_change(&mut self, c: &Change<'_>) {
        self.entries.push((
            c.time,
            c.instance.id,
            c.kind,
            c.accrual.amount,
            c.accrual.instant_part(),
        ));
    }
}

struct M {
    cloud: Cloud,
    ledger: Ledger,
}
impl Model for M {
    type Event = Ev;
    type Error = fleetsim::engine::ScheduleError;
    fn handle(&mut self, ev: Ev, sched: &mut Scheduler<Ev>) -> Result<(), Self::Error> {
        match ev {
            Ev::Cloud(e) => self.cloud.handle(e, sched, &mut self.ledger),
        }
        Ok(())
    }
}

struct Sim {
    m: M,
    s: Scheduler<Ev>,
}

fn sim() -> Sim {
    sim_with(|_| {})
}

fn sim_with(edit: impl FnOnce(&mut Stock)) -> Sim {
    let f = Dist::Fixed(60_000.0);
    let mut stock = Stock::new(ZONES.len(), TYPES.len());
    edit(&mut stock);
    let cloud = Cloud::new(
        CloudSetup {
            catalog: catalog(),
            rules: BillingRules::default(),
            timings: Timings {
                pending: f.clone(),
                stopping: f.clone(),
                starting: f.clone(),
                rebooting: f.clone(),
                terminating: f.clone(),
                reset_type: f,
            },
            launch_failure: 0.0,
            quotas: Quotas::new(vec![ZoneQuota::default(); ZONES.len()]),
            stock,
            rate_limits: RateLimits::unlimited(),
            spot_model: SpotModel::Constant { fraction: 0.1 },
            spot_step: SimDuration::from_hours(1),
            spot_notice: SimDuration(120_000),
            recycle_bin: SimDuration(7 * DAY_MS),
        },
        &RngStreams::new(3),
    );
    Sim {
        m: M {
            cloud,
            ledger: Ledger::default(),
        },
        s: Scheduler::new(SimTime::MAX),
    }
}

impl Sim {
    fn now(&self) -> SimTime {
        self.s.now()
    }
    fn call(&mut self, r: Request) -> Result<Response, ApiError> {
        self.m
            .cloud
            .call(Owner::Script, r, &mut self.s, &mut self.m.ledger)
    }
    #[track_caller]
    fn accept(&mut self, r: Request) -> Response {
        let what = format!("{r:?}");
        self.call(r)
            .unwrap_or_else(|e| panic!("{what}: refused with {e}"))
    }
    #[track_caller]
    fn refuse(&mut self, r: Request, code: &str) {
        let what = format!("{r:?}");
        match self.call(r) {
            Err(e) => assert_eq!(e.code.as_str(), code, "{what}: {e}"),
            Ok(resp) => panic!("{what}: expected {code}, got {resp:?}"),
        }
    }
    fn advance(&mut self, ms: u64) {
        let until = self.now() + SimDuration(ms);
        self.s.run_until(until, &mut self.m).unwrap();
    }
    #[track_caller]
    fn launch(&mut self, r: RunInstances) -> Vec<InstanceId> {
        match self.accept(Request::RunInstances(r)) {
            Response::Launched { ids, .. } => ids.into_vec(),
            other => panic!("RunInstances answered {other:?}"),
        }
    }
    #[track_caller]
    fn running(&mut self, z: ZoneIdx, t: TypeIdx, c: ChargeType, n: u32) -> Vec<InstanceId> {
        let ids = self.launch(run(z, t, c, n));
        self.advance(SETTLE_MS);
        ids
    }
    fn statuses(
        &mut self,
        ids: &[InstanceId],
        zones: Vec<ZoneIdx>,
        offset: u32,
        limit: Option<u32>,
    ) -> (u32, Vec<(InstanceId, InstanceState)>) {
        match self.accept(Request::DescribeInstancesStatus {
            ids: refs(ids),
            zones,
            offset,
            limit,
        }) {
            Response::Statuses { total, items } => (total, items),
            other => panic!("DescribeInstancesStatus answered {other:?}"),
        }
    }
    fn instance(&self, id: InstanceId) -> &fleetsim::cloud::Instance {
        let f = self.m.cloud.fleet();
        f.get(f.key_of(id).expect("alive")).expect("alive")
    }
}

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

// ---------------------------------------------------------------------------------------------
// Item 11: what a client polls.

#[test]
fn describe_instances_status_pages_names_and_scopes() {
    let mut s = sim();
    let gz = s.running(GZ3, MEDIUM, POST, 3);
    let sh = s.running(SH2, MEDIUM, POST, 2);
    s.accept(Request::StopInstances {
        ids: refs(&gz[..1]),
        stopped_mode: Default::default(),
    });
    // Everything, default page of 20: five instances in id order, one STOPPING.
    let (total, items) = s.statuses(&[], vec![], 0, None);
    assert_eq!(total, 5);
    let all: Vec<InstanceId> = gz.iter().chain(&sh).copied().collect();
    assert_eq!(items.iter().map(|i| i.0).collect::<Vec<_>>(), all);
    assert_eq!(items[0].1, InstanceState::Stopping);
    assert!(items[1..].iter().all(|i| i.1 == InstanceState::Running));
    // Paging: Limit 2 from Offset 2 gives the third and fourth.
    let (total, items) = s.statuses(&[], vec![], 2, Some(2));
    assert_eq!((total, items.len()), (5, 2));
    assert_eq!(items[0].0, all[2]);
    // A region's zones only (what `serve` passes for the call's region).
    let (total, _) = s.statuses(&[], vec![GZ3, GZ4], 0, None);
    assert_eq!(total, 3);
    // Named ids: those only; an id that names nothing is left out, not refused.
    let ghost = InstanceId::parse("ins-zzzzzzzz").unwrap();
    let (total, items) = s.statuses(&[sh[1], ghost], vec![], 0, None);
    assert_eq!((total, items), (1, vec![(sh[1], InstanceState::Running)]));
    // Codes from the SDK's list for DescribeInstancesStatus.
    s.refuse(
        Request::DescribeInstancesStatus {
            ids: std::iter::once(InstanceRef::Text("i-123".into())).collect(),
            zones: vec![],
            offset: 0,
            limit: None,
        },
        "InvalidInstanceId.Malformed",
    );
    s.refuse(
        Request::DescribeInstancesStatus {
            ids: Default::default(),
            zones: vec![],
            offset: 0,
            limit: Some(101),
        },
        "InvalidParameterValue",
    );
    let many: Vec<InstanceRef> = (0..101u64).map(|i| InstanceId(i).into()).collect();
    s.refuse(
        Request::DescribeInstancesStatus {
            ids: many.into(),
            zones: vec![],
            offset: 0,
            limit: None,
        },
        "InvalidParameterValue.LimitExceeded",
    );
}

#[test]
fn modify_instances_renew_flag_decides_the_expiry() {
    let mut s = sim();
    let ids = s.running(GZ3, SMALL, PRE, 2);
    let post = s.running(GZ3, SMALL, POST, 1);
    s.accept(Request::ModifyInstancesRenewFlag {
        ids: refs(&ids[..1]),
        flag: RenewFlag::NotifyAndAutoRenew,
    });
    assert_eq!(s.instance(ids[0]).renew_flag, RenewFlag::NotifyAndAutoRenew);
    assert_eq!(
        s.instance(ids[0]).latest_operation.as_str(),
        Some("ModifyInstancesRenewFlag")
    );
    // A postpaid instance has no renew flag: InvalidInstance.NotSupported, and nothing changes.
    s.refuse(
        Request::ModifyInstancesRenewFlag {
            ids: refs(&[ids[1], post[0]]),
            flag: RenewFlag::NotifyAndAutoRenew,
        },
        "InvalidInstance.NotSupported",
    );
    assert_eq!(
        s.instance(ids[1]).renew_flag,
        RenewFlag::NotifyAndManualRenew
    );
    // An instance in a transient state is refused.
    s.accept(Request::StopInstances {
        ids: refs(&ids[1..]),
        stopped_mode: Default::default(),
    });
    let r = s.call(Request::ModifyInstancesRenewFlag {
        ids: refs(&ids[1..]),
        flag: RenewFlag::NotifyAndAutoRenew,
    });
    assert!(r.is_err(), "{r:?}");
    // At the end of the month the auto-renewed one runs on, the other is isolated.
    s.advance(31 * DAY_MS);
    assert_eq!(s.instance(ids[0]).state, InstanceState::Running);
    assert_eq!(s.instance(ids[1]).state, InstanceState::Shutdown);
}

#[test]
fn describe_zones_regions_and_type_configs() {
    let mut s = sim_with(|st| st.set_offered(GZ4, LARGE, false));
    match s.accept(Request::DescribeRegions) {
        Response::Regions(r) => assert_eq!(r, ["ap-guangzhou", "ap-shanghai"]),
        other => panic!("{other:?}"),
    }
    match s.accept(Request::DescribeZones) {
        Response::Zones(z) => {
            assert_eq!(z.len(), 3);
            assert!(z.iter().all(|z| z.available));
        }
        other => panic!("{other:?}"),
    }
    // Every zone offers the three types but ap-guangzhou-4, which has no S5.LARGE8.
    match s.accept(Request::DescribeInstanceTypeConfigs { zone: None }) {
        Response::TypeConfigs(c) => {
            assert_eq!(c.len(), 8);
            assert!(!c.contains(&(GZ4, LARGE)));
            assert!(c.contains(&(GZ4, SMALL)));
        }
        other => panic!("{other:?}"),
    }
    match s.accept(Request::DescribeInstanceTypeConfigs { zone: Some(SH2) }) {
        Response::TypeConfigs(c) => assert_eq!(c, [(SH2, MEDIUM), (SH2, LARGE), (SH2, SMALL)]),
        other => panic!("{other:?}"),
    }
    let _ = SPOT;
}
