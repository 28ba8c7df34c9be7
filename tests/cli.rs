//! The command line: the printed table, `--quiet`, replacing an output folder, `--help`, and
//! `--trace` narration (the default quickstart run is `tests/quickstart.rs`).

mod common;

use std::collections::{BTreeMap, HashMap};

use common::*;

const TINY: &str = r#"
name = "tiny"
seed = 5
duration = "6h"
instance_types = ["S5.MEDIUM4"]

[cloud]
launch_failure_probability = 0
timings = { pending = { dist = "fixed", value = "67s" }, terminating = { dist = "fixed", value = "9s" } }

[zones.ap-guangzhou-3]
[zones.ap-shanghai-2]

[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 4 }
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
"#;

/// `d<day> hh:mm:ss` or `d<day> hh:mm:ss.mmm` → milliseconds.
fn parse_clock(s: &str) -> Option<u64> {
    let (day, rest) = s.strip_prefix('d')?.split_once(' ')?;
    let day: u64 = day.parse().ok()?;
    let (hms, ms) = match rest.split_once('.') {
        Some((a, b)) if b.len() == 3 => (a, b.parse::<u64>().ok()?),
        Some(_) => return None,
        None => (rest, 0),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let h: u64 = parts[0].parse().ok()?;
    let m: u64 = parts[1].parse().ok()?;
    let sec: u64 = parts[2].parse().ok()?;
    if h >= 24 || m >= 60 || sec >= 60 {
        return None;
    }
    Some(((day * 24 + h) * 60 + m) * 60_000 + sec * 1000 + ms)
}

/// Trace lines: (time in ms, subject, what). The subject is an instance id or `workload #N`.
fn trace_lines(out: &str) -> Vec<(u64, String, String)> {
    out.lines()
        .take_while(|l| !l.starts_with("fleetsim: "))
        .map(|l| {
            let (clock, rest) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("trace line without two spaces: {l}"));
            let t = parse_clock(clock).unwrap_or_else(|| panic!("bad clock `{clock}` in: {l}"));
            if let Some((id, what)) = rest.split_once("  ") {
                assert!(is_instance_id(id), "bad instance id in: {l}");
                (t, id.to_string(), what.to_string())
            } else {
                assert!(rest.starts_with("workload #"), "unexpected line: {l}");
                (t, String::new(), rest.to_string())
            }
        })
        .collect()
}

