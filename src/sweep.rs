//! `fleetsim sweep` and `fleetsim merge`: R replications of every point of a parameter grid,
//! in parallel, with means and 95% confidence intervals per point; and slices of a sweep
//! (`--shard K/N`) run anywhere and merged into the same files as one run.
//!
//! Job `j` is grid point `j / R`, replication `j % R`; replication `r` always uses the seed
//! derived from the master seed and `r`, so every grid point sees the same demand paths
//! (common random numbers) and a job's result never depends on which thread or shard ran it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::batch::run_jobs;
use crate::engine::RngStreams;
use crate::report::charts;
use crate::report::output::Staging;
use crate::report::summary::Summary;
use crate::report::table::{Shown, Table};
use crate::run::{RunOptions, run};
use crate::scenario::overrides;
use crate::scenario::{parse_scenario, parse_scenario_in};
use crate::stats::estimate;

/// What to sweep.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SweepPlan {
    pub scenario: String,
    pub origin: String,
    /// Each axis: a dotted path and the values it takes (as written).
    pub axes: Vec<(String, Vec<String>)>,
    pub replications: u32,
    pub seed: u64,
}

impl SweepPlan {
    pub fn points(&self) -> usize {
        self.axes
            .iter()
            .map(|(_, v)| v.len())
            .product::<usize>()
            .max(1)
    }
    pub fn jobs(&self) -> usize {
        self.points() * self.replications as usize
    }
    /// The jobs shard `k` of `n` runs (1-based `k`): `j` with `j % n == k - 1`, in order.
    pub fn shard_jobs(&self, k: u32, n: u32) -> Vec<usize> {
        (0..self.jobs())
            .filter(|j| j % n as usize == (k - 1) as usize)
            .collect()
    }
    /// The settings of grid point `p` (the last axis varies fastest).
    pub fn point(&self, mut p: usize) -> Vec<(String, String)> {
        let mut out = vec![(String::new(), String::new()); self.axes.len()];
        for (i, (path, values)) in self.axes.iter().enumerate().rev() {
            out[i] = (path.clone(), values[p % values.len()].clone());
            p /= values.len();
        }
        out
    }
}

/// The metrics a sweep records per run (no wall-clock figures, so results are reproducible).
pub const METRICS: &[&str] = &[
    "events_processed",
    "instances_created",
    "instances_alive_at_end",
    "mean_instances_alive",
    "peak_instances_alive",
    "requests_refused",
    "api_calls_total",
    "api_calls_throttled",
    "api_give_ups",
    "spot_reclaims",
    "cost_total",
    "cost_to_horizon",
];

fn metric_values(s: &Summary) -> Vec<f64> {
    vec![
        s.events_processed as f64,
        s.instances_created as f64,
        s.instances_alive_at_end as f64,
        s.mean_instances_alive,
        s.peak_instances_alive as f64,
        s.requests_refused as f64,
        s.api_calls_total as f64,
        s.api_calls_throttled as f64,
        s.api_give_ups as f64,
        s.spot_reclaims as f64,
        s.cost_total,
        s.cost_to_horizon,
    ]
}

/// One run of the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    pub job: usize,
    pub point: usize,
    pub replication: u32,
    pub seed: u64,
    pub values: Vec<f64>,
}

/// Options of `fleetsim sweep`.
#[derive(Default)]
pub struct SweepOptions {
    pub out: Option<PathBuf>,
    /// `(k, n)`: run only the jobs `j` with `j % n == k - 1`.
    pub shard: Option<(u32, u32)>,
    pub threads: Option<usize>,
    /// Called after each finished job with (done, total).
    pub progress: Option<Box<dyn Fn(usize, usize) + Sync>>,
}

pub struct SweepResult {
    pub plan: SweepPlan,
    pub rows: Vec<SweepRow>,
    pub out_dir: PathBuf,
}

