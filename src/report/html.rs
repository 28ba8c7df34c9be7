//! `report.html`: one self-contained page per run folder — the scenario's key settings, the
//! summary figures, tables and every chart (inline SVG). It fetches nothing: no external CSS,
//! JavaScript, fonts or images; links point only to the files beside it.
//!
//! The page is the askama template `templates/report.html` over [`ReportPage`], a typed view
//! model built here from the run's typed results (the [`Summary`], the [`RunData`] read back
//! from the run folder, the findings) and the scenario's resolved settings
//! ([`Scenario::shown`]). The template only lays out; every figure is formatted here, so the
//! formatting is tested in Rust and a misspelt field fails the build, not the page.
//!
//! The page holds no wall-clock figure, so identical runs give byte-identical pages.

use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use askama::Template;
use askama::filters::Escaper as _;

use crate::engine::{SimDuration, format_duration};
use crate::scenario::{Scenario, Shown, ShownWorkload, ShownZone};

use super::charts::{ChartKind, palette_css};
use super::figures::{Figure, Figures, Ms, RunData};
use super::findings::Finding;
use super::summary::Summary;

/// The file name of the page in the run folder.
pub const REPORT_FILE: &str = "report.html";

/// Writes `report.html` into the run folder `dir`, whose charts are `figs`.
pub fn write_report(
    dir: &Path,
    summary: &Summary,
    scn: &Scenario,
    figs: &Figures,
    findings: &[Finding],
) -> Result<()> {
    let mut charts = Vec::with_capacity(figs.figures.len());
    for f in &figs.figures {
        let path = dir.join(format!("{}.svg", f.stem));
        let svg = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        charts.push(ChartView {
            stem: f.stem,
            svg: inline_svg(&svg, &f.title),
            caption: f.caption.clone(),
            data: chart_json(f),
        });
    }
    let page = ReportPage::new(summary, scn, figs, charts, findings);
    let html = page.render_page().context("cannot render report.html")?;
    let path = dir.join(REPORT_FILE);
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = Escape.write_escaped_str(&mut out, s);
    out
}

/// The templates' HTML escaper (named in `templates/askama.toml`): `&`, `<`, `>`, `"` and `'`
/// as named or decimal entities, the same bytes the hand-written page of earlier versions had.
#[derive(Clone, Copy, Debug, Default)]
pub struct Escape;

impl askama::filters::Escaper for Escape {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut last = 0;
        for (i, c) in s.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[last..i])?;
            dest.write_str(entity)?;
            last = i + 1;
        }
        dest.write_str(&s[last..])
    }
}

/// The `<svg>` element of a chart file, ready to sit inside the page: without any XML prolog,
/// labelled for screen readers, scaled by the page's CSS.
fn inline_svg(svg: &str, title: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let body = svg[start..].trim_end();
    let label = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\"",
        escape(title)
    );
    match body.strip_prefix("<svg") {
        Some(rest) => format!("{label}{rest}"),
        None => body.to_string(),
    }
}

/// The view model of `report.html`: every figure the page shows, formatted, in page order.
#[derive(Template)]
#[template(path = "report.html", config = "templates/askama.toml")]
pub struct ReportPage<'a> {
    /// `name (seed N)`, for the window title.
    title: String,
    version: &'static str,
    scenario: &'a str,
    seed: u64,
    description: Option<String>,
    /// The scenario file, as given.
    origin: &'a str,
    duration: String,
    n_zones: usize,
    n_types: usize,
    n_workloads: usize,
    currency: &'a str,
    findings: Vec<FindingView>,
    cards: Vec<Card>,
    /// The "Run" table: label, value.
    run_rows: Vec<(&'static str, String)>,
    types: Vec<TypeRow>,
    /// Some type has no price in `[prices]` and uses the built-in illustrative one.
    any_illustrative: bool,
    zones: Vec<ZoneRow<'a>>,
    workloads: Vec<ShownWorkload>,
    /// By charge type, then the total row.
    cost_by_charge: Vec<CostRow>,
    /// `None` when the run folder has no `costs.csv`.
    cost_by_zone: Option<CostByZone>,
    api_errors: Vec<ErrorRow>,
    api_calls: String,
    api_ok: String,
    api_give_ups: String,
    api_actions: Vec<ActionRow>,
    quota_empty: bool,
    quotas: Vec<QuotaRow>,
    charts: Vec<ChartView>,
    uplot_js: &'static str,
    uplot_css: &'static str,
    report_js: &'static str,
    /// The files of the run folder: name, what it holds.
    files: Vec<(String, &'static str)>,
}

struct FindingView {
    key: &'static str,
    text: String,
}

/// A summary card: `raw` is the figure as in `summary.json` (for scripts), `value` as shown,
/// with the currency apart so that large sums keep to one line.
struct Card {
    key: &'static str,
    label: &'static str,
    raw: String,
    value: String,
    unit: Option<String>,
    warn: bool,
}

struct TypeRow {
    name: String,
    illustrative: bool,
    vcpus: u32,
    memory_gib: u32,
    postpaid_hourly: String,
    prepaid_monthly: String,
}

struct ZoneRow<'a> {
    name: &'a str,
    region: &'a str,
    zone_id: u32,
    shown: ShownZone,
}

