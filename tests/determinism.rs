//! Determinism and common random numbers: the same scenario and seed give byte-identical files,
//! whatever else differs (output folder, --trace, writing files or not); another seed gives
//! another run; and a workload's demand does not depend on anything but its own streams.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

const SCN: &str = r#"
name = "det"
seed = 11
duration = "2d"
sample_interval = "20m"
instance_types = ["S5.MEDIUM4", "S5.LARGE8", "SA2.MEDIUM4"]

[cloud]
launch_failure_probability = 0.03

[zones.ap-guangzhou-3]
quota = { postpaid = 15 }
[zones.ap-shanghai-2]

[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 20 }
lifetime = { dist = "lognormal", median = "1h", sigma = 1.0 }
types = { "S5.MEDIUM4" = 3, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }

[[workloads]]
name = "batch"
charge_type = "SPOTPAID"
arrival = { process = "poisson", rate_per_hour = 3 }
lifetime = { dist = "exponential", mean = "2h" }
types = { "SA2.MEDIUM4" = 1 }
zones = { ap-shanghai-2 = 1 }
instances_per_request = 3

[[workloads]]
name = "base"
charge_type = "PREPAID"
arrival = { process = "poisson", rate_per_hour = 0.5 }
lifetime = { dist = "weibull", shape = 1.5, scale = "10h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
placement = "round_robin"
"#;

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

fn cli_run(scn: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run".to_string(),
        scn.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = run_cli(&args);
    assert_ok(&o);
    o
}

#[test]
fn same_seed_same_files_other_seed_other_run() {
    let base = fresh_dir("determinism-cli");
    let scn = write_file(&base, "det.toml", SCN);
    let (a, b, c, d) = (
        base.join("a"),
        base.join("nested/b"),
        base.join("c"),
        base.join("d"),
    );
    cli_run(&scn, &a, &["--seed", "99", "--quiet"]);
    cli_run(&scn, &b, &["--seed", "99", "--quiet"]);
    // --trace narrates; it must not change the run.
    let traced = cli_run(&scn, &c, &["--seed", "99", "--trace"]);
    assert!(stdout(&traced).lines().count() > 100);
    cli_run(&scn, &d, &["--seed", "100", "--quiet"]);

    for other in [&b, &c] {
        for file in ["timeseries.csv", "instances.csv"] {
            assert!(
                read(&a, file) == read(other, file),
                "{file} differs between {} and {}",
                a.display(),
                other.display()
            );
        }
        assert_eq!(summary_without_timing(&a), summary_without_timing(other));
    }
    // The checks above are not vacuous.
    let folder = check_run_folder(&a, 20 * 60 * 1000);
    assert!(folder.instances.len() > 500);
    assert_eq!(u(&folder.summary, "seed"), 99);
    assert!(u(&folder.summary, "requests_refused") > 0);
    assert!(u(&folder.summary, "instances_launch_failed") > 0);

    // Another seed: another sample path.
    assert_ne!(read(&a, "instances.csv"), read(&d, "instances.csv"));
    assert_ne!(read(&a, "timeseries.csv"), read(&d, "timeseries.csv"));
    assert_eq!(u(&read_summary(&d), "seed"), 100);
    check_run_folder(&d, 20 * 60 * 1000);

    // Without --seed the scenario's seed (11) is used, and it differs from 99.
    let e = base.join("e");
    cli_run(&scn, &e, &["--quiet"]);
    assert_eq!(u(&read_summary(&e), "seed"), 11);
    assert_ne!(read(&a, "instances.csv"), read(&e, "instances.csv"));
}

/// The library run without files computes the same summary as the command line with files.
#[test]
fn writing_files_does_not_change_the_run() {
    let base = fresh_dir("determinism-nofiles");
    let scn_path = write_file(&base, "det.toml", SCN);
    let out = base.join("out");
    cli_run(&scn_path, &out, &["--quiet"]);
    let res = fleetsim::run::run(
        &scenario(SCN),
        fleetsim::run::RunOptions {
            out: None,
            seed: None,
            trace: None,
            write_files: false,
        },
    )
    .unwrap();
    let mut mem = serde_json::to_value(res.summary).unwrap();
    let obj = mem.as_object_mut().unwrap();
    obj.remove("wall_seconds");
    obj.remove("events_per_second");
    assert_eq!(mem, summary_without_timing(&out));
}

/// (created_ms, zone, type) of the instances a given owner asked for, in creation order.
fn demand(dir: &Path, owner: &str) -> Vec<(u64, String, String)> {
    let mut v: Vec<_> = read_instances(dir)
        .into_iter()
        .filter(|r| r.owner == owner)
        .map(|r| (r.created_ms, r.zone, r.itype))
        .collect();
    v.sort();
    v
}

/// Common random numbers: each workload draws from its own named streams, so its requests
/// (times, zones, types) do not move when the control plane answers differently (launch
/// failures, quota refusals) or when another workload is added. This is what makes two
/// strategies comparable on the same demand.
#[test]
fn demand_does_not_depend_on_the_control_plane_or_other_workloads() {
    let base = fresh_dir("determinism-crn");
    let only_web = r#"
name = "crn"
seed = 3
duration = "2d"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]
[cloud]
launch_failure_probability = 0
[zones.ap-guangzhou-3]
[zones.ap-shanghai-2]
[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 20 }
lifetime = { dist = "exponential", mean = "2h" }
types = { "S5.MEDIUM4" = 1, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
"#;
    let failing = only_web.replace(
        "launch_failure_probability = 0",
        "launch_failure_probability = 0.3",
    );
    let limited = only_web.replace(
        "[zones.ap-guangzhou-3]",
        "[zones.ap-guangzhou-3]\nquota = { postpaid = 10 }",
    );
    let two = format!(
        "{only_web}\n{}",
        r#"
[[workloads]]
name = "other"
arrival = { process = "poisson", rate_per_hour = 7 }
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1 }
"#
    );
    let mut runs = BTreeMap::new();
    for (name, text) in [
        ("plain", only_web.to_string()),
        ("failing", failing),
        ("limited", limited),
        ("two", two),
    ] {
        let p = write_file(&base, &format!("{name}.toml"), &text);
        let out = base.join(name);
        cli_run(&p, &out, &["--quiet"]);
        runs.insert(name, demand(&out, "workload0"));
    }
    let plain = &runs["plain"];
    assert!(plain.len() > 500);
    assert_eq!(&runs["failing"], plain, "launch failures moved the demand");
    assert_eq!(&runs["two"], plain, "another workload moved the demand");
    // With a quota, some requests are refused: what is created is a strict subset.
    let limited = &runs["limited"];
    assert!(limited.len() < plain.len(), "the quota was never hit");
    let all: std::collections::HashSet<_> = plain.iter().collect();
    for r in limited {
        assert!(all.contains(r), "request {r:?} is not in the unlimited run");
    }
}