/// The plan of a sweep from scenario text, `--set` axes (which replace the `[sweep]` table's
/// axes of the same path) and overrides.
pub fn plan(
    text: &str,
    origin: &str,
    sets: &[(String, String)],
    replications: Option<u32>,
    seed: Option<u64>,
) -> Result<SweepPlan> {
    let scn = parse_scenario(text, origin)?;
    let mut axes: Vec<(String, Vec<String>)> = Vec::new();
    let section = scn.sweep();
    for (path, values) in section.iter().flat_map(|sw| &sw.axes) {
        let field = format!("sweep.set.{path}");
        let at = scn
            .line_of(&field)
            .map(|l| format!("{origin}:{l}"))
            .unwrap_or_else(|| origin.to_string());
        if values.is_empty() {
            bail!("{at}: `{field}`: an axis needs at least one value");
        }
        check_axis_path(path).map_err(|m| anyhow::anyhow!("{at}: `{field}`: {m}"))?;
        axes.push((path.clone(), values.clone()));
    }
    for (i, (path, list)) in sets.iter().enumerate() {
        if sets[..i].iter().any(|(p, _)| p == path) {
            bail!(
                "--set {path} is given twice; list every value of an axis in one --set \
                 ({path}=A,B,C)"
            );
        }
        check_axis_path(path).map_err(|m| anyhow::anyhow!("--set {path}: {m}"))?;
        let values = overrides::split_values(list);
        if values.iter().any(|v| v.is_empty()) {
            bail!("--set {path}={list}: an empty value");
        }
        axes.retain(|(p, _)| p != path);
        axes.push((path.clone(), values));
    }
    let replications_flag = replications;
    let replications = replications
        .or(section.as_ref().map(|s| s.replications))
        .unwrap_or(1);
    if replications == 0 {
        let line = scn.line_of("sweep.replications");
        match (line, &replications_flag) {
            (Some(l), None) => bail!("{origin}:{l}: `sweep.replications`: must be at least 1"),
            _ => bail!("--replications 0: a sweep needs at least 1 replication per point"),
        }
    }
    let plan = SweepPlan {
        scenario: scn.name.clone(),
        origin: origin.to_string(),
        axes,
        replications,
        seed: seed.unwrap_or(scn.seed),
    };
    // Check every grid point reads before running anything. A point built from the file's
    // `[sweep]` table is blamed on that table's line.
    let table_line = section
        .as_ref()
        .filter(|sw| !sw.axes.is_empty())
        .and_then(|_| scn.line_of("sweep.set"));
    let blame = |settings: &[(String, String)], e: String| match table_line {
        Some(l)
            if settings
                .iter()
                .any(|(p, _)| !sets.iter().any(|(q, _)| q == p)) =>
        {
            anyhow::anyhow!(
                "{origin}:{l}: `sweep.set`: the grid point {} does not read: {e}",
                describe(settings)
            )
        }
        _ => anyhow::anyhow!("{e}"),
    };
    for p in 0..plan.points() {
        let settings = plan.point(p);
        let t = overrides::apply(text, &settings)
            .map_err(|e| blame(&settings, format!("{origin}: --set {e}")))?;
        let dir = crate::scenario::folder_of(Path::new(origin));
        parse_scenario_in(&t, &format!("{origin} with {}", describe(&settings)), &dir)
            .map_err(|e| blame(&settings, e.to_string()))?;
    }
    Ok(plan)
}

/// Refuses axes a sweep cannot mean. `seed`: every job's seed is derived from the master seed
/// and its replication number, never read from the scenario, so a seed axis would give
/// identical points; replications already vary the demand (and `--seed` sets the master seed).
fn check_axis_path(path: &str) -> Result<(), String> {
    if path.trim() == "seed" {
        return Err(
            "a sweep does not vary the seed: replication r runs on a seed derived \
             from the master seed and r at every point; use -r for more demand paths and \
             --seed for another master seed"
                .into(),
        );
    }
    Ok(())
}

