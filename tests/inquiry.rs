//! Pricing before buying (issue 13, item 7): each InquiryPrice* action is asked, then the
//! action it prices is made, and the quote must be what the ledger then books. The figures are
//! hand-computed from the published rules (README, *Billing*) on round prices: S5.LARGE8 costs
//! 300.00 a month prepaid and 1.00 an hour postpaid, S5.2XLARGE16 600.00 and 2.00; the S5
//! ladder (价格总览) gives 1–2 months 87%, 3–5 months 78%, 6–11 months 73%, a year 69%.

mod common;

use std::sync::Arc;

use fleetsim::cloud::api::{
    Action, Change, Cloud, CloudEvent, CloudSetup, InstanceRef, Observer, PriceQuote, RefundQuote,
    Request, Response, RunInstances, Timings,
};
use fleetsim::cloud::billing::BillingRules;
use fleetsim::cloud::capacity::{Quotas, Stock, ZoneQuota};
use fleetsim::cloud::catalog::{self, Catalog, ChargeType, TypeIdx, TypePrice, Zone, ZoneIdx};
use fleetsim::cloud::errors::ApiError;
use fleetsim::cloud::instance::{InstanceId, Owner, RenewFlag, StoppedMode};
use fleetsim::cloud::money::Money;
use fleetsim::cloud::pricing::{
    Attachments, DiskSpec, DiskType, InternetChargeType, InternetSpec, Ladder,
};
use fleetsim::cloud::ratelimit::{Limit, RateLimits};
use fleetsim::cloud::spot_market::SpotModel;
use fleetsim::engine::{Dist, Model, RngStreams, Scheduler, SimDuration, SimTime};

const GZ3: ZoneIdx = ZoneIdx(0);
const LARGE: TypeIdx = TypeIdx(0);
const XL2: TypeIdx = TypeIdx(1);
const PRE: ChargeType = ChargeType::Prepaid;
const POST: ChargeType = ChargeType::PostpaidByHour;
const SPOT: ChargeType = ChargeType::Spotpaid;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// Longer than any transition (all 1 minute here).
const SETTLE_MS: u64 = 600_000;

fn cny(s: &str) -> Money {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let neg = whole.starts_with('-');
    let w: i128 = whole.trim_start_matches('-').parse().unwrap();
    let f: i128 = format!("{frac:0<6}").parse().unwrap();
    let m = Money::from_micros(w * 1_000_000 + f);
    if neg { Money::ZERO - m } else { m }
}

