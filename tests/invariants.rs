//! Invariants of a run folder on a scenario that exercises every charge type, quotas, stock, a
//! type not offered, launch failures and the prepaid recycle bin; and the limits the control
//! plane must enforce, checked at every instant from `instances.csv`.

mod common;

use std::path::Path;

use common::*;
use fleetsim::run::{RunOptions, run};

/// Three days, two zones, three charge types. In ap-guangzhou-3 the postpaid, prepaid and spot
/// quotas and the S5.LARGE8 stock are all below demand, so each is hit; SA2.2XLARGE16 is not
/// sold in ap-shanghai-2; 5% of launches fail.
const MIXED: &str = r#"
name = "mixed"
seed = 7
duration = "3d"
sample_interval = "30m"
instance_types = ["S5.MEDIUM4", "S5.LARGE8", "SA2.2XLARGE16"]

[cloud]
launch_failure_probability = 0.05

[zones.ap-guangzhou-3]
quota = { postpaid = 40, prepaid = 10, prepaid_once = 2, spot_cores = 64 }
stock = { "S5.LARGE8" = 15 }

[zones.ap-shanghai-2]
not_offered = ["SA2.2XLARGE16"]

[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 30 }
lifetime = { dist = "lognormal", median = "1h", sigma = 1.2 }
types = { "S5.MEDIUM4" = 3, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 2, ap-shanghai-2 = 1 }