fn describe(settings: &[(String, String)]) -> String {
    settings
        .iter()
        .map(|(p, v)| format!("{p}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a sweep (or one shard of it) and writes its folder.
pub fn sweep(text: &str, plan: &SweepPlan, opts: SweepOptions) -> Result<SweepResult> {
    let (k, n) = opts.shard.unwrap_or((1, 1));
    if n == 0 || k == 0 || k > n {
        bail!("--shard {k}/{n}: K must be within 1..=N");
    }
    let target = opts.out.clone().unwrap_or_else(|| {
        let name = if n > 1 {
            format!("{}-sweep-shard{k}of{n}", plan.scenario)
        } else {
            format!("{}-sweep", plan.scenario)
        };
        Path::new("output").join(name)
    });
    let staging = Staging::new(&target)?;
    let jobs = plan.shard_jobs(k, n);
    let texts: Vec<String> = (0..plan.points())
        .map(|p| overrides::apply(text, &plan.point(p)).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let scenarios: Vec<_> = texts
        .iter()
        .map(|t| Ok(parse_scenario(t, &plan.origin)?))
        .collect::<Result<Vec<_>>>()?;
    let fingerprint = crate::fingerprint::of_scenario(text, &plan.origin, &texts)?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = jobs.len();
    // Every run goes through `run_jobs`: the first failing job (in job order) stops the sweep
    // with its error, and nothing is written.
    let work = || -> Result<Vec<SweepRow>> {
        run_jobs(jobs.len(), |i| -> Result<SweepRow> {
            let j = jobs[i];
            let (point, r) = (
                j / plan.replications as usize,
                (j % plan.replications as usize) as u32,
            );
            let seed = RngStreams::replication_seed(plan.seed, r as u64);
            let res = run(
                &scenarios[point],
                RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            )
            .with_context(|| {
                let at = describe(&plan.point(point));
                format!(
                    "sweep job {j} (point {point}{}{at}, replication {r}, seed {seed})",
                    if at.is_empty() { "" } else { ": " }
                )
            })?;
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(f) = &opts.progress {
                f(d, total);
            }
            Ok(SweepRow {
                job: j,
                point,
                replication: r,
                seed,
                values: metric_values(&res.summary),
            })
        })
    };
    let rows = match opts.threads {
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t.max(1))
            .build()
            .context("cannot start the worker threads")?
            .install(work)?,
        None => work()?,
    };
    write_rows(&staging.path("sweep.csv"), plan, &rows)?;
    let manifest = Manifest {
        plan: plan.clone(),
        fingerprint,
        shard: (k, n),
        jobs: rows.iter().map(|r| r.job).collect(),
    };
    std::fs::write(
        staging.path("sweep_manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )
    .context("cannot write sweep_manifest.json")?;
    if n == 1 {
        write_summary(staging.dir(), plan, &rows)?;
    }
    let out_dir = staging.commit()?;
    Ok(SweepResult {
        plan: plan.clone(),
        rows,
        out_dir,
    })
}

/// What a shard ran, so `merge` can check the slices fit together.
#[derive(Serialize, Deserialize)]
struct Manifest {
    plan: SweepPlan,
    /// The content of the scenario and of the files it reads: shards merge only when it agrees.
    fingerprint: crate::fingerprint::Fingerprint,
    shard: (u32, u32),
    jobs: Vec<usize>,
}

/// The files of a sweep folder holding rows (per run, or per grid point and metric).
#[derive(Clone, Copy, Debug, PartialEq)]
enum SweepFile {
    /// `sweep.csv`: one row per run.
    Runs,
    /// `sweep_summary.csv`: one row per grid point and metric.
    Summary,
}

/// The columns of a sweep file, in one place for writing and reading back: the grid point,
/// one column per axis (named by its path), then the file's own.
fn columns(plan: &SweepPlan, file: SweepFile) -> Vec<String> {
    let mut c = vec!["point".to_string()];
    c.extend(plan.axes.iter().map(|(path, _)| path.clone()));
    match file {
        SweepFile::Runs => {
            c.extend(["replication", "seed"].map(String::from));
            c.extend(METRICS.iter().map(|m| m.to_string()));
        }
        SweepFile::Summary => {
            c.extend(["metric", "n", "mean", "sd", "ci_low", "ci_high"].map(String::from));
        }
    }
    c
}

/// Writes rows in job order; numbers in Rust's shortest round-trip form, so reading them back
/// gives the same values bit for bit (what makes merged shards equal an unsharded sweep).
fn write_rows(path: &Path, plan: &SweepPlan, rows: &[SweepRow]) -> Result<()> {
    let mut sorted: Vec<&SweepRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.job);
    let mut t = Table::with_columns(path, &columns(plan, SweepFile::Runs))?;
    for r in sorted {
        let settings: Vec<String> = plan.point(r.point).into_iter().map(|(_, v)| v).collect();
        let values: Vec<Shown<f64>> = r.values.iter().copied().map(Shown).collect();
        t.row(&(r.point, settings, r.replication, r.seed, values))?;
    }
    t.finish()
}

/// `sweep_summary.csv` and the charts: per grid point and metric, mean, sd and 95% CI.
fn write_summary(dir: &Path, plan: &SweepPlan, rows: &[SweepRow]) -> Result<()> {
    let mut t = Table::with_columns(
        &dir.join("sweep_summary.csv"),
        &columns(plan, SweepFile::Summary),
    )?;
    let mut bars = Vec::new();
    let mut alive_bars = Vec::new();
    for p in 0..plan.points() {
        let settings = plan.point(p);
        let label = if settings.is_empty() {
            "all".to_string()
        } else {
            settings
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (m, name) in METRICS.iter().enumerate() {
            let xs: Vec<f64> = rows
                .iter()
                .filter(|r| r.point == p)
                .map(|r| r.values[m])
                .collect();
            let e = estimate(&xs);
            // With one replication no spread can be estimated: sd and the interval are empty.
            let spread = |x: f64| (e.n >= 2).then_some(Shown(x));
            t.row(&(
                p,
                settings.iter().map(|(_, v)| v).collect::<Vec<_>>(),
                name,
                e.n,
                Shown(e.mean),
                spread(e.sd),
                spread(e.ci_low),
                spread(e.ci_high),
            ))?;
            if *name == "cost_to_horizon" {
                bars.push((label.clone(), e.mean, e.ci_low, e.ci_high));
            }
            if *name == "mean_instances_alive" {
                alive_bars.push((label.clone(), e.mean, e.ci_low, e.ci_high));
            }
        }
    }
    t.finish()?;
    let axes = if plan.axes.is_empty() {
        "replications".to_string()
    } else {
        plan.axes
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>()
            .join(" × ")
    };
    let title = |what: &str| {
        format!(
            "{} (seed {}, {} replications): {what} by {axes}",
            plan.scenario, plan.seed, plan.replications
        )
    };
    charts::render_bar_ci(
        dir,
        "sweep_cost",
        &title("cost"),
        "Cost to the horizon, mean and 95% CI",
        &bars,
    )
    .context("cannot draw the sweep chart")?;
    charts::render_bar_ci(
        dir,
        "sweep_alive",
        &title("instances alive"),
        "Time-average instances alive (count), mean and 95% CI",
        &alive_bars,
    )
    .context("cannot draw the sweep chart")?;
    write_report(dir, plan, rows, &axes)
}

/// `report.html` of a sweep: what changed across the grid, a table per grid point, and a
/// chart per metric across the grid (mean and 95% interval per point).
fn write_report(dir: &Path, plan: &SweepPlan, rows: &[SweepRow], axes: &str) -> Result<()> {
    use crate::report::html::{
        StudyChart, StudyPage, StudyPoint, StudyTable, fmt_figure, fmt_interval,
    };
    let label = |p: usize| {
        let settings = plan.point(p);
        if settings.is_empty() {
            "all".to_string()
        } else {
            settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let interval = |e: &crate::stats::Estimate| {
        (e.n >= 2 && e.ci_low.is_finite() && e.ci_high.is_finite()).then_some((e.ci_low, e.ci_high))
    };
    // est[metric][point]
    let est: Vec<Vec<crate::stats::Estimate>> = (0..METRICS.len())
        .map(|m| {
            (0..plan.points())
                .map(|p| {
                    let xs: Vec<f64> = rows
                        .iter()
                        .filter(|r| r.point == p)
                        .map(|r| r.values[m])
                        .collect();
                    estimate(&xs)
                })
                .collect()
        })
        .collect();
    let metric = |name: &str| METRICS.iter().position(|m| *m == name).unwrap_or(0);
    let mut page = StudyPage::new(
        "sweep",
        plan.scenario.clone(),
        format!(
            "A sweep of {} over {axes}: {} grid point(s) × {} replication(s) (master seed {}).",
            plan.origin,
            plan.points(),
            plan.replications,
            plan.seed
        ),
    );
    for (key, name, what) in [
        ("cost", "cost_to_horizon", "cost to the horizon"),
        ("alive", "mean_instances_alive", "time-average fleet"),
        ("refused", "requests_refused", "instances refused"),
        ("throttled", "api_calls_throttled", "throttled calls"),
    ] {
        let es = &est[metric(name)];
        let lo = (0..es.len()).min_by(|&a, &b| es[a].mean.total_cmp(&es[b].mean));
        let hi = (0..es.len()).max_by(|&a, &b| es[a].mean.total_cmp(&es[b].mean));
        let (Some(lo), Some(hi)) = (lo, hi) else {
            continue;
        };
        let text = if plan.points() < 2 || es[lo].mean == es[hi].mean {
            format!(
                "Mean {what}: {} at every grid point.",
                fmt_figure(es[lo].mean)
            )
        } else {
            format!(
                "Mean {what}: from {} at {} to {} at {}.",
                fmt_figure(es[lo].mean),
                label(lo),
                fmt_figure(es[hi].mean),
                label(hi)
            )
        };
        page.findings.push((key.to_string(), text));
    }
    let num = |h: &str| (h.to_string(), true);
    let mut head = vec![num("point")];
    head.extend(plan.axes.iter().map(|(k, _)| (k.clone(), false)));
    head.extend([
        num("runs"),
        num("mean cost to the horizon"),
        num("95% CI"),
        num("mean instances alive"),
        num("instances refused"),
        num("calls throttled"),
    ]);
    let c = metric("cost_to_horizon");
    page.tables.push(StudyTable {
        id: "grid",
        title: "Grid points".into(),
        head,
        rows: (0..plan.points())
            .map(|p| {
                let mut row = vec![p.to_string()];
                row.extend(plan.point(p).into_iter().map(|(_, v)| v));
                row.extend([
                    est[c][p].n.to_string(),
                    fmt_figure(est[c][p].mean),
                    fmt_interval(interval(&est[c][p])),
                    fmt_figure(est[metric("mean_instances_alive")][p].mean),
                    fmt_figure(est[metric("requests_refused")][p].mean),
                    fmt_figure(est[metric("api_calls_throttled")][p].mean),
                ]);
                row
            })
            .collect(),
        note: "Means over the replications of each grid point (sweep_summary.csv).".into(),
    });
    // The headline metrics first, then the others in file order.
    let first = [
        "cost_to_horizon",
        "mean_instances_alive",
        "requests_refused",
        "api_calls_throttled",
    ];
    let mut order: Vec<usize> = first.iter().map(|n| metric(n)).collect();
    order.extend((0..METRICS.len()).filter(|m| !first.contains(&METRICS[*m])));
    for m in order {
        let name = METRICS[m];
        let points: Vec<StudyPoint> = (0..plan.points())
            .map(|p| (label(p), est[m][p].mean, interval(&est[m][p])))
            .collect();
        page.charts.push(StudyChart::new(
            format!("sweep_{name}"),
            format!("{name} by {axes}"),
            format!("Mean {name} at each grid point, with its 95% interval (dashed)."),
            name,
            &points,
            true,
        ));
    }
    page.files = [
        ("sweep.csv", "one row per run"),
        (
            "sweep_summary.csv",
            "per grid point and metric: n, mean, sd, 95% CI",
        ),
        (
            "sweep_manifest.json",
            "the plan, the inputs' fingerprint and the jobs",
        ),
        ("sweep_cost.svg", "chart (vector)"),
        ("sweep_cost.png", "chart (image)"),
        ("sweep_alive.svg", "chart (vector)"),
        ("sweep_alive.png", "chart (image)"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    page.write(dir)
}

/// Reads a shard folder's rows back.
fn read_rows(dir: &Path, plan: &SweepPlan) -> Result<Vec<SweepRow>> {
    let path = dir.join("sweep.csv");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut head = csv::StringRecord::new();
    let read = r
        .read_record(&mut head)
        .with_context(|| format!("{}: line 1", path.display()))?;
    if !read || head.iter().ne(columns(plan, SweepFile::Runs)) {
        bail!("{}: its columns are not this sweep's", path.display());
    }
    let skip = 1 + plan.axes.len();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate().map(|(i, rec)| (i + 1, rec)) {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), i + 1))?;
        let bad = || format!("{}: line {}: not a sweep row", path.display(), i + 1);
        let point: usize = rec.get(0).and_then(|s| s.parse().ok()).with_context(bad)?;
        let replication: u32 = rec
            .get(skip)
            .and_then(|s| s.parse().ok())
            .with_context(bad)?;
        let seed: u64 = rec
            .get(skip + 1)
            .and_then(|s| s.parse().ok())
            .with_context(bad)?;
        let values = (0..METRICS.len())
            .map(|m| rec.get(skip + 2 + m).and_then(|s| s.parse::<f64>().ok()))
            .collect::<Option<Vec<f64>>>()
            .with_context(bad)?;
        rows.push(SweepRow {
            job: point * plan.replications as usize + replication as usize,
            point,
            replication,
            seed,
            values,
        });
    }
    Ok(rows)
}

/// Why two shards' manifests are not of one sweep, naming what differs (`None`: they are).
/// The scenario's path is not compared: the same file under another path is the same sweep.
fn same_sweep(a: &Manifest, b: &Manifest) -> Option<String> {
    if let Some(why) = crate::fingerprint::difference(&a.fingerprint, &b.fingerprint) {
        return Some(why);
    }
    if a.plan.axes != b.plan.axes {
        return Some(format!(
            "the grid differs ({} vs {})",
            axes_text(&a.plan),
            axes_text(&b.plan)
        ));
    }
    if a.plan.replications != b.plan.replications {
        return Some(format!(
            "the replications differ ({} vs {})",
            a.plan.replications, b.plan.replications
        ));
    }
    if a.plan.seed != b.plan.seed {
        return Some(format!(
            "the seed differs ({} vs {})",
            a.plan.seed, b.plan.seed
        ));
    }
    if a.shard.1 != b.shard.1 {
        return Some(format!(
            "it is one of {} shards, not of {}",
            b.shard.1, a.shard.1
        ));
    }
    None
}

fn axes_text(plan: &SweepPlan) -> String {
    if plan.axes.is_empty() {
        return "no axis".into();
    }
    plan.axes
        .iter()
        .map(|(p, v)| format!("{p}={}", v.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Merges shard folders into one sweep folder, identical to an unsharded run's.
pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>) -> Result<SweepResult> {
    if dirs.is_empty() {
        bail!("name the shard folders to merge");
    }
    let mut first: Option<(Manifest, &PathBuf)> = None;
    let mut plan: Option<SweepPlan> = None;
    let mut shards = Vec::new();
    let mut rows = Vec::new();
    for d in dirs {
        let mpath = d.join("sweep_manifest.json");
        let text = std::fs::read_to_string(&mpath).with_context(|| {
            format!(
                "cannot read {} (is {} a sweep shard?)",
                mpath.display(),
                d.display()
            )
        })?;
        let m: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a sweep manifest", mpath.display()))?;
        match &first {
            None => {
                plan = Some(m.plan.clone());
                first = Some((
                    Manifest {
                        plan: m.plan.clone(),
                        fingerprint: m.fingerprint.clone(),
                        shard: m.shard,
                        jobs: Vec::new(),
                    },
                    d,
                ));
            }
            Some((f, fd)) => {
                if let Some(why) = same_sweep(f, &m) {
                    bail!(
                        "{} is not a shard of the same sweep as {}: {why}",
                        d.display(),
                        fd.display()
                    );
                }
            }
        }
        shards.push(m.shard);
        let p = plan.as_ref().expect("set above");
        let got = read_rows(d, p)?;
        let mut want = m.jobs.clone();
        want.sort();
        let mut have: Vec<usize> = got.iter().map(|r| r.job).collect();
        have.sort();
        if want != have {
            bail!(
                "{}: sweep.csv does not hold the jobs its manifest lists",
                d.display()
            );
        }
        rows.extend(got);
    }
    let plan = plan.expect("at least one shard");
    rows.sort_by_key(|r| r.job);
    let jobs: Vec<usize> = rows.iter().map(|r| r.job).collect();
    if let Some(w) = jobs.windows(2).find(|w| w[0] == w[1]) {
        bail!("job {} appears in two shards", w[0]);
    }
    if jobs.len() != plan.jobs() {
        let n = shards.first().map(|s| s.1).unwrap_or(1);
        let mut have: Vec<u32> = shards.iter().map(|s| s.0).collect();
        have.sort();
        bail!(
            "{} of {} jobs present: shards {:?} of {n} given; every shard is needed",
            jobs.len(),
            plan.jobs(),
            have
        );
    }
    let target =
        out.unwrap_or_else(|| Path::new("output").join(format!("{}-sweep", plan.scenario)));
    let staging = Staging::new(&target)?;
    write_rows(&staging.path("sweep.csv"), &plan, &rows)?;
    let manifest = Manifest {
        plan: plan.clone(),
        fingerprint: first.map(|(f, _)| f.fingerprint).unwrap_or_default(),
        shard: (1, 1),
        jobs,
    };
    std::fs::write(
        staging.path("sweep_manifest.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    write_summary(staging.dir(), &plan, &rows)?;
    let out_dir = staging.commit()?;
    Ok(SweepResult {
        plan,
        rows,
        out_dir,
    })
}

/// The closing table of a sweep: cost and instances alive per grid point.
pub fn report(r: &SweepResult) -> String {
    let plan = &r.plan;
    let m_cost = METRICS
        .iter()
        .position(|m| *m == "cost_to_horizon")
        .unwrap_or(0);
    let m_alive = METRICS
        .iter()
        .position(|m| *m == "mean_instances_alive")
        .unwrap_or(0);
    let m_refused = METRICS
        .iter()
        .position(|m| *m == "requests_refused")
        .unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fleetsim sweep: `{}`, {} point(s) × {} replication(s), seed {}",
        plan.scenario,
        plan.points(),
        plan.replications,
        plan.seed
    );
    for p in 0..plan.points() {
        let sel: Vec<&SweepRow> = r.rows.iter().filter(|x| x.point == p).collect();
        if sel.is_empty() {
            continue;
        }
        let est = |m: usize| estimate(&sel.iter().map(|x| x.values[m]).collect::<Vec<_>>());
        let (c, a, f) = (est(m_cost), est(m_alive), est(m_refused));
        let label = describe(&plan.point(p));
        // The half-width of the 95% interval; "n/a" with one replication (no spread known).
        let half = |e: &crate::stats::Estimate, digits: usize| {
            if e.n < 2 {
                "n/a".to_string()
            } else {
                format!("{:.digits$}", (e.ci_high - e.mean).max(0.0))
            }
        };
        let _ = writeln!(
            out,
            "  {:<40} cost {:>12.2} ± {:<10} alive {:>9.1} ± {:<7} refused {:>8.1}",
            if label.is_empty() {
                "(base)".to_string()
            } else {
                label
            },
            c.mean,
            half(&c, 2),
            a.mean,
            half(&a, 1),
            f.mean
        );
    }
    let _ = writeln!(out, "results in {}", r.out_dir.display());
    out
}
