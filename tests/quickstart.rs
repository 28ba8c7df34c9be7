//! The default run, `fleetsim run` with no scenario (the embedded `scenarios/quickstart.toml`):
//! the table it prints, a consistent run folder, every headline feature the quickstart is there
//! to show (a quota wall with zone fallback, throttling and backoff, a sold-out type, spot
//! reclaims, prepaid expiries and renewals, launch failures), each counted in `summary.json`
//! and checked against the run's other files, and two runs that are byte-identical.
//!
//! The quickstart is 35 days and about 700k instances, so this is the slowest test (two runs,
//! a few seconds each in a debug build); everything is checked on those two runs, one folder
//! on disk at a time.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use serde_json::Value;

/// The scenario's own settings that the checks below depend on.
const QUOTA_ZONE: &str = "ap-guangzhou-3";
const QUOTA: u64 = 500;
const SOLD_OUT_ZONE: &str = "ap-shanghai-2";
const SOLD_OUT_TYPE: &str = "S5.2XLARGE16";
const LAUNCH_FAILURE_PROBABILITY: f64 = 0.001;
/// The reserved core bought by the script at 0s with NOTIFY_AND_AUTO_RENEW.
const AUTO_RENEWED: u64 = 20;

fn run_default(out: &Path) -> String {
    let o = run_cli(["run".as_ref(), "--out".as_ref(), out.as_os_str()]);
    assert_ok(&o);
    stdout(&o)
}

/// 1234567 → `1,234,567`.
fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn code(s: &Value, code: &str) -> u64 {
    s["api_errors_by_code"]
        .get(code)
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// `api.csv` summed over time: (action, outcome) → (calls, retries, give_ups).
fn api_totals(dir: &Path) -> BTreeMap<(String, String), (u64, u64, u64)> {
    let mut r = csv::Reader::from_path(dir.join("api.csv")).expect("api.csv");
    let mut m: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("api.csv record");
        let e = m
            .entry((rec[1].to_string(), rec[2].to_string()))
            .or_default();
        e.0 += rec[3].parse::<u64>().expect("calls");
        e.1 += rec[4].parse::<u64>().expect("retries");
        e.2 += rec[5].parse::<u64>().expect("give_ups");
    }
    m
}

