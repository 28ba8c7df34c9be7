//! The charts of a run folder, drawn from its CSV files after they are written.
//!
//! [`write_all`] reads `timeseries.csv`, `quota.csv`, `api.csv` and, when it exists,
//! `costs.csv`, and writes `<stem>.svg` and `<stem>.png` for every chart of [`STEMS`] (the cost
//! chart only with `costs.csv`). What it read is kept in [`RunData`] for `report.html`.
//!
//! Reading the files, not the recorder, keeps the charts exactly what the files say, and lets
//! the same code chart any run folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cloud::{Action, ChargeType, ErrorCode, InstanceState};
use crate::engine::{SimDuration, format_duration};
use crate::scenario::Scenario;

use super::charts::{ChartKind, ChartSpec, Series, SeriesStyle, render_time_chart_styled};
use super::recorder::OK_OUTCOME;
use super::summary::Summary;

/// Simulated milliseconds: the key of every time-indexed map (the files have ms precision).
pub type Ms = u64;

/// Every chart stem, in the order of the report. `cost_by_charge_type` is written only when the
/// run folder has `costs.csv`.
pub const STEMS: [&str; 6] = [
    "fleet_by_state",
    "fleet_by_zone",
    "vcpus_vs_quota",
    "instances_vs_quota",
    "api_calls",
    "cost_by_charge_type",
];

/// The charge types whose quotas count instances, with their short names (the spot quota
/// counts vCPUs).
const INSTANCE_QUOTAS: [(ChargeType, &str); 2] = [
    (ChargeType::PostpaidByHour, "postpaid"),
    (ChargeType::Prepaid, "prepaid"),
];
const THROTTLED: ErrorCode = ErrorCode::RequestLimitExceeded;
/// States bottom-up in the stacked chart: the useful fleet first, then transitions, then the
/// states on the way out. Every state is listed (a test checks it).
const STATE_ORDER: [InstanceState; InstanceState::COUNT] = [
    InstanceState::Running,
    InstanceState::Pending,
    InstanceState::Starting,
    InstanceState::Rebooting,
    InstanceState::Stopping,
    InstanceState::Stopped,
    InstanceState::Shutdown,
    InstanceState::Terminating,
    InstanceState::LaunchFailed,
];
/// Palette indices (see [`SeriesStyle::color`]).
const RED: usize = 3;
const ORANGE: usize = 1;
const GREY: usize = 7;

/// One chart that was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File stem: `<stem>.svg` and `<stem>.png` are in the run folder.
    pub stem: &'static str,
    pub title: String,
    /// One or two sentences on how to read the chart.
    pub caption: String,
    /// What was drawn, for the interactive chart of `report.html`: the y axis label, how the
    /// series are drawn, and the series (x in hours) with their styles.
    pub y_label: String,
    pub kind: ChartKind,
    pub series: Vec<(Series, SeriesStyle)>,
}

/// What the charts were drawn from, and the charts.
#[derive(Debug, Clone)]
pub struct Figures {
    pub data: RunData,
    pub figures: Vec<Figure>,
}

/// Quota use of one zone and charge type over time (`quota.csv`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuotaTrack {
    /// `instances` or `vcpus`.
    pub unit: String,
    /// `(time, used, total)`; total `None` when unlimited.
    pub points: Vec<(Ms, f64, Option<f64>)>,
}

impl QuotaTrack {
    /// The highest use, and the first time it was reached.
    pub fn peak(&self) -> Option<(f64, Ms)> {
        let mut best: Option<(f64, Ms)> = None;
        for &(t, used, _) in &self.points {
            if best.is_none_or(|(b, _)| used > b) {
                best = Some((used, t));
            }
        }
        best
    }

    /// The smallest finite total over the run (quotas do not change today; this is safe if
    /// they ever do).
    pub fn total(&self) -> Option<f64> {
        self.points
            .iter()
            .filter_map(|p| p.2)
            .min_by(f64::total_cmp)
    }
}

/// Calls, retries and give-ups (`api.csv` columns), summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiTally {
    pub calls: u64,
    /// Calls whose outcome is not `OK`.
    pub errors: u64,
    pub retries: u64,
    pub give_ups: u64,
}

/// API calls of one bucket by kind of outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiBucket {
    pub calls: u64,
    pub throttled: u64,
    pub other_errors: u64,
}

/// `costs.csv`, aggregated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Costs {
    /// Charge type → hour start → cost of that hour (all zones).
    pub by_hour: BTreeMap<ChargeType, BTreeMap<Ms, f64>>,
    /// (zone, charge type as CVM names it) → cost over the run.
    pub by_zone: BTreeMap<(String, String), f64>,
}