#[test]
fn trace_narrates_every_state_change_with_the_clock() {
    let dir = fresh_dir("cli-trace");
    let scn = write_file(&dir, "tiny.toml", TINY);
    let out = dir.join("out");
    let o = run_cli([
        "run".as_ref(),
        scn.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--trace".as_ref(),
    ]);
    assert_ok(&o);
    let text = stdout(&o);
    assert!(text.contains("PENDING -> RUNNING"), "{text}");
    assert!(text.contains("RUNNING -> TERMINATING"), "{text}");
    assert!(text.contains("TERMINATING -> released; bill "), "{text}");
    assert!(
        text.contains("calls RunInstances: ok, 1 launched"),
        "{text}"
    );
    assert!(text.contains("calls TerminateInstances: ok"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("d0 0")),
        "no `d0 hh:mm:ss` clock: {text}"
    );
    // The closing table follows the narration.
    assert!(text.contains("fleetsim: scenario `tiny`"), "{text}");

    let lines = trace_lines(&text);
    assert!(lines.len() > 50, "{} trace lines", lines.len());
    assert!(
        lines.windows(2).all(|w| w[0].0 <= w[1].0),
        "trace not in time order"
    );
    assert!(lines.iter().all(|l| l.0 < 6 * 3600 * 1000));

    // Per instance: created, +67 s RUNNING, then TERMINATING, +9 s released, in that order and
    // at those exact times (timings are fixed).
    let mut per: BTreeMap<&str, Vec<(u64, &str)>> = BTreeMap::new();
    for (t, id, what) in &lines {
        if !id.is_empty() {
            per.entry(id.as_str())
                .or_default()
                .push((*t, what.as_str()));
        }
    }
    let rows: HashMap<String, InstanceRow> = read_instances(&out)
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    assert_eq!(per.len(), rows.len(), "every instance is narrated");
    let mut released = 0;
    for (id, ev) in &per {
        let row = &rows[*id];
        assert!(
            ev[0]
                .1
                .starts_with("created as PENDING (S5.MEDIUM4, POSTPAID_BY_HOUR, "),
            "{id}: {ev:?}"
        );
        assert!(ev[0].1.contains(&row.zone), "{id}: {ev:?}");
        assert_eq!(ev[0].0, row.created_ms, "{id}");
        if ev.len() > 1 {
            assert_eq!(ev[1], (ev[0].0 + 67_000, "PENDING -> RUNNING"), "{id}");
            assert_eq!(Some(ev[1].0), row.running_ms, "{id}");
        }
        if ev.len() > 2 {
            assert!(ev[2].1.starts_with("RUNNING -> TERMINATING (the "), "{id}");
            assert!(ev[2].1.ends_with(" CNY)"), "{id}: {ev:?}");
        }
        if ev.len() > 3 {
            assert_eq!(ev[3].0, ev[2].0 + 9_000, "{id}");
            assert_eq!(
                ev[3].1,
                format!("TERMINATING -> released; bill {} CNY", row.cost_text),
                "{id}"
            );
            assert_eq!(Some(ev[3].0), row.released_ms, "{id}");
            released += 1;
        }
        assert!(ev.len() <= 4, "{id}: {ev:?}");
    }
    let s = read_summary(&out);
    assert_eq!(released, u(&s, "instances_terminated"));
    let calls = lines.iter().filter(|l| l.1.is_empty()).count() as u64;
    assert_eq!(calls, u(&s, "api_calls_total"));

    // --trace-instance: only that instance, and no API calls.
    let some_id = per.keys().nth(per.len() / 2).unwrap().to_string();
    let o = run_cli([
        "run".as_ref(),
        scn.as_os_str(),
        "--out".as_ref(),
        dir.join("out2").as_os_str(),
        "--trace-instance".as_ref(),
        some_id.as_ref(),
    ]);
    assert_ok(&o);
    let only = trace_lines(&stdout(&o));
    assert_eq!(only.len(), per[some_id.as_str()].len());
    assert!(only.iter().all(|l| l.1 == some_id), "{only:?}");

    // --trace-zone: only instances of that zone.
    let o = run_cli([
        "run".as_ref(),
        scn.as_os_str(),
        "--out".as_ref(),
        dir.join("out3").as_os_str(),
        "--trace-zone".as_ref(),
        "ap-shanghai-2".as_ref(),
    ]);
    assert_ok(&o);
    let zoned = trace_lines(&stdout(&o));
    assert!(!zoned.is_empty());
    for l in &zoned {
        assert_eq!(rows[&l.1].zone, "ap-shanghai-2", "{l:?}");
    }
    let in_zone = rows.values().filter(|r| r.zone == "ap-shanghai-2").count();
    let created = zoned.iter().filter(|l| l.2.starts_with("created")).count();
    assert_eq!(created, in_zone);
}