struct CostRow {
    name: String,
    cost: String,
    share: String,
    total: bool,
}

struct CostByZone {
    /// Charge type and its short name for the column header.
    charges: Vec<(String, String)>,
    /// One row per zone, then the total row.
    rows: Vec<ZoneCostRow>,
}

struct ZoneCostRow {
    name: String,
    cells: Vec<String>,
    sum: String,
    total: bool,
}

struct ErrorRow {
    code: String,
    calls: String,
    share: String,
    retries: String,
    give_ups: String,
}

struct ActionRow {
    action: String,
    calls: String,
    errors: String,
    retries: String,
}

struct QuotaRow {
    zone: String,
    charge_type: String,
    unit: String,
    peak: String,
    first_at: String,
    quota: String,
    share: String,
    hit: bool,
}

/// A chart, inlined.
pub struct ChartView {
    stem: &'static str,
    /// The chart's `<svg>` element, written by fleetsim's own chart code (not escaped): what
    /// the page shows without JavaScript.
    svg: String,
    caption: String,
    /// The chart's data as JSON for the interactive chart, safe inside `<script>`.
    data: String,
}

/// uPlot (MIT licence, `assets/uplot/`): the small charting library the interactive charts
/// are drawn with, inlined so that the page needs nothing but itself.
const UPLOT_JS: &str = include_str!("../../assets/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../assets/uplot/uPlot.min.css");
/// The page's own script: builds one uPlot chart per figure from its JSON.
const REPORT_JS: &str = include_str!("../../templates/report.js");

/// One interactive chart's data: the union of the series' times (hours), and per series its
/// values at those times (`null` where it has none).
#[derive(serde::Serialize)]
struct ChartData<'a> {
    y_label: &'a str,
    stacked: bool,
    x: Vec<f64>,
    series: Vec<SeriesData<'a>>,
}

#[derive(serde::Serialize)]
struct SeriesData<'a> {
    name: &'a str,
    /// `#rrggbb`, the series' colour in the SVG and PNG.
    color: String,
    dash: bool,
    values: Vec<Option<f64>>,
    /// Stacked charts: the top edge of the series' band (its value plus those below it).
    #[serde(skip_serializing_if = "Option::is_none")]
    stacked: Option<Vec<f64>>,
}

/// The JSON of a figure's interactive chart. Stacked bands are listed top band first, as in
/// the SVG's legend, so that uPlot paints each lower band over the one above it.
fn chart_json(f: &Figure) -> String {
    let mut x: Vec<f64> = f
        .series
        .iter()
        .flat_map(|(s, _)| s.points.iter().map(|p| p.0))
        .filter(|v| v.is_finite())
        .collect();
    x.sort_by(f64::total_cmp);
    x.dedup();
    let stacked = f.kind == ChartKind::StackedArea;
    let mut base = vec![0.0; x.len()];
    let mut series: Vec<SeriesData> = f
        .series
        .iter()
        .enumerate()
        .map(|(i, (s, style))| {
            let mut values = vec![None; x.len()];
            for &(px, py) in &s.points {
                if let Ok(j) = x.binary_search_by(|v| v.total_cmp(&px))
                    && py.is_finite()
                {
                    values[j] = Some(py);
                }
            }
            let top = stacked.then(|| {
                for (b, v) in base.iter_mut().zip(&values) {
                    *b += v.unwrap_or(0.0);
                }
                base.clone()
            });
            SeriesData {
                name: &s.name,
                color: palette_css(style.color.unwrap_or(i)),
                dash: style.dashed && !stacked,
                values,
                stacked: top,
            }
        })
        .collect();
    if stacked {
        series.reverse();
    }
    let json = serde_json::to_string(&ChartData {
        y_label: &f.y_label,
        stacked,
        x,
        series,
    })
    .unwrap_or_else(|_| "null".into());
    // Inside <script>, `</` could end the element early.
    json.replace("</", "<\\/")
}