/// The run folder's CSV files, aggregated for the charts and the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunData {
    /// Every sample time (from `timeseries.csv` and `quota.csv`).
    pub times: BTreeSet<Ms>,
    /// State → time → instances (all zones and charge types).
    pub instances_by_state: BTreeMap<InstanceState, BTreeMap<Ms, f64>>,
    /// Zone → time → instances (any state).
    pub instances_by_zone: BTreeMap<String, BTreeMap<Ms, f64>>,
    /// Zone → time → vCPUs (any state).
    pub vcpus_by_zone: BTreeMap<String, BTreeMap<Ms, f64>>,
    /// (zone, charge type as CVM names it) → quota use.
    pub quota: BTreeMap<(String, String), QuotaTrack>,
    /// Bucket start → calls.
    pub api_buckets: BTreeMap<Ms, ApiBucket>,
    /// Outcome (`OK` or an error code as CVM names it) → calls.
    pub api_by_outcome: BTreeMap<String, ApiTally>,
    /// Action (as CVM names it) → calls.
    pub api_by_action: BTreeMap<String, ApiTally>,
    /// `None` when the run folder has no `costs.csv`.
    pub costs: Option<Costs>,
    /// `costs_accrued.csv` (each prepaid payment spread over the time it buys), `None` when
    /// the run folder has none. Its rows at the end of the run hold the prepaid time bought
    /// beyond it.
    pub costs_accrued: Option<Costs>,
}

impl RunData {
    /// Reads the CSV files of the run folder `dir`. `timeseries.csv`, `quota.csv` and
    /// `api.csv` must exist; `costs.csv` may not. States, charge types and actions are read
    /// into their types: a name fleetsim does not know is an error naming file and line.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut d = RunData::default();
        read_csv(
            &dir.join("timeseries.csv"),
            &["time_s", "zone", "state", "instances", "vcpus"],
            |r| {
                let t = time_ms(r[0])?;
                let state = named(r[2], "instance state", InstanceState::parse)?;
                let (n, v) = (number(r[3])?, number(r[4])?);
                d.times.insert(t);
                *entry(&mut d.instances_by_state, &state, t) += n;
                *entry(&mut d.instances_by_zone, r[1], t) += n;
                *entry(&mut d.vcpus_by_zone, r[1], t) += v;
                Ok(())
            },
        )?
        .then_some(())
        .context("timeseries.csv is missing")?;
        read_csv(
            &dir.join("quota.csv"),
            &["time_s", "zone", "charge_type", "unit", "used", "total"],
            |r| {
                let t = time_ms(r[0])?;
                d.times.insert(t);
                let total = if r[5].trim().is_empty() {
                    None
                } else {
                    Some(number(r[5])?)
                };
                let charge = charge_type(r[2])?;
                let track = d
                    .quota
                    .entry((r[1].to_string(), charge.as_str().to_string()))
                    .or_default();
                track.unit = r[3].to_string();
                track.points.push((t, number(r[4])?, total));
                Ok(())
            },
        )?
        .then_some(())
        .context("quota.csv is missing")?;
        read_csv(
            &dir.join("api.csv"),
            &[
                "bucket_start_s",
                "action",
                "outcome",
                "calls",
                "retries",
                "give_ups",
            ],
            |r| {
                let t = time_ms(r[0])?;
                let action = named(r[1], "action", Action::parse)?;
                let outcome = r[2].trim();
                let ok = outcome == OK_OUTCOME;
                let calls = count(r[3])?;
                let tally = ApiTally {
                    calls,
                    errors: if ok { 0 } else { calls },
                    retries: count(r[4])?,
                    give_ups: count(r[5])?,
                };
                let b = d.api_buckets.entry(t).or_default();
                b.calls += tally.calls;
                if outcome == THROTTLED.as_str() {
                    b.throttled += tally.calls;
                } else if !ok {
                    b.other_errors += tally.calls;
                }
                for (map, key) in [
                    (&mut d.api_by_outcome, outcome),
                    (&mut d.api_by_action, action.as_str()),
                ] {
                    let e = map.entry(key.to_string()).or_default();
                    e.calls += tally.calls;
                    e.errors += tally.errors;
                    e.retries += tally.retries;
                    e.give_ups += tally.give_ups;
                }
                Ok(())
            },
        )?
        .then_some(())
        .context("api.csv is missing")?;
        d.costs = read_costs(&dir.join("costs.csv"))?;
        d.costs_accrued = read_costs(&dir.join("costs_accrued.csv"))?;
        Ok(d)
    }

    /// Zones in scenario order, then any other zone the files name.
    pub fn zones(&self, scn: &Scenario) -> Vec<String> {
        let mut zones: Vec<String> = scn.catalog.zones.iter().map(|z| z.name.clone()).collect();
        let seen: BTreeSet<&String> = self
            .instances_by_zone
            .keys()
            .chain(self.quota.keys().map(|k| &k.0))
            .collect();
        for z in seen {
            if !zones.contains(z) {
                zones.push(z.clone());
            }
        }
        zones
    }
}

