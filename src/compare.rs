//! `fleetsim compare`: purchasing strategies run on the same demand (common random numbers:
//! each replication's seed gives every strategy the same arrivals, types, zones and lifetimes),
//! over R replications, in parallel. Ranks strategies by the cost of the horizon with 95%
//! confidence intervals, and pairs each with the first strategy so the difference's interval
//! is narrow even when costs vary a lot between replications.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::batch::run_jobs;
use crate::cloud::{ChargeType, Money};
use crate::engine::RngStreams;
use crate::report::charts;
use crate::report::output::Staging;
use crate::report::summary::Summary;
use crate::report::table::{self, Fixed, Table};
use crate::run::build_world;
use crate::scenario::Scenario;
use crate::stats::{Estimate, estimate, percentile};
use crate::workload::pool::Pool;

pub use crate::scenario::sections::Strategy;

/// Checks and resolves a scenario's `[compare]` strategies.
pub fn strategies(scn: &Scenario) -> Result<Vec<Strategy>> {
    Ok(scn.strategies()?)
}

/// The scenario as a strategy runs it.
pub fn apply(scn: &Scenario, st: &Strategy) -> Scenario {
    let mut s = scn.clone();
    for (w, spec) in s.workloads.iter_mut().enumerate() {
        if !st.scope[w] {
            continue;
        }
        let charge = if st.base_percentile.is_some() {
            ChargeType::PostpaidByHour
        } else {
            st.charge.unwrap_or(spec.charge)
        };
        spec.charge = charge;
        spec.period_months = st.period_months;
        spec.renew_flag = st.renew_flag;
        spec.fallback = st.fallback;
    }
    apply_to_traces(&mut s, st);
    s
}

/// The strategy's charge type and period on the trace replays it covers (checked by
/// [`strategies`]: no base, no fallback, no charge-type column).
fn apply_to_traces(s: &mut Scenario, st: &Strategy) {
    for (t, spec) in s.traces.iter_mut().enumerate() {
        if st.trace_scope.get(t).copied().unwrap_or(false) {
            if let Some(c) = st.charge {
                spec.charge = c;
            }
            spec.period_months = st.period_months;
        }
    }
}

/// One run's figures in `compare.csv`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CompareRow {
    pub strategy: String,
    pub replication: u32,
    pub seed: u64,
    pub cost_to_horizon: f64,
    pub cost_total: f64,
    pub cost_prepaid: f64,
    pub cost_postpaid: f64,
    pub cost_spot: f64,
    pub prepaid_base: u32,
    pub spot_reclaims: u64,
    pub requests_refused: u64,
    pub api_calls_throttled: u64,
    pub instances_created: u64,
}

/// Runs one strategy on one seed, returning its summary (no files) or the run's error.
fn run_one(scn: &Scenario, st: &Strategy, seed: u64, base: &[u32]) -> Result<Summary> {
    let s = apply(scn, st);
    let (mut world, mut sched) = build_world(&s, seed);
    if st.base_percentile.is_some() {
        world.pool = Some(Pool::new(
            s.catalog.types.len(),
            base.to_vec(),
            st.scope.clone(),
            st.period_months,
        ));
        // Bought at time 0, before the first arrival is handled.
        world.buy_pool(&mut sched);
    }
    crate::run::simulate(&s, seed, world, &mut sched)
}