impl<'a> ReportPage<'a> {
    /// The page's view of a run.
    pub fn new(
        summary: &'a Summary,
        scn: &'a Scenario,
        figs: &Figures,
        charts: Vec<ChartView>,
        findings: &[Finding],
    ) -> Self {
        let shown = scn.shown();
        let d = &figs.data;
        let types: Vec<TypeRow> = scn
            .catalog
            .types
            .iter()
            .zip(&scn.catalog.prices)
            .zip(&shown.priced)
            .map(|((t, p), &given)| TypeRow {
                name: t.name.clone(),
                illustrative: !given,
                vcpus: t.vcpus,
                memory_gib: t.memory_gib,
                postpaid_hourly: fmt_price(p.postpaid_hourly),
                prepaid_monthly: fmt_price(p.prepaid_monthly),
            })
            .collect();
        let zones = scn
            .catalog
            .zones
            .iter()
            .zip(shown.zones.iter().cloned())
            .map(|(z, shown)| ZoneRow {
                name: &z.name,
                region: &z.region,
                zone_id: z.zone_id,
                shown,
            })
            .collect();
        let ok = d.api_by_outcome.get("OK").map(|t| t.calls).unwrap_or(0);
        ReportPage {
            title: format!("{} (seed {})", summary.scenario, summary.seed),
            version: env!("CARGO_PKG_VERSION"),
            scenario: &summary.scenario,
            seed: summary.seed,
            description: shown.description.clone(),
            origin: &scn.origin,
            duration: fmt_secs_duration(summary.duration_s),
            n_zones: scn.catalog.zones.len(),
            n_types: scn.catalog.types.len(),
            n_workloads: scn.workloads.len(),
            currency: &summary.currency,
            findings: findings
                .iter()
                .map(|f| FindingView {
                    key: f.key(),
                    text: f.text(),
                })
                .collect(),
            cards: cards(summary),
            run_rows: run_rows(summary, scn, &shown),
            any_illustrative: types.iter().any(|t| t.illustrative),
            types,
            zones,
            workloads: shown.workloads,
            cost_by_charge: cost_by_charge(summary),
            cost_by_zone: cost_by_zone(d, scn),
            api_errors: api_errors(d),
            api_calls: fmt_int(summary.api_calls_total),
            api_ok: fmt_int(ok),
            api_give_ups: fmt_int(summary.api_give_ups),
            api_actions: d
                .api_by_action
                .iter()
                .map(|(a, t)| ActionRow {
                    action: a.clone(),
                    calls: fmt_int(t.calls),
                    errors: fmt_int(t.errors),
                    retries: fmt_int(t.retries),
                })
                .collect(),
            quota_empty: d.quota.is_empty(),
            quotas: quota_rows(d, scn),
            charts,
            uplot_js: UPLOT_JS,
            uplot_css: UPLOT_CSS,
            report_js: REPORT_JS,
            files: files(figs),
        }
    }

    /// The page as written to the file.
    pub fn render_page(&self) -> askama::Result<String> {
        let mut html = self.render()?;
        // askama drops the template file's final newline; the page ends with one.
        html.push('\n');
        Ok(html)
    }
}