/// `map[key][t]`, created at 0.
fn entry<'a, K, Q>(map: &'a mut BTreeMap<K, BTreeMap<Ms, f64>>, key: &Q, t: Ms) -> &'a mut f64
where
    K: Ord + std::borrow::Borrow<Q>,
    Q: Ord + ToOwned<Owned = K> + ?Sized,
{
    if !map.contains_key(key) {
        map.insert(key.to_owned(), BTreeMap::new());
    }
    map.get_mut(key)
        .map(|m| m.entry(t).or_insert(0.0))
        .expect("inserted above")
}

/// A name the files hold (a state, an action) as its type.
fn named<T>(s: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(s.trim()).with_context(|| format!("`{s}` is not a known {what}"))
}

/// A charge type as CVM names it (`POSTPAID_BY_HOUR`).
fn charge_type(s: &str) -> Result<ChargeType> {
    named(s, "charge type", |s| {
        ChargeType::ALL.into_iter().find(|c| c.as_str() == s)
    })
}

/// Calls `row` with the named columns of every record of the CSV file at `path`. Returns
/// `false` if the file does not exist.
fn read_csv(
    path: &Path,
    columns: &[&str],
    mut row: impl FnMut(&[&str]) -> Result<()>,
) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = rdr
        .headers()
        .with_context(|| format!("cannot read the header of {name}"))?
        .clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h.trim() == *c)
                .with_context(|| format!("{name} has no `{c}` column"))
        })
        .collect::<Result<_>>()?;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("cannot read {name}"))?;
        let fields: Vec<&str> = idx.iter().map(|&j| rec.get(j).unwrap_or("")).collect();
        // Line numbers count the header as line 1.
        row(&fields).with_context(|| format!("{name}, line {}", i + 2))?;
    }
    Ok(true)
}

fn number(s: &str) -> Result<f64> {
    let v: f64 = s
        .trim()
        .parse()
        .with_context(|| format!("`{s}` is not a number"))?;
    if !v.is_finite() {
        bail!("`{s}` is not a finite number");
    }
    Ok(v)
}

fn count(s: &str) -> Result<u64> {
    s.trim()
        .parse()
        .with_context(|| format!("`{s}` is not a count"))
}

/// Seconds with millisecond precision (`600.000`) to milliseconds.
fn time_ms(s: &str) -> Result<Ms> {
    let v = number(s)?;
    if v < 0.0 {
        bail!("negative time `{s}`");
    }
    Ok((v * 1000.0).round() as Ms)
}

fn hours(t: Ms) -> f64 {
    t as f64 / 3_600_000.0
}

/// `map` at every time of `times`, 0 where it has no value.
fn filled(times: &BTreeSet<Ms>, map: Option<&BTreeMap<Ms, f64>>) -> Vec<(f64, f64)> {
    times
        .iter()
        .map(|&t| {
            (
                hours(t),
                map.and_then(|m| m.get(&t)).copied().unwrap_or(0.0),
            )
        })
        .collect()
}

/// A chart to be drawn.
struct Chart {
    stem: &'static str,
    what: &'static str,
    y_label: String,
    kind: ChartKind,
    series: Vec<(Series, SeriesStyle)>,
    caption: String,
}

fn series(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
    Series {
        name: name.into(),
        points,
    }
}

fn style(color: usize, dashed: bool) -> SeriesStyle {
    SeriesStyle {
        color: Some(color),
        dashed,
    }
}

/// The strong colour of the `i`-th zone (or zone and charge type) and its light variant: a use
/// is drawn light, its quota dashed in the strong colour over it.
fn zone_colors(i: usize) -> (Option<usize>, Option<usize>) {
    if i < 10 {
        (Some(i), Some(i + 10))
    } else {
        (Some(i + 10), Some(i + 10))
    }
}

