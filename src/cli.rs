//! What the command line prints, kept out of `main.rs` so it can be tested.

pub mod fit;

use std::path::{Path, PathBuf};

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{SimTime, format_duration};
use crate::run::{RunOptions, RunResult, run, run_with_progress};
use crate::scenario::{Scenario, ScenarioError, load_file, quickstart};

/// The scenario at `path`, or the embedded quickstart.
pub fn load_scenario(path: Option<&Path>) -> Result<Scenario, ScenarioError> {
    match path {
        Some(p) => load_file(p),
        None => Ok(quickstart()),
    }
}

/// The scenario at `path` (or the quickstart) with `--set PATH=VALUE` changes applied.
pub fn load_scenario_with(path: Option<&Path>, sets: &[String]) -> anyhow::Result<Scenario> {
    if sets.is_empty() {
        return Ok(load_scenario(path)?);
    }
    // The origin names the scenario in messages; its files are read from `dir`, the scenario
    // file's folder (the current folder for the embedded quickstart).
    let (text, origin, dir) = match path {
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("{}: cannot read the scenario: {e}", p.display()))?,
            p.display().to_string(),
            crate::scenario::folder_of(p),
        ),
        None => (
            crate::scenario::QUICKSTART.to_string(),
            crate::scenario::QUICKSTART_NAME.to_string(),
            std::path::PathBuf::new(),
        ),
    };
    let mut pairs = Vec::new();
    for s in sets {
        let Some((k, v)) = s.split_once('=') else {
            anyhow::bail!("--set {s}: write PATH=VALUE");
        };
        pairs.push((k.trim().to_string(), v.trim().to_string()));
    }
    let text = crate::scenario::overrides::apply(&text, &pairs)
        .map_err(|e| anyhow::anyhow!("{origin}: --set {e}"))?;
    let desc: Vec<String> = sets.to_vec();
    Ok(crate::scenario::parse_scenario_in(
        &text,
        &format!("{origin} (with --set {})", desc.join(", ")),
        &dir,
    )?)
}

/// The closing table of a run.
pub fn run_report(r: &RunResult) -> String {
    let s = &r.summary;
    let mut out = String::new();
    out.push_str(&format!(
        "fleetsim: scenario `{}`, seed {}, {} simulated\n",
        s.scenario,
        s.seed,
        crate::engine::format_duration(crate::engine::SimDuration((s.duration_s * 1000.0) as u64))
    ));
    let rows: Vec<(&str, String)> = vec![
        ("instances created", s.instances_created.to_string()),
        ("instances terminated", s.instances_terminated.to_string()),
        (
            "instances alive at end",
            s.instances_alive_at_end.to_string(),
        ),
        (
            "mean instances alive",
            format!("{:.1}", s.mean_instances_alive),
        ),
        (
            "API calls (throttled)",
            format!("{} ({})", s.api_calls_total, s.api_calls_throttled),
        ),
        ("requests refused", s.requests_refused.to_string()),
        ("total cost", format!("{:.2} {}", s.cost_total, s.currency)),
    ];
    let mut rows = rows;
    for (k, v) in &s.cost_by_charge_type {
        rows.push((k, format!("{v:.2} {}", s.currency)));
    }
    rows.push((
        "events",
        format!(
            "{} in {:.3} s ({:.2} M events/s)",
            s.events_processed,
            s.wall_seconds,
            s.events_per_second / 1e6
        ),
    ));
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        out.push_str(&format!("  {k:<w$}  {v}\n"));
    }
    if !r.findings.is_empty() {
        out.push_str("findings:\n");
        for f in &r.findings {
            out.push_str(&format!("  - {}\n", f.text()));
        }
    }
    if let Some(d) = &r.out_dir {
        out.push_str(&format!("results in {}\n", d.display()));
    }
    out
}

