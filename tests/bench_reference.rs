//! `scenarios/bench-reference.toml` is the model of the hand-written reference program
//! (`benches/reference.rs`): run through the CLI at a small size, fleetsim agrees with the
//! model's exact expectations (computed by the reference) on instances created and the
//! time-average number alive, and its instances keep the model's PENDING bounds, zones and types.
//! The speed comparison (`benches/compare-reference.sh`) is meaningful only while this holds.

mod common;

#[path = "../benches/reference.rs"]
#[allow(dead_code)]
mod reference;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

#[test]
fn fleetsim_runs_the_reference_model() {
    let (rate, hours) = (500.0, 72.0);
    let dir = fresh_dir("bench-reference");
    let out = dir.join("out");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench-reference.toml");
    let o = run_cli([
        "run".as_ref(),
        scenario.as_os_str(),
        "-q".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--set".as_ref(),
        format!("workloads.0.arrival.rate_per_hour={rate}").as_ref(),
        "--set".as_ref(),
        format!("duration={hours}h").as_ref(),
    ]);
    assert_ok(&o);
    let s = read_summary(&out);
    let e = reference::expected(rate, hours);

    let created = u(&s, "instances_created") as f64;
    let z_created = (created - e.instances_created) / e.sd_instances_created;
    assert!(z_created.abs() < 4.0, "created z = {z_created}: {s} {e:?}");
    let mean = f(&s, "mean_instances_alive");
    let z_mean = (mean - e.mean_instances_alive) / e.sd_mean_instances_alive;
    assert!(z_mean.abs() < 4.0, "mean alive z = {z_mean}: {s} {e:?}");

    // Nothing in the way: no failures, refusals or throttling.
    for key in [
        "instances_launch_failed",
        "requests_refused",
        "api_calls_throttled",
        "spot_reclaims",
    ] {
        assert_eq!(u(&s, key), 0, "{key}: {s}");
    }

    let rows = std::fs::read_to_string(out.join("instances.csv")).expect("instances.csv");
    let mut lines = rows.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (zone, itype, created_s, running_s) = (
        col("zone"),
        col("instance_type"),
        col("created_s"),
        col("running_s"),
    );
    let (mut zones, mut types) = (BTreeSet::new(), BTreeSet::new());
    for line in lines {
        let v: Vec<&str> = line.split(',').collect();
        zones.insert(v[zone].to_string());
        types.insert(v[itype].to_string());
        if !v[running_s].is_empty() {
            let pending = parse_secs(v[running_s]) - parse_secs(v[created_s]);
            assert!(
                (30_000..=90_000).contains(&pending),
                "PENDING {pending} ms: {line}"
            );
        }
    }
    assert_eq!(zones.len(), 4, "{zones:?}");
    assert_eq!(types.len(), 3, "{types:?}");
}