/// Reads the run folder `dir` and writes every chart into it; returns what was read and the
/// charts written (in report order).
pub fn write_all(dir: &Path, summary: &Summary, scn: &Scenario) -> Result<Figures> {
    let data = RunData::load(dir)?;
    let mut figures = Vec::new();
    for chart in charts(&data, summary, scn) {
        let title = format!(
            "{} (seed {}): {}",
            summary.scenario, summary.seed, chart.what
        );
        let spec = ChartSpec {
            title: title.clone(),
            x_label: "Simulated time".to_string(),
            y_label: chart.y_label,
            kind: chart.kind,
        };
        let (series, styles): (Vec<Series>, Vec<SeriesStyle>) =
            chart.series.iter().cloned().unzip();
        render_time_chart_styled(dir, chart.stem, &spec, &series, &styles)
            .with_context(|| format!("cannot draw the chart {}", chart.stem))?;
        figures.push(Figure {
            stem: chart.stem,
            title,
            caption: chart.caption,
            y_label: spec.y_label,
            kind: chart.kind,
            series: chart.series,
        });
    }
    Ok(Figures { data, figures })
}

/// The charts of a run, in report order.
fn charts(d: &RunData, summary: &Summary, scn: &Scenario) -> Vec<Chart> {
    let zones = d.zones(scn);
    let mut out = vec![
        fleet_by_state(d),
        fleet_by_zone(d, &zones),
        vcpus_vs_quota(d, &zones, scn),
        instances_vs_quota(d, &zones),
        api_calls(d, summary, scn),
    ];
    if let Some(c) = &d.costs {
        out.push(cost_chart(c, summary.duration_s, &summary.currency, false));
        if let Some(a) = &d.costs_accrued {
            out.push(accrued_chart(a, summary.duration_s, &summary.currency));
        }
        out.push(cost_chart(c, summary.duration_s, &summary.currency, true));
    }
    out
}

fn fleet_by_state(d: &RunData) -> Chart {
    let series = STATE_ORDER
        .iter()
        .filter_map(|s| Some((s, d.instances_by_state.get(s)?)))
        .enumerate()
        .map(|(i, (s, by_time))| {
            (
                series(s.as_str(), filled(&d.times, Some(by_time))),
                SeriesStyle {
                    color: Some(i),
                    dashed: false,
                },
            )
        })
        .collect();
    Chart {
        stem: "fleet_by_state",
        what: "fleet size by state",
        y_label: "Instances (count)".into(),
        kind: ChartKind::StackedArea,
        series,
        caption: "Instances in the fleet at each sample, by state, summed over zones and charge \
                  types; the top edge is the fleet size (timeseries.csv)."
            .into(),
    }
}

fn fleet_by_zone(d: &RunData, zones: &[String]) -> Chart {
    // Each zone keeps its colour (its place in the scenario) in every chart.
    let series = zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            (
                series(z.clone(), filled(&d.times, d.instances_by_zone.get(z))),
                style(i, false),
            )
        })
        .collect();
    Chart {
        stem: "fleet_by_zone",
        what: "instances per zone",
        y_label: "Instances, any state (count)".into(),
        kind: ChartKind::StackedArea,
        series,
        caption: "Instances in each zone at each sample, in any state and of any charge type, \
                  stacked: the top edge is the fleet size (timeseries.csv)."
            .into(),
    }
}

fn vcpus_vs_quota(d: &RunData, zones: &[String], scn: &Scenario) -> Chart {
    let mut series = Vec::new();
    let mut any_quota = false;
    let mut any_stock = false;
    let end = d
        .times
        .iter()
        .next_back()
        .copied()
        .map(hours)
        .unwrap_or(0.0);
    for (i, z) in zones.iter().enumerate() {
        let (strong, light) = zone_colors(i);
        let spot_key = (z.clone(), ChargeType::Spotpaid.as_str().to_string());
        let name = if d.quota.get(&spot_key).is_some_and(|t| t.total().is_none()) {
            format!("{z} vCPUs (spot quota unlimited)")
        } else {
            format!("{z} vCPUs in use")
        };
        series.push((
            self::series(name, filled(&d.times, d.vcpus_by_zone.get(z))),
            SeriesStyle {
                color: strong,
                dashed: false,
            },
        ));
        // The zone's stock of the types it limits, in vCPUs.
        let stock: u64 = scn
            .stock
            .iter()
            .filter(|(zi, _, _)| &scn.catalog.zone(*zi).name == z)
            .map(|&(_, t, cap)| cap as u64 * scn.catalog.itype(t).vcpus as u64)
            .sum();
        if stock > 0 {
            any_stock = true;
            series.push((
                self::series(
                    format!("{z} stock, vCPUs"),
                    vec![(0.0, stock as f64), (end, stock as f64)],
                ),
                SeriesStyle {
                    color: light,
                    dashed: true,
                },
            ));
        }
        let spot = (z.clone(), ChargeType::Spotpaid.as_str().to_string());
        let Some(track) = d.quota.get(&spot) else {
            continue;
        };
        if track.total().is_none() {
            continue;
        }
        any_quota = true;
        let used = track.points.iter().map(|p| (hours(p.0), p.1)).collect();
        let total = track
            .points
            .iter()
            .filter_map(|p| p.2.map(|q| (hours(p.0), q)))
            .collect();
        series.push((
            self::series(format!("{z} spot vCPUs used"), used),
            SeriesStyle {
                color: light,
                dashed: false,
            },
        ));
        series.push((
            self::series(format!("{z} spot vCPU quota"), total),
            SeriesStyle {
                color: strong,
                dashed: true,
            },
        ));
    }
    let stock_note = if any_stock {
        " Dashed light lines: the zone's stock of the instance types it limits, in vCPUs (types \
         without a stock limit have ample capacity and are not counted)."
    } else {
        ""
    };
    let caption = if any_quota {
        "Solid: vCPUs of the instances in each zone (any state, any charge type). Light: spot \
         vCPUs counted against the spot quota (including use outside the simulation); dashed: \
         the spot quota, in vCPU cores. Postpaid and prepaid quotas count instances: see the \
         next chart."
    } else {
        "vCPUs of the instances in each zone (any state, any charge type). No zone has a spot \
         quota (in vCPU cores) in this scenario, so no quota line is drawn; postpaid and \
         prepaid quotas count instances: see the next chart."
    };
    Chart {
        stem: "vcpus_vs_quota",
        what: "vCPUs per zone against quota and stock",
        y_label: "vCPUs (cores)".into(),
        kind: ChartKind::Lines,
        series,
        caption: format!("{caption}{stock_note}"),
    }
}