/// Sizes a prepaid base: the `p`-th percentile of instances alive per zone and type, sampled
/// at every sample interval of an all-postpaid pilot run of the strategy's workloads.
fn size_base(scn: &Scenario, st: &Strategy, seed: u64) -> Result<Vec<u32>> {
    let pilot = Strategy {
        charge: Some(ChargeType::PostpaidByHour),
        base_percentile: None,
        fallback: None,
        ..st.clone()
    };
    // Only the covered workloads count toward the base (a base never covers a trace replay).
    let mut s = apply(scn, &pilot);
    s.traces.clear();
    for (w, spec) in s.workloads.iter_mut().enumerate() {
        if !st.scope[w] {
            spec.rate_per_ms = 1e-300;
        }
    }
    let cells = s.catalog.zones.len() * s.catalog.types.len();
    let samples = std::sync::Arc::new(std::sync::Mutex::new(vec![Vec::new(); cells]));
    let (mut world, mut sched) = build_world(&s, seed);
    world
        .rec
        .track_types(s.catalog.zones.len(), s.catalog.types.len());
    let sink = samples.clone();
    world.sampler = Some(Box::new(move |_, rec, _| {
        if let Ok(mut v) = sink.lock() {
            for (i, &n) in rec.alive_by_zone_type.iter().enumerate() {
                v[i].push(n as f64);
            }
        }
        Ok(())
    }));
    let p = st.base_percentile.unwrap_or(0.0);
    crate::run::run_to_horizon(&mut world, &mut sched, None)
        .with_context(|| format!("strategy `{}`: sizing the prepaid base", st.name))?;
    drop(world);
    let v = samples.lock().map(|v| v.clone()).unwrap_or_default();
    Ok(v.iter()
        .map(|xs| {
            if xs.is_empty() {
                0
            } else {
                percentile(xs, p).floor() as u32
            }
        })
        .collect())
}

/// Per-strategy estimates.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyEstimate {
    pub strategy: String,
    pub cost: Estimate,
    /// Paired difference to the first strategy (this − first).
    pub diff_to_first: Estimate,
    pub spot_reclaims: f64,
    pub requests_refused: f64,
    pub api_calls_throttled: f64,
}

pub struct CompareResult {
    pub rows: Vec<CompareRow>,
    pub estimates: Vec<StrategyEstimate>,
    pub out_dir: Option<PathBuf>,
}

/// Options of `fleetsim compare`.
#[derive(Default)]
pub struct CompareOptions {
    pub out: Option<PathBuf>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
}

/// Runs every strategy × replication and writes `compare.csv`, `compare_summary.csv`,
/// `breakeven.csv` and the chart.
pub fn compare(scn: &Scenario, opts: CompareOptions) -> Result<CompareResult> {
    let strategies = strategies(scn)?;
    let reps = opts
        .replications
        .or(scn.compare_replications())
        .unwrap_or(10);
    if reps == 0 {
        bail!("--replications 0: compare needs at least 1 replication per strategy");
    }
    let seed = opts.seed.unwrap_or(scn.seed);
    let target = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-compare", scn.name)));
    let staging = Staging::new(&target)?;
    // Prepaid bases are sized once, on the first replication's demand: a planning decision.
    // Every run goes through `run_jobs`: the first failing job (in job order) stops the
    // comparison with its error, and nothing is written.
    let bases: Vec<Vec<u32>> = run_jobs(strategies.len(), |si| {
        let st = &strategies[si];
        if st.base_percentile.is_some() {
            size_base(scn, st, seed)
        } else {
            Ok(Vec::new())
        }
    })?;
    let jobs: Vec<(usize, u32)> = (0..strategies.len())
        .flat_map(|s| (0..reps).map(move |r| (s, r)))
        .collect();
    let rows: Vec<CompareRow> = run_jobs(jobs.len(), |j| -> Result<CompareRow> {
        let (si, r) = jobs[j];
        let st = &strategies[si];
        let rseed = RngStreams::replication_seed(seed, r as u64);
        let sum = run_one(scn, st, rseed, &bases[si])
            .with_context(|| format!("strategy `{}`, replication {r} (seed {rseed})", st.name))?;
        let by = |c: ChargeType| {
            sum.cost_by_charge_type
                .get(c.as_str())
                .copied()
                .unwrap_or(0.0)
        };
        Ok(CompareRow {
            strategy: st.name.clone(),
            replication: r,
            seed: rseed,
            cost_to_horizon: sum.cost_to_horizon,
            cost_total: sum.cost_total,
            cost_prepaid: by(ChargeType::Prepaid),
            cost_postpaid: by(ChargeType::PostpaidByHour),
            cost_spot: by(ChargeType::Spotpaid),
            prepaid_base: bases[si].iter().sum(),
            spot_reclaims: sum.spot_reclaims,
            requests_refused: sum.requests_refused,
            api_calls_throttled: sum.api_calls_throttled,
            instances_created: sum.instances_created,
        })
    })?;
    let per = |si: usize| -> Vec<&CompareRow> {
        rows.iter()
            .filter(|r| r.strategy == strategies[si].name)
            .collect()
    };
    let first: Vec<f64> = per(0).iter().map(|r| r.cost_to_horizon).collect();
    let estimates: Vec<StrategyEstimate> = (0..strategies.len())
        .map(|si| {
            let rs = per(si);
            let costs: Vec<f64> = rs.iter().map(|r| r.cost_to_horizon).collect();
            let diffs: Vec<f64> = costs.iter().zip(&first).map(|(a, b)| a - b).collect();
            let mean = |f: &dyn Fn(&CompareRow) -> f64| {
                rs.iter().map(|r| f(r)).sum::<f64>() / rs.len().max(1) as f64
            };
            StrategyEstimate {
                strategy: strategies[si].name.clone(),
                cost: estimate(&costs),
                diff_to_first: estimate(&diffs),
                spot_reclaims: mean(&|r| r.spot_reclaims as f64),
                requests_refused: mean(&|r| r.requests_refused as f64),
                api_calls_throttled: mean(&|r| r.api_calls_throttled as f64),
            }
        })
        .collect();
    table::write(staging.path("compare.csv").as_path(), rows.iter().cloned())?;
    write_estimates(&staging.path("compare_summary.csv"), &estimates)?;
    write_breakeven(&staging.path("breakeven.csv"), scn)?;
    let bars: Vec<(String, f64, f64, f64)> = estimates
        .iter()
        .map(|e| {
            (
                e.strategy.clone(),
                e.cost.mean,
                e.cost.ci_low,
                e.cost.ci_high,
            )
        })
        .collect();
    charts::render_bar_ci(
        staging.dir(),
        "compare_cost",
        &format!(
            "{} (seed {seed}, {reps} replications): cost to the horizon by strategy",
            scn.name
        ),
        &format!("Cost ({}), mean and 95% CI", scn.catalog.currency),
        &bars,
    )
    .context("cannot draw the comparison chart")?;
    write_report(staging.dir(), scn, seed, reps, &estimates)?;
    let out_dir = Some(staging.commit()?);
    Ok(CompareResult {
        rows,
        estimates,
        out_dir,
    })
}