fn cards(s: &Summary) -> Vec<Card> {
    let count = |key, label, v: u64, warn| Card {
        key,
        label,
        raw: v.to_string(),
        value: fmt_int(v),
        unit: None,
        warn,
    };
    let money = |key, label, v: f64| Card {
        key,
        label,
        raw: v.to_string(),
        value: fmt_money(v),
        unit: Some(format!(" {}", s.currency)),
        warn: false,
    };
    vec![
        count(
            "instances_created",
            "instances created",
            s.instances_created,
            false,
        ),
        count(
            "instances_terminated",
            "instances terminated",
            s.instances_terminated,
            false,
        ),
        count(
            "instances_alive_at_end",
            "alive at end",
            s.instances_alive_at_end,
            false,
        ),
        Card {
            key: "mean_instances_alive",
            label: "mean instances alive",
            raw: s.mean_instances_alive.to_string(),
            value: fmt_dec1(s.mean_instances_alive),
            unit: None,
            warn: false,
        },
        count(
            "peak_instances_alive",
            "peak instances alive",
            s.peak_instances_alive,
            false,
        ),
        count(
            "instances_launch_failed",
            "launches failed",
            s.instances_launch_failed,
            false,
        ),
        count(
            "requests_refused",
            "instances refused",
            s.requests_refused,
            s.requests_refused > 0,
        ),
        count("api_calls_total", "API calls", s.api_calls_total, false),
        count(
            "api_calls_throttled",
            "API calls throttled",
            s.api_calls_throttled,
            s.api_calls_throttled > 0,
        ),
        count(
            "api_give_ups",
            "client give-ups",
            s.api_give_ups,
            s.api_give_ups > 0,
        ),
        money("cost_total", "total cost", s.cost_total),
        money("cost_to_horizon", "cost to the horizon", s.cost_to_horizon),
        money(
            "cost_prepaid_unused",
            "prepaid beyond the horizon",
            s.cost_prepaid_unused,
        ),
        count(
            "events_processed",
            "events processed",
            s.events_processed,
            false,
        ),
    ]
}

fn run_rows(s: &Summary, scn: &Scenario, shown: &Shown) -> Vec<(&'static str, String)> {
    let seed = if s.seed == scn.seed {
        s.seed.to_string()
    } else {
        format!("{} (overrides the scenario's {})", s.seed, scn.seed)
    };
    let mut rows = vec![
        ("name", s.scenario.clone()),
        ("file", scn.origin.clone()),
        ("seed", seed),
        ("duration", fmt_secs_duration(s.duration_s)),
        ("sample interval", format_duration(scn.sample_interval)),
        ("currency", s.currency.clone()),
    ];
    for (label, v) in [
        (
            "launch failure probability",
            &shown.launch_failure_probability,
        ),
        ("spot price / postpaid price", &shown.spot_price_fraction),
        ("system disk (GiB)", &shown.disk_gib),
        ("disk price per GiB-hour", &shown.disk_price_per_gib_hour),
        ("API rate limits", &shown.api_preset),
        ("limit window", &shown.api_window),
        ("total API limit", &shown.api_total),
        ("per-action limits", &shown.api_limits),
        ("client retries", &shown.api_retry),
    ] {
        if let Some(v) = v {
            rows.push((label, v.clone()));
        }
    }
    rows
}

fn cost_by_charge(s: &Summary) -> Vec<CostRow> {
    let row = |name: &str, v: f64, total| CostRow {
        name: name.to_string(),
        cost: fmt_money(v),
        share: pct(v, s.cost_total),
        total,
    };
    let mut rows: Vec<CostRow> = s
        .cost_by_charge_type
        .iter()
        .map(|(k, v)| row(k, *v, false))
        .collect();
    rows.push(row("total", s.cost_total, true));
    rows
}

fn cost_by_zone(d: &RunData, scn: &Scenario) -> Option<CostByZone> {
    let c = d.costs.as_ref()?;
    let mut charges: Vec<&String> = c.by_zone.keys().map(|k| &k.1).collect();
    charges.sort();
    charges.dedup();
    let mut col_totals = vec![0.0; charges.len()];
    let mut rows = Vec::new();
    for z in d.zones(scn) {
        let mut sum = 0.0;
        let mut cells = Vec::with_capacity(charges.len());
        for (i, ch) in charges.iter().enumerate() {
            let v = c
                .by_zone
                .get(&(z.clone(), (*ch).clone()))
                .copied()
                .unwrap_or(0.0);
            sum += v;
            col_totals[i] += v;
            cells.push(fmt_money(v));
        }
        rows.push(ZoneCostRow {
            name: z,
            cells,
            sum: fmt_money(sum),
            total: false,
        });
    }
    rows.push(ZoneCostRow {
        name: "total".into(),
        cells: col_totals.iter().map(|v| fmt_money(*v)).collect(),
        sum: fmt_money(col_totals.iter().sum()),
        total: true,
    });
    Some(CostByZone {
        charges: charges
            .into_iter()
            .map(|ch| (ch.clone(), short_charge(ch).to_string()))
            .collect(),
        rows,
    })
}