fn instances_vs_quota(d: &RunData, zones: &[String]) -> Chart {
    let mut series = Vec::new();
    let mut any_quota = false;
    for (k, z) in zones.iter().enumerate() {
        for (charge, short) in INSTANCE_QUOTAS {
            let Some(track) = d.quota.get(&(z.clone(), charge.as_str().to_string())) else {
                continue;
            };
            let has_total = track.total().is_some();
            let has_use = track.points.iter().any(|p| p.1 > 0.0);
            if !(has_total || has_use) {
                continue;
            }
            // The zone's own colour; a use without a quota says so in its name.
            let (strong, light) = zone_colors(k);
            let name = if has_total {
                format!("{z} {short} used")
            } else {
                format!("{z} {short} (quota unlimited)")
            };
            series.push((
                self::series(
                    name,
                    track.points.iter().map(|p| (hours(p.0), p.1)).collect(),
                ),
                SeriesStyle {
                    color: if has_total { light } else { strong },
                    dashed: false,
                },
            ));
            if has_total {
                any_quota = true;
                series.push((
                    self::series(
                        format!("{z} {short} quota"),
                        track
                            .points
                            .iter()
                            .filter_map(|p| p.2.map(|q| (hours(p.0), q)))
                            .collect(),
                    ),
                    SeriesStyle {
                        color: strong,
                        dashed: true,
                    },
                ));
            }
        }
    }
    let caption = if any_quota {
        "Instances counted against the postpaid and prepaid instance quotas of each zone \
         (solid, including instances bought outside the simulation; a lighter shade when the \
         quota is set) and the quotas (dashed, same hue, drawn on top) (quota.csv); \
         \"(quota unlimited)\" marks a use with no quota (in instances). A RunInstances call that would cross \
         a quota fails whole."
    } else {
        "Instances counted against the postpaid and prepaid instance quotas of each zone \
         (quota.csv). No zone has a postpaid or prepaid quota in this scenario (unlimited), so \
         no quota line is drawn."
    };
    Chart {
        stem: "instances_vs_quota",
        what: "instances vs quota (postpaid, prepaid)",
        y_label: "Instances against quota (count)".into(),
        kind: ChartKind::Lines,
        series,
        caption: caption.into(),
    }
}

fn api_calls(d: &RunData, summary: &Summary, scn: &Scenario) -> Chart {
    let bucket = scn.sample_interval.ms().max(1);
    let end = (summary.duration_s * 1000.0).round() as Ms;
    let mut starts: BTreeSet<Ms> = (0..end.div_ceil(bucket)).map(|b| b * bucket).collect();
    starts.extend(d.api_buckets.keys().copied());
    let pick = |f: fn(&ApiBucket) -> u64| -> Vec<(f64, f64)> {
        starts
            .iter()
            .map(|t| (hours(*t), d.api_buckets.get(t).map(f).unwrap_or(0) as f64))
            .collect()
    };
    let width = format_duration(SimDuration(bucket));
    Chart {
        stem: "api_calls",
        what: "API calls",
        y_label: format!("API calls per {width} (count)"),
        kind: ChartKind::Lines,
        series: vec![
            (series("all calls", pick(|b| b.calls)), style(0, false)),
            (
                series(
                    format!("throttled ({})", THROTTLED.as_str()),
                    pick(|b| b.throttled),
                ),
                style(RED, false),
            ),
            (
                series("other errors", pick(|b| b.other_errors)),
                style(ORANGE, false),
            ),
        ],
        caption: format!(
            "API calls made by the workloads in each {width} bucket (plotted at the bucket's \
             start), retries included: all of them, those refused with {} by the rate \
             limiter, and those refused with any other error code (api.csv).",
            THROTTLED.as_str()
        ),
    }
}