/// `fleetsim validate`: reads the scenario as every command would, its `[compare]` and
/// `[sweep]` sections included (every grid point is built), and returns what to print, or
/// every problem found, one `file:line: `field`: what` per line.
pub fn validate(path: &Path) -> anyhow::Result<String> {
    let scn = load_file(path)?;
    let mut problems = Vec::new();
    if scn.has_compare()
        && let Err(e) = scn.strategies()
    {
        problems.push(e.to_string());
    }
    if scn.sweep().is_some() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the scenario: {e}", path.display()))?;
        if let Err(e) = crate::sweep::plan(&text, &scn.origin, &[], None, None) {
            problems.push(format!("{e:#}"));
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    Ok(validate_report(&scn))
}

/// What `validate` prints for a good scenario.
pub fn validate_report(s: &Scenario) -> String {
    format!(
        "{}: ok — scenario `{}`, {} zone(s), {} instance type(s), {} workload(s), {}{}{}{} simulated",
        s.origin,
        s.name,
        s.catalog.zones.len(),
        s.catalog.types.len(),
        s.workloads.len(),
        if s.traces.is_empty() {
            String::new()
        } else {
            format!("{} trace replay(s), ", s.traces.len())
        },
        if s.autoscalers.is_empty() {
            String::new()
        } else {
            format!("{} autoscaler(s), ", s.autoscalers.len())
        },
        if s.faults.is_empty() {
            String::new()
        } else {
            format!("{} fault(s), ", s.faults.len())
        },
        s.duration
    )
}

/// Runs `scn`, with a progress bar on stderr when `show_progress` (the caller checks that stderr
/// is a terminal and that nothing else prints while the run goes). The bar follows simulated
/// time, then says the files are being written, and is cleared at the end, error or not.
pub fn run_with_bar(
    scn: &Scenario,
    opts: RunOptions,
    show_progress: bool,
) -> anyhow::Result<RunResult> {
    if !show_progress {
        return run(scn, opts);
    }
    let total = scn.duration.ms().max(1);
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {prefix} [{wide_bar}] {percent:>3}%  {msg}  ({elapsed}, ETA {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(scn.name.clone());
    let of = format_duration(scn.duration);
    bar.set_message(format!("d0 00:00 of {of}"));
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut update = |now: SimTime, end: SimTime| {
        bar.set_position(now.ms().min(total));
        if now >= end {
            bar.set_message("writing results");
        } else {
            let m = now.ms() / 60_000;
            bar.set_message(format!(
                "d{} {:02}:{:02} of {of}",
                m / 1440,
                m % 1440 / 60,
                m % 60
            ));
        }
    };
    let res = run_with_progress(scn, opts, Some(&mut update));
    bar.finish_and_clear();
    res
}

/// What `fleetsim sweep` takes from its command line.
#[derive(Clone, Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// PATH=V1,V2,... : a grid axis (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUES", value_parser = parse_axis)]
    pub sets: Vec<(String, String)>,
    /// Replications per grid point [default: the scenario's [sweep] replications, or 1].
    #[arg(long, short = 'r')]
    pub replications: Option<u32>,
    /// Master seed overriding the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Run only slice K of N (1-based), for a job array; combine with `fleetsim merge`.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Output folder [default: output/<name>-sweep/ or output/<name>-sweep-shardKofN/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print nothing but errors (and no progress bar).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--set PATH=V1,V2,...` of `sweep`: the path and the values as written.
fn parse_axis(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((path, values)) => Ok((path.trim().to_string(), values.to_string())),
        None => Err(format!(
            "`{s}`: write PATH=V1,V2,... (e.g. zones.ap-guangzhou-3.quota.postpaid=100,200)"
        )),
    }
}

/// `--shard K/N`: slice K of N, 1-based.
pub fn parse_shard(t: &str) -> Result<(u32, u32), String> {
    let parsed = t
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => Err(format!("`{t}`: write K/N with 1 <= K <= N, e.g. 2/4")),
    }
}

/// `fleetsim sweep`: reads the scenario and runs the sweep, with a progress bar on stderr when
/// `progress` (the caller checks that stderr is a terminal).
pub fn sweep(args: &SweepArgs, progress: bool) -> anyhow::Result<crate::sweep::SweepResult> {
    use anyhow::Context;
    let origin = args.scenario.display().to_string();
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("{origin}: cannot read the scenario"))?;
    let shard = args.shard;
    let plan = crate::sweep::plan(&text, &origin, &args.sets, args.replications, args.seed)?;
    let bar = progress.then(|| {
        // This shard's own jobs, not the whole grid's.
        let (k, n) = shard.unwrap_or((1, 1));
        let total = plan.shard_jobs(k, n).len() as u64;
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} sweep [{bar:40}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb
    });
    let cb = bar.clone().map(|pb| {
        Box::new(move |done: usize, total: usize| {
            pb.set_length(total as u64);
            pb.set_position(done as u64)
        }) as Box<dyn Fn(usize, usize) + Sync>
    });
    let res = crate::sweep::sweep(
        &text,
        &plan,
        crate::sweep::SweepOptions {
            out: args.out.clone(),
            shard,
            threads: args.threads,
            progress: cb,
        },
    );
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    res
}