fn api_errors(d: &RunData) -> Vec<ErrorRow> {
    let total: u64 = d.api_by_outcome.values().map(|t| t.calls).sum();
    d.api_by_outcome
        .iter()
        .filter(|(k, _)| *k != "OK")
        .map(|(code, t)| ErrorRow {
            code: code.clone(),
            calls: fmt_int(t.calls),
            share: pct(t.calls as f64, total as f64),
            retries: fmt_int(t.retries),
            give_ups: fmt_int(t.give_ups),
        })
        .collect()
}

fn quota_rows(d: &RunData, scn: &Scenario) -> Vec<QuotaRow> {
    let zones = d.zones(scn);
    let mut keys: Vec<&(String, String)> = d.quota.keys().collect();
    keys.sort_by_key(|(z, c)| (zones.iter().position(|x| x == z), c.clone()));
    let mut rows = Vec::new();
    for key in keys {
        let track = &d.quota[key];
        let Some((peak, at)) = track.peak() else {
            continue;
        };
        let total = track.total();
        rows.push(QuotaRow {
            zone: key.0.clone(),
            charge_type: key.1.clone(),
            unit: track.unit.clone(),
            peak: fmt_count(peak),
            first_at: if peak > 0.0 {
                fmt_clock(at)
            } else {
                "–".into()
            },
            quota: total.map(fmt_count).unwrap_or_else(|| "unlimited".into()),
            share: total.map(|q| pct(peak, q)).unwrap_or_else(|| "–".into()),
            hit: total.is_some_and(|q| peak >= q),
        });
    }
    rows
}

fn files(figs: &Figures) -> Vec<(String, &'static str)> {
    let mut files: Vec<(String, &'static str)> = vec![
        ("summary.json".into(), "headline figures"),
        (
            "timeseries.csv".into(),
            "the fleet at every sample, per zone, charge type and state",
        ),
        (
            "quota.csv".into(),
            "quota use at every sample, per zone and charge type",
        ),
        (
            "api.csv".into(),
            "API calls per time bucket, action and outcome",
        ),
        ("instances.csv".into(), "one row per instance ever created"),
    ];
    if figs.data.costs.is_some() {
        files.push(("costs.csv".into(), "cost per hour, zone and charge type"));
    }
    if figs.data.costs_accrued.is_some() {
        files.push((
            "costs_accrued.csv".into(),
            "the same, each prepaid payment spread over the time it buys",
        ));
    }
    for f in &figs.figures {
        files.push((format!("{}.svg", f.stem), "chart (vector)"));
        files.push((format!("{}.png", f.stem), "chart (1000×600 image)"));
    }
    files
}

/// The view model of the `report.html` of a `compare` or a `sweep`: what many runs found, the
/// tables and one interactive chart per metric, each point a strategy or a grid point with
/// its mean and 95% interval. Built by `compare` and `sweep` from their typed results.
#[derive(Template)]
#[template(path = "study.html", config = "templates/askama.toml")]
pub struct StudyPage {
    /// `compare` or `sweep`.
    pub kind: &'static str,
    pub title: String,
    /// One sentence under the title: the scenario file, seed, replications.
    pub meta: String,
    /// Key (for scripts and tests), sentence.
    pub findings: Vec<(String, String)>,
    pub tables: Vec<StudyTable>,
    pub charts: Vec<StudyChart>,
    /// The files of the folder: name, what it holds.
    pub files: Vec<(String, String)>,
    version: &'static str,
    uplot_js: &'static str,
    uplot_css: &'static str,
    report_js: &'static str,
}

/// A table of a [`StudyPage`]: each cell already formatted.
pub struct StudyTable {
    /// The section's `id` (for links).
    pub id: &'static str,
    pub title: String,
    /// Column name and whether it holds numbers (right-aligned).
    pub head: Vec<(String, bool)>,
    pub rows: Vec<Vec<String>>,
    pub note: String,
}