/// Runs longer than this get their cost per day rather than per hour.
const COST_PER_DAY_AFTER_H: u64 = 72;

/// Cash cost by charge type (prepaid paid when bought, refunds negative), per bucket
/// (`cost_per_hour`, or `cost_per_day` for runs longer than 72 hours) or summed since the start
/// (`cost_by_charge_type`, stacked: the top edge is the total).
fn cost_chart(c: &Costs, duration_s: f64, currency: &str, cumulative: bool) -> Chart {
    const HOUR: Ms = 3_600_000;
    let end = (duration_s * 1000.0).round() as Ms;
    let per_day = end > COST_PER_DAY_AFTER_H * HOUR;
    let bucket = if per_day { 24 * HOUR } else { HOUR };
    let last = c
        .by_hour
        .values()
        .filter_map(|m| m.keys().next_back())
        .max()
        .copied()
        .unwrap_or(0);
    let n = end.div_ceil(bucket).max(last / bucket + 1);
    // The end of bucket `h`, or the end of the run for a last, partial bucket.
    let at = |h: Ms| {
        let (start, stop) = (h * bucket, (h + 1) * bucket);
        hours(if start < end && end < stop { end } else { stop })
    };
    let mut total = vec![0.0; n as usize];
    let mut out = Vec::new();
    // In `ChargeType` order; each charge type keeps its colour whichever others the run has.
    for (ch, hourly) in &c.by_hour {
        let color = ch.index();
        let mut cum = 0.0;
        let mut points = vec![(0.0, 0.0)];
        // Hours that do not start on a whole hour (they should) fall into the bucket they are in.
        let mut per_bucket = vec![0.0; n as usize];
        for (&t, &v) in hourly {
            let h = ((t / bucket) as usize).min(per_bucket.len() - 1);
            per_bucket[h] += v;
        }
        for (h, v) in per_bucket.iter().enumerate() {
            cum += v;
            let y = if cumulative { cum } else { *v };
            total[h] += y;
            points.push((at(h as Ms), y));
        }
        out.push((series(ch.as_str(), points), style(color, false)));
    }
    if out.len() > 1 && !cumulative {
        let mut points = vec![(0.0, 0.0)];
        points.extend(total.iter().enumerate().map(|(h, v)| (at(h as Ms), *v)));
        out.push((series("total", points), style(GREY, true)));
    }
    let (unit, stem) = if per_day {
        ("day", "cost_per_day")
    } else {
        ("hour", "cost_per_hour")
    };
    if cumulative {
        Chart {
            stem: "cost_by_charge_type",
            what: "cumulative cost by charge type (cash)",
            y_label: format!("Cumulative cost ({})", currency),
            kind: ChartKind::StackedArea,
            series: out,
            caption: format!(
                "Cash: money charged since the start of the run, net of refunds, per charge \
                 type, stacked (the top edge is the total), {unit} by {unit}, in {currency} \
                 (costs.csv). Prepaid periods count when they are bought.",
            ),
        }
    } else {
        Chart {
            stem,
            what: if per_day {
                "cost per day by charge type (cash)"
            } else {
                "cost per hour by charge type (cash)"
            },
            y_label: format!("Cost per {unit} ({currency})"),
            kind: ChartKind::Lines,
            series: out,
            caption: format!(
                "Cash: money settled in each {unit}, per charge type and in total, in \
                 {currency} (costs.csv). A prepaid period is paid in full in the {unit} it is \
                 bought or renewed, and a refund counts negative in the {unit} it is made.",
            ),
        }
    }
}