#[test]
fn quiet_prints_nothing_and_out_is_replaced_whole() {
    let dir = fresh_dir("cli-quiet");
    let scn = write_file(&dir, "tiny.toml", TINY);
    let out = dir.join("out");
    // An older run's folder (it carries fleetsim's marker), with a file added since.
    let o = run_cli([
        "run".as_ref(),
        scn.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
        "--seed".as_ref(),
        "1".as_ref(),
    ]);
    assert_ok(&o);
    std::fs::write(out.join("stale.txt"), "from an older run").unwrap();
    let o = run_cli([
        "run".as_ref(),
        scn.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_ok(&o);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert!(!out.join("stale.txt").exists(), "old folder not replaced");
    for f in ["instances.csv", "summary.json", "timeseries.csv"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    check_run_folder(&out, 3600 * 1000);
}

#[test]
fn help_and_usage_errors() {
    let o = run_cli(["--help"]);
    assert_ok(&o);
    let h = stdout(&o);
    assert!(h.contains("run") && h.contains("validate"), "{h}");
    let o = run_cli(["run", "--help"]);
    assert_ok(&o);
    let h = stdout(&o);
    for opt in ["--out", "--seed", "--trace", "--quiet"] {
        assert!(h.contains(opt), "`run --help` lacks {opt}:\n{h}");
    }
    // Usage mistakes are clap errors (exit 2), not panics.
    for args in [
        vec!["run", "--seed", "minus-one"],
        vec!["frobnicate"],
        vec!["validate"],
    ] {
        let o = run_cli(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
}

#[test]
fn validate_accepts_the_shipped_quickstart() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.toml");
    let o = run_cli(["validate", path]);
    assert_ok(&o);
    let s = stdout(&o);
    assert!(s.contains("ok"), "{s}");
    assert!(
        s.contains("4 zone(s)") && s.contains("5 workload(s)"),
        "{s}"
    );
    assert!(s.contains("35d simulated"), "{s}");
}

/// `--trace-zone`/`--trace-instance` that match nothing still run, and say so on stderr at the
/// end; one that matches says nothing more.
#[test]
fn trace_filters_naming_nothing_warn() {
    let dir = fresh_dir("cli-trace-warn");
    let scn = write_file(&dir, "tiny.toml", TINY);
    let run = |extra: &[&str]| {
        let out = dir.join("out");
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "run".as_ref(),
            scn.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let o = run_cli(args);
        assert_ok(&o);
        o
    };
    let o = run(&["--trace-zone", "ap-nowhere-9"]);
    let err = stderr(&o);
    assert!(
        err.contains("warning: --trace-zone ap-nowhere-9: the scenario has no such zone"),
        "{err}"
    );
    assert!(stdout(&o).contains("results in"), "the run still reports");
    let o = run(&["--trace-instance", "ins-00000000"]);
    let err = stderr(&o);
    assert!(
        err.contains("warning: --trace-instance ins-00000000: no event of this run matched"),
        "{err}"
    );
    // The first instance of the run: narrated, no warning.
    let o = run(&["--trace"]);
    let id = stdout(&o)
        .split_whitespace()
        .find(|w| w.starts_with("ins-"))
        .expect("an instance id")
        .to_string();
    let o = run(&["--trace-instance", &id]);
    assert!(stdout(&o).contains(&id));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

/// A relative file given through `--set` is read from the scenario's folder, not from the
/// current folder nor from the scenario's display name (which carries the `--set` list, and
/// so a `/` of the new value).
#[test]
fn set_file_is_read_from_the_scenario_folder() {
    let dir = fresh_dir("cli-set-file");
    let scen = dir.join("scen");
    std::fs::create_dir_all(scen.join("data")).unwrap();
    // The scenario names one trace; `--set` swaps in another, in a subfolder of the scenario's.
    write_file(
        &scen,
        "one.csv",
        "create_s,lifetime_s,kind\n0,3600,S5.MEDIUM4\n",
    );
    write_file(
        &scen.join("data"),
        "three.csv",
        "create_s,lifetime_s,kind\n0,3600,S5.MEDIUM4\n60,3600,S5.MEDIUM4\n120,3600,S5.MEDIUM4\n",
    );
    let scn = write_file(
        &scen,
        "t.toml",
        r#"name = "t"
duration = "2h"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
[api]
preset = "unlimited"
[[traces]]
name = "vms"
file = "one.csv"
columns = { created = "create_s", lifetime = "lifetime_s", instance_type = "kind" }
time_offset = 0
"#,
    );
    // Run from a folder that holds no `data/three.csv`.
    let run = |args: &[&str]| {
        fleetsim()
            .current_dir(&*dir)
            .args(args)
            .output()
            .expect("cannot start fleetsim")
    };
    let out = dir.join("out");
    let o = run(&[
        "run",
        "scen/t.toml",
        "--set",
        "traces.0.file=data/three.csv",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_ok(&o);
    assert_eq!(u(&read_summary(&out), "instances_created"), 3);
    // The same through `validate`-like checks of a sweep's grid points and its runs.
    let out = dir.join("sweep");
    let o = run(&[
        "sweep",
        scn.to_str().unwrap(),
        "--set",
        "traces.0.file=one.csv,data/three.csv",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_ok(&o);
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "instances_created")
        .unwrap();
    let created: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col).unwrap())
        .collect();
    assert_eq!(created, ["1", "3"], "{csv}");
}
