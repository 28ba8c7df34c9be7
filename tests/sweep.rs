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
