//! `fleetsim sweep` and `merge`: results do not depend on threads or shards, and the
//! confidence intervals cover a value known from queueing theory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// M/G/∞: Poisson arrivals at 30/h, exponential lifetimes of mean 2 h, no limits, fixed 1 s
/// terminating: the mean number in the fleet is λ·(E[L] + 1 s) = 30 × (2 h + 1 s) / h ≈ 60.008.
const SCN: &str = r#"
name = "mginf"
seed = 5
duration = "20d"
sample_interval = "1d"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0
timings = { pending = { dist = "fixed", value = "1s" }, terminating = { dist = "fixed", value = "1s" } }
[api]
preset = "unlimited"
[zones.ap-guangzhou-3]
[zones.ap-guangzhou-4]
[[workloads]]
name = "w"
arrival = { process = "poisson", rate_per_hour = 30 }
lifetime = { dist = "exponential", mean = "2h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }
[sweep]
replications = 16
"#;

fn dir(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn fleetsim(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .output()
        .expect("run fleetsim");
    assert!(
        out.status.success(),
        "fleetsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn threads_and_shards_do_not_change_results() {
    let base = dir("same");
    let scn = base.join("mginf.toml");
    std::fs::write(&scn, SCN).expect("write scenario");
    let s = scn.to_str().expect("utf-8");
    // 2 grid points × 16 replications = 32 runs.
    let set = "--set=workloads.0.lifetime.mean=2h,3h";
    let all = base.join("all");
    let one = base.join("one");
    fleetsim(&["sweep", s, set, "-q", "--out", all.to_str().unwrap()]);
    fleetsim(&[
        "sweep",
        s,
        set,
        "-q",
        "-j",
        "1",
        "--out",
        one.to_str().unwrap(),
    ]);
    let mut shards = Vec::new();
    for k in 1..=4 {
        let d = base.join(format!("shard{k}"));
        fleetsim(&[
            "sweep",
            s,
            set,
            "-q",
            "--shard",
            &format!("{k}/4"),
            "--out",
            d.to_str().unwrap(),
        ]);
        shards.push(d);
    }
    let merged = base.join("merged");
    let mut args = vec!["merge", "-q", "--out", merged.to_str().unwrap()];
    // Out of order on purpose.
    for d in shards.iter().rev() {
        args.push(d.to_str().unwrap());
    }
    fleetsim(&args);
    let reference = read(&all.join("sweep.csv"));
    assert_eq!(reference.lines().count(), 33, "header + 32 runs");
    assert_eq!(
        reference,
        read(&one.join("sweep.csv")),
        "1 thread vs all threads"
    );
    assert_eq!(
        reference,
        read(&merged.join("sweep.csv")),
        "4 shards merged"
    );
    assert_eq!(
        read(&all.join("sweep_summary.csv")),
        read(&merged.join("sweep_summary.csv"))
    );
    // A missing shard is an error, not a silently smaller sweep.
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args([
            "merge",
            shards[0].to_str().unwrap(),
            shards[1].to_str().unwrap(),
        ])
        .args(["--out", base.join("partial").to_str().unwrap()])
        .output()
        .expect("run fleetsim");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("every shard is needed"));
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn confidence_interval_covers_the_mginf_mean() {
    let base = dir("ci");
    let scn = base.join("mginf.toml");
    std::fs::write(&scn, SCN).expect("write scenario");
    let out = base.join("out");
    fleetsim(&[
        "sweep",
        scn.to_str().unwrap(),
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary = read(&out.join("sweep_summary.csv"));
    let row = summary
        .lines()
        .find(|l| l.contains(",mean_instances_alive,"))
        .expect("mean_instances_alive row");
    let f: Vec<f64> = row.split(',').skip(3).map(|x| x.parse().unwrap()).collect();
    let (mean, lo, hi) = (f[0], f[2], f[3]);
    // λ (E[L] + terminating) with λ = 30/h, E[L] = 2 h, terminating 1 s.
    let want = 30.0 * (2.0 + 1.0 / 3600.0);
    assert!(
        lo <= want && want <= hi,
        "95% CI [{lo}, {hi}] (mean {mean}) misses {want}"
    );
    assert!(
        hi - lo < 6.0,
        "interval too wide to mean anything: [{lo}, {hi}]"
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// Runs fleetsim and returns (success, stderr).
fn fleetsim_result(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .output()
        .expect("run fleetsim");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small scenario that reads a lifetime file (an input whose content the sweep depends on).
const SMALL: &str = r#"name = "small"
seed = 2
duration = "2d"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
[[workloads]]
name = "w"
arrival = { process = "poisson", rate_per_hour = 5 }
lifetime = { dist = "empirical", file = "lives.txt" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
"#;

#[test]
fn sweep_stops_at_an_unsorted_trace_line() {
    let base = dir("unsorted");
    std::fs::write(
        base.join("vms.csv"),
        "create_s,lifetime_s,kind\n0,3600,S5.MEDIUM4\n600,7200,S5.MEDIUM4\n90000,3600,S5.MEDIUM4\n80000,3600,S5.MEDIUM4\n",
    )
    .unwrap();
    let scn = base.join("t.toml");
    std::fs::write(
        &scn,
        r#"name = "t"
duration = "2d"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
[[traces]]
name = "vms"
file = "vms.csv"
columns = { created = "create_s", lifetime = "lifetime_s", instance_type = "kind" }
time_offset = 0
"#,
    )
    .unwrap();
    let out = base.join("out");
    let (ok, err) = fleetsim_result(&[
        "sweep",
        scn.to_str().unwrap(),
        "--set",
        "duration=2d,3d",
        "-r",
        "3",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok, "sweep passed a broken trace");
    assert!(err.contains("vms.csv:5"), "no line number: {err}");
    assert!(err.contains("must be sorted"), "{err}");
    // The lowest job is the one reported, whichever thread finished first.
    assert!(err.contains("sweep job 0 (point 0: duration=2d"), "{err}");
    assert!(!out.exists(), "a failed sweep wrote {}", out.display());
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn sweep_refuses_what_it_cannot_mean() {
    let base = dir("refuse");
    std::fs::write(base.join("lives.txt"), "3600\n7200\n").unwrap();
    let check = |name: &str, text: &str, extra: &[&str], want: &[&str]| {
        let scn = base.join(format!("{name}.toml"));
        std::fs::write(&scn, text).unwrap();
        let out = base.join(format!("{name}-out"));
        let mut args = vec![
            "sweep",
            scn.to_str().unwrap(),
            "-q",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (ok, err) = fleetsim_result(&args);
        assert!(!ok, "{name}: accepted");
        assert!(!err.contains("panicked"), "{name}: {err}");
        for w in want {
            assert!(err.contains(w), "{name}: `{w}` not in {err}");
        }
        assert!(!out.exists(), "{name}: wrote output");
        if extra.is_empty() {
            let (ok, verr) = fleetsim_result(&["validate", scn.to_str().unwrap()]);
            assert!(!ok, "{name}: validate accepted it");
            for w in want {
                assert!(verr.contains(w), "{name}: validate: `{w}` not in {verr}");
            }
        }
    };
    // An empty axis used to panic (a remainder by zero).
    check(
        "empty-axis",
        &format!(
            "{SMALL}[sweep]\nreplications = 2\nset = {{ \"workloads.0.arrival.rate_per_hour\" = [] }}\n"
        ),
        &[],
        &[
            "empty-axis.toml:14:",
            "sweep.set.workloads.0.arrival.rate_per_hour",
            "at least one value",
        ],
    );
    check(
        "zero-reps",
        &format!("{SMALL}[sweep]\nreplications = 0\n"),
        &[],
        &["zero-reps.toml:13:", "sweep.replications", "at least 1"],
    );
    check(
        "seed-axis",
        &format!("{SMALL}[sweep]\nset = {{ seed = [1, 2] }}\n"),
        &[],
        &["sweep.set.seed", "does not vary the seed"],
    );
    check("r0", SMALL, &["-r", "0"], &["--replications 0"]);
    check(
        "twice",
        SMALL,
        &["--set", "duration=1d", "--set", "duration=2d,3d"],
        &["--set duration is given twice"],
    );
    check(
        "seed-set",
        SMALL,
        &["--set", "seed=1,2"],
        &["--set seed", "does not vary the seed"],
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn merge_knows_a_sweep_by_its_content() {
    let base = dir("content");
    let (a, b) = (base.join("a"), base.join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("lives.txt"), "3600\n7200\n").unwrap();
    }
    // The same scenario and input under two paths.
    std::fs::write(a.join("one.toml"), SMALL).unwrap();
    std::fs::write(b.join("two.toml"), SMALL).unwrap();
    let shard = |scn: &Path, k: u32, tag: &str, extra: &[&str]| -> PathBuf {
        let out = base.join(format!("shard{k}-{tag}"));
        let mut args = vec![
            "sweep",
            scn.to_str().unwrap(),
            "-q",
            "--set",
            "workloads.0.arrival.rate_per_hour=5,10",
            "--out",
            out.to_str().unwrap(),
        ];
        let s = format!("{k}/2");
        args.extend(["--shard", s.as_str()]);
        if !extra.contains(&"-r") {
            args.extend(["-r", "2"]);
        }
        args.extend_from_slice(extra);
        fleetsim(&args);
        out
    };
    let merge = |x: &Path, y: &Path| {
        let out = base.join("merged");
        let _ = std::fs::remove_dir_all(&out);
        fleetsim_result(&[
            "merge",
            "-q",
            x.to_str().unwrap(),
            y.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let s1 = shard(&a.join("one.toml"), 1, "a", &[]);
    let s2 = shard(&b.join("two.toml"), 2, "b", &[]);
    let (ok, err) = merge(&s1, &s2);
    assert!(
        ok,
        "the same scenario under another path was refused: {err}"
    );
    // Another seed, another replication count: named.
    let seeded = shard(&b.join("two.toml"), 2, "seed", &["--seed", "9"]);
    let (ok, err) = merge(&s1, &seeded);
    assert!(!ok && err.contains("the seed differs (2 vs 9)"), "{err}");
    let reps = shard(&b.join("two.toml"), 2, "reps", &["-r", "3"]);
    let (ok, err) = merge(&s1, &reps);
    assert!(
        !ok && err.contains("the replications differ (2 vs 3)"),
        "{err}"
    );
    let grid = shard(&b.join("two.toml"), 2, "grid", &["--set", "duration=1d"]);
    let (ok, err) = merge(&s1, &grid);
    assert!(!ok && err.contains("the grid differs"), "{err}");
    // The input file edited: named.
    std::fs::write(b.join("lives.txt"), "3600\n7201\n").unwrap();
    let edited_input = shard(&b.join("two.toml"), 2, "input", &[]);
    let (ok, err) = merge(&s1, &edited_input);
    assert!(
        !ok && err.contains("the input file `lives.txt` differs"),
        "{err}"
    );
    std::fs::write(b.join("lives.txt"), "3600\n7200\n").unwrap();
    // The scenario text edited (a comment is enough: the text is what is hashed).
    std::fs::write(b.join("two.toml"), format!("# edited\n{SMALL}")).unwrap();
    let edited = shard(&b.join("two.toml"), 2, "text", &[]);
    let (ok, err) = merge(&s1, &edited);
    assert!(!ok && err.contains("the scenario text differs"), "{err}");
    assert!(
        !base.join("merged").exists(),
        "a refused merge wrote output"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_shard_counts_its_own_jobs() {
    let plan = fleetsim::sweep::plan(SCN, "mginf.toml", &[], Some(7), None).unwrap();
    // 7 jobs over 3 shards: 0,3,6 / 1,4 / 2,5.
    assert_eq!(plan.shard_jobs(1, 3), [0, 3, 6]);
    assert_eq!(plan.shard_jobs(2, 3), [1, 4]);
    assert_eq!(plan.shard_jobs(3, 3), [2, 5]);
    // The progress callback (what the bar shows) is told the shard's 2 jobs, not the grid's 7.
    let base = dir("bar");
    let totals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = totals.clone();
    let small = SCN.replace("duration = \"20d\"", "duration = \"1d\"");
    let plan = fleetsim::sweep::plan(&small, "mginf.toml", &[], Some(7), None).unwrap();
    fleetsim::sweep::sweep(
        &small,
        &plan,
        fleetsim::sweep::SweepOptions {
            out: Some(base.join("out")),
            shard: Some((2, 3)),
            threads: Some(1),
            progress: Some(Box::new(move |done, total| {
                seen.lock().unwrap().push((done, total))
            })),
        },
    )
    .unwrap();
    assert_eq!(*totals.lock().unwrap(), [(1, 2), (2, 2)]);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn one_replication_shows_no_interval() {
    let base = dir("one-rep");
    let scn = base.join("m.toml");
    std::fs::write(&scn, SCN.replace("duration = \"20d\"", "duration = \"1d\"")).unwrap();
    let out = base.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args([
            "sweep",
            scn.to_str().unwrap(),
            "-r",
            "1",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("run fleetsim");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("± n/a") && !stdout.contains("± 0"),
        "{stdout}"
    );
    let summary = read(&out.join("sweep_summary.csv"));
    assert!(summary.lines().count() > 1);
    for line in summary.lines().skip(1) {
        // point,metric,n,mean,sd,ci_low,ci_high: the last three empty.
        assert!(line.ends_with(",,,") && line.contains(",1,"), "{line}");
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// An axis path with quotes and a value with a comma and quotes stay one cell each: the files
/// read back with the csv crate as written, and shards holding them merge into the same files
/// as an unsharded sweep (merge reads `sweep.csv` back and checks its columns).
#[test]
fn quoted_paths_and_values_stay_one_cell() {
    let base = dir("quoted");
    let scn = base.join("q.toml");
    let text = SCN
        .replace("duration = \"20d\"", "duration = \"2d\"")
        .replace(
            "replications = 16",
            "replications = 2\nset = { \"workloads.0.name\" = [\"web, \\\"blue\\\"\", \"batch\"], \
         'prices.\"S5.MEDIUM4\".postpaid_hourly' = [0.5, 0.25] }",
        );
    std::fs::write(&scn, text).expect("write scenario");
    let s = scn.to_str().expect("utf-8");
    let all = base.join("all");
    fleetsim(&["sweep", s, "-q", "--out", all.to_str().unwrap()]);
    let mut shards = Vec::new();
    for k in 1..=2 {
        let d = base.join(format!("shard{k}"));
        let shard = format!("{k}/2");
        fleetsim(&[
            "sweep",
            s,
            "-q",
            "--shard",
            &shard,
            "--out",
            d.to_str().unwrap(),
        ]);
        shards.push(d);
    }
    let merged = base.join("merged");
    fleetsim(&[
        "merge",
        "-q",
        "--out",
        merged.to_str().unwrap(),
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
    ]);
    for f in ["sweep.csv", "sweep_summary.csv"] {
        assert_eq!(read(&all.join(f)), read(&merged.join(f)), "{f}");
        let mut r = csv::Reader::from_path(all.join(f)).expect(f);
        let head = r.headers().expect("header").clone();
        assert_eq!(
            head.iter().take(3).collect::<Vec<_>>(),
            [
                "point",
                "prices.\"S5.MEDIUM4\".postpaid_hourly",
                "workloads.0.name"
            ],
            "{f}"
        );
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.expect("a record")).collect();
        assert!(rows.iter().all(|x| x.len() == head.len()), "{f}");
        assert!(rows[0][2].contains("web, \"blue\""), "{f}: {:?}", &rows[0]);
        assert_eq!(&rows[0][1], "0.5", "{f}");
    }
    let _ = std::fs::remove_dir_all(&base);
}