/// A point of a [`StudyChart`]: its label, the mean and the 95% interval (`None` where it
/// cannot be estimated).
pub type StudyPoint = (String, f64, Option<(f64, f64)>);

/// One metric across strategies or grid points: `(label, mean, ci_low, ci_high)` per point;
/// the interval is `None` where it cannot be estimated (one replication).
pub struct StudyChart {
    pub id: String,
    pub title: String,
    pub caption: String,
    data: String,
}

impl StudyChart {
    /// A chart of `points` (label, mean, interval) with `y_label` on its value axis; `joined`
    /// draws lines between neighbouring points (a grid axis), else points only (strategies).
    pub fn new(
        id: String,
        title: String,
        caption: String,
        y_label: &str,
        points: &[StudyPoint],
        joined: bool,
    ) -> Self {
        #[derive(serde::Serialize)]
        struct Data<'a> {
            y_label: &'a str,
            stacked: bool,
            unjoined: bool,
            labels: Vec<&'a str>,
            x: Vec<f64>,
            series: Vec<SeriesData<'a>>,
        }
        let finite = |v: f64| v.is_finite().then_some(v);
        let line =
            |name: &'static str, color: usize, dash: bool, values: Vec<Option<f64>>| SeriesData {
                name,
                color: palette_css(color),
                dash,
                values,
                stacked: None,
            };
        let data = Data {
            y_label,
            stacked: false,
            unjoined: !joined,
            labels: points.iter().map(|p| p.0.as_str()).collect(),
            x: (0..points.len()).map(|i| i as f64).collect(),
            series: vec![
                line(
                    "mean",
                    0,
                    false,
                    points.iter().map(|p| finite(p.1)).collect(),
                ),
                line(
                    "95% CI low",
                    10,
                    true,
                    points
                        .iter()
                        .map(|p| p.2.and_then(|c| finite(c.0)))
                        .collect(),
                ),
                line(
                    "95% CI high",
                    10,
                    true,
                    points
                        .iter()
                        .map(|p| p.2.and_then(|c| finite(c.1)))
                        .collect(),
                ),
            ],
        };
        let json = serde_json::to_string(&data).unwrap_or_else(|_| "null".into());
        StudyChart {
            id,
            title,
            caption,
            data: json.replace("</", "<\\/"),
        }
    }
}

impl StudyPage {
    /// A page with the inlined scripts; fill the public fields.
    pub fn new(kind: &'static str, title: String, meta: String) -> Self {
        StudyPage {
            kind,
            title,
            meta,
            findings: Vec::new(),
            tables: Vec::new(),
            charts: Vec::new(),
            files: Vec::new(),
            version: env!("CARGO_PKG_VERSION"),
            uplot_js: UPLOT_JS,
            uplot_css: UPLOT_CSS,
            report_js: REPORT_JS,
        }
    }

    /// Writes the page as `report.html` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut html = self.render().context("cannot render report.html")?;
        html.push('\n');
        let path = dir.join(REPORT_FILE);
        std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Money or another figure for a study table: two decimals, thousands separators.
pub fn fmt_figure(v: f64) -> String {
    fmt_money(v)
}

/// A 95% interval as `low – high`, or `n/a` without one.
pub fn fmt_interval(ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() => {
            format!("{} – {}", fmt_money(lo), fmt_money(hi))
        }
        _ => "n/a".into(),
    }
}

/// `postpaid`, `prepaid` and `spot` for the charge types, for narrow table headers.
fn short_charge(c: &str) -> &str {
    match c {
        "POSTPAID_BY_HOUR" => "postpaid",
        "PREPAID" => "prepaid",
        "SPOTPAID" => "spot",
        other => other,
    }
}

fn fmt_secs_duration(s: f64) -> String {
    format_duration(SimDuration((s * 1000.0).round().max(0.0) as u64))
}