/// A row of `compare_summary.csv`: one strategy's estimates. Costs have 6 decimals, mean counts
/// 3; with one replication no spread can be estimated, and sd and the intervals are empty.
#[derive(Serialize)]
struct SummaryRow<'a> {
    strategy: &'a str,
    replications: usize,
    cost_mean: Fixed<6>,
    cost_sd: Option<Fixed<6>>,
    cost_ci_low: Option<Fixed<6>>,
    cost_ci_high: Option<Fixed<6>>,
    diff_to_first_mean: Fixed<6>,
    diff_to_first_ci_low: Option<Fixed<6>>,
    diff_to_first_ci_high: Option<Fixed<6>>,
    spot_reclaims_mean: Fixed<3>,
    requests_refused_mean: Fixed<3>,
    api_calls_throttled_mean: Fixed<3>,
}

impl<'a> SummaryRow<'a> {
    fn of(e: &'a StrategyEstimate) -> Self {
        let spread = |of: &Estimate, x: f64| (of.n >= 2).then_some(Fixed(x));
        SummaryRow {
            strategy: &e.strategy,
            replications: e.cost.n,
            cost_mean: Fixed(e.cost.mean),
            cost_sd: spread(&e.cost, e.cost.sd),
            cost_ci_low: spread(&e.cost, e.cost.ci_low),
            cost_ci_high: spread(&e.cost, e.cost.ci_high),
            diff_to_first_mean: Fixed(e.diff_to_first.mean),
            diff_to_first_ci_low: spread(&e.diff_to_first, e.diff_to_first.ci_low),
            diff_to_first_ci_high: spread(&e.diff_to_first, e.diff_to_first.ci_high),
            spot_reclaims_mean: Fixed(e.spot_reclaims),
            requests_refused_mean: Fixed(e.requests_refused),
            api_calls_throttled_mean: Fixed(e.api_calls_throttled),
        }
    }
}