#[test]
fn quickstart_shows_every_headline_feature_and_repeats_exactly() {
    let base = fresh_dir("quickstart");
    let out = base.join("qs");
    let table = run_default(&out);

    // ---- the printed table and a consistent folder -------------------------------------
    for needle in [
        "scenario `quickstart`, seed 42, 35d simulated",
        "instances created",
        "instances terminated",
        "instances alive at end",
        "total cost",
        "POSTPAID_BY_HOUR",
        "PREPAID",
        "SPOTPAID",
        "events",
        &format!("results in {}", out.display()),
    ] {
        assert!(table.contains(needle), "no `{needle}` in:\n{table}");
    }

    // The output budget checked before the run is an upper bound of what the run wrote.
    {
        use fleetsim::scenario::budget::OutputEstimate;
        let f: fleetsim::scenario::schema::ScenarioFile = toml::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml"),
            )
            .unwrap(),
        )
        .unwrap();
        let e = OutputEstimate::new(f.duration.0, f.sample_interval.0, f.zones.len());
        let rows = |file: &str| {
            let text = std::fs::read_to_string(out.join(file)).unwrap();
            text.lines().count() as u64 - 1
        };
        for (file, bound) in [
            ("timeseries.csv", e.timeseries_rows),
            ("quota.csv", e.quota_rows),
            ("costs.csv", e.cost_rows),
            ("costs_accrued.csv", e.accrued_rows),
        ] {
            let n = rows(file);
            assert!(
                0 < n && n <= bound,
                "{file}: {n} rows, estimated at most {bound}"
            );
        }
    }
    let s = read_summary(&out);
    assert_eq!(s["scenario"], "quickstart");
    assert_eq!(u(&s, "seed"), 42);
    assert_eq!(f(&s, "duration_s"), 35.0 * 86_400.0);
    assert!(f(&s, "wall_seconds") > 0.0);
    assert!(f(&s, "events_per_second") > 0.0);
    let created = u(&s, "instances_created");
    assert!(
        table.lines().any(
            |l| l.contains("instances created") && l.trim_end().ends_with(&created.to_string())
        ),
        "{table}"
    );
    let throttled = u(&s, "api_calls_throttled");
    assert!(
        table.lines().any(|l| l.contains("API calls (throttled)")
            && l.trim_end().ends_with(&format!("({throttled})"))),
        "{table}"
    );
    for e in std::fs::read_dir(&base).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!n.contains(".partial-"), "staging folder {n} left behind");
    }
    // Every invariant of a run folder holds (all three charge types, scripted instances).
    let folder = check_run_folder(&out, 3600 * 1000);
    for charge in ["SPOTPAID", "PREPAID", "POSTPAID_BY_HOUR"] {
        assert!(
            folder.instances.iter().any(|r| r.charge == charge),
            "{charge}"
        );
    }
    let api = api_totals(&out);
    let api_calls = |action: &str, outcome: &str| {
        api.get(&(action.to_string(), outcome.to_string()))
            .copied()
            .unwrap_or_default()
    };

    // ---- a quota wall, and zone fallback -------------------------------------------------
    let quota_refusals = code(&s, "LimitExceeded.InstanceQuota");
    assert!(quota_refusals > 0, "no quota refusal: {s}");
    assert_eq!(
        api_calls("RunInstances", "LimitExceeded.InstanceQuota").0,
        quota_refusals
    );
    // quota.csv: the zone's postpaid use reaches its quota and never goes beyond; with the web
    // tier growing, it is first full at the daily peak of day 2 or 3 (as the scenario's
    // comment says; the hourly sample that first reads 500 moves with the run's details).
    let mut r = csv::Reader::from_path(out.join("quota.csv")).expect("quota.csv");
    let (mut peak, mut first_full) = (0u64, None);
    for rec in r.records() {
        let rec = rec.expect("quota.csv record");
        if &rec[1] == QUOTA_ZONE && &rec[2] == "POSTPAID_BY_HOUR" {
            assert_eq!(&rec[5], QUOTA.to_string().as_str(), "{rec:?}");
            let used: u64 = rec[4].parse().expect("used");
            assert!(used <= QUOTA, "over the quota: {rec:?}");
            peak = peak.max(used);
            if used == QUOTA && first_full.is_none() {
                first_full = Some(parse_secs(&rec[0]));
            }
        }
    }
    assert_eq!(peak, QUOTA);
    let first_full = first_full.expect("never full");
    assert!(
        (2 * 86_400_000..4 * 86_400_000).contains(&first_full),
        "first full at {first_full} ms, not on day 2 or 3"
    );
    // Fallback: the web tier's zones have equal weights, and each refusal in ap-guangzhou-3 is
    // made again at once in the next zone, ap-guangzhou-4. So ap-guangzhou-4 holds about
    // `quota_refusals` more web instances than the Shanghai zones, and ap-guangzhou-3 fewer.
    let mut r = csv::Reader::from_path(out.join("instances.csv")).expect("instances.csv");
    let mut web_by_zone: BTreeMap<String, u64> = BTreeMap::new();
    let mut reclaimed: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let (mut csv_created, mut csv_launch_failed) = (0u64, 0u64);
    for rec in r.records() {
        let rec = rec.expect("instances.csv record");
        csv_created += 1;
        // A launch failure: released without ever running, or still LAUNCH_FAILED at the end
        // (the platform removes it an hour after it failed).
        if rec[8].is_empty() && (&rec[10] == "RELEASED" || &rec[10] == "LAUNCH_FAILED") {
            csv_launch_failed += 1;
        }
        if &rec[6] == "workload0" {
            *web_by_zone.entry(rec[1].to_string()).or_default() += 1;
        }
        if &rec[15] == "1" {
            let key = (rec[1].to_string(), rec[2].to_string(), rec[5].to_string());
            *reclaimed.entry(key).or_default() += 1;
        }
    }
    let zone = |z: &str| web_by_zone.get(z).copied().unwrap_or(0) as f64;
    let shanghai = (zone("ap-shanghai-2") + zone("ap-shanghai-4")) / 2.0;
    let extra = zone("ap-guangzhou-4") - shanghai;
    let ratio = extra / quota_refusals as f64;
    assert!(
        (0.8..1.2).contains(&ratio),
        "ap-guangzhou-4 has {extra} more web instances than Shanghai for {quota_refusals} quota refusals: {web_by_zone:?}"
    );
    assert!(zone(QUOTA_ZONE) < shanghai, "{web_by_zone:?}");

    // ---- throttling, backoff, give-ups ----------------------------------------------------
    assert!(throttled > 0, "nothing throttled: {s}");
    assert_eq!(throttled, code(&s, "RequestLimitExceeded"));
    let csv_throttled: u64 = api
        .iter()
        .filter(|((_, o), _)| o == "RequestLimitExceeded")
        .map(|(_, c)| c.0)
        .sum();
    assert_eq!(csv_throttled, throttled);
    let (_, retries, give_ups) = api_calls("RunInstances", "RequestLimitExceeded");
    assert!(retries > 0, "throttled calls are retried (backoff)");
    assert!(
        give_ups > 0,
        "some clients give up after their last attempt"
    );
    assert!(u(&s, "api_give_ups") >= give_ups);
    // Retries get through: more RunInstances retries succeed than are given up.
    assert!(api_calls("RunInstances", "OK").1 > give_ups);

    // ---- a type that sells out -------------------------------------------------------------
    let sold_out = code(&s, "ResourcesSoldOut.SpecifiedInstanceType");
    let insufficient = code(&s, "ResourceInsufficient.SpecifiedInstanceType");
    assert!(sold_out > 0 && insufficient > 0, "{s}");
    assert!(u(&s, "requests_refused") > 0, "{s}");

    // ---- spot reclaims: only where on-demand meets the sold-out spot type -------------------
    let reclaims = u(&s, "spot_reclaims");
    assert!(reclaims > 0, "no spot reclaim: {s}");
    let only = (
        SOLD_OUT_ZONE.to_string(),
        SOLD_OUT_TYPE.to_string(),
        "SPOTPAID".to_string(),
    );
    assert_eq!(reclaimed, BTreeMap::from([(only, reclaims)]));

    // ---- prepaid expiry and renewal -----------------------------------------------------
    let expiries = u(&s, "prepaid_expiries");
    let renewals = u(&s, "prepaid_renewals");
    let by_hand = api_calls("RenewInstances", "OK").0;
    assert!(expiries > 0 && by_hand > 0, "{s}");
    // The workload renews (one instance a call) only instances that expired.
    assert!(
        by_hand <= expiries,
        "{by_hand} renewals by hand, {expiries} expiries"
    );
    // The reserved core renews itself once, at d30, without expiring.
    assert_eq!(renewals, by_hand + AUTO_RENEWED, "{s}");

    // ---- launch failures at the configured rate ---------------------------------------------
    let failed = u(&s, "instances_launch_failed") as f64;
    let expected = LAUNCH_FAILURE_PROBABILITY * created as f64;
    assert!(
        failed > 0.0 && (failed - expected).abs() < 5.0 * expected.sqrt(),
        "{failed} launch failures, expected about {expected:.0}"
    );

    // ---- the findings, in the printed table and at the top of report.html --------------------
    // Each figure recomputed here from the files: quota.csv, api.csv, instances.csv and
    // summary.json.
    let api_sum = |outcome: Option<&str>| -> (u64, u64) {
        api.iter()
            .filter(|((_, o), _)| outcome.is_none_or(|x| x == o))
            .fold((0, 0), |a, (_, c)| (a.0 + c.0, a.1 + c.2))
    };
    let (all_calls, all_give_ups) = api_sum(None);
    let pct = |a: u64, b: u64| format!("{:.2}%", a as f64 * 100.0 / b as f64);
    let secs = first_full / 1000;
    let expected_findings = [
        format!(
            "{QUOTA_ZONE}'s postpaid quota ({QUOTA} instances) was first full at d{} {:02}:{:02}.",
            secs / 86_400,
            secs % 86_400 / 3600,
            secs % 3600 / 60
        ),
        format!(
            "{} RunInstances call(s) were refused for quota (LimitExceeded.InstanceQuota).",
            thousands(api_sum(Some("LimitExceeded.InstanceQuota")).0)
        ),
        format!(
            "{} of {} API calls were throttled ({}); {} call(s) gave up after their last retry.",
            thousands(csv_throttled),
            thousands(all_calls),
            pct(csv_throttled, all_calls),
            thousands(all_give_ups)
        ),
        format!(
            "{} call(s) found their type sold out or short in the zone asked for.",
            thousands(
                api_sum(Some("ResourcesSoldOut.SpecifiedInstanceType")).0
                    + api_sum(Some("ResourceInsufficient.SpecifiedInstanceType")).0
            )
        ),
        format!(
            "{} spot instance(s) were reclaimed.",
            thousands(reclaimed.values().sum())
        ),
        format!(
            "{} prepaid instance(s) expired and {} were renewed.",
            thousands(expiries),
            thousands(renewals)
        ),
        format!(
            "{} of {} launches failed ({}).",
            thousands(csv_launch_failed),
            thousands(csv_created),
            pct(csv_launch_failed, csv_created)
        ),
    ];
    let findings_printed: Vec<&str> = table
        .lines()
        .skip_while(|l| *l != "findings:")
        .skip(1)
        .map_while(|l| l.strip_prefix("  - "))
        .collect();
    assert_eq!(findings_printed, expected_findings, "{table}");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let block = html
        .split("<section id=\"findings\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("a findings section");
    assert!(
        html.find("id=\"findings\"") < html.find("id=\"summary\""),
        "findings come first"
    );
    for line in &expected_findings {
        let escaped = line.replace('&', "&amp;").replace('\'', "&#39;");
        assert!(block.contains(&escaped), "no `{escaped}` in {block}");
    }

    // ---- determinism: a second run writes the same bytes -------------------------------------
    // The first folder is held in memory and removed before the second run (each is about
    // 100 MB on disk).
    let files = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let first = files(&out);
    let first_summary = summary_without_timing(&out);
    drop(folder);
    std::fs::remove_dir_all(&out).unwrap();
    let again = base.join("again");
    run_default(&again);
    let second = files(&again);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&first), names(&second));
    for ((name, a), (_, b)) in first.iter().zip(&second) {
        if name == "summary.json" {
            assert_eq!(first_summary, summary_without_timing(&again));
        } else {
            assert!(a == b, "{name} differs between two runs");
        }
    }
}
