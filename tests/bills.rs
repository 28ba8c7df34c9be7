//! Exact, hand-computed bills. Every scenario here fixes the transition times
//! (PENDING 60 s, STOPPING 20 s, STARTING 30 s, REBOOTING 40 s, TERMINATING 5 s), sets
//! `launch_failure_probability = 0`, sets its own prices in `[prices]` and drives every
//! instance with scripted `[[actions]]` (owner `script`: no workload ever renews, terminates
//! or destroys them), so each instance's life is known to the millisecond and its bill to the
//! micro-unit. The expected figures are written out by hand in the comments.
//!
//! What the code bills (src/cloud/billing.rs, `rate_class`): RUNNING, STOPPING, STOPPED,
//! STARTING and REBOOTING, never PENDING, SHUTDOWN nor TERMINATING; a POSTPAID instance
//! STOPPED with STOP_CHARGING pays only `disk_gib × disk_price_per_gib_hour`; a PREPAID one
//! pays up front (period × monthly × discount) and nothing per hour; an early termination
//! refunds `paid − consumed`, consumed = whole 30-day months since *creation*
//! (`prepaid_since` = the RunInstances instant, PENDING included) at the monthly price plus
//! the rest at the postpaid hourly price (100 %, no tiers).
//!
//! The last tests are properties over random small scripted scenarios: bills never shrink
//! with the horizon except by refunds, `costs.csv` settles to `cost_total`, and the
//! `instances.csv` cost column sums to `cost_total`.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{TestDir, f, fresh_dir, parse_secs, scenario, u};
use fleetsim::run::RunOptions;
use proptest::prelude::*;
use serde_json::Value;

const S: u64 = 1_000; // ms
const MIN: u64 = 60 * S;
const H: u64 = 60 * MIN;
const DAY: u64 = 24 * H;

/// One row of `instances.csv`, money kept as written (six decimals) and as micro-units.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    id: String,
    itype: String,
    charge: String,
    owner: String,
    created: u64,
    running: Option<u64>,
    released: Option<u64>,
    state: String,
    charged: String,
    refunded: String,
    cost: String,
    history: String,
    reclaimed: String,
    /// The disks' and the public network's parts of `cost`.
    disk: String,
    network: String,
}

impl Row {
    fn charged_micros(&self) -> i128 {
        micros(&self.charged)
    }
    fn refunded_micros(&self) -> i128 {
        micros(&self.refunded)
    }
    fn cost_micros(&self) -> i128 {
        micros(&self.cost)
    }
    /// (charged, refunded, cost) as written.
    fn bill(&self) -> (&str, &str, &str) {
        (&self.charged, &self.refunded, &self.cost)
    }
}

/// One row of `costs.csv`.
#[derive(Clone, Debug)]
struct CostRow {
    hour: u64,
    charge: String,
    cost: String,
}

/// A run folder read back (the folder is removed when this is dropped, unless panicking).
struct Run {
    _dir: TestDir,
    summary: Value,
    rows: Vec<Row>,
    costs: Vec<CostRow>,
}

impl Run {
    /// The only row matching `pred`.
    fn one(&self, what: &str, pred: impl Fn(&Row) -> bool) -> &Row {
        let found: Vec<&Row> = self.rows.iter().filter(|r| pred(r)).collect();
        assert_eq!(
            found.len(),
            1,
            "{what}: {found:#?}\nall rows: {:#?}",
            self.rows
        );
        found[0]
    }

    /// `costs.csv` cost of one hour and charge type, as written.
    fn hour_cost(&self, hour: u64, charge: &str) -> &str {
        self.costs
            .iter()
            .find(|c| c.hour == hour * H && c.charge == charge)
            .map(|c| c.cost.as_str())
            .unwrap_or_else(|| panic!("no costs.csv row for hour {hour}, {charge}"))
    }

    /// Σ of the `costs.csv` column (optionally for one charge type), micro-units.
    fn costs_sum(&self, charge: Option<&str>) -> i128 {
        self.costs
            .iter()
            .filter(|c| charge.is_none_or(|x| c.charge == x))
            .map(|c| micros(&c.cost))
            .sum()
    }

    fn cost_total(&self) -> f64 {
        f(&self.summary, "cost_total")
    }

    fn cost_of(&self, charge: &str) -> f64 {
        self.summary["cost_by_charge_type"][charge]
            .as_f64()
            .unwrap_or(0.0)
    }

    fn errors(&self) -> BTreeMap<String, u64> {
        self.summary["api_errors_by_code"]
            .as_object()
            .expect("api_errors_by_code")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
            .collect()
    }
}

/// `"-12.345678"` → -12,345,678 micro-units; exactly six decimals are required.
fn micros(s: &str) -> i128 {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (whole, frac) = body
        .split_once('.')
        .unwrap_or_else(|| panic!("money `{s}` has no decimals"));
    assert_eq!(frac.len(), 6, "money `{s}` is not written with 6 decimals");
    let m =
        whole.parse::<i128>().expect("money") * 1_000_000 + frac.parse::<i128>().expect("money");
    if neg { -m } else { m }
}

fn opt_secs(s: &str) -> Option<u64> {
    (!s.is_empty()).then(|| parse_secs(s))
}

/// A CSV file as records, with a column lookup by header name (robust to added columns).
fn read_csv(path: &std::path::Path) -> (HashMap<String, usize>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cols = r
        .headers()
        .expect("header")
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let recs = r.records().map(|x| x.expect("record")).collect();
    (cols, recs)
}

/// Reads `instances.csv` and `costs.csv` of a folder, with `summary` (summary.json or its
/// equivalent).
fn read_folder(dir: TestDir, out: &std::path::Path, summary: Value) -> Run {
    let (c, recs) = read_csv(&out.join("instances.csv"));
    let col = |n: &str| {
        *c.get(n)
            .unwrap_or_else(|| panic!("instances.csv has no `{n}`"))
    };
    let rows = recs
        .iter()
        .map(|r| Row {
            id: r[col("instance_id")].to_string(),
            itype: r[col("instance_type")].to_string(),
            charge: r[col("charge_type")].to_string(),
            owner: r[col("owner")].to_string(),
            created: parse_secs(&r[col("created_s")]),
            running: opt_secs(&r[col("running_s")]),
            released: opt_secs(&r[col("released_s")]),
            state: r[col("final_state")].to_string(),
            charged: r[col("charged")].to_string(),
            refunded: r[col("refunded")].to_string(),
            cost: r[col("cost")].to_string(),
            history: r[col("charge_history")].to_string(),
            reclaimed: r[col("spot_reclaimed")].to_string(),
            disk: r[col("cost_disk")].to_string(),
            network: r[col("cost_network")].to_string(),
        })
        .collect::<Vec<_>>();
    assert_eq!(
        rows.len() as u64,
        u(&summary, "instances_created"),
        "instances.csv rows != instances_created"
    );
    let (c, recs) = read_csv(&out.join("costs.csv"));
    let col = |n: &str| *c.get(n).unwrap_or_else(|| panic!("costs.csv has no `{n}`"));
    let costs = recs
        .iter()
        .map(|r| CostRow {
            hour: parse_secs(&r[col("hour_start_s")]),
            charge: r[col("charge_type")].to_string(),
            cost: r[col("cost")].to_string(),
        })
        .collect();
    Run {
        _dir: dir,
        summary,
        rows,
        costs,
    }
}