fn write_estimates(path: &Path, es: &[StrategyEstimate]) -> Result<()> {
    let example = StrategyEstimate {
        strategy: String::new(),
        cost: estimate(&[]),
        diff_to_first: estimate(&[]),
        spot_reclaims: 0.0,
        requests_refused: 0.0,
        api_calls_throttled: 0.0,
    };
    let mut t = Table::create_like(path, &SummaryRow::of(&example))?;
    t.rows(es.iter().map(SummaryRow::of))?;
    t.finish()
}

/// One row of the break-even table.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BreakEven {
    pub instance_type: String,
    pub postpaid_hourly: f64,
    pub prepaid_monthly: f64,
    /// Break-even lifetime (whole hours of continuous use) of a 1-month prepaid instance: the
    /// first whole hour at which the postpaid cost of those hours reaches the price of the
    /// prepaid months started; from there on prepaid costs no more than postpaid.
    pub lifetime_hours_1m: Option<f64>,
    /// Break-even use per period, as a fraction of the period's hours: the first whole hour at
    /// which postpaid for those hours reaches the prepaid price of the whole period, for 1, 12
    /// and 36 months.
    pub utilisation_1m: Option<f64>,
    pub utilisation_12m: Option<f64>,
    pub utilisation_36m: Option<f64>,
}

/// Break-even figures per instance type from the scenario's prices and billing rules.
pub fn breakeven(scn: &Scenario) -> Vec<BreakEven> {
    let rules = &scn.rules;
    let month_h = crate::cloud::api::prepaid_period(1).hours_f64() as u64;
    scn.catalog
        .types
        .iter()
        .zip(&scn.catalog.prices)
        .map(|(t, p)| {
            let postpaid = |hours: u64| -> Money {
                let ms = hours * crate::engine::time::MS_PER_HOUR;
                if p.tiered {
                    rules.tiered_charge(p.postpaid_hourly, 0, ms)
                } else {
                    Money::for_time(p.postpaid_hourly, ms, 100)
                }
            };
            // Continuous use for L hours: one prepaid month bought per started month. With the
            // refund at termination it never costs more than postpaid; the break-even is where
            // postpaid has caught up with what the months paid for cost.
            let paid_for = |hours: u64| -> Money {
                let months = hours.div_ceil(month_h).max(1);
                rules.prepaid_price(p, 1) * months as i128
            };
            let lifetime = (1..=(5 * 12 * month_h))
                .find(|&h| postpaid(h) >= paid_for(h))
                .map(|h| h as f64);
            let util = |months: u32| -> Option<f64> {
                if !rules.valid_period(months) {
                    return None;
                }
                let price = rules.prepaid_price(p, months);
                let span = months as u64 * month_h;
                (1..=span)
                    .find(|&h| postpaid(h) >= price)
                    .map(|h| h as f64 / span as f64)
            };
            BreakEven {
                instance_type: t.name.clone(),
                postpaid_hourly: Money::from_micros(p.postpaid_hourly as i128).as_f64(),
                prepaid_monthly: Money::from_micros(p.prepaid_monthly as i128).as_f64(),
                lifetime_hours_1m: lifetime,
                utilisation_1m: util(1),
                utilisation_12m: util(12),
                utilisation_36m: util(36),
            }
        })
        .collect()
}

fn write_breakeven(path: &Path, scn: &Scenario) -> Result<()> {
    table::write(path, breakeven(scn))
}

/// The closing table of `compare`.
pub fn report(r: &CompareResult, currency: &str) -> String {
    let mut out = String::new();
    let w = r
        .estimates
        .iter()
        .map(|e| e.strategy.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "  {:<w$}  {:>14}  {:>27}  {:>14}  {:>8}",
        "strategy", "mean cost", "95% CI", "vs first", "reclaims"
    );
    for e in &r.estimates {
        // One replication: no interval can be estimated, and none is shown.
        let ci = if e.cost.n < 2 {
            "n/a (1 replication)".to_string()
        } else {
            format!("[{:>11.2}, {:>11.2}]", e.cost.ci_low, e.cost.ci_high)
        };
        let _ = writeln!(
            out,
            "  {:<w$}  {:>10.2} {currency}  {ci:>27}  {:>+14.2}  {:>8.1}",
            e.strategy, e.cost.mean, e.diff_to_first.mean, e.spot_reclaims
        );
    }
    if let Some(d) = &r.out_dir {
        let _ = writeln!(out, "results in {}", d.display());
    }
    out
}

