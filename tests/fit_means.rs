//! `fleetsim fit` keeps a trace's mean lifetime: the mean of the fitted lifetime law is the
//! trace's Kaplan–Meier mean (VMs alive at the end censored there, the mass the estimate leaves
//! above its last step at the longest time seen) within 1% overall and 5% per instance type.
//! The truth is computed here from the CSV with a Kaplan–Meier estimate of its own.
//!
//! Traces: the one-day Azure 2017 sample in `tests/fixtures` (binned lifetimes, written as an
//! exact step law), a synthetic heavy-tailed trace (Pareto lifetimes in whole seconds, too many
//! distinct values for a step law: the quantile-grid path), and the full Azure 2017 trace when
//! it is present beside the repository (`../shared/data/azure2017/azure2017_vms.csv`, or the
//! file named by `AZURE2017_VMS`); without it that case is skipped with a note.

use std::path::{Path, PathBuf};

use fleetsim::engine::Dist;
use fleetsim::workload::fit::{FitOptions, azure2017_columns, fit};

const TYPES: &[&str] = &[
    "S5.SMALL1",
    "S5.SMALL2",
    "S5.MEDIUM4",
    "S5.LARGE8",
    "S5.2XLARGE16",
    "S5.4XLARGE32",
    "M5.LARGE32",
];

/// Restricted mean of a Kaplan–Meier estimate: the area under the survival curve up to the
/// longest time observed. `obs`: (time, finished).
fn km_mean(obs: &mut [(f64, bool)]) -> f64 {
    obs.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let n = obs.len();
    let mut surv = 1.0;
    let mut area = 0.0;
    let mut last_t = 0.0;
    let mut i = 0;
    let mut at_risk = n as f64;
    while i < n {
        let t = obs[i].0;
        area += surv * (t - last_t);
        last_t = t;
        let (mut d, mut c) = (0.0, 0.0);
        while i < n && obs[i].0 == t {
            if obs[i].1 {
                d += 1.0
            } else {
                c += 1.0
            }
            i += 1;
        }
        if at_risk > 0.0 {
            surv *= 1.0 - d / at_risk;
        }
        at_risk -= d + c;
    }
    area
}

/// Fits `path` (Azure 2017 columns, `end` in seconds) and checks the means. Returns
/// (overall relative error, largest per-type relative error).
fn check(path: &Path, end_s: f64, tol_all: f64, tol_type: f64) -> (f64, f64) {
    let types: Vec<String> = TYPES.iter().map(|t| t.to_string()).collect();
    let mut opts = FitOptions::new(path, azure2017_columns(), &types).expect("options");
    opts.end = Some(end_s);
    let fitted = fit(&opts).expect("fit");

    // The truth, from the CSV.
    let mut r = csv::Reader::from_path(path).expect("trace");
    let mut all = Vec::new();
    let mut by_type = vec![Vec::new(); TYPES.len()];
    for rec in r.records() {
        let rec = rec.expect("row");
        let created: f64 = rec[2].parse().expect("create_s");
        let o = match rec[3].parse::<f64>() {
            Ok(l) => (l, true),
            Err(_) => (end_s - created, false),
        };
        let t = opts.spec.sizes.map(
            rec[4].parse().expect("vcpus"),
            rec[5].parse().expect("memory"),
        );
        all.push(o);
        by_type[t.0 as usize].push(o);
    }
    let fitted_mean = |pts: &[(f64, u64)]| {
        Dist::Quantiles {
            points: pts.iter().map(|&(p, t)| (p, t as f64 / 1000.0)).collect(),
        }
        .mean()
        .expect("mean")
    };
    let want = km_mean(&mut all);
    let got = fitted_mean(&fitted.lifetime);
    let err_all = (got - want).abs() / want;
    assert!(
        err_all < tol_all,
        "{}: fitted mean lifetime {got:.0} s, trace's {want:.0} s ({:+.2}%)",
        path.display(),
        100.0 * (got / want - 1.0)
    );
    let mut worst = 0.0f64;
    for (t, obs) in by_type.iter_mut().enumerate() {
        let Some(Some(pts)) = fitted.lifetime_by_type.get(t) else {
            continue;
        };
        let want = km_mean(obs);
        let got = fitted_mean(pts);
        let err = (got - want).abs() / want;
        assert!(
            err < tol_type,
            "{}: {}: fitted mean lifetime {got:.0} s, trace's {want:.0} s ({:+.2}%)",
            path.display(),
            TYPES[t],
            100.0 * (got / want - 1.0)
        );
        worst = worst.max(err);
    }
    eprintln!(
        "{}: mean lifetime error {:.3}% overall, {:.3}% worst type",
        path.file_name().unwrap_or_default().to_string_lossy(),
        100.0 * err_all,
        100.0 * worst
    );
    (err_all, worst)
}

#[test]
fn the_azure_sample_keeps_its_mean_lifetime() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/azure2017_sample.csv");
    check(&fixture, 2_591_400.0, 0.01, 0.05);
}

/// 40,000 VMs over three days, lifetimes Pareto (shape 1.2, from 60 s, so a heavy tail with a
/// finite mean) in whole seconds, capped at 60 days; the observation ends a day after the last
/// creation, so long-lived VMs are censored. Two sizes with different tails.
#[test]
fn a_heavy_tailed_trace_keeps_its_mean_lifetime() {
    let dir = tempdir();
    let path = dir.0.join("heavy.csv");
    let mut s = String::from("vm_id,batch,create_s,lifetime_s,vcpus,memory_gb\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let end = 4.0 * 86_400.0;
    for i in 0..40_000u64 {
        let created = (i as f64 * 3.0 * 86_400.0 / 40_000.0).floor();
        let big = i % 3 == 0;
        let shape = if big { 1.1 } else { 1.4 };
        let life = (60.0 / uniform().powf(1.0 / shape))
            .min(60.0 * 86_400.0)
            .round();
        let (c, mem) = if big { (8, "32") } else { (1, "1.75") };
        if created + life <= end {
            s += &format!("{i},{i},{created},{life},{c},{mem}\n");
        } else {
            s += &format!("{i},{i},{created},,{c},{mem}\n");
        }
    }
    std::fs::write(&path, s).expect("write");
    check(&path, end, 0.01, 0.05);
}

#[test]
fn the_full_azure_trace_keeps_its_mean_lifetime() {
    let path = std::env::var_os("AZURE2017_VMS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/azure2017/azure2017_vms.csv")
        });
    if !path.exists() {
        eprintln!("skipped: {} is not there", path.display());
        return;
    }
    // The trace's own end: its last creation or deletion (30 days after its start).
    let mut end: f64 = 0.0;
    let mut r = csv::Reader::from_path(&path).expect("trace");
    for rec in r.records() {
        let rec = rec.expect("row");
        let c: f64 = rec[2].parse().expect("create_s");
        let l: f64 = rec[3].parse().unwrap_or(0.0);
        end = end.max(c + l);
    }
    check(&path, end, 0.01, 0.05);
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn tempdir() -> TempDir {
    let p = std::env::temp_dir().join(format!(
        "fleetsim-fit-means-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&p).expect("temp dir");
    TempDir(p)
}