fn catalog() -> Catalog {
    let types: Vec<_> = ["S5.LARGE8", "S5.2XLARGE16"]
        .iter()
        .map(|n| catalog::parse_instance_type(n).expect("valid type name"))
        .collect();
    let price = |hourly: u64, monthly: u64| TypePrice {
        postpaid_hourly: hourly,
        prepaid_monthly: monthly,
        tiered: false,
        ladder: Ladder::published_s5(),
    };
    Catalog {
        zones: vec![Zone {
            name: "ap-guangzhou-3".into(),
            zone_id: 100003,
            region: "ap-guangzhou".into(),
        }],
        prices: vec![price(1_000_000, 300_000_000), price(2_000_000, 600_000_000)],
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

/// Every change's instance, total amount and the part charged (or refunded) at its instant.
#[derive(Default)]
struct Ledger {
    entries: Vec<(InstanceId, Money, Money)>,
}
impl Observer for Ledger {
    fn state_change(&mut self, c: &Change<'_>) {
        self.entries
            .push((c.instance.id, c.accrual.amount, c.accrual.instant_part()));
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
    sim_with(BillingRules::default())
}

fn sim_with(rules: BillingRules) -> Sim {
    sim_limits(rules, RateLimits::unlimited())
}

fn sim_limits(rules: BillingRules, rate_limits: RateLimits) -> Sim {
    let f = Dist::Fixed(60_000.0);
    let cloud = Cloud::new(
        CloudSetup {
            catalog: catalog(),
            rules,
            timings: Timings {
                pending: f.clone(),
                stopping: f.clone(),
                starting: f.clone(),
                rebooting: f.clone(),
                terminating: f.clone(),
                reset_type: f,
            },
            launch_failure: 0.0,
            quotas: Quotas::new(vec![ZoneQuota::default()]),
            stock: Stock::new(1, 2),
            rate_limits,
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
    #[track_caller]
    fn price(&mut self, r: Request) -> PriceQuote {
        match self.accept(r) {
            Response::Price(q) => *q,
            other => panic!("answered {other:?}"),
        }
    }
    #[track_caller]
    fn refunds(&mut self, ids: &[InstanceId]) -> Vec<RefundQuote> {
        match self.accept(Request::InquiryPriceTerminateInstances { ids: refs(ids) }) {
            Response::Refunds(r) => r,
            other => panic!("answered {other:?}"),
        }
    }
    /// Advances the clock to `ms` after the start.
    fn at(&mut self, ms: u64) {
        self.s.run_until(SimTime(ms), &mut self.m).unwrap();
    }
    #[track_caller]
    fn launch(&mut self, r: RunInstances) -> Vec<InstanceId> {
        let ids = match self.accept(Request::RunInstances(r)) {
            Response::Launched { ids, .. } => ids.into_vec(),
            other => panic!("RunInstances answered {other:?}"),
        };
        let until = self.s.now().ms() + SETTLE_MS;
        self.at(until);
        ids
    }
    /// What the ledger booked at one instant (an order, a fee, a refund) for `id` from entry
    /// `from` on.
    fn instant_since(&self, from: usize, id: InstanceId) -> Money {
        self.m.ledger.entries[from..]
            .iter()
            .filter(|e| e.0 == id)
            .map(|e| e.2)
            .sum()
    }
    fn mark(&self) -> usize {
        self.m.ledger.entries.len()
    }
}

fn run(itype: TypeIdx, charge: ChargeType, count: u32, months: u32) -> RunInstances {
    RunInstances {
        zone: GZ3,
        itype,
        charge,
        count,
        min_count: None,
        dry_run: false,
        period_months: months,
        renew_flag: RenewFlag::NotifyAndManualRenew,
        max_price: None,
        client_token: None,
        attach: None,
    }
}
fn refs(ids: &[InstanceId]) -> fleetsim::cloud::api::InstanceRefs {
    ids.iter().map(|&i| i.into()).collect()
}
fn paid_now(q: &PriceQuote) -> Money {
    q.instance.discount_price.unwrap_or(Money::ZERO)
        + q.bandwidth
            .as_ref()
            .and_then(|b| b.discount_price)
            .unwrap_or(Money::ZERO)
}

#[test]
fn run_quote_of_a_12_month_s5_is_the_order_booked() {
    let mut s = sim();
    let q = s.price(Request::InquiryPriceRunInstances(run(LARGE, PRE, 1, 12)));
    // 12 × 300 × 69% (S5, 1 year) = 2,484.00; before the discount 12 × 300 = 3,600.00.
    assert_eq!(q.instance.discount_price, Some(cny("2484.00")));
    assert_eq!(q.instance.original_price, Some(cny("3600.00")));
    assert_eq!(q.instance.unit_price, None, "nothing billed per hour");
    assert_eq!(q.bandwidth, None, "no public network");
    // Two instances cost twice as much.
    let q2 = s.price(Request::InquiryPriceRunInstances(run(LARGE, PRE, 2, 12)));
    assert_eq!(q2.instance.discount_price, Some(cny("4968.00")));
    // Asking bought nothing.
    assert_eq!(s.m.cloud.fleet().len(), 0);
    assert!(s.m.ledger.entries.is_empty());
    // The bill that follows.
    let from = s.mark();
    let id = s.launch(run(LARGE, PRE, 1, 12))[0];
    assert_eq!(s.instant_since(from, id), cny("2484.00"));
    // Three months: 3 × 300 × 78% = 702.00.
    let q = s.price(Request::InquiryPriceRunInstances(run(LARGE, PRE, 1, 3)));
    assert_eq!(q.instance.discount_price, Some(cny("702.00")));
}

#[test]
fn run_quote_with_disks_and_prepaid_bandwidth_is_the_order_booked() {
    let mut s = sim();
    let mut r = run(XL2, PRE, 1, 12);
    r.attach = Some(Arc::new(Attachments {
        system_disk: Some(DiskSpec {
            disk_type: DiskType::CloudPremium,
            disk_size: 50,
        }),
        data_disks: vec![DiskSpec {
            disk_type: DiskType::CloudSsd,
            disk_size: 100,
        }],
        internet: Some(InternetSpec {
            charge: InternetChargeType::BandwidthPrepaid,
            max_bandwidth_out: 5,
            traffic_mgb_per_hour: 0,
        }),
    }));
    let q = s.price(Request::InquiryPriceRunInstances(r.clone()));
    let bw = q.bandwidth.clone().expect("a bandwidth item");
    // 5 Mbps a month prepaid = 2 × 20 + 3 × 25 = 115.00 (the catalogue's illustrative
    // bandwidth), undiscounted: 12 × 115 = 1,380.00.
    assert_eq!(bw.discount_price, Some(cny("1380.00")));
    assert_eq!(bw.original_price, Some(cny("1380.00")));
    let instance = q.instance.discount_price.unwrap();
    assert!(instance > cny("4968.00"), "12 × 600 × 69% plus the disks");
    let from = s.mark();
    let id = s.launch(r)[0];
    assert_eq!(s.instant_since(from, id), paid_now(&q));
}

#[test]
fn postpaid_and_spot_quotes_are_the_hourly_bill() {
    let mut s = sim_with(BillingRules {
        round_cents: false,
        ..Default::default()
    });
    let q = s.price(Request::InquiryPriceRunInstances(run(LARGE, POST, 3, 1)));
    let i = &q.instance;
    assert_eq!(i.charge_unit, Some("HOUR"));
    assert_eq!(i.unit_price, Some(cny("3.00")), "3 × 1.00 an hour");
    assert_eq!(i.unit_price_discount, Some(cny("3.00")));
    assert_eq!(i.discount_price, None, "nothing paid up front");
    assert_eq!(i.second_step, None, "an untiered type");
    let q = s.price(Request::InquiryPriceRunInstances(run(LARGE, SPOT, 1, 1)));
    // The market price: 10% of the postpaid price.
    assert_eq!(q.instance.unit_price, Some(cny("1.00")));
    assert_eq!(q.instance.unit_price_discount, Some(cny("0.10")));
    // The bill: 10 RUNNING hours of one postpaid instance = 10 × the quoted hourly price.
    let q = s.price(Request::InquiryPriceRunInstances(run(LARGE, POST, 1, 1)));
    let id = s.launch(run(LARGE, POST, 1, 1))[0];
    // RUNNING from 60 s on; 10 hours later the books are closed.
    s.at(60_000 + 10 * HOUR_MS);
    s.m.cloud.close_books(s.s.now(), &mut s.m.ledger);
    let billed: Money =
        s.m.ledger
            .entries
            .iter()
            .filter(|e| e.0 == id)
            .map(|e| e.1)
            .sum();
    assert_eq!(billed, q.instance.unit_price_discount.unwrap() * 10);
}

#[test]
fn renewal_quote_is_the_renewal_booked() {
    let mut s = sim();
    let id = s.launch(run(LARGE, PRE, 1, 1))[0];
    let renew = |m: u32| Request::InquiryPriceRenewInstances {
        ids: refs(&[id]),
        period_months: m,
    };
    // A year: 2,484.00 (list 3,600.00); 3 months: 3 × 300 × 78% = 702.00.
    let q = s.price(renew(12));
    assert_eq!(
        (q.instance.original_price, q.instance.discount_price),
        (Some(cny("3600.00")), Some(cny("2484.00")))
    );
    assert_eq!(
        s.price(renew(3)).instance.discount_price,
        Some(cny("702.00"))
    );
    s.refuse(renew(13), "InvalidPeriod");
    let expires =
        s.m.cloud
            .fleet()
            .get(s.m.cloud.fleet().key_of(id).unwrap())
            .unwrap()
            .expires();
    let from = s.mark();
    s.accept(Request::RenewInstances {
        ids: refs(&[id]),
        period_months: 12,
    });
    assert_eq!(s.instant_since(from, id), cny("2484.00"));
    assert_ne!(
        expires,
        s.m.cloud
            .fleet()
            .get(s.m.cloud.fleet().key_of(id).unwrap())
            .unwrap()
            .expires(),
        "the renewal itself moved the expiry, the quote did not"
    );
    // Only prepaid instances are renewed.
    let post = s.launch(run(LARGE, POST, 1, 1))[0];
    s.refuse(
        Request::InquiryPriceRenewInstances {
            ids: refs(&[post]),
            period_months: 1,
        },
        "InvalidInstance.NotSupported",
    );
}

#[test]
fn upgrade_quote_is_the_fee_booked() {
    let mut s = sim();
    let id = s.launch(run(LARGE, PRE, 1, 1))[0];
    s.at(DAY_MS);
    let q = s.price(Request::InquiryPriceResetInstancesType {
        ids: refs(&[id]),
        itype: XL2,
    });
    // 实例调整配置费用说明: the monthly difference for the time left, (600 − 300) × 29 days /
    // 30 days × the discount of the whole months left (none: 100%) = 290.00.
    assert_eq!(q.instance.discount_price, Some(cny("290.00")));
    assert_eq!(q.instance.original_price, Some(cny("290.00")));
    // The quote takes one instance and another type, as the action does.
    s.refuse(
        Request::InquiryPriceResetInstancesType {
            ids: refs(&[id]),
            itype: LARGE,
        },
        "InvalidParameterValue",
    );
    let from = s.mark();
    s.accept(Request::ResetInstancesType {
        ids: refs(&[id]),
        itype: XL2,
        force_stop: true,
    });
    assert_eq!(s.instant_since(from, id), cny("290.00"));
    // A postpaid instance: the new hourly price.
    let post = s.launch(run(LARGE, POST, 1, 1))[0];
    let q = s.price(Request::InquiryPriceResetInstancesType {
        ids: refs(&[post]),
        itype: XL2,
    });
    assert_eq!(q.instance.unit_price_discount, Some(cny("2.00")));
    s.refuse(
        Request::InquiryPriceResetInstancesType {
            ids: refs(&[post, id]),
            itype: XL2,
        },
        "InvalidParameterValue.LimitExceeded",
    );
}

#[test]
fn refund_quote_of_a_12_month_s5_returned_on_day_45() {
    let mut s = sim();
    let id = s.launch(run(LARGE, PRE, 1, 12))[0];
    s.at(45 * DAY_MS);
    let q = s.refunds(&[id]);
    // 退还包年包月实例退费说明: used 45 days = 1 whole 30-day month at the 1-month discount
    // (87%) = 261.00, plus 15 days (360 h) at the postpaid 1.00 / h = 360.00; consumed 621.00.
    // Refund = 2,484.00 − 621.00 = 1,863.00.
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].id, q[0].refund), (id, cny("1863.00")));
    assert!(q[0].detail.contains("ordinary"), "{}", q[0].detail);
    // Asking again answers the same: the inquiry used up nothing.
    assert_eq!(s.refunds(&[id]), q);
    let from = s.mark();
    s.accept(Request::TerminateInstances { ids: refs(&[id]) });
    assert_eq!(s.instant_since(from, id), cny("-1863.00"));
}

#[test]
fn refund_quote_inside_five_days_then_the_allowance_is_spent() {
    let mut s = sim();
    let ids = s.launch(run(LARGE, PRE, 2, 12));
    s.at(3 * DAY_MS);
    // Both asked in one call: the account's one five-day full refund a year goes to the
    // first; the second gets the ordinary refund — 3 days (72 h) at 1.00 = 72.00 consumed,
    // 2,484.00 − 72.00 = 2,412.00.
    let q = s.refunds(&ids);
    assert_eq!(q[0].refund, cny("2484.00"));
    assert!(q[0].detail.contains("five-day"), "{}", q[0].detail);
    assert_eq!(q[1].refund, cny("2412.00"));
    // Returned one by one, the bills are those quotes.
    let from = s.mark();
    s.accept(Request::TerminateInstances {
        ids: refs(&ids[..1]),
    });
    assert_eq!(s.instant_since(from, ids[0]), cny("-2484.00"));
    let again = s.refunds(&ids[1..]);
    assert_eq!(
        again[0].refund,
        cny("2412.00"),
        "the allowance is spent now"
    );
    let from = s.mark();
    s.accept(Request::TerminateInstances {
        ids: refs(&ids[1..]),
    });
    assert_eq!(s.instant_since(from, ids[1]), cny("-2412.00"));
    // A postpaid instance has nothing to refund.
    let post = s.launch(run(LARGE, POST, 1, 1))[0];
    assert_eq!(s.refunds(&[post])[0].refund, Money::ZERO);
}

#[test]
fn refund_quote_past_the_yearly_returns_is_unreturnable() {
    let mut s = sim_with(BillingRules {
        returns_per_year: 0,
        five_day_returns_per_year: 0,
        ..Default::default()
    });
    let id = s.launch(run(LARGE, PRE, 1, 12))[0];
    s.at(10 * DAY_MS);
    s.refuse(
        Request::InquiryPriceTerminateInstances { ids: refs(&[id]) },
        "FailedOperation.Unreturnable",
    );
    s.refuse(
        Request::TerminateInstances { ids: refs(&[id]) },
        "LimitExceeded.UserReturnQuota",
    );
    s.refuse(
        Request::InquiryPriceTerminateInstances {
            ids: std::iter::once(InstanceRef::Text("ins-nothere".into())).collect(),
        },
        "InvalidInstanceId.Malformed",
    );
}

#[test]
fn charge_type_switch_quotes_are_what_the_switch_books() {
    let mut s = sim();
    // Postpaid → prepaid for a year: the order, 2,484.00.
    let post = s.launch(run(LARGE, POST, 1, 1))[0];
    s.at(DAY_MS);
    let to_pre = |id: InstanceId| Request::InquiryPriceModifyInstancesChargeType {
        ids: refs(&[id]),
        charge: PRE,
        period_months: 12,
    };
    let q = s.price(to_pre(post));
    assert_eq!(
        (q.instance.original_price, q.instance.discount_price),
        (Some(cny("3600.00")), Some(cny("2484.00")))
    );
    let from = s.mark();
    s.accept(Request::ModifyInstancesChargeType {
        ids: refs(&[post]),
        charge: PRE,
        period_months: 12,
    });
    assert_eq!(s.instant_since(from, post), cny("2484.00"));
    s.refuse(to_pre(post), "InvalidParameterValue");
    // Prepaid (a year, bought at day 1) → postpaid at day 46: the ordinary refund, as on
    // day 45 of a return, 1,863.00 back, then 1.00 an hour.
    s.at(46 * DAY_MS);
    let q = s.price(Request::InquiryPriceModifyInstancesChargeType {
        ids: refs(&[post]),
        charge: POST,
        period_months: 0,
    });
    assert_eq!(q.instance.discount_price, Some(cny("-1863.00")));
    assert_eq!(q.instance.unit_price_discount, Some(cny("1.00")));
    let from = s.mark();
    s.accept(Request::ModifyInstancesChargeType {
        ids: refs(&[post]),
        charge: POST,
        period_months: 0,
    });
    assert_eq!(s.instant_since(from, post), cny("-1863.00"));
    // Spot instances do not change charge type; SPOTPAID is not a target.
    let spot = s.launch(run(LARGE, SPOT, 1, 1))[0];
    s.refuse(to_pre(spot), "UnsupportedOperation.InstanceChargeType");
    s.refuse(
        Request::InquiryPriceModifyInstancesChargeType {
            ids: refs(&[post]),
            charge: SPOT,
            period_months: 0,
        },
        "InvalidParameterValue",
    );
}

#[test]
fn inquiries_are_rate_limited_like_any_call() {
    // The per-second preset: 10 calls a second for the inquiries (the documented figure of
    // InquiryPriceRunInstances, 默认接口请求频率限制：10次/秒).
    let limits = RateLimits::per_second_current();
    assert_eq!(
        limits.limit_for(Action::InquiryPriceRunInstances),
        Some(Limit::per_second(10))
    );
    let mut s = sim_limits(BillingRules::default(), limits);
    let passed = (0..11)
        .filter(|_| {
            s.call(Request::InquiryPriceRunInstances(run(LARGE, PRE, 1, 1)))
                .is_ok()
        })
        .count();
    assert_eq!(passed, 10);
    s.refuse(
        Request::InquiryPriceRunInstances(run(LARGE, PRE, 1, 1)),
        "RequestLimitExceeded",
    );
}

#[test]
fn run_quote_checks_parameters_as_run_instances_does() {
    let mut s = sim();
    let mut r = run(LARGE, PRE, 1, 13);
    s.refuse(
        Request::InquiryPriceRunInstances(r.clone()),
        "InvalidPeriod",
    );
    r.period_months = 1;
    r.count = 0;
    s.refuse(
        Request::InquiryPriceRunInstances(r.clone()),
        "InvalidParameterValue.Range",
    );
    r.count = 1;
    r.min_count = Some(2);
    s.refuse(
        Request::InquiryPriceRunInstances(r.clone()),
        "InvalidParameterValue.InvalidParameterMinCount",
    );
    r.min_count = None;
    r.client_token = Some("t".repeat(65));
    s.refuse(
        Request::InquiryPriceRunInstances(r.clone()),
        "InvalidClientToken.TooLong",
    );
    r.client_token = None;
    r.charge = POST;
    r.attach = Some(Arc::new(Attachments {
        internet: Some(InternetSpec {
            charge: InternetChargeType::BandwidthPrepaid,
            max_bandwidth_out: 5,
            traffic_mgb_per_hour: 0,
        }),
        ..Default::default()
    }));
    s.refuse(
        Request::InquiryPriceRunInstances(r),
        "InvalidParameterValue",
    );
}

/// A scenario whose script prices each action; S5.MEDIUM4 (illustrative) is 0.24 an hour and
/// 122.64 a month prepaid, S5.LARGE8 0.48 and 245.28.
const SCRIPTED: &str = r#"
name = "inquiries"
seed = 3
duration = "3d"
sample_interval = "1h"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]

[zones.ap-guangzhou-3]
quota = { postpaid = 40 }

[[actions]]
at = "1h"
action = "InquiryPriceRunInstances"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
charge_type = "PREPAID"
period_months = 12
count = 2

[[actions]]
name = "buy"
at = "2h"
action = "RunInstances"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "PREPAID"
period_months = 12

[[actions]]
at = "1d"
action = "InquiryPriceTerminateInstances"
select = { from = "buy" }

[[actions]]
at = "1d"
action = "InquiryPriceModifyInstancesChargeType"
charge_type = "POSTPAID_BY_HOUR"
select = { from = "buy" }
"#;

#[test]
fn scripted_inquiries_quote_in_the_journal_and_buy_nothing() {
    let dir = common::fresh_dir("inquiry-script");
    let scn = common::write_file(&dir, "inquiries.toml", SCRIPTED);
    let out = dir.join("out");
    let o = common::run_cli([
        "run".as_ref(),
        scn.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--trace".as_ref(),
    ]);
    let text = common::stdout(&o);
    assert!(o.status.success(), "{text}");
    // Two S5.LARGE8 for a year: 2 × 12 × 245.28 × 69% = 2 × 2,030.92 = 4,061.84.
    assert!(
        text.contains("script calls InquiryPriceRunInstances: ok, quoted instance 4061.840000 now"),
        "{text}"
    );
    // S5.MEDIUM4 bought at 2 h for a year: 12 × 122.64 × 69% = 1,015.4592 → 1,015.46; asked
    // at day 1, inside five days: all of it back.
    assert!(
        text.contains("refunds quoted: ins-") && text.contains(" 1015.460000"),
        "{text}"
    );
    // Leaving PREPAID after 22 hours: the ordinary refund, 1,015.46 − 22 × 0.24 = 1,010.18
    // back, then 0.24 an hour.
    assert!(
        text.contains("quoted instance -1010.180000 now and 0.240000 per hour"),
        "{text}"
    );
    // Only the RunInstances bought anything.
    assert_eq!(common::read_instances(&out).len(), 1);
    // A priced action needs what the action needs.
    let bad = SCRIPTED.replace(
        "select = { from = \"buy\" }\n\n[[actions]]",
        "\n[[actions]]",
    );
    let scn = common::write_file(&dir, "bad.toml", &bad);
    let o = common::run_cli(["validate".as_ref(), scn.as_os_str()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needs `select`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// An instance stopped without charging cannot be resized, and the resize's quote says so with
/// the same code ResetInstancesType answers (its list has one for a resize within the family).
#[test]
fn reset_quote_refuses_what_the_reset_refuses() {
    let mut s = sim();
    let id = s.launch(run(LARGE, POST, 1, 1))[0];
    s.accept(Request::StopInstances {
        ids: refs(&[id]),
        stopped_mode: StoppedMode::StopCharging,
    });
    s.at(s.s.now().ms() + SETTLE_MS);
    for r in [
        Request::InquiryPriceResetInstancesType {
            ids: refs(&[id]),
            itype: XL2,
        },
        Request::ResetInstancesType {
            ids: refs(&[id]),
            itype: XL2,
            force_stop: false,
        },
    ] {
        s.refuse(r, "UnsupportedOperation.StoppedModeStopChargingSameFamily");
    }
}