/// The interval of an estimate, when it has one (two replications or more).
fn interval(e: &Estimate) -> Option<(f64, f64)> {
    (e.n >= 2 && e.ci_low.is_finite() && e.ci_high.is_finite()).then_some((e.ci_low, e.ci_high))
}

/// `report.html` of a comparison: what it found, the ranking with intervals, the paired
/// differences to the first strategy, the break-even table, and a chart of each.
fn write_report(
    dir: &Path,
    scn: &Scenario,
    seed: u64,
    reps: u32,
    estimates: &[StrategyEstimate],
) -> Result<()> {
    use crate::report::html::{
        StudyChart, StudyPage, StudyPoint, StudyTable, fmt_figure, fmt_interval,
    };
    let cur = scn.catalog.currency.as_str();
    let mut page = StudyPage::new(
        "compare",
        scn.name.clone(),
        format!(
            "{} purchasing strategies of {}, each run on the same {reps} demand path(s) \
             (master seed {seed}); costs to the run's horizon in {cur}.",
            estimates.len(),
            scn.origin
        ),
    );
    let mut ranked: Vec<&StrategyEstimate> = estimates.iter().collect();
    ranked.sort_by(|a, b| a.cost.mean.total_cmp(&b.cost.mean));
    let first = estimates.first();
    if let (Some(best), Some(first)) = (ranked.first(), first) {
        let share = if first.cost.mean > 0.0 {
            format!(
                " ({:.1}% of {}'s)",
                100.0 * best.cost.mean / first.cost.mean,
                first.strategy
            )
        } else {
            String::new()
        };
        page.findings.push((
            "cheapest".into(),
            format!(
                "{} is the cheapest strategy: {} {cur} to the horizon on average, 95% CI {}{share}.",
                best.strategy,
                fmt_figure(best.cost.mean),
                fmt_interval(interval(&best.cost)),
            ),
        ));
        if let Some(worst) = ranked.last().filter(|w| w.strategy != best.strategy) {
            page.findings.push((
                "dearest".into(),
                format!(
                    "{} is the dearest: {} {cur} on average.",
                    worst.strategy,
                    fmt_figure(worst.cost.mean)
                ),
            ));
        }
        for e in estimates.iter().skip(1) {
            let d = &e.diff_to_first;
            let sure = match interval(d) {
                Some((lo, hi)) if lo > 0.0 || hi < 0.0 => "an interval that excludes 0",
                Some(_) => "an interval that includes 0: no clear difference",
                None => "one replication: no interval",
            };
            page.findings.push((
                format!("paired-{}", e.strategy),
                format!(
                    "{} against {}: {}{} {cur} per run on the same demand, with {sure}.",
                    e.strategy,
                    first.strategy,
                    if d.mean >= 0.0 { "+" } else { "" },
                    fmt_figure(d.mean)
                ),
            ));
        }
        if let Some(r) = estimates
            .iter()
            .max_by(|a, b| a.spot_reclaims.total_cmp(&b.spot_reclaims))
            && r.spot_reclaims > 0.0
        {
            page.findings.push((
                "reclaims".into(),
                format!(
                    "{} had the most spot reclaims: {:.1} per run.",
                    r.strategy, r.spot_reclaims
                ),
            ));
        }
    }
    let num = |h: &str| (h.to_string(), true);
    let text = |h: &str| (h.to_string(), false);
    page.tables.push(StudyTable {
        id: "ranking",
        title: "Ranking".into(),
        head: vec![
            num("rank"),
            text("strategy"),
            num(&format!("mean cost ({cur})")),
            num("95% CI"),
            num("spot reclaims / run"),
            num("refused / run"),
            num("throttled / run"),
        ],
        rows: ranked
            .iter()
            .enumerate()
            .map(|(i, e)| {
                vec![
                    (i + 1).to_string(),
                    e.strategy.clone(),
                    fmt_figure(e.cost.mean),
                    fmt_interval(interval(&e.cost)),
                    format!("{:.1}", e.spot_reclaims),
                    format!("{:.1}", e.requests_refused),
                    format!("{:.1}", e.api_calls_throttled),
                ]
            })
            .collect(),
        note: format!(
            "Cost to the horizon (cost_total less prepaid time bought beyond it), mean over {reps} \
             replication(s), cheapest first (compare_summary.csv, compare.csv)."
        ),
    });
    if let Some(first) = first {
        page.tables.push(StudyTable {
            id: "paired",
            title: "Paired differences".into(),
            head: vec![
                text("strategy"),
                num(&format!("mean − {} ({cur})", first.strategy)),
                num("95% CI"),
                num("relative"),
            ],
            rows: estimates
                .iter()
                .map(|e| {
                    vec![
                        e.strategy.clone(),
                        fmt_figure(e.diff_to_first.mean),
                        fmt_interval(interval(&e.diff_to_first)),
                        if first.cost.mean > 0.0 {
                            format!("{:+.1}%", 100.0 * e.diff_to_first.mean / first.cost.mean)
                        } else {
                            "–".into()
                        },
                    ]
                })
                .collect(),
            note: format!(
                "Each strategy less {} on the same demand path, replication by replication: the \
                 interval of a paired difference is narrow even where costs vary between \
                 replications (compare_summary.csv).",
                first.strategy
            ),
        });
    }
    let pct_or = |v: Option<f64>| v.map_or("–".to_string(), |u| format!("{:.1}%", 100.0 * u));
    page.tables.push(StudyTable {
        id: "breakeven",
        title: "Break-even".into(),
        head: vec![
            text("instance type"),
            num(&format!("postpaid / hour ({cur})")),
            num(&format!("prepaid / month ({cur})")),
            num("break-even lifetime, 1-month prepaid (h)"),
            num("use for 1 month"),
            num("use for 12 months"),
            num("use for 36 months"),
        ],
        rows: breakeven(scn)
            .into_iter()
            .map(|b| {
                vec![
                    b.instance_type,
                    format!("{:.4}", b.postpaid_hourly),
                    fmt_figure(b.prepaid_monthly),
                    b.lifetime_hours_1m
                        .map_or("–".to_string(), |h| format!("{h:.0}")),
                    pct_or(b.utilisation_1m),
                    pct_or(b.utilisation_12m),
                    pct_or(b.utilisation_36m),
                ]
            })
            .collect(),
        note: "From the scenario's prices and billing rules: the lifetime from which a \
               1-month prepaid instance costs no more than postpaid, and the share of a \
               prepaid period an instance must run for prepaid to pay (breakeven.csv)."
            .into(),
    });
    let points = |f: &dyn Fn(&StrategyEstimate) -> &Estimate| -> Vec<StudyPoint> {
        ranked
            .iter()
            .map(|e| (e.strategy.clone(), f(e).mean, interval(f(e))))
            .collect()
    };
    page.charts.push(StudyChart::new(
        "compare_cost".into(),
        "Cost to the horizon by strategy".into(),
        format!(
            "Mean cost to the horizon per strategy, cheapest first, with its 95% interval \
             (dashed), in {cur}. The same chart as compare_cost.svg and .png."
        ),
        &format!("Cost ({cur})"),
        &points(&|e| &e.cost),
        false,
    ));
    if let Some(first) = first {
        page.charts.push(StudyChart::new(
            "compare_paired".into(),
            format!("Paired difference to {}", first.strategy),
            format!(
                "Mean of each strategy's cost less {}'s on the same demand, with its 95% \
                 interval, in {cur}; below 0 is cheaper.",
                first.strategy
            ),
            &format!("Difference ({cur})"),
            &points(&|e| &e.diff_to_first),
            false,
        ));
    }
    page.files = [
        ("compare.csv", "one row per strategy and replication"),
        (
            "compare_summary.csv",
            "per strategy: mean, sd and 95% CI of the cost, paired difference to the first",
        ),
        ("breakeven.csv", "break-even figures per instance type"),
        ("compare_cost.svg", "chart (vector)"),
        ("compare_cost.png", "chart (image)"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    page.write(dir)
}