/// Simulated time as `d<day> hh:mm:ss`, like `--trace`.
fn fmt_clock(t: Ms) -> String {
    let s = t / 1000;
    format!(
        "d{} {:02}:{:02}:{:02}",
        s / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// An integer with thousands separators: 1234567 -> "1,234,567".
fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with thousands separators when it is whole (`1,860`), else as it is.
fn fmt_count(v: f64) -> String {
    if v >= 0.0 && v == v.trunc() && v < 1e15 {
        fmt_int(v as u64)
    } else {
        fmt_num(v)
    }
}

/// One decimal and thousands separators: 3195.94 -> "3,195.9".
fn fmt_dec1(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let tenths = (v.abs() * 10.0).round() as u64;
    format!(
        "{}{}.{}",
        if v < 0.0 && tenths > 0 { "-" } else { "" },
        fmt_int(tenths / 10),
        tenths % 10
    )
}

/// Money with two decimals and thousands separators.
fn fmt_money(v: f64) -> String {
    let cents = (v * 100.0).round();
    let neg = cents < 0.0;
    let cents = cents.abs() as u64;
    format!(
        "{}{}.{:02}",
        if neg { "-" } else { "" },
        fmt_int(cents / 100),
        cents % 100
    )
}

/// A price in micro-units with up to four decimals.
fn fmt_price(micro: u64) -> String {
    let v = micro as f64 / 1e6;
    if v >= 100.0 {
        fmt_money(v)
    } else {
        format!("{v:.4}")
    }
}

/// A number without a trailing `.0`.
fn fmt_num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn pct(part: f64, whole: f64) -> String {
    if whole > 0.0 && part.is_finite() {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "–".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(1000), "1,000");
        assert_eq!(fmt_int(1234567), "1,234,567");
        assert_eq!(fmt_money(270.046), "270.05");
        assert_eq!(fmt_money(-1234.5), "-1,234.50");
        assert_eq!(fmt_clock(93_784_000), "d1 02:03:04");
        assert_eq!(pct(1.0, 4.0), "25.0%");
        assert_eq!(pct(1.0, 0.0), "–");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_count(1860.0), "1,860");
        assert_eq!(fmt_count(2.5), "2.5");
        assert_eq!(fmt_dec1(3195.94), "3,195.9");
        assert_eq!(fmt_dec1(-0.01), "0.0");
    }

    #[test]
    fn chart_json_aligns_series_and_stacks_top_first() {
        use crate::report::charts::{Series, SeriesStyle};
        let s = |name: &str, points: Vec<(f64, f64)>, color| {
            (
                Series {
                    name: name.into(),
                    points,
                },
                SeriesStyle {
                    color: Some(color),
                    dashed: false,
                },
            )
        };
        let mut f = Figure {
            stem: "x",
            title: "t".into(),
            caption: "c".into(),
            y_label: "y </script>".into(),
            kind: ChartKind::Lines,
            series: vec![
                s("a", vec![(0.0, 1.0), (1.0, 2.0)], 0),
                s("b", vec![(1.0, 5.0), (2.0, 6.0)], 1),
            ],
        };
        let v: serde_json::Value = serde_json::from_str(&chart_json(&f)).unwrap();
        assert_eq!(v["x"], serde_json::json!([0.0, 1.0, 2.0]));
        assert_eq!(
            v["series"][0]["values"],
            serde_json::json!([1.0, 2.0, null])
        );
        assert_eq!(v["series"][1]["color"], "#ff7f0e");
        assert!(
            !chart_json(&f).contains("</"),
            "`</` escaped inside <script>"
        );
        f.kind = ChartKind::StackedArea;
        let v: serde_json::Value = serde_json::from_str(&chart_json(&f)).unwrap();
        // Top band first; its top edge is the sum, a missing value counting 0.
        assert_eq!(v["series"][0]["name"], "b");
        assert_eq!(
            v["series"][0]["stacked"],
            serde_json::json!([1.0, 7.0, 6.0])
        );
        assert_eq!(
            v["series"][1]["stacked"],
            serde_json::json!([1.0, 2.0, 0.0])
        );
    }

    #[test]
    fn svg_is_inlined_without_prolog() {
        let s = inline_svg(
            "<?xml version=\"1.0\"?>\n<svg width=\"10\" viewBox=\"0 0 10 10\"></svg>\n",
            "a <b>",
        );
        assert_eq!(
            s,
            "<svg class=\"chart\" role=\"img\" aria-label=\"a &lt;b&gt;\" width=\"10\" \
             viewBox=\"0 0 10 10\"></svg>"
        );
    }
}
