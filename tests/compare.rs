//! `fleetsim compare`: every strategy sees the same demand (common random numbers), the output
//! files hold what the README says, and the paired differences are consistent.

use std::path::Path;
use std::process::Command;

use fleetsim::compare::{apply, breakeven, strategies};
use fleetsim::engine::RngStreams;
use fleetsim::run::build_world;
use fleetsim::scenario::parse_scenario;

const SCN: &str = r#"
name = "cmp"
seed = 3
duration = "6d"
instance_types = ["SA2.MEDIUM4", "SA2.LARGE8"]
[cloud]
spot_market = { min = 0.05, max = 0.2, mean = 0.1, volatility = 0.01, reversion = 0.1, step = "1h" }
[zones.ap-guangzhou-3]
stock = { "SA2.LARGE8" = 40 }
[zones.ap-guangzhou-4]
[[workloads]]
name = "service"
arrival = { process = "poisson", rate_per_hour = 1 }
lifetime = { dist = "lognormal", median = "3d", sigma = 0.5 }
types = { "SA2.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }
[[workloads]]
name = "batch"
arrival = { process = "poisson", rate_per_hour = 10, burst = { on_mean = "2h", off_mean = "10h", factor = 3 } }
lifetime = { dist = "exponential", mean = "3h" }
types = { "SA2.MEDIUM4" = 2, "SA2.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }
[compare]
replications = 3
[[compare.strategies]]
name = "postpaid"
charge_type = "POSTPAID_BY_HOUR"
[[compare.strategies]]
name = "prepaid"
charge_type = "PREPAID"
[[compare.strategies]]
name = "spot-fallback"
charge_type = "SPOTPAID"
fallback = "POSTPAID_BY_HOUR"
[[compare.strategies]]
name = "base-p50"
base_percentile = 50
"#;

#[test]
fn every_strategy_sees_the_same_demand() {
    let scn = parse_scenario(SCN, "cmp.toml").expect("valid");
    let sts = strategies(&scn).expect("strategies");
    for r in 0..2u64 {
        let seed = RngStreams::replication_seed(scn.seed, r);
        let mut logs = Vec::new();
        for st in &sts {
            let s = apply(&scn, st);
            let (mut world, mut sched) = build_world(&s, seed);
            world.demand_log = Some(Vec::new());
            sched.run(&mut world).unwrap();
            // Arrival times, zones, types and lifetimes; the charge type is the strategy's.
            let log: Vec<_> = world
                .demand_log
                .take()
                .expect("kept")
                .into_iter()
                .map(|(w, d)| (w, d.requested, d.zone, d.itype, d.lifetimes))
                .collect();
            assert!(log.len() > 100, "{}: only {} requests", st.name, log.len());
            logs.push((st.name.clone(), log));
        }
        for (name, log) in &logs[1..] {
            assert_eq!(
                log, &logs[0].1,
                "{name} saw other demand than {}",
                logs[0].0
            );
        }
    }
}

#[test]
fn compare_writes_its_tables() {
    let base =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("compare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("dir");
    let file = base.join("cmp.toml");
    std::fs::write(&file, SCN).expect("write");
    let out = base.join("out");
    let res = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args([
            "compare",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("run");
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(
        stdout.contains("spot-fallback") && stdout.contains("95% CI"),
        "{stdout}"
    );
    let rows = std::fs::read_to_string(out.join("compare.csv")).expect("compare.csv");
    assert_eq!(
        rows.lines().count(),
        1 + 4 * 3,
        "header + strategies × replications"
    );
    let summary = std::fs::read_to_string(out.join("compare_summary.csv")).expect("summary");
    let mut first_mean = None;
    for line in summary.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().expect("number");
        let (mean, lo, hi, diff) = (num(2), num(4), num(5), num(6));
        assert_eq!(f[1], "3");
        assert!(lo <= mean && mean <= hi, "{line}");
        let first = *first_mean.get_or_insert(mean);
        // The paired difference's mean is the difference of the means.
        assert!(
            (diff - (mean - first)).abs() < 1e-6 * mean.abs().max(1.0),
            "{line}"
        );
    }
    // Spot is a fraction of the postpaid price: the spot strategy is the cheapest.
    let mean_of = |name: &str| -> f64 {
        let l = summary
            .lines()
            .find(|l| l.starts_with(&format!("{name},")))
            .expect(name);
        l.split(',').nth(2).unwrap().parse().unwrap()
    };
    assert!(mean_of("spot-fallback") < mean_of("postpaid"));
    let be = std::fs::read_to_string(out.join("breakeven.csv")).expect("breakeven.csv");
    assert_eq!(be.lines().count(), 3, "one row per instance type");
    assert!(out.join("compare_cost.svg").exists() && out.join("compare_cost.png").exists());
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn breakeven_matches_hand_computation() {
    // The rule: break-even is the first whole hour at which the postpaid cost of those hours
    // reaches the prepaid price. Untiered, postpaid 1.00/h, prepaid month 511.00 (the
    // illustrative ratio), no discount for one month (SA2 is not S5): at 510 h postpaid is 510.00 < 511.00, at 511 h
    // it is 511.00 = 511.00, so 511 whole hours, 511/720 of the month.
    let text = SCN.replace(
        "[compare]",
        "[prices.\"SA2.MEDIUM4\"]\npostpaid_hourly = 1.0\nprepaid_monthly = 511.0\ntiered = false\n[compare]",
    );
    let scn = parse_scenario(&text, "cmp.toml").expect("valid");
    let b = breakeven(&scn);
    let m = b
        .iter()
        .find(|x| x.instance_type == "SA2.MEDIUM4")
        .expect("row");
    assert_eq!(m.utilisation_1m, Some(511.0 / 720.0));
    // Continuous use for L hours: with the refund, prepaid costs min(paid 511, L × 1.00) in the
    // first month, the same as postpaid until L × 1.00 reaches 511 at L = 511 h.
    assert_eq!(m.lifetime_hours_1m, Some(511.0));
    // 12 months of a family other than S5 at the published 83%: 12 × 511 × 0.83 = 5089.56 →
    // postpaid reaches it at 5090 h of 8640.
    assert_eq!(m.utilisation_12m, Some(5090.0 / 8640.0));
}

#[test]
fn breakeven_of_the_illustrative_catalogue_is_511_hours() {
    // By hand from the illustrative rates (SA2: 0.05 per vCPU-hour, 0.025 per GiB-hour,
    // untiered; a prepaid month is 511 postpaid hours): SA2.MEDIUM4 (2 vCPUs, 4 GiB) costs
    // 0.20/h postpaid and 102.20 a prepaid month; 510 h cost 102.00 < 102.20 and 511 h cost
    // 102.20, so the break-even is 511 h. SA2.LARGE8: 0.40/h, 204.40, 204.00 < 204.40 at 510 h.
    let scn = parse_scenario(SCN, "cmp.toml").expect("valid");
    let b = breakeven(&scn);
    for (name, hourly, monthly) in [("SA2.MEDIUM4", 0.20, 102.20), ("SA2.LARGE8", 0.40, 204.40)] {
        let m = b.iter().find(|x| x.instance_type == name).expect(name);
        assert!((m.postpaid_hourly - hourly).abs() < 1e-9, "{m:?}");
        assert!((m.prepaid_monthly - monthly).abs() < 1e-9, "{m:?}");
        assert_eq!(m.lifetime_hours_1m, Some(511.0), "{m:?}");
        assert_eq!(m.utilisation_1m, Some(511.0 / 720.0), "{m:?}");
    }
}

#[test]
fn a_price_file_replaces_the_illustrative_catalogue() {
    let base =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prices-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("dir");
    std::fs::write(
        base.join("my-prices.csv"),
        "# our negotiated prices\ninstance_type,postpaid_hourly,prepaid_monthly,tiered\n\
         SA2.MEDIUM4,0.25,120,false\nSA2.LARGE8,0.5,,true\nS9.HUGE64,9,9,false\n",
    )
    .expect("write prices");
    let text = SCN.replace(
        "instance_types =",
        "prices_file = \"my-prices.csv\"\ninstance_types =",
    );
    let origin = base.join("cmp.toml");
    let scn = parse_scenario(&text, origin.to_str().unwrap()).expect("valid");
    let p = &scn.catalog.prices;
    assert_eq!(
        (p[0].postpaid_hourly, p[0].prepaid_monthly, p[0].tiered),
        (250_000, 120_000_000, false)
    );
    assert_eq!((p[1].postpaid_hourly, p[1].tiered), (500_000, true));
    // A broken file is reported with its line.
    std::fs::write(
        base.join("bad.csv"),
        "instance_type,postpaid_hourly\nSA2.MEDIUM4,-1\n",
    )
    .unwrap();
    let bad = SCN.replace(
        "instance_types =",
        "prices_file = \"bad.csv\"\ninstance_types =",
    );
    let err = parse_scenario(&bad, origin.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("prices_file") && err.contains("bad.csv`:2"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// A temp folder of its own for one test.
fn temp(name: &str) -> std::path::PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("compare-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn fleetsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .output()
        .expect("run fleetsim")
}

/// A trace replay and a `[compare]` section; `{strategies}` is filled in per test.
fn trace_scenario(strategies: &str) -> String {
    format!(
        r#"
name = "trace-cmp"
seed = 1
duration = "2d"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
[[traces]]
name = "vms"
file = "vms.csv"
columns = {{ created = "create_s", lifetime = "lifetime_s", instance_type = "kind" }}
time_offset = 0
[compare]
replications = 2
{strategies}
"#
    )
}

const TWO_STRATEGIES: &str = r#"
[[compare.strategies]]
name = "postpaid"
charge_type = "POSTPAID_BY_HOUR"
[[compare.strategies]]
name = "prepaid"
charge_type = "PREPAID"
"#;

#[test]
fn compare_stops_at_an_unsorted_trace_line() {
    let d = temp("unsorted");
    // Line 5 goes back in time; the replay reads it on day 1, long after the first runs began.
    std::fs::write(
        d.join("vms.csv"),
        "create_s,lifetime_s,kind\n0,3600,S5.MEDIUM4\n600,7200,S5.MEDIUM4\n90000,3600,S5.MEDIUM4\n80000,3600,S5.MEDIUM4\n",
    )
    .unwrap();
    let file = d.join("t.toml");
    std::fs::write(&file, trace_scenario(TWO_STRATEGIES)).unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "compare",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "compare passed a broken trace: {err}");
    assert!(err.contains("vms.csv:5"), "no line number: {err}");
    assert!(err.contains("must be sorted"), "{err}");
    // The first job in order (strategy 0, replication 0) is the one named, at any thread count.
    assert!(err.contains("strategy `postpaid`, replication 0"), "{err}");
    assert!(!out.exists(), "a failed compare wrote {}", out.display());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn compare_applies_strategies_to_trace_replays() {
    let d = temp("trace-apply");
    std::fs::write(
        d.join("vms.csv"),
        "create_s,lifetime_s,kind\n0,86400,S5.MEDIUM4\n600,7200,S5.MEDIUM4\n3600,,S5.MEDIUM4\n",
    )
    .unwrap();
    let file = d.join("t.toml");
    std::fs::write(&file, trace_scenario(TWO_STRATEGIES)).unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "compare",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let col = |name: &str| {
        rows.lines()
            .next()
            .unwrap()
            .split(',')
            .position(|c| c == name)
    };
    let (prepaid, postpaid) = (col("cost_prepaid").unwrap(), col("cost_postpaid").unwrap());
    for line in rows.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap();
        match f[0] {
            "postpaid" => assert!(num(prepaid) == 0.0 && num(postpaid) > 0.0, "{line}"),
            "prepaid" => assert!(num(prepaid) > 0.0 && num(postpaid) == 0.0, "{line}"),
            other => panic!("strategy {other}"),
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Runs `compare` (and `validate`, which must agree) on a scenario that should be refused, and
/// returns compare's message.
fn refused(name: &str, text: &str, extra: &[&str], want: &[&str]) {
    let d = temp(name);
    std::fs::write(
        d.join("vms.csv"),
        "create_s,lifetime_s,kind\n0,60,S5.MEDIUM4\n",
    )
    .unwrap();
    let file = d.join("c.toml");
    std::fs::write(&file, text).unwrap();
    let out = d.join("out");
    let mut args = vec![
        "compare",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = fleetsim(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{name}: accepted");
    assert!(!err.contains("panicked"), "{name}: {err}");
    for w in want {
        assert!(err.contains(w), "{name}: `{w}` not in {err}");
    }
    assert!(!out.exists(), "{name}: wrote output");
    if extra.is_empty() {
        let v = fleetsim(&["validate", file.to_str().unwrap()]);
        let verr = String::from_utf8_lossy(&v.stderr);
        assert!(!v.status.success(), "{name}: validate accepted it");
        for w in want {
            assert!(verr.contains(w), "{name}: validate: `{w}` not in {verr}");
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn compare_refuses_what_it_cannot_mean() {
    refused("r0", SCN, &["-r", "0"], &["--replications 0", "at least 1"]);
    refused(
        "reps0",
        &SCN.replace("replications = 3", "replications = 0"),
        &[],
        &["c.toml:24:", "compare.replications"],
    );
    refused(
        "dup",
        &SCN.replace("name = \"prepaid\"", "name = \"postpaid\""),
        &[],
        &[
            "c.toml:29:",
            "compare.strategies[1].name",
            "`postpaid` is also the name of strategy 0",
        ],
    );
    refused(
        "period-on-postpaid",
        &SCN.replace(
            "name = \"postpaid\"\ncharge_type = \"POSTPAID_BY_HOUR\"",
            "name = \"postpaid\"\ncharge_type = \"POSTPAID_BY_HOUR\"\nperiod_months = 12",
        ),
        &[],
        &[
            "c.toml:28:",
            "compare.strategies[0].period_months",
            "buys nothing PREPAID",
        ],
    );
    refused(
        "unknown-workload",
        &SCN.replace(
            "name = \"prepaid\"",
            "name = \"prepaid\"\nworkloads = [\"nope\"]",
        ),
        &[],
        &["compare.strategies[1].workloads", "`nope`"],
    );
    refused(
        "base-on-trace",
        &trace_scenario("[[compare.strategies]]\nname = \"base\"\nbase_percentile = 50\n"),
        &[],
        &["trace replay `vms`", "prepaid base"],
    );
}

#[test]
fn one_replication_shows_no_interval() {
    let d = temp("one-rep");
    let file = d.join("cmp.toml");
    std::fs::write(&file, SCN).unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "compare",
        file.to_str().unwrap(),
        "-r",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.matches("n/a (1 replication)").count(), 4, "{stdout}");
    assert!(!stdout.contains("± 0"), "{stdout}");
    let summary = std::fs::read_to_string(out.join("compare_summary.csv")).unwrap();
    for line in summary.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[1], "1", "{line}");
        assert!(
            f[2].parse::<f64>().unwrap() > 0.0,
            "the mean is there: {line}"
        );
        // sd, ci_low, ci_high, then the difference's interval: empty.
        assert_eq!([f[3], f[4], f[5], f[7], f[8]], [""; 5], "{line}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Strategy names are free text: a comma or a quote in one stays inside its cell, and every
/// file that names strategies reads back, with the csv crate, as the names written.
#[test]
fn strategy_names_with_commas_and_quotes_stay_one_cell() {
    let d = temp("quoted-names");
    let file = d.join("cmp.toml");
    let text = SCN
        .replace(
            "name = \"postpaid\"",
            "name = 'postpaid, then \"more\" postpaid'",
        )
        .replace("name = \"spot-fallback\"", "name = 'spot,fallback'");
    std::fs::write(&file, &text).unwrap();
    let out = d.join("out");
    let o = fleetsim(&[
        "compare",
        file.to_str().unwrap(),
        "-r",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = [
        "postpaid, then \"more\" postpaid",
        "prepaid",
        "spot,fallback",
        "base-p50",
    ];
    let read = |name: &str| -> (csv::StringRecord, Vec<csv::StringRecord>) {
        let mut r = csv::Reader::from_path(out.join(name)).expect(name);
        let head = r.headers().expect("header").clone();
        let rows: Vec<_> = r.records().map(|x| x.expect("a valid record")).collect();
        for row in &rows {
            assert_eq!(row.len(), head.len(), "{name}: {row:?}");
        }
        (head, rows)
    };
    let (head, rows) = read("compare_summary.csv");
    assert_eq!(head.len(), 12, "{head:?}");
    let names: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(names, want);
    for r in &rows {
        assert_eq!(&r[1], "2");
        let mean: f64 = r[2].parse().expect("cost_mean is a number");
        assert!(mean > 0.0, "{r:?}");
    }
    let (head, rows) = read("compare.csv");
    assert_eq!(&head[0], "strategy");
    let names: Vec<&str> = rows.iter().map(|r| &r[0]).step_by(2).collect();
    assert_eq!(names, want);
    let _ = std::fs::remove_dir_all(&d);
}