[[workloads]]
name = "batch"
charge_type = "SPOTPAID"
arrival = { process = "poisson", rate_per_hour = 4 }
lifetime = { dist = "exponential", mean = "3h" }
types = { "SA2.2XLARGE16" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
instances_per_request = 3

[[workloads]]
name = "base"
charge_type = "PREPAID"
period_months = 1
arrival = { process = "poisson", rate_per_hour = 1 }
lifetime = { dist = "weibull", shape = 0.8, scale = "12h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
placement = "round_robin"
instances_per_request = 2
"#;

const GZ3: &str = "ap-guangzhou-3";

fn run_into(text: &str, dir: &Path) -> fleetsim::run::RunResult {
    run(
        &scenario(text),
        RunOptions {
            out: Some(dir.to_path_buf()),
            seed: None,
            trace: None,
            write_files: true,
        },
    )
    .expect("run failed")
}

#[test]
fn mixed_run_folder_is_consistent() {
    let base = fresh_dir("invariants-mixed");
    let out = base.join("run");
    let res = run_into(MIXED, &out);
    assert_eq!(res.out_dir.as_deref(), Some(out.as_path()));
    let folder = check_run_folder(&out, 30 * 60 * 1000);
    let s = &folder.summary;
    let rows = &folder.instances;

    // The in-memory summary is the one written.
    let mut written = summary_without_timing(&out);
    let mut mem = serde_json::to_value(res.summary.without_timing()).unwrap();
    mem.as_object_mut().unwrap().remove("wall_seconds");
    mem.as_object_mut().unwrap().remove("events_per_second");
    written.as_object_mut().unwrap().remove("wall_seconds");
    assert_eq!(written, mem);

    // The scenario really exercised what it is meant to.
    assert_eq!(s["scenario"], "mixed");
    assert_eq!(u(s, "seed"), 7);
    assert_eq!(f(s, "duration_s"), 3.0 * 86_400.0);
    for c in ["PREPAID", "POSTPAID_BY_HOUR", "SPOTPAID"] {
        assert!(rows.iter().any(|r| r.charge == c), "no {c} instance");
        assert!(
            s["cost_by_charge_type"][c].as_f64().unwrap() > 0.0,
            "{c} cost nothing"
        );
    }
    let codes = s["api_errors_by_code"].as_object().unwrap();
    for code in [
        "LimitExceeded.InstanceQuota",
        "LimitExceeded.PrepayQuota",
        "LimitExceeded.SpotQuota",
        "ResourceUnavailable.InstanceType",
    ] {
        assert!(
            codes.get(code).and_then(|v| v.as_u64()).unwrap_or(0) > 0,
            "expected some {code} refusals: {codes:?}"
        );
    }
    // Only RunInstances refusals: the workloads never make a call the state machine refuses
    // (terminating an instance that is booting, busy or already gone).
    for code in codes.keys() {
        assert!(
            code.starts_with("LimitExceeded.")
                || code.starts_with("ResourceInsufficient")
                || code.starts_with("ResourcesSoldOut")
                || code == "ResourceUnavailable.InstanceType",
            "unexpected error code {code}: {codes:?}"
        );
    }
    assert!(u(s, "requests_refused") > 0);
    assert_eq!(u(s, "api_calls_throttled"), 0);

    // Launch failures: binomial(created, 0.05); ±6 standard deviations.
    let created = u(s, "instances_created") as f64;
    let failed = u(s, "instances_launch_failed") as f64;
    let sd = (created * 0.05 * 0.95).sqrt();
    assert!(
        (failed - 0.05 * created).abs() < 6.0 * sd,
        "{failed} launch failures out of {created}"
    );
    // A failed launch is never billed by the hour; postpaid/spot ones cost nothing.
    for r in rows.iter().filter(|r| r.running_ms.is_none()) {
        if r.charge != "PREPAID" {
            assert_eq!(r.cost_text, "0.000000", "never ran but billed: {r:?}");
        }
    }
    // Prepaid instances pay their month up front and get back what they did not consume when
    // ended early: every one that ran costs more than zero and at most the month's price,
    // except the one the account's five-day full refund (one a year) gave everything back.
    let prepaid: Vec<f64> = rows
        .iter()
        .filter(|r| r.charge == "PREPAID" && r.running_ms.is_some())
        .map(|r| r.cost)
        .collect();
    assert!(!prepaid.is_empty());
    let month = prepaid.iter().copied().fold(0.0, f64::max);
    assert!(prepaid.iter().all(|&c| c >= 0.0 && c <= month));
    assert!(prepaid.iter().filter(|&&c| c == 0.0).count() <= 1);

    // Nothing of a type not sold in a zone; every instance's zone, type and owner is one the
    // scenario allows for its charge type.
    for r in rows {
        assert!(r.zone == GZ3 || r.zone == "ap-shanghai-2", "{r:?}");
        let (owner, types): (&str, &[&str]) = match r.charge.as_str() {
            "POSTPAID_BY_HOUR" => ("workload0", &["S5.MEDIUM4", "S5.LARGE8"]),
            "SPOTPAID" => ("workload1", &["SA2.2XLARGE16"]),
            _ => ("workload2", &["S5.LARGE8"]),
        };
        assert_eq!(r.owner, owner, "{r:?}");
        assert!(types.contains(&r.itype.as_str()), "{r:?}");
        assert!(
            !(r.zone == "ap-shanghai-2" && r.itype == "SA2.2XLARGE16"),
            "instance of a type not offered: {r:?}"
        );
    }
}

/// Quotas and stock hold at every instant. An instance holds its quota and stock from creation
/// to release, except a failed launch, which gives both back when it fails (so only instances
/// that reached RUNNING are counted: a lower bound on what is held, which must stay within the
/// limit).
#[test]
fn quotas_and_stock_are_never_exceeded() {
    let base = fresh_dir("invariants-limits");
    let out = base.join("run");
    run_into(MIXED, &out);
    let folder = check_run_folder(&out, 30 * 60 * 1000);
    let rows = &folder.instances;
    let held = |pred: &dyn Fn(&InstanceRow) -> bool, weight: &dyn Fn(&InstanceRow) -> u64| {
        max_overlap(
            rows.iter()
                .filter(|r| r.zone == GZ3 && r.running_ms.is_some() && pred(r))
                .map(|r| (r.created_ms, r.released_ms.unwrap_or(u64::MAX), weight(r))),
            true,
        )
    };
    let postpaid = held(&|r| r.charge == "POSTPAID_BY_HOUR", &|_| 1);
    // Prepaid quota counts the month's purchases (the run is shorter than a month).
    let prepaid = rows
        .iter()
        .filter(|r| r.zone == GZ3 && r.charge == "PREPAID")
        .count() as u64;
    let spot_cores = held(&|r| r.charge == "SPOTPAID", &|r| r.vcpus);
    let large8 = held(&|r| r.itype == "S5.LARGE8", &|_| 1);
    assert!(postpaid <= 40, "postpaid quota 40 exceeded: {postpaid}");
    assert!(prepaid <= 10, "prepaid quota 10 exceeded: {prepaid}");
    assert!(
        spot_cores <= 64,
        "spot core quota 64 exceeded: {spot_cores}"
    );
    assert!(large8 <= 15, "S5.LARGE8 stock 15 exceeded: {large8}");
    // ...and the limits are reached, so the checks above are not vacuous.
    assert!(postpaid >= 35, "postpaid peak only {postpaid}");
    assert!(spot_cores >= 48, "spot peak only {spot_cores} cores");
    assert!(prepaid >= 8, "prepaid peak only {prepaid}");

    // The same limits as sampled in timeseries.csv: states that hold quota, excluding the
    // ones a failed launch passes through.
    let mut at: std::collections::BTreeMap<(u64, &str), (u64, u64)> = Default::default();
    for r in &folder.samples {
        if r.zone != GZ3 || r.state == "LAUNCH_FAILED" || r.state == "TERMINATING" {
            continue;
        }
        let e = at.entry((r.time_ms, r.charge.as_str())).or_default();
        e.0 += r.instances;
        e.1 += r.vcpus;
    }
    for (&(t, c), &(n, cores)) in &at {
        match c {
            "POSTPAID_BY_HOUR" => assert!(n <= 40, "t={t}: {n} postpaid"),
            "PREPAID" => assert!(n <= 10, "t={t}: {n} prepaid"),
            _ => assert!(cores <= 64, "t={t}: {cores} spot cores"),
        }
    }
}

/// A prepaid instance whose workload is done goes through the recycle bin (SHUTDOWN) and is
/// destroyed; the per-instance and timeseries outputs of a run with nothing but prepaid
/// instances are consistent too, and no row is left in SHUTDOWN for longer than an instant.
#[test]
fn prepaid_only_run_is_consistent() {
    let text = r#"
name = "prepaid"
seed = 5
duration = "4d"
sample_interval = "7h"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.02
[zones.ap-shanghai-4]
[[workloads]]
name = "base"
charge_type = "PREPAID"
period_months = 12
arrival = { process = "poisson", rate_per_hour = 3 }
lifetime = { dist = "exponential", mean = "10h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-shanghai-4 = 1 }
instances_per_request = 2
"#;
    let base = fresh_dir("invariants-prepaid");
    let out = base.join("run");
    run_into(text, &out);
    // 4 days is not a multiple of 7 h: the last sample is at the horizon, off the grid.
    let folder = check_run_folder(&out, 7 * 3600 * 1000);
    assert!(
        folder
            .samples
            .iter()
            .any(|r| r.time_ms == 4 * 86_400 * 1000),
        "no sample at the horizon"
    );
    assert!(folder.samples.iter().all(|r| r.state != "SHUTDOWN"));
    assert!(u(&folder.summary, "instances_terminated") > 100);
}