/// Accrued cost by charge type per bucket (`cost_accrued_per_hour`, or `_per_day` for runs
/// longer than 72 hours), stacked: each prepaid payment spread over the time it buys. The
/// rows after the run (prepaid time beyond it) are left out and named in the caption.
fn accrued_chart(a: &Costs, duration_s: f64, currency: &str) -> Chart {
    let end = (duration_s * 1000.0).round() as Ms;
    let mut within = Costs::default();
    let mut beyond = 0.0;
    for (ch, hours) in &a.by_hour {
        let mut m = BTreeMap::new();
        for (&t, &v) in hours {
            if t >= end {
                beyond += v;
            } else {
                m.insert(t, v);
            }
        }
        within.by_hour.insert(*ch, m);
    }
    let mut chart = cost_chart(&within, duration_s, currency, false);
    chart.series.retain(|s| s.0.name != "total");
    let per_day = chart.stem == "cost_per_day";
    let unit = if per_day { "day" } else { "hour" };
    chart.stem = if per_day {
        "cost_accrued_per_day"
    } else {
        "cost_accrued_per_hour"
    };
    chart.what = if per_day {
        "cost per day by charge type (accrued)"
    } else {
        "cost per hour by charge type (accrued)"
    };
    chart.kind = ChartKind::StackedArea;
    chart.caption = format!(
        "Accrued: each prepaid payment spread evenly over the time it buys (a refund taken off \
         the time it gives back), per charge type, stacked (the top edge is the total), per \
         {unit}, in {currency} (costs_accrued.csv). Prepaid time bought beyond the end of the \
         run, {beyond:.2} {currency}, is not drawn; with it the accrued costs add up to the \
         cash costs."
    );
    chart
}