/// Runs a scenario held in a string with `fleetsim::run::run` into a fresh folder and reads it
/// back. It also runs it with [`run_light`] and checks both give the same bills, so that the
/// properties, which use the light driver for speed, bill exactly as a real run.
fn run_scn(name: &str, text: &str) -> Run {
    let scn = scenario(text);
    let dir = fresh_dir(&format!("bills-{name}"));
    let out = dir.join("out");
    fleetsim::run::run(
        &scn,
        RunOptions {
            out: Some(out.clone()),
            write_files: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("run {name} failed: {e:#}"));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("summary.json");
    let run = read_folder(dir, &out, summary);
    let light = run_light(&format!("{name}-light"), text);
    assert_eq!(
        run.rows, light.rows,
        "run::run and the light driver disagree"
    );
    assert_eq!(
        run.costs
            .iter()
            .map(|c| (c.hour, &c.charge, &c.cost))
            .collect::<Vec<_>>(),
        light
            .costs
            .iter()
            .map(|c| (c.hour, &c.charge, &c.cost))
            .collect::<Vec<_>>(),
        "costs.csv: run::run and the light driver disagree"
    );
    assert_eq!(run.cost_total(), light.cost_total());
    run
}

/// The billing part of `fleetsim::run::run` without its charts and HTML report (which take
/// about 1.5 s per run in a debug build): build the world, run to the horizon, close the
/// books, write `instances.csv` and `costs.csv`. The summary holds only the cost figures and
/// `instances_created`.
fn run_light(name: &str, text: &str) -> Run {
    use fleetsim::engine::SimTime;
    let scn = scenario(text);
    let dir = fresh_dir(&format!("bills-{name}"));
    let out = dir.to_path_buf();
    let (mut world, mut sched) = fleetsim::run::build_world(&scn, scn.seed);
    let end = SimTime::ZERO + scn.duration;
    world.rec.costs = Some(fleetsim::report::costs::CostLedger::new(
        scn.catalog.zones.len(),
        end,
    ));
    world
        .rec
        .stream_instances(&out.join("instances.csv"))
        .expect("instances.csv");
    sched.run(&mut world).unwrap();
    let now = sched.now();
    world.cloud.close_books(now, &mut world.rec);
    world.rec.finish().expect("instances.csv written");
    world
        .rec
        .costs
        .as_ref()
        .expect("ledger")
        .write_csv(&out.join("costs.csv"), &scn.catalog, now)
        .expect("costs.csv");
    let summary = serde_json::json!({
        "instances_created": world.rec.created,
        "cost_total": world.rec.cost_total().as_f64(),
        "cost_by_charge_type": fleetsim::report::recorder::by_charge(&world.rec.cost_by_charge),
        "api_errors_by_code": {},
    });
    read_folder(dir, &out, summary)
}

/// The shared head of the hand-computed scenarios: fixed timings, no launch failures, no
/// rate limits, one zone, the documented tiers written out. Prices follow in each test.
fn head(name: &str, duration: &str, types: &str) -> String {
    format!(
        r#"
name = "{name}"
seed = 7
duration = "{duration}"
sample_interval = "1h"
instance_types = [{types}]

[cloud]
launch_failure_probability = 0
spot_price_fraction = 0.1
disk_gib = 50
disk_price_per_gib_hour = 0.0004
recycle_bin = "7d"
spot_notice = "2m"

[cloud.timings]
pending = {{ dist = "fixed", value = "60s" }}
stopping = {{ dist = "fixed", value = "20s" }}
starting = {{ dist = "fixed", value = "30s" }}
rebooting = {{ dist = "fixed", value = "40s" }}
terminating = {{ dist = "fixed", value = "5s" }}

[api]
preset = "unlimited"

[billing]
postpaid_tiers = [[0, 100], [96, 50], [360, 34]]
settlement_rounding = false   # these bills are the exact amounts; tests/money.rs rounds

[zones.ap-guangzhou-3]
"#
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6
}

// ---------------------------------------------------------------------------------------------
// 1. Postpaid, alive 3,725 s.

#[test]
fn postpaid_billed_from_running_to_terminate() {
    let text = head("pp3725", "3h", r#""S5.MEDIUM4""#)
        + r#"
[prices."S5.MEDIUM4"]
postpaid_hourly = 0.32
tiered = true

[[actions]]
at = "10m"
action = "RunInstances"
name = "a"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "POSTPAID_BY_HOUR"

[[actions]]
at = "4385s"
action = "TerminateInstances"
select = { from = "a" }
"#;
    let run = run_scn("pp3725", &text);
    let r = run.one("the instance", |_| true);
    // created 600 s; RUNNING at 600 + 60 = 660 s; TerminateInstances at 4,385 s; released 5 s
    // later (TERMINATING is not billed).
    assert_eq!(r.owner, "script");
    assert_eq!(r.created, 600 * S);
    assert_eq!(r.running, Some(660 * S));
    assert_eq!(r.released, Some(4_390 * S));
    assert_eq!(r.state, "RELEASED");
    // billed 4,385 − 660 = 3,725 s × 0.32 / 3,600 = 0.3311111… → 0.331111
    assert_eq!(r.bill(), ("0.331111", "0.000000", "0.331111"));
    assert_eq!(r.history, "");
    assert_eq!(r.reclaimed, "0");
    // Hourly settlement: hour 0 holds 3,600 − 660 = 2,940 s × 0.32 / 3,600 = 0.261333…;
    // hour 1 holds 4,385 − 3,600 = 785 s → 0.0697777… → 0.069778; hour 2 nothing.
    assert_eq!(run.hour_cost(0, "POSTPAID_BY_HOUR"), "0.261333");
    assert_eq!(run.hour_cost(1, "POSTPAID_BY_HOUR"), "0.069778");
    assert_eq!(run.hour_cost(2, "POSTPAID_BY_HOUR"), "0.000000");
    assert_eq!(run.costs.len(), 3, "{:?}", run.costs);
    assert!(close(run.cost_total(), 0.32 * 3725.0 / 3600.0));
    assert!(close(
        run.cost_of("POSTPAID_BY_HOUR"),
        0.32 * 3725.0 / 3600.0
    ));
    assert_eq!(u(&run.summary, "instances_terminated"), 1);
}

// ---------------------------------------------------------------------------------------------
// 2. Postpaid across the 96 h tier boundary (tiers 100 % / 50 % / 34 %).

#[test]
fn postpaid_tiers_split_at_96_billed_hours() {
    let text = head("tier96", "5d", r#""S5.MEDIUM4", "S5.LARGE8""#)
        + r#"
[prices."S5.MEDIUM4"]
postpaid_hourly = 0.48
tiered = true

[prices."S5.LARGE8"]
postpaid_hourly = 0.48
tiered = false

[[actions]]
at = "0s"
action = "RunInstances"
name = "tiered"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"

[[actions]]
at = "0s"
action = "RunInstances"
name = "flat"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"

[[actions]]
at = "361860s"
action = "TerminateInstances"
select = { from = "tiered" }

[[actions]]
at = "361860s"
action = "TerminateInstances"
select = { from = "flat" }
"#;
    let run = run_scn("tier96", &text);
    let t = run.one("tiered", |r| r.itype == "S5.MEDIUM4");
    let fl = run.one("flat", |r| r.itype == "S5.LARGE8");
    for r in [t, fl] {
        // RUNNING at 60 s, terminated at 60 s + 100 h 30 m = 361,860 s.
        assert_eq!(r.running, Some(60 * S));
        assert_eq!(r.released, Some(361_865 * S));
    }
    // 100.5 billed hours: 96 h × 0.48 = 46.08, then 4.5 h × 0.24 = 1.08 → 47.16
    assert_eq!(t.bill(), ("47.160000", "0.000000", "47.160000"));
    // untiered: 100.5 h × 0.48 = 48.24
    assert_eq!(fl.bill(), ("48.240000", "0.000000", "48.240000"));
    // The tier starts at 60 s + 96 h, inside hour 96: 60 s at 0.48 + 3,540 s at 0.24 for the
    // tiered one (0.008 + 0.236 = 0.244), 0.48 for the flat one: 0.724 in that hour.
    assert_eq!(run.hour_cost(96, "POSTPAID_BY_HOUR"), "0.724000");
    // hour 95: both full price, 0.96; hour 97: 0.24 + 0.48 = 0.72
    assert_eq!(run.hour_cost(95, "POSTPAID_BY_HOUR"), "0.960000");
    assert_eq!(run.hour_cost(97, "POSTPAID_BY_HOUR"), "0.720000");
    assert!(close(run.cost_total(), 47.16 + 48.24));
    assert_eq!(run.costs_sum(None), 47_160_000 + 48_240_000);
}

// ---------------------------------------------------------------------------------------------
// 3. Prepaid 3 months, terminated after 40 days (and 2 hours).

#[test]
fn prepaid_early_termination_refunds_paid_minus_consumed() {
    let text = head("prepaid40d", "50d", r#""S5.LARGE8""#)
        + r#"
[prices."S5.LARGE8"]
postpaid_hourly = 0.5
prepaid_monthly = 100.0
tiered = false

[billing.prepaid_discount_percent]
"1" = 100
"3" = 100
"12" = 87

[[actions]]
at = "1h"
action = "RunInstances"
name = "p"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
charge_type = "PREPAID"
period_months = 3

[[actions]]
at = "3466800s"
action = "TerminateInstances"
select = { from = "p" }
"#;
    let run = run_scn("prepaid40d", &text);
    let r = run.one("prepaid", |_| true);
    assert_eq!(r.charge, "PREPAID");
    assert_eq!(r.created, H);
    assert_eq!(r.running, Some(H + MIN));
    // paid = 3 × 100 × 100 % = 300.
    // TerminateInstances at 1 h + 40 d 2 h = 3,466,800 s; used (from creation, PENDING
    // included) = 40 d 2 h = 962 h = 1 month of 720 h + 242 h.
    // consumed = 1 × 100 + 242 h × 0.5 = 221; refund = 300 − 221 = 79.
    assert_eq!(r.bill(), ("300.000000", "79.000000", "221.000000"));
    // The call isolates it (SHUTDOWN, recycle bin); released 7 d later:
    // 3,466,800 + 604,800 = 4,071,600 s.
    assert_eq!(r.released, Some(4_071_600 * S));
    assert_eq!(r.state, "RELEASED");
    assert!(close(run.cost_total(), 221.0));
    assert!(close(run.cost_of("PREPAID"), 221.0));
    // costs.csv: +300 in hour 1 (the purchase), −79 in hour 963 (the refund).
    assert_eq!(run.hour_cost(1, "PREPAID"), "300.000000");
    assert_eq!(run.hour_cost(963, "PREPAID"), "-79.000000");
    assert_eq!(run.costs_sum(Some("PREPAID")), 221_000_000);
}

// ---------------------------------------------------------------------------------------------
// 4. Auto-renewed prepaid, 1-month period, 75 days.

#[test]
fn prepaid_auto_renews_a_month_at_each_expiry() {
    let text = head("autorenew", "80d", r#""S5.LARGE8""#)
        + r#"
[prices."S5.LARGE8"]
postpaid_hourly = 0.1
prepaid_monthly = 100.0
tiered = false

[[actions]]
at = "0s"
action = "RunInstances"
name = "kept"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
charge_type = "PREPAID"
period_months = 1
renew_flag = "NOTIFY_AND_AUTO_RENEW"

[[actions]]
at = "0s"
action = "RunInstances"
name = "ended"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
charge_type = "PREPAID"
period_months = 1
renew_flag = "NOTIFY_AND_AUTO_RENEW"

[[actions]]
at = "75d"
action = "TerminateInstances"
select = { from = "ended" }
"#;
    let run = run_scn("autorenew", &text);
    let kept = run.one("kept", |r| r.state == "RUNNING");
    let ended = run.one("ended", |r| r.state == "SHUTDOWN");
    // A month of S5 pays 87% (价格总览): purchase at 0 (87), renewals at 30 d and 60 d (87
    // each): charged 3 × 87 = 261; the next renewal (90 d) is after the 80 d horizon.
    assert_eq!(kept.bill(), ("261.000000", "0.000000", "261.000000"));
    // The other one is returned at 75 d (past the five days: the ordinary refund): used 75 d
    // = 2 whole months + 15 d (360 h). Consumed (退还包年包月实例退费说明) = the 2 months at
    // the monthly price with the discount of 2 months (87%): 2 × 100 × 0.87 = 174, plus 360 h
    // at the postpaid 0.1/h = 36; 210 in all. Refund = 261 − 210 = 51. In the recycle bin at
    // the horizon (released at 82 d).
    assert_eq!(ended.bill(), ("261.000000", "51.000000", "210.000000"));
    assert_eq!(ended.released, None);
    assert!(close(run.cost_total(), 471.0));
    // costs.csv: 2 × 87 in hours 0, 720 and 1440; −51 in hour 1800.
    assert_eq!(run.hour_cost(0, "PREPAID"), "174.000000");
    assert_eq!(run.hour_cost(720, "PREPAID"), "174.000000");
    assert_eq!(run.hour_cost(1440, "PREPAID"), "174.000000");
    assert_eq!(run.hour_cost(1800, "PREPAID"), "-51.000000");
    assert_eq!(run.costs_sum(None), 471_000_000);
}

// ---------------------------------------------------------------------------------------------
// 5. Manual renew flag: expiry, recycle bin, RenewInstances on day 5 of the bin; and one never
//    renewed, released 7 days after expiry.

#[test]
fn prepaid_expiry_recycle_bin_renewal_and_release() {
    let text = head("recyclebin", "70d", r#""S5.LARGE8""#)
        + r#"
[prices."S5.LARGE8"]
postpaid_hourly = 0.5
prepaid_monthly = 100.0
tiered = false

[[actions]]
at = "0s"
action = "RunInstances"
name = "renewed"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
charge_type = "PREPAID"
period_months = 1
renew_flag = "NOTIFY_AND_MANUAL_RENEW"

[[actions]]
at = "1h"
action = "RunInstances"
name = "lapsed"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
charge_type = "PREPAID"
period_months = 1

[[actions]]
at = "34d12h"
action = "RenewInstances"
select = { from = "renewed" }
period_months = 1

[[actions]]
at = "36d"
action = "StopInstances"
select = { from = "renewed" }
"#;
    let run = run_scn("recyclebin", &text);
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    let renewed = run.one("renewed", |r| r.created == 0);
    let lapsed = run.one("lapsed", |r| r.created == H);
    // Created 0, expires 30 d → SHUTDOWN. Renewed at 34 d 12 h (day 5 in the bin) for one
    // month: back to RUNNING (the StopInstances at 36 d succeeds, so it was RUNNING), and
    // the expiry moves from the OLD expiry: 30 d + 30 d = 60 d (not 64 d 12 h). At 60 d it
    // is isolated again and released 7 d later, at 67 d = 5,788,800 s.
    // A month of S5 pays 87% (价格总览): charged = 87 (purchase) + 87 (renewal) = 174.
    assert_eq!(renewed.released, Some(67 * DAY));
    assert_eq!(renewed.bill(), ("174.000000", "0.000000", "174.000000"));
    // Never renewed: created 1 h, expires 30 d 1 h, released 7 d later = 37 d 1 h.
    assert_eq!(lapsed.released, Some(37 * DAY + H));
    assert_eq!(lapsed.bill(), ("87.000000", "0.000000", "87.000000"));
    assert_eq!(u(&run.summary, "instances_terminated"), 2);
    assert!(close(run.cost_total(), 261.0));
    // costs.csv: the renewal is booked at 34 d 12 h = hour 828.
    assert_eq!(run.hour_cost(828, "PREPAID"), "87.000000");
}

// ---------------------------------------------------------------------------------------------
// 6. A spot instance reclaimed with notice.

#[test]
fn spot_reclaimed_by_postpaid_demand_after_notice() {
    let text = head("reclaim", "6h", r#""S5.MEDIUM4""#)
        + r#"
[zones.ap-guangzhou-3.stock]
"S5.MEDIUM4" = 2

[prices."S5.MEDIUM4"]
postpaid_hourly = 0.32
tiered = true

[[actions]]
at = "0s"
action = "RunInstances"
name = "spot"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "SPOTPAID"
count = 2

[[actions]]
at = "2h"
action = "RunInstances"
name = "od"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "POSTPAID_BY_HOUR"

[[actions]]
at = "4h"
action = "TerminateInstances"
select = { from = "spot" }
"#;
    let run = run_scn("reclaim", &text);
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    let gone = run.one("reclaimed", |r| r.reclaimed == "1");
    let kept = run.one("kept spot", |r| {
        r.charge == "SPOTPAID" && r.reclaimed == "0"
    });
    let od = run.one("on demand", |r| r.charge == "POSTPAID_BY_HOUR");
    // The newest spot instance is the victim.
    let serial = |r: &Row| fleetsim::cloud::InstanceId::parse(&r.id).expect("id").0;
    assert!(serial(gone) > serial(kept));
    // Market price 0.1 × 0.32 = 0.032 / h. The notice is given at 2 h (7,200 s) and runs 2 min;
    // then TERMINATING 5 s: released at 7,325 s.
    assert_eq!(gone.released, Some(7_325 * S));
    // billed RUNNING 60 s → 7,320 s = 7,260 s × 0.032 / 3,600 = 0.0645333… → 0.064533
    assert_eq!(gone.bill(), ("0.064533", "0.000000", "0.064533"));
    // the other one: 60 s → 4 h = 14,340 s × 0.032 / 3,600 = 0.1274666… → 0.127467
    assert_eq!(kept.released, Some(4 * H + 5 * S));
    assert_eq!(kept.bill(), ("0.127467", "0.000000", "0.127467"));
    // The on-demand one got the freed capacity at once: RUNNING 2 h 1 m → 6 h =
    // 14,340 s × 0.32 / 3,600 = 1.2746666… → 1.274667
    assert_eq!(od.created, 2 * H);
    assert_eq!(od.running, Some(2 * H + MIN));
    assert_eq!(od.state, "RUNNING");
    assert_eq!(od.bill(), ("1.274667", "0.000000", "1.274667"));
    assert_eq!(u(&run.summary, "spot_reclaims"), 1);
    // spot: 0.032 × (7,260 + 14,340) s / 3,600 = 0.192 exactly.
    assert!(close(run.cost_of("SPOTPAID"), 0.192));
    assert_eq!(run.costs_sum(Some("SPOTPAID")), 192_000);
    // hour 2 of spot: the victim 7,200 → 7,320 s (120 s) + the other whole hour:
    // 0.032 × 3,720 / 3,600 = 0.0330666… → 0.033067
    assert_eq!(run.hour_cost(2, "SPOTPAID"), "0.033067");
}

// ---------------------------------------------------------------------------------------------
// 7. STOP_CHARGING for 10 hours (and a KEEP_CHARGING twin).

#[test]
fn stop_charging_bills_only_the_disk_while_stopped() {
    let mut text = head("stopcharging", "1d", r#""S5.MEDIUM4""#)
        + r#"
[prices."S5.MEDIUM4"]
postpaid_hourly = 0.32
tiered = true
"#;
    // Two postpaid instances on the same schedule, one stopped with STOP_CHARGING, one with
    // KEEP_CHARGING, and a spot one (STOP_CHARGING is for POSTPAID_BY_HOUR only: refused).
    let act = |at: &str, body: &str| format!("\n[[actions]]\nat = \"{at}\"\n{body}\n");
    let on = |name: &str, action: &str| {
        format!("action = \"{action}\"\nselect = {{ from = \"{name}\" }}")
    };
    for (name, charge) in [
        ("sc", "POSTPAID_BY_HOUR"),
        ("kc", "POSTPAID_BY_HOUR"),
        ("spot", "SPOTPAID"),
    ] {
        text += &act(
            "0s",
            &format!(
                "action = \"RunInstances\"\nname = \"{name}\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"S5.MEDIUM4\"\ncharge_type = \"{charge}\""
            ),
        );
    }
    text += &act(
        "1h",
        &(on("sc", "StopInstances") + "\nstopped_mode = \"STOP_CHARGING\""),
    );
    text += &act(
        "1h",
        &(on("kc", "StopInstances") + "\nstopped_mode = \"KEEP_CHARGING\""),
    );
    text += &act(
        "2h",
        &(on("spot", "StopInstances") + "\nstopped_mode = \"STOP_CHARGING\""),
    );
    for (at, action) in [
        ("39620s", "StartInstances"),
        ("43250s", "TerminateInstances"),
    ] {
        for name in ["sc", "kc"] {
            text += &act(at, &on(name, action));
        }
    }
    let run = run_scn("stopcharging", &text);
    assert_eq!(
        run.errors(),
        BTreeMap::from([(
            "UnsupportedOperation.StoppedModeStopCharging".to_string(),
            1
        )])
    );
    let spot = run.one("spot", |r| r.charge == "SPOTPAID");
    assert_eq!(spot.state, "RUNNING");
    // spot RUNNING 60 s → 24 h: 86,340 s × 0.032 / 3,600 = 0.767466… → 0.767467
    assert_eq!(spot.bill(), ("0.767467", "0.000000", "0.767467"));
    let pp: Vec<&Row> = run
        .rows
        .iter()
        .filter(|r| r.charge == "POSTPAID_BY_HOUR")
        .collect();
    assert_eq!(pp.len(), 2);
    // Timeline of both: RUNNING 60 s; StopInstances 3,600 s; STOPPED 3,620 s; StartInstances
    // 39,620 s (10 h stopped); RUNNING 39,650 s; TerminateInstances 43,250 s; released 43,255 s.
    for r in &pp {
        assert_eq!(r.running, Some(60 * S));
        assert_eq!(r.released, Some(43_255 * S));
    }
    let (a, b) = (pp[0], pp[1]);
    let (sc, kc) = if micros(&a.cost) < micros(&b.cost) {
        (a, b)
    } else {
        (b, a)
    };
    // STOP_CHARGING: full price over RUNNING + STOPPING + STARTING =
    // 3,540 + 20 + 30 + 3,600 = 7,190 s × 0.32 / 3,600 = 0.639111…; STOPPED 10 h at the disk
    // price 50 GiB × 0.0004 = 0.02 / h → 0.2. Total 0.8391111… → 0.839111
    assert_eq!(sc.bill(), ("0.839111", "0.000000", "0.839111"));
    // KEEP_CHARGING: full price throughout, 43,250 − 60 = 43,190 s × 0.32 / 3,600 = 3.8391111…
    assert_eq!(kc.bill(), ("3.839111", "0.000000", "3.839111"));
    // Hour 5 (all STOPPED): 0.02 for the one, 0.32 for the other.
    assert_eq!(run.hour_cost(5, "POSTPAID_BY_HOUR"), "0.340000");
    assert!(close(
        run.cost_of("POSTPAID_BY_HOUR"),
        0.32 * 7190.0 / 3600.0 + 0.2 + 0.32 * 43190.0 / 3600.0
    ));
}

// ---------------------------------------------------------------------------------------------
// 8. ModifyInstancesChargeType, both ways.

#[test]
fn modify_charge_type_bills_each_part_under_its_charge_type() {
    let text = head("modify", "1d", r#""S5.MEDIUM4""#)
        + r#"
[prices."S5.MEDIUM4"]
postpaid_hourly = 0.32
prepaid_monthly = 100.0
tiered = true

[[actions]]
at = "0s"
action = "RunInstances"
name = "to_pre"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "POSTPAID_BY_HOUR"

[[actions]]
at = "0s"
action = "RunInstances"
name = "to_post"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "PREPAID"
period_months = 1

[[actions]]
at = "5h"
action = "ModifyInstancesChargeType"
select = { from = "to_pre" }
charge_type = "PREPAID"
period_months = 1

[[actions]]
at = "5h"
action = "ModifyInstancesChargeType"
select = { from = "to_post" }
charge_type = "POSTPAID_BY_HOUR"
"#;
    let run = run_scn("modify", &text);
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    let pre = run.one("to prepaid", |r| r.charge == "PREPAID");
    let post = run.one("to postpaid", |r| r.charge == "POSTPAID_BY_HOUR");
    // Postpaid RUNNING 60 s → 5 h = 17,940 s × 0.32 / 3,600 = 1.5946666…, then 1 month
    // prepaid up front, 100 × 87% (S5) = 87: charged 88.5946666… → 88.594667.
    assert_eq!(pre.bill(), ("88.594667", "0.000000", "88.594667"));
    assert_eq!(pre.history, "POSTPAID_BY_HOUR@0.000;PREPAID@18000.000");
    // Prepaid 87 at 0; leaving PREPAID at 5 h refunds 87 − 5 h × 0.32 = 85.4; then postpaid
    // 5 h → 24 h = 19 h × 0.32 = 6.08. charged 93.08, refunded 85.4, cost 7.68.
    assert_eq!(post.bill(), ("93.080000", "85.400000", "7.680000"));
    assert_eq!(post.history, "PREPAID@0.000;POSTPAID_BY_HOUR@18000.000");
    // By charge type: POSTPAID 1.5946666… + 6.08 = 7.6746666…; PREPAID 87 + 87 − 85.4 = 88.6.
    assert!(close(
        run.cost_of("POSTPAID_BY_HOUR"),
        0.32 * 17940.0 / 3600.0 + 6.08
    ));
    assert!(close(run.cost_of("PREPAID"), 88.6));
    assert!(close(run.cost_total(), 88.594_666_667 + 7.68));
    // costs.csv hour 5: prepaid +87 − 85.4 = 1.6; postpaid 0.32 (the other's first hour).
    assert_eq!(run.hour_cost(5, "PREPAID"), "1.600000");
    assert_eq!(run.hour_cost(5, "POSTPAID_BY_HOUR"), "0.320000");
    // hour 0 postpaid: 3,540 s × 0.32 / 3,600 = 0.3146666… → 0.314667
    assert_eq!(run.hour_cost(0, "POSTPAID_BY_HOUR"), "0.314667");
}

// ---------------------------------------------------------------------------------------------
// 9. A spot bid below the market price is refused; at or above it, billed at the market.

#[test]
fn spot_bid_below_market_is_refused() {
    let text = head("bid", "2h", r#""S5.MEDIUM4""#)
        + r#"
[prices."S5.MEDIUM4"]
postpaid_hourly = 0.32

[[actions]]
at = "0s"
action = "RunInstances"
name = "low"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "SPOTPAID"
max_price = 0.031999

[[actions]]
at = "0s"
action = "RunInstances"
name = "equal"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "SPOTPAID"
max_price = 0.032

[[actions]]
at = "0s"
action = "RunInstances"
name = "high"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
charge_type = "SPOTPAID"
max_price = 0.2
"#;
    let run = run_scn("bid", &text);
    // market 0.1 × 0.32 = 0.032: a bid of 0.031999 is refused, 0.032 and 0.2 accepted.
    assert_eq!(
        run.errors(),
        BTreeMap::from([("InvalidParameterValue.InsufficientPrice".to_string(), 1)])
    );
    assert_eq!(u(&run.summary, "instances_created"), 2);
    // Both billed at the market, not the bid: 7,140 s × 0.032 / 3,600 = 0.063467 each.
    for r in &run.rows {
        assert_eq!(r.bill(), ("0.063467", "0.000000", "0.063467"), "{r:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// A prepaid launch that fails.

/// A PREPAID instance is paid for up front at RunInstances; if its launch then fails
/// (PENDING → LAUNCH_FAILED) it never existed for its owner, and the purchase should be
/// refunded in full. The control plane keeps the whole period's price: TerminateInstances on a
/// LAUNCH_FAILED instance goes straight to TERMINATING (src/cloud/api/mod.rs, the
/// `TerminateInstances` arm: `isolate` is only for RUNNING / STOPPED, so
/// `refund_early_termination` is never called), and neither the LAUNCH_FAILED transition nor
/// the release refunds anything.
#[test]
fn prepaid_launch_failure_is_refunded() {
    let text = head("prepaidfail", "2d", r#""S5.LARGE8""#).replace(
        "launch_failure_probability = 0",
        "launch_failure_probability = 1",
    ) + r#"
[prices."S5.LARGE8"]
postpaid_hourly = 0.5
prepaid_monthly = 100.0

[[actions]]
at = "0s"
action = "RunInstances"
name = "p"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
charge_type = "PREPAID"

[[actions]]
at = "1h"
action = "TerminateInstances"
select = { from = "p" }
"#;
    let run = run_scn("prepaidfail", &text);
    let r = run.one("failed launch", |_| true);
    // LAUNCH_FAILED at 60 s, never RUNNING; TerminateInstances at 1 h is refused
    // (UnsupportedOperation.InstanceStateLaunchFailed) and the platform releases it
    // `launch_failed_cleanup` (1 h) after it failed, at 1 h 1 min.
    assert_eq!(r.running, None);
    assert_eq!(r.released, Some(H + 60 * S));
    assert_eq!(u(&run.summary, "instances_launch_failed"), 1);
    // Paid 100 × 87% = 87 at RunInstances (S5, one month); nothing was used: refund 87, net 0.
    assert_eq!(r.bill(), ("87.000000", "87.000000", "0.000000"));
    assert_eq!(run.cost_total(), 0.0);
}

// ---------------------------------------------------------------------------------------------
// Properties over random small scripted scenarios.

/// What the script does with one instance (times in minutes).
#[derive(Clone, Debug)]
struct Plan {
    /// 0: S5.MEDIUM4 (tiered), 1: S5.LARGE8 (untiered).
    itype: usize,
    /// 0: POSTPAID_BY_HOUR, 1: PREPAID, 2: SPOTPAID.
    charge: usize,
    auto_renew: bool,
    created: u64,
    /// Stop after `.0` minutes (STOP_CHARGING if `.1`), start again `.2` minutes later.
    stop: Option<(u64, bool, Option<u64>)>,
    /// RebootInstances after this many minutes.
    reboot: Option<u64>,
    /// ModifyInstancesChargeType after this many minutes.
    modify: Option<u64>,
    /// TerminateInstances after this many minutes (a second call an hour later destroys a
    /// prepaid instance sitting in the recycle bin).
    life: Option<u64>,
}

const PROP_DAYS: u64 = 64;

fn plan() -> impl Strategy<Value = Plan> {
    (
        0usize..2,
        0usize..3,
        any::<bool>(),
        0u64..50 * 1440,
        proptest::option::of((
            1u64..20_000,
            any::<bool>(),
            proptest::option::of(1u64..20_000),
        )),
        proptest::option::of(1u64..10_000),
        proptest::option::of(1u64..40_000),
        proptest::option::of(1u64..60_000),
    )
        .prop_map(
            |(itype, charge, auto_renew, created, stop, reboot, modify, life)| Plan {
                itype,
                charge,
                auto_renew,
                created,
                stop,
                reboot,
                modify,
                life,
            },
        )
}

/// Scenario-wide choices of a property case.
#[derive(Clone, Copy, Debug)]
struct Flavour {
    /// Prices that make every amount a whole number of micro-units.
    exact: bool,
    /// A random spot market instead of a constant fraction (never with `exact`).
    random_spot: bool,
    /// Launches fail with probability 0.3 instead of never.
    failures: bool,
}

fn flavour() -> impl Strategy<Value = Flavour> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(exact, random, failures)| Flavour {
        exact,
        random_spot: random && !exact,
        failures,
    })
}

/// The scenario of `plans`, cut at `minutes` (actions at or after it are left out). With
/// `exact` prices every amount is a whole number of micro-units (0.36 / h = 100 micro-units
/// per second, tiers 50 / 34 per second, spot 10, disk 10), so sums must match exactly.
fn prop_scenario(plans: &[Plan], fl: Flavour, minutes: u64) -> String {
    let (p0, p1, m0, m1, disk) = if fl.exact {
        (0.36, 0.72, 150.0, 300.0, 0.00072)
    } else {
        (0.32, 0.51, 133.0, 271.0, 0.0004)
    };
    let failure = if fl.failures { 0.3 } else { 0.0 };
    let market = if fl.random_spot {
        "spot_market = { min = 0.03, max = 0.2, mean = 0.1, volatility = 0.03, step = \"1h\" }"
    } else {
        ""
    };
    let mut s = format!(
        r#"
name = "prop"
seed = 3
duration = "{minutes}m"
sample_interval = "1d"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]

[cloud]
launch_failure_probability = {failure}
spot_price_fraction = 0.1
disk_gib = 50
disk_price_per_gib_hour = {disk}
recycle_bin = "2d"
{market}

[cloud.timings]
pending = {{ dist = "fixed", value = "60s" }}
stopping = {{ dist = "fixed", value = "20s" }}
starting = {{ dist = "fixed", value = "30s" }}
rebooting = {{ dist = "fixed", value = "40s" }}
terminating = {{ dist = "fixed", value = "5s" }}

[api]
preset = "unlimited"

[zones.ap-guangzhou-3]

[prices."S5.MEDIUM4"]
postpaid_hourly = {p0}
prepaid_monthly = {m0}
tiered = true

[prices."S5.LARGE8"]
postpaid_hourly = {p1}
prepaid_monthly = {m1}
tiered = false
"#
    );
    const TYPES: [&str; 2] = ["S5.MEDIUM4", "S5.LARGE8"];
    const CHARGES: [&str; 3] = ["POSTPAID_BY_HOUR", "PREPAID", "SPOTPAID"];
    // (minute, order, text): order keeps a RunInstances before the calls on its instance.
    let mut acts: Vec<(u64, usize, String)> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let name = format!("r{i}");
        let mut run = format!(
            "action = \"RunInstances\"\nname = \"{name}\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"{}\"\ncharge_type = \"{}\"\n",
            TYPES[p.itype], CHARGES[p.charge]
        );
        if p.charge == 1 {
            let flag = if p.auto_renew {
                "NOTIFY_AND_AUTO_RENEW"
            } else {
                "NOTIFY_AND_MANUAL_RENEW"
            };
            run += &format!("period_months = 1\nrenew_flag = \"{flag}\"\n");
        }
        acts.push((p.created, 0, run));
        let on = |what: &str| format!("action = \"{what}\"\nselect = {{ from = \"{name}\" }}\n");
        if let Some((after, charging_off, start)) = p.stop {
            let mode = if charging_off {
                "STOP_CHARGING"
            } else {
                "KEEP_CHARGING"
            };
            let t = p.created + after;
            acts.push((
                t,
                1,
                on("StopInstances") + &format!("stopped_mode = \"{mode}\"\n"),
            ));
            if let Some(again) = start {
                acts.push((t + again, 1, on("StartInstances")));
            }
        }
        if let Some(after) = p.reboot {
            acts.push((p.created + after, 1, on("RebootInstances")));
        }
        if let Some(after) = p.modify {
            let to = if p.charge == 1 {
                "charge_type = \"POSTPAID_BY_HOUR\"\n"
            } else {
                "charge_type = \"PREPAID\"\nperiod_months = 1\n"
            };
            acts.push((p.created + after, 1, on("ModifyInstancesChargeType") + to));
        }
        if let Some(life) = p.life {
            acts.push((p.created + life, 1, on("TerminateInstances")));
            acts.push((p.created + life + 60, 1, on("TerminateInstances")));
        }
    }
    acts.sort_by_key(|a| (a.0, a.1));
    for (minute, _, body) in acts {
        if minute < minutes {
            s += &format!("\n[[actions]]\nat = \"{minute}m\"\n{body}");
        }
    }
    s
}

fn check_sums(run: &Run, exact: bool, what: &str) {
    let total = run.cost_total();
    let total_micros = (total * 1e6).round() as i128;
    let rows_sum: i128 = run.rows.iter().map(Row::cost_micros).sum();
    let hours_sum = run.costs_sum(None);
    if exact {
        // (b) and (c) exactly: nothing is rounded.
        assert_eq!(hours_sum, total_micros, "{what}: Σ costs.csv != cost_total");
        assert_eq!(
            rows_sum, total_micros,
            "{what}: Σ cost column != cost_total"
        );
        for c in ["PREPAID", "POSTPAID_BY_HOUR", "SPOTPAID"] {
            assert_eq!(
                run.costs_sum(Some(c)),
                (run.cost_of(c) * 1e6).round() as i128,
                "{what}: Σ costs.csv {c} != cost_by_charge_type"
            );
        }
    } else {
        // (b) each hourly row is rounded once (≤ 0.5 micro-unit), but only rows holding a
        // partial second amount are inexact; 1e-5 in all is the stated budget.
        let tol_b = 1e-5f64.max(0.5e-6 * run.costs.len() as f64);
        assert!(
            (hours_sum as f64 / 1e6 - total).abs() <= tol_b + 1e-9 * total.abs(),
            "{what}: Σ costs.csv = {}, cost_total = {total}",
            hours_sum as f64 / 1e6
        );
        // (c) rows are rounded once each.
        let tol_c = 1e-6 * run.rows.len().max(1) as f64;
        assert!(
            (rows_sum as f64 / 1e6 - total).abs() <= tol_c + 1e-9 * total.abs(),
            "{what}: Σ cost column = {}, cost_total = {total}",
            rows_sum as f64 / 1e6
        );
    }
    for r in &run.rows {
        // (a) bills are never negative, refunds never exceed what was charged.
        assert!(r.charged_micros() >= 0, "{what}: {r:?}");
        assert!(r.refunded_micros() >= 0, "{what}: {r:?}");
        assert!(r.refunded_micros() <= r.charged_micros(), "{what}: {r:?}");
        // Each column is rounded on its own: exact prices leave nothing to round.
        let slack = if exact { 0 } else { 1 };
        assert!(
            (r.cost_micros() - (r.charged_micros() - r.refunded_micros())).abs() <= slack,
            "{what}: cost != charged − refunded: {r:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// (a) Cutting the same scenario at growing horizons (the first one at a random minute),
    /// each instance's `charged` and `refunded` never decrease (its cost falls only by a
    /// refund), and an instance released before the earlier horizon has the same final row in
    /// both; (b) and (c) hold at every horizon.
    #[test]
    fn bills_grow_with_time_and_add_up(
        plans in proptest::collection::vec(plan(), 1..6),
        fl in flavour(),
        first_cut in 1..PROP_DAYS * 1440 / 2,
    ) {
        let cuts = [first_cut, PROP_DAYS * 1440 * 5 / 8, PROP_DAYS * 1440];
        let runs: Vec<Run> = cuts
            .iter()
            .map(|&m| {
                let run = run_light(&format!("prop-{m}"), &prop_scenario(&plans, fl, m));
                check_sums(&run, fl.exact, &format!("cut at {m} min"));
                run
            })
            .collect();
        for w in runs.windows(2) {
            let later: HashMap<&str, &Row> =
                w[1].rows.iter().map(|r| (r.id.as_str(), r)).collect();
            for a in &w[0].rows {
                let b = later
                    .get(a.id.as_str())
                    .unwrap_or_else(|| panic!("{} vanished in the longer run", a.id));
                prop_assert_eq!(a.created, b.created);
                prop_assert!(b.charged_micros() >= a.charged_micros(), "charged fell: {:?} → {:?}", a, b);
                prop_assert!(b.refunded_micros() >= a.refunded_micros(), "refunded fell: {:?} → {:?}", a, b);
                if a.state == "RELEASED" {
                    prop_assert_eq!(a, *b);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The published rules (issue 13). Each hand computation follows the document named in the
// README's *Billing* section: 价格总览 (the prepaid ladders), 退还包年包月实例退费说明 (returns),
// 实例调整配置费用说明 and 调整实例配置 (resizes), 按量计费实例关机不收费说明 (stopping), 计费模式
// (0.01 settlements), 云硬盘 价格总览 and 独享型公网网络计费 (disks and bandwidth).

/// The head with settlements rounded to 0.01, as CVM does (the default).
fn head_cents(name: &str, duration: &str, types: &str) -> String {
    head(name, duration, types).replace(
        "settlement_rounding = false   # these bills are the exact amounts; tests/money.rs rounds",
        "settlement_rounding = true",
    )
}

/// Two S5 types, untiered: S5.LARGE8 1.00 / h and 300 a month, S5.2XLARGE16 2.00 / h and 600.
const TWO_S5: &str = r#"
[prices."S5.LARGE8"]
postpaid_hourly = 1.0
prepaid_monthly = 300.0
tiered = false

[prices."S5.2XLARGE16"]
postpaid_hourly = 2.0
prepaid_monthly = 600.0
tiered = false
"#;

fn action(at: &str, body: &str) -> String {
    format!("\n[[actions]]\nat = \"{at}\"\n{body}\n")
}

fn run_prepaid(name: &str, itype: &str, months: u32) -> String {
    format!(
        "action = \"RunInstances\"\nname = \"{name}\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"{itype}\"\ncharge_type = \"PREPAID\"\nperiod_months = {months}"
    )
}

fn on(name: &str, what: &str) -> String {
    format!("action = \"{what}\"\nselect = {{ from = \"{name}\" }}")
}

#[test]
fn s5_year_returned_on_day_45() {
    let mut text = head_cents("s5year", "50d", r#""S5.LARGE8", "S5.2XLARGE16""#) + TWO_S5;
    text += &action("0s", &run_prepaid("y", "S5.LARGE8", 12));
    text += &action("45d", &on("y", "TerminateInstances"));
    let run = run_scn("s5year", &text);
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    let r = run.one("the instance", |_| true);
    // Bought at 0 for 12 months: 12 × 300 × 69% (S5, 1 year) = 2,484.00.
    // Returned at day 45, past five days: the ordinary refund. Used 45 days = 1 whole 30-day
    // month + 15 days. Consumed = 1 month at the monthly price with the discount of a
    // 1-month period (S5 1–2 months: 87%) = 300 × 0.87 = 261.00, plus the 15 days (360 h) at
    // the postpaid price 1.00 / h = 360.00; 621.00 in all. Refund = 2,484 − 621 = 1,863.00.
    // (The old rule, whole months undiscounted, would have kept 300 + 360 = 660.)
    assert_eq!(r.bill(), ("2484.000000", "1863.000000", "621.000000"));
    assert_eq!(r.state, "SHUTDOWN");
    assert_eq!(run.hour_cost(0, "PREPAID"), "2484.000000");
    assert_eq!(run.hour_cost(45 * 24, "PREPAID"), "-1863.000000");
    assert!(close(run.cost_total(), 621.0));
}

#[test]
fn prepaid_upgraded_on_day_1_and_returned_on_day_10() {
    let mut text = head_cents("upgrade", "20d", r#""S5.LARGE8", "S5.2XLARGE16""#)
        .replace(
            "terminating = { dist = \"fixed\", value = \"5s\" }",
            "terminating = { dist = \"fixed\", value = \"5s\" }\nreset_type = { dist = \"fixed\", value = \"120s\" }",
        )
        + TWO_S5;
    text += &action("0s", &run_prepaid("u", "S5.LARGE8", 1));
    text += &action(
        "1d",
        &(on("u", "ResetInstancesType") + "\ninstance_type = \"S5.2XLARGE16\"\nforce_stop = true"),
    );
    text += &action("10d", &on("u", "TerminateInstances"));
    let run = run_scn("upgrade", &text);
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    let r = run.one("the instance", |_| true);
    assert_eq!(r.itype, "S5.2XLARGE16");
    // Bought at 0 for a month: 300 × 87% (S5, 1 month) = 261.00.
    // Upgraded at day 1 (实例调整配置费用说明): the monthly difference for the time left,
    // (600 − 300) × 29 days / 30 days × the discount of the whole months left (0: none,
    // 100%) = 290.00.
    // Returned at day 10 (ordinary: past five days): the purchase order used 10 days = 240 h,
    // no whole month, consumed at the postpaid price of the type it bought (1.00 / h) =
    // 240.00, refund 261 − 240 = 21.00; the upgrade order is refunded by its unused share,
    // 290 × (30 − 10) / (30 − 1) = 200.00. Refund 221.00; charged 261 + 290 = 551.00; cost
    // 330.00.
    assert_eq!(r.bill(), ("551.000000", "221.000000", "330.000000"));
    assert_eq!(run.hour_cost(24, "PREPAID"), "290.000000");
    assert_eq!(run.hour_cost(240, "PREPAID"), "-221.000000");
}

#[test]
fn prepaid_downgrade_refunds_and_is_limited() {
    let mut text = head_cents("downgrade", "40d", r#""S5.LARGE8", "S5.2XLARGE16""#)
        .replace(
            "terminating = { dist = \"fixed\", value = \"5s\" }",
            "terminating = { dist = \"fixed\", value = \"5s\" }\nreset_type = { dist = \"fixed\", value = \"120s\" }",
        )
        .replace("[billing]\n", "[billing]\nmax_downgrades = 1\n")
        + TWO_S5;
    let reset = |to: &str| {
        on("d", "ResetInstancesType") + &format!("\ninstance_type = \"{to}\"\nforce_stop = true")
    };
    text += &action("0s", &run_prepaid("d", "S5.2XLARGE16", 3));
    text += &action("30d", &reset("S5.LARGE8"));
    text += &action("31d", &reset("S5.2XLARGE16"));
    text += &action("32d", &reset("S5.LARGE8"));
    let run = run_scn("downgrade", &text);
    // The second downgrade is over the limit (调整实例配置: 5 per prepaid instance; 1 here).
    // No code is documented for it; fleetsim answers UnsupportedOperation.UserLimitOperation
    // ExceedQuota ("用户限额操作的配额不足").
    assert_eq!(
        run.errors(),
        BTreeMap::from([(
            "UnsupportedOperation.UserLimitOperationExceedQuota".to_string(),
            1
        )])
    );
    let r = run.one("the instance", |_| true);
    assert_eq!(r.itype, "S5.2XLARGE16");
    // Bought at 0 for 3 months: 3 × 600 × 78% (S5, 3–5 months) = 1,404.00.
    // Downgraded at day 30 (实例降配退款金额 = 实例退货费用 − 新规格新购费用): returned, the
    // order is worth 1,404 − 1 whole month × 600 × 87% (the discount of 1 month) = 882.00;
    // the smaller type for the 60 days left costs 300 × 2 months × 87% = 522.00; refund
    // 882 − 522 = 360.00.
    assert_eq!(run.hour_cost(30 * 24, "PREPAID"), "-360.000000");
    // Upgraded at day 31: (600 − 300) × 59/30 × 87% (1 whole month left) = 513.30.
    assert_eq!(run.hour_cost(31 * 24, "PREPAID"), "513.300000");
    // charged 1,404 + 513.30 = 1,917.30; refunded 360; cost 1,557.30.
    assert_eq!(r.bill(), ("1917.300000", "360.000000", "1557.300000"));
}

#[test]
fn five_day_return_once_then_the_yearly_quota() {
    let mut text = head_cents("returns", "10d", r#""S5.LARGE8", "S5.2XLARGE16""#)
        .replace("[billing]\n", "[billing]\nreturns_per_year = 1\n")
        + TWO_S5;
    for n in ["a", "b", "c"] {
        text += &action("0s", &run_prepaid(n, "S5.LARGE8", 1));
    }
    text += &action("2d", &on("a", "TerminateInstances"));
    text += &action("3d", &on("b", "TerminateInstances"));
    text += &action("4d", &on("c", "TerminateInstances"));
    let run = run_scn("returns", &text);
    // c's return is over the account's yearly quota (1 here, 199 by default).
    assert_eq!(
        run.errors(),
        BTreeMap::from([("LimitExceeded.UserReturnQuota".to_string(), 1)])
    );
    // Each paid 300 × 87% = 261.00.
    let mut bills: Vec<(&str, &str, &str)> = run.rows.iter().map(Row::bill).collect();
    bills.sort();
    // a, day 2: the account's five-day full refund: 261 back, cost 0.
    // b, day 3: within five days, but the account has used its one: the ordinary refund,
    //    261 − 72 h × 1.00 = 189.00, cost 72.00.
    // c, day 4: refused; it keeps running on its paid month: cost 261.00.
    assert_eq!(
        bills,
        vec![
            ("261.000000", "0.000000", "261.000000"),
            ("261.000000", "189.000000", "72.000000"),
            ("261.000000", "261.000000", "0.000000"),
        ]
    );
}

#[test]
fn spot_stopped_for_ten_hours_keeps_billing() {
    for cents in [false, true] {
        let mut text = if cents {
            head_cents("spotstop", "1d", r#""S5.MEDIUM4""#)
        } else {
            head("spotstop", "1d", r#""S5.MEDIUM4""#)
        } + r#"
[prices."S5.MEDIUM4"]
postpaid_hourly = 0.32
tiered = true
"#;
        text += &action(
            "0s",
            "action = \"RunInstances\"\nname = \"s\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"S5.MEDIUM4\"\ncharge_type = \"SPOTPAID\"",
        );
        text += &action(
            "1h",
            &(on("s", "StopInstances") + "\nstopped_mode = \"STOP_CHARGING\""),
        );
        text += &action(
            "1h",
            &(on("s", "StopInstances") + "\nstopped_mode = \"KEEP_CHARGING\""),
        );
        text += &action("39620s", &on("s", "StartInstances"));
        text += &action("43250s", &on("s", "TerminateInstances"));
        let run = run_scn("spotstop", &text);
        // STOP_CHARGING is not for spot (关机不收费 "不适用于竞价实例"): refused with
        // UnsupportedOperation.StoppedModeStopCharging ("不支持关机不收费特性").
        assert_eq!(
            run.errors(),
            BTreeMap::from([(
                "UnsupportedOperation.StoppedModeStopCharging".to_string(),
                1
            )])
        );
        let r = run.one("the spot instance", |_| true);
        // RUNNING 60 s; stopped at 3,600 s (STOPPED 3,620 s → 39,620 s: 10 h); RUNNING again
        // 39,650 s; TerminateInstances 43,250 s. The market price is 0.1 × 0.32 = 0.032 / h,
        // and a stopped spot instance keeps paying it: 43,250 − 60 = 43,190 s × 0.032 / 3,600
        // = 0.383911… (of which the 10 h stopped: 0.32).
        // Settled each hour to 0.01: hour 0 (3,540 s) 0.031466… → 0.03; hours 1 to 11 each
        // 0.032 → 0.03, 0.33; hour 12 (50 s) 0.000444… → 0.00. 0.36 in all.
        let want = if cents { "0.360000" } else { "0.383911" };
        assert_eq!(r.bill(), (want, "0.000000", want), "cents {cents}");
    }
}

#[test]
fn disk_and_bandwidth_for_three_days() {
    let disks = r#"
data_disks = [{ disk_type = "CLOUD_PREMIUM", disk_size = 100 }]
internet_accessible = { internet_charge_type = "BANDWIDTH_POSTPAID_BY_HOUR", internet_max_bandwidth_out = 5 }"#;
    for cents in [false, true] {
        let mut text = if cents {
            head_cents("disks", "4d", r#""S5.LARGE8", "S5.2XLARGE16""#)
        } else {
            head("disks", "4d", r#""S5.LARGE8", "S5.2XLARGE16""#)
        } + TWO_S5;
        text += &action(
            "59m",
            &(String::from(
                "action = \"RunInstances\"\nname = \"p\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"S5.LARGE8\"\ncharge_type = \"POSTPAID_BY_HOUR\"",
            ) + disks),
        );
        text += &action(
            "59m",
            "action = \"RunInstances\"\nname = \"q\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"S5.LARGE8\"\ncharge_type = \"PREPAID\"\nperiod_months = 1\ndata_disks = [{ disk_type = \"CLOUD_PREMIUM\", disk_size = 100 }]\ninternet_accessible = { internet_charge_type = \"BANDWIDTH_PREPAID\", internet_max_bandwidth_out = 5 }",
        );
        text += &action("73h", &on("p", "TerminateInstances"));
        let run = run_scn("disks", &text);
        assert!(run.errors().is_empty(), "{:?}", run.errors());
        let p = run.one("postpaid", |r| r.charge == "POSTPAID_BY_HOUR");
        // RUNNING from 1 h to 73 h: 72 h. The instance 72 × 1.00 = 72.00; the data disk
        // (CLOUD_PREMIUM, 0.0009 per GiB-hour) 100 × 0.0009 × 72 = 6.48; the bandwidth
        // (BANDWIDTH_POSTPAID_BY_HOUR, 0.063 per Mbps-hour up to 5 Mbps) 5 × 0.063 × 72 =
        // 22.68. 101.16 in all.
        // Settled each hour per item to 0.01: the instance 1.00, the disk 0.09, the bandwidth
        // 0.315 → 0.32 (× 72 = 23.04): 101.52.
        let (total, net) = if cents {
            ("101.520000", "23.040000")
        } else {
            ("101.160000", "22.680000")
        };
        assert_eq!(p.bill(), (total, "0.000000", total), "cents {cents}");
        assert_eq!((p.disk.as_str(), p.network.as_str()), ("6.480000", net));
        // The prepaid one pays up front for a month: the instance 300 × 87% = 261.00, the
        // disk 100 × 0.35 (per GiB-month) × 100% (no disk discount below 6 months) = 35.00,
        // prepaid bandwidth 2 × 20 + 3 × 25 = 115.00: 411.00.
        let q = run.one("prepaid", |r| r.charge == "PREPAID");
        assert_eq!(q.bill(), ("411.000000", "0.000000", "411.000000"));
        assert_eq!(
            (q.disk.as_str(), q.network.as_str()),
            ("35.000000", "115.000000")
        );
        let item = |k: &str| run.summary["cost_by_item"][k].as_f64().unwrap_or(f64::NAN);
        assert!(close(item("disk"), 41.48), "{}", item("disk"));
        assert!(close(
            item("compute") + item("disk") + item("network"),
            run.cost_total()
        ));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// With settlements rounded (the default), every charge is whole cents: each instance's
    /// charged, refunded and cost, each hour of `costs.csv`; and the instances and the hours
    /// still add up exactly to `cost_total`, per charge type too.
    #[test]
    fn settlements_are_whole_cents_and_add_up(
        plans in proptest::collection::vec(plan(), 1..6),
        fl in flavour(),
        cut in 1..PROP_DAYS * 1440,
    ) {
        let text = prop_scenario(&plans, fl, cut);
        prop_assert!(!text.contains("settlement_rounding"));
        let run = run_light(&format!("cents-{cut}"), &text);
        let cent = 10_000i128;
        for r in &run.rows {
            for m in [r.charged_micros(), r.refunded_micros(), r.cost_micros()] {
                prop_assert_eq!(m % cent, 0, "{:?}", r);
            }
        }
        for c in &run.costs {
            prop_assert_eq!(micros(&c.cost) % cent, 0, "{:?}", c);
        }
        let total = (run.cost_total() * 1e6).round() as i128;
        prop_assert_eq!(total % cent, 0);
        prop_assert_eq!(run.rows.iter().map(Row::cost_micros).sum::<i128>(), total);
        prop_assert_eq!(run.costs_sum(None), total);
        for c in ["PREPAID", "POSTPAID_BY_HOUR", "SPOTPAID"] {
            prop_assert_eq!(run.costs_sum(Some(c)), (run.cost_of(c) * 1e6).round() as i128);
        }
    }
}