/// An hourly cost file (`costs.csv` or `costs_accrued.csv`: the same columns) by charge type
/// and hour and by zone and charge type; `None` when the run wrote no such file.
fn read_costs(path: &Path) -> anyhow::Result<Option<Costs>> {
    let mut costs = Costs::default();
    let found = read_csv(
        path,
        &["hour_start_s", "zone", "charge_type", "cost"],
        |r| {
            let t = time_ms(r[0])?;
            let charge = charge_type(r[2])?;
            let c = number(r[3])?;
            *entry(&mut costs.by_hour, &charge, t) += c;
            *costs
                .by_zone
                .entry((r[1].to_string(), charge.as_str().to_string()))
                .or_default() += c;
            Ok(())
        },
    )?;
    Ok(found.then_some(costs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_track_peak_and_total() {
        let t = QuotaTrack {
            unit: "instances".into(),
            points: vec![(0, 1.0, Some(30.0)), (10, 5.0, Some(30.0)), (20, 5.0, None)],
        };
        assert_eq!(t.peak(), Some((5.0, 10)));
        assert_eq!(t.total(), Some(30.0));
        assert_eq!(QuotaTrack::default().peak(), None);
    }

    fn temp_run(tag: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fleetsim-figures-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    const TS: &str = "time_s,zone,charge_type,state,instances,vcpus,memory_gib\n\
        3600.000,z-1,PREPAID,RUNNING,2,8,16\n\
        3600.000,z-1,SPOTPAID,PENDING,1,2,4\n\
        7200.000,z-2,PREPAID,RUNNING,3,12,24\n";
    const QUOTA: &str = "time_s,zone,charge_type,unit,used,total\n\
        0.000,z-1,POSTPAID_BY_HOUR,instances,0,30\n\
        3600.000,z-1,POSTPAID_BY_HOUR,instances,4,30\n\
        7200.000,z-1,POSTPAID_BY_HOUR,instances,2,30\n";
    const API: &str = "bucket_start_s,action,outcome,calls,retries,give_ups\n\
        0.000,RunInstances,OK,5,0,0\n\
        0.000,RunInstances,RequestLimitExceeded,3,1,1\n\
        3600.000,RunInstances,LimitExceeded.InstanceQuota,2,0,0\n";

    #[test]
    fn run_data_from_files() {
        let dir = temp_run(
            "data",
            &[
                ("timeseries.csv", TS),
                ("quota.csv", QUOTA),
                ("api.csv", API),
            ],
        );
        let d = RunData::load(&dir).unwrap();
        assert_eq!(d.times, [0, 3_600_000, 7_200_000].into());
        assert_eq!(d.instances_by_zone["z-1"][&3_600_000], 3.0);
        assert_eq!(d.vcpus_by_zone["z-2"][&7_200_000], 12.0);
        assert_eq!(d.instances_by_state[&InstanceState::Pending].len(), 1);
        let q = &d.quota[&("z-1".to_string(), "POSTPAID_BY_HOUR".to_string())];
        assert_eq!(q.peak(), Some((4.0, 3_600_000)));
        assert_eq!(q.total(), Some(30.0));
        assert_eq!(
            d.api_buckets[&0],
            ApiBucket {
                calls: 8,
                throttled: 3,
                other_errors: 0
            }
        );
        assert_eq!(d.api_buckets[&3_600_000].other_errors, 2);
        assert_eq!(d.api_by_outcome["RequestLimitExceeded"].give_ups, 1);
        assert_eq!(d.api_by_action["RunInstances"].errors, 5);
        assert!(d.costs.is_none(), "no costs.csv");

        std::fs::remove_file(dir.join("api.csv")).unwrap();
        let err = RunData::load(&dir).unwrap_err().to_string();
        assert!(err.contains("api.csv"), "{err}");
        std::fs::write(dir.join("api.csv"), "bucket_start_s,action\n").unwrap();
        let err = format!("{:#}", RunData::load(&dir).unwrap_err());
        assert!(err.contains("no `outcome` column"), "{err}");
        std::fs::write(dir.join("api.csv"), API.replace(",5,0,0", ",x,0,0")).unwrap();
        let err = format!("{:#}", RunData::load(&dir).unwrap_err());
        assert!(err.contains("api.csv, line 2"), "{err}");
        std::fs::write(
            dir.join("api.csv"),
            API.replace("0.000,RunInstances,OK", "0.000,Fly,OK"),
        )
        .unwrap();
        let err = format!("{:#}", RunData::load(&dir).unwrap_err());
        assert!(
            err.contains("api.csv, line 2") && err.contains("`Fly` is not a known action"),
            "{err}"
        );
        std::fs::write(dir.join("api.csv"), API).unwrap();
        std::fs::write(dir.join("timeseries.csv"), TS.replace("PENDING", "ASLEEP")).unwrap();
        let err = format!("{:#}", RunData::load(&dir).unwrap_err());
        assert!(
            err.contains("timeseries.csv, line 3") && err.contains("`ASLEEP`"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cumulative_cost_per_charge_type() {
        let costs = "hour_start_s,zone,charge_type,cost\n\
            0.000,z-1,PREPAID,100\n\
            0.000,z-1,SPOTPAID,1\n\
            3600.000,z-2,SPOTPAID,2\n\
            3600.000,z-1,SPOTPAID,0.5\n";
        let dir = temp_run(
            "costs",
            &[
                ("timeseries.csv", TS),
                ("quota.csv", QUOTA),
                ("api.csv", API),
                ("costs.csv", costs),
            ],
        );
        let d = RunData::load(&dir).unwrap();
        let c = d.costs.as_ref().expect("costs.csv read");
        assert_eq!(c.by_zone[&("z-2".to_string(), "SPOTPAID".to_string())], 2.0);
        // A last, partial hour: points at 1 h, 2 h and 2.5 h.
        let chart = cost_chart(c, 9000.0, "CNY", true);
        assert_eq!(chart.y_label, "Cumulative cost (CNY)");
        let names: Vec<&str> = chart.series.iter().map(|s| s.0.name.as_str()).collect();
        // Stacked: the top edge is the total, no total line.
        assert_eq!(names, ["PREPAID", "SPOTPAID"]);
        assert_eq!(chart.kind, ChartKind::StackedArea);
        assert_eq!(
            chart.series[1].0.points,
            vec![(0.0, 0.0), (1.0, 1.0), (2.0, 3.5), (2.5, 3.5)]
        );
        // Per bucket: a total line, dashed.
        let chart = cost_chart(c, 9000.0, "CNY", false);
        assert_eq!(chart.stem, "cost_per_hour");
        assert_eq!(chart.series[2].0.name, "total");
        assert_eq!(
            chart.series[2].0.points[1..],
            [(1.0, 101.0), (2.0, 2.5), (2.5, 0.0)]
        );
        assert!(chart.series[2].1.dashed);
        // Longer than 72 hours: per day, the same money.
        let chart = cost_chart(c, 4.0 * 86_400.0, "CNY", false);
        assert_eq!(chart.stem, "cost_per_day");
        assert_eq!(chart.y_label, "Cost per day (CNY)");
        assert_eq!(chart.series[1].0.points[..2], [(0.0, 0.0), (24.0, 3.5)]);
        assert_eq!(chart.series[2].0.points.len(), 5);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_state_is_stacked_once() {
        let mut order = STATE_ORDER.to_vec();
        order.sort();
        assert_eq!(order, InstanceState::ALL);
    }

    #[test]
    fn times_and_numbers() {
        assert_eq!(time_ms("600.000").unwrap(), 600_000);
        assert_eq!(time_ms("0.071").unwrap(), 71);
        assert!(time_ms("-1").is_err());
        assert!(number("x").is_err());
        assert!(number("inf").is_err());
        let times: BTreeSet<Ms> = [0, 3_600_000].into();
        let m: BTreeMap<Ms, f64> = [(3_600_000, 4.0)].into();
        assert_eq!(filled(&times, Some(&m)), vec![(0.0, 0.0), (1.0, 4.0)]);
    }
}
