//! Charts as SVG and PNG, from plain data.
//!
//! This module knows nothing about the simulation: callers hand it series of `(hours, value)`
//! points or bars with confidence intervals, and it writes `<stem>.svg` and `<stem>.png`.
//!
//! Everything is drawn in pure Rust (plotters with its `ab_glyph` text renderer) with the
//! DejaVu Sans font embedded in the binary (`assets/fonts/DejaVuSans.ttf`, licence in
//! `assets/fonts/LICENSE-DejaVu.txt`), so charts render the same on a machine without any
//! system fonts, fontconfig or freetype.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::ops::Range;

/// Pixel size of the PNG (and the SVG's view box).
pub const CHART_SIZE: (u32, u32) = (1000, 600);

/// The font family name the embedded font is registered under.
const FONT_FAMILY: &str = "sans-serif";
/// DejaVu Sans, embedded so that no system font is needed.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

const TITLE_SIZE: f64 = 24.0;
const AXIS_DESC_SIZE: f64 = 17.0;
const TICK_SIZE: f64 = 14.0;
const LEGEND_SIZE: f64 = 15.0;
/// Time spans longer than this many hours get their ticks labelled in days.
const DAY_LABEL_THRESHOLD_H: f64 = 72.0;
/// At most this many labelled ticks on the time axis.
const MAX_TIME_TICKS: f64 = 12.0;
/// Legend names longer than this many characters are shortened with an ellipsis.
/// (46 fits a zone name with "vCPUs (spot quota unlimited)".)
const MAX_LEGEND_CHARS: usize = 46;

/// One named line (or band) of a time chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub name: String,
    /// `(x, y)`: x is simulated time in hours, y the value. Non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// What a time chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// Drawn above the chart (callers put the scenario name and seed in it).
    pub title: String,
    /// The quantity on the time axis, without unit, e.g. "Simulated time": the unit,
    /// " (hours)" or " (days)", is appended to match the tick labels.
    pub x_label: String,
    /// The y axis label, with its unit, e.g. "Running instances (count)".
    pub y_label: String,
    pub kind: ChartKind,
}

/// How one series of a time chart is drawn, for [`render_time_chart_styled`]: by default the
/// `i`-th series gets the `i`-th palette colour and a solid line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesStyle {
    /// Palette index of the colour (the 20 Tableau colours, strong ones first, then their light
    /// variants: index `i + 10` is a lighter shade of `i`); `None` is the series' own index.
    pub color: Option<usize>,
    /// A dashed line (e.g. a limit), drawn over the solid lines; ignored by stacked areas.
    pub dashed: bool,
}

/// How the series of a time chart are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// One line per series.
    Lines,
    /// Series stacked cumulatively in the given order (the first at the bottom). Series are
    /// linearly interpolated on the union of all x values; outside its own x span a series
    /// contributes 0.
    StackedArea,
}

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("invalid chart file stem {0:?}: it must be non-empty and contain no path separator")]
    InvalidStem(String),
    #[error("cannot create chart folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the embedded chart font could not be loaded")]
    Font,
    #[error("cannot draw chart {path}: {message}")]
    Draw { path: PathBuf, message: String },
}

/// Writes `<stem>.svg` and `<stem>.png` into `dir` (created if missing): a time chart of
/// `series` (x in hours). Empty series, or none at all, give an empty chart with the title.
pub fn render_time_chart(
    dir: &Path,
    stem: &str,
    spec: &ChartSpec,
    series: &[Series],
) -> Result<(), ChartError> {
    render_time_chart_styled(dir, stem, spec, series, &[])
}

/// Like [`render_time_chart`], with `styles[i]` choosing the colour and dash of `series[i]`
/// (series without a style, or with a default one, are drawn as [`render_time_chart`] does).
pub fn render_time_chart_styled(
    dir: &Path,
    stem: &str,
    spec: &ChartSpec,
    series: &[Series],
    styles: &[SeriesStyle],
) -> Result<(), ChartError> {
    let (svg, png) = prepare(dir, stem)?;
    let data = TimeChartData::new(spec.kind, series, styles);
    {
        let root = SVGBackend::new(&svg, CHART_SIZE).into_drawing_area();
        draw_time_chart(&root, spec, &data)
            .and_then(|()| root.present().map_err(area_err))
            .map_err(|message| ChartError::Draw {
                path: svg.clone(),
                message,
            })?;
    }
    {
        let root = BitMapBackend::new(&png, CHART_SIZE).into_drawing_area();
        draw_time_chart(&root, spec, &data)
            .and_then(|()| root.present().map_err(area_err))
            .map_err(|message| ChartError::Draw {
                path: png.clone(),
                message,
            })?;
    }
    Ok(())
}

/// Writes `<stem>.svg` and `<stem>.png` into `dir` (created if missing): one bar per entry of
/// `bars`, `(label, mean, ci_low, ci_high)`, with the confidence interval as a whisker and the
/// mean written above it. Bars with a non-finite mean are left out (their label stays);
/// a non-finite interval bound draws no whisker.
pub fn render_bar_ci(
    dir: &Path,
    stem: &str,
    title: &str,
    y_label: &str,
    bars: &[(String, f64, f64, f64)],
) -> Result<(), ChartError> {
    let (svg, png) = prepare(dir, stem)?;
    {
        let root = SVGBackend::new(&svg, CHART_SIZE).into_drawing_area();
        draw_bar_ci(&root, title, y_label, bars)
            .and_then(|()| root.present().map_err(area_err))
            .map_err(|message| ChartError::Draw {
                path: svg.clone(),
                message,
            })?;
    }
    {
        let root = BitMapBackend::new(&png, CHART_SIZE).into_drawing_area();
        draw_bar_ci(&root, title, y_label, bars)
            .and_then(|()| root.present().map_err(area_err))
            .map_err(|message| ChartError::Draw {
                path: png.clone(),
                message,
            })?;
    }
    Ok(())
}

/// Registers the embedded font (once per process) and returns the two output paths.
fn prepare(dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf), ChartError> {
    if stem.is_empty() || stem.contains(['/', '\\']) || stem == "." || stem == ".." {
        return Err(ChartError::InvalidStem(stem.to_string()));
    }
    ensure_font()?;
    std::fs::create_dir_all(dir).map_err(|source| ChartError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok((
        dir.join(format!("{stem}.svg")),
        dir.join(format!("{stem}.png")),
    ))
}

/// Registers DejaVu Sans as "sans-serif" for plotters' text renderer, once per process.
fn ensure_font() -> Result<(), ChartError> {
    static INIT: Once = Once::new();
    static LOADED: AtomicBool = AtomicBool::new(false);
    INIT.call_once(|| {
        let ok = register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok();
        LOADED.store(ok, Ordering::Release);
    });
    if LOADED.load(Ordering::Acquire) {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

fn area_err<E: StdError + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&BLACK)
}

/// The colour of palette index `i` as CSS `#rrggbb`, for the interactive charts of
/// `report.html`, so that a series has the same colour on the page as in its SVG and PNG.
pub fn palette_css(i: usize) -> String {
    let RGBColor(r, g, b) = series_color(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Colour of the `i`-th series: the 20 Tableau colours (the ten strong ones first, then their
/// light variants), then plotters' 99-colour palette.
fn series_color(i: usize) -> RGBColor {
    const TABLEAU20: [RGBColor; 20] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
        RGBColor(174, 199, 232),
        RGBColor(255, 187, 120),
        RGBColor(152, 223, 138),
        RGBColor(255, 152, 150),
        RGBColor(197, 176, 213),
        RGBColor(196, 156, 148),
        RGBColor(247, 182, 210),
        RGBColor(199, 199, 199),
        RGBColor(219, 219, 141),
        RGBColor(158, 218, 229),
    ];
    match TABLEAU20.get(i) {
        Some(c) => *c,
        None => {
            let (r, g, b) = Palette99::pick(i - TABLEAU20.len()).rgb();
            RGBColor(r, g, b)
        }
    }
}

/// Formats a number without trailing zeros: 3 -> "3", 0.25 -> "0.25", 1.5e-4 -> "0.00015".
fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if (v - v.round()).abs() < 1e-9 {
        return format!("{}", v.round() as i64);
    }
    let decimals = if v.abs() >= 1.0 { 3 } else { 6 };
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Compact y tick labels: 12500 -> "12.5k", 3000000 -> "3M".
fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", fmt_num(v / 1e9))
    } else if a >= 1e6 {
        format!("{}M", fmt_num(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", fmt_num(v / 1e3))
    } else {
        fmt_num(v)
    }
}

/// The smallest of 1, 2, 5 times a power of ten that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 + 1e-9 {
        1.0
    } else if f <= 2.0 + 1e-9 {
        2.0
    } else if f <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A linear f64 axis with ticks at the given positions (and no minor grid lines).
#[derive(Clone)]
struct TickedRange {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedRange {
    fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Self {
        TickedRange {
            inner: (lo..hi).into(),
            ticks,
        }
    }
}

impl Ranged for TickedRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// The time axis: tick positions (in hours) and whether they are labelled in days.
#[derive(Debug, Clone, PartialEq)]
struct TimeAxis {
    in_days: bool,
    ticks: Vec<f64>,
}

impl TimeAxis {
    /// Ticks at round hours (1, 2, 3, 6, 12, 24 h...) for spans up to 72 h, else at round
    /// days (1, 2, 5, 7, 14, 30... days).
    fn new(lo: f64, hi: f64) -> Self {
        let in_days = hi - lo > DAY_LABEL_THRESHOLD_H;
        let (unit, candidates): (f64, &[f64]) = if in_days {
            (
                24.0,
                &[1.0, 2.0, 5.0, 7.0, 14.0, 30.0, 60.0, 90.0, 180.0, 365.0],
            )
        } else {
            (1.0, &[0.25, 0.5, 1.0, 2.0, 3.0, 6.0, 12.0, 24.0])
        };
        let raw = (hi - lo) / unit / MAX_TIME_TICKS;
        let step_units = if raw < candidates[0] && !in_days {
            nice_step(raw)
        } else {
            candidates
                .iter()
                .copied()
                .find(|&c| c >= raw)
                .unwrap_or_else(|| nice_step(raw))
        };
        let step = step_units * unit;
        let mut ticks = Vec::new();
        let first = (lo / step - 1e-9).ceil();
        let mut k = first;
        while ticks.len() < 64 {
            let t = k * step;
            if t > hi + step * 1e-9 {
                break;
            }
            ticks.push(t);
            k += 1.0;
        }
        TimeAxis { in_days, ticks }
    }

    /// Tick label for `hours`: "d3" when labelled in days, else "12h".
    fn label(&self, hours: f64) -> String {
        if self.in_days {
            format!("d{}", fmt_num(hours / 24.0))
        } else {
            format!("{}h", fmt_num(hours))
        }
    }

    fn unit_suffix(&self) -> &'static str {
        if self.in_days { " (days)" } else { " (hours)" }
    }
}

/// Finite, x-sorted points of a series.
fn clean_points(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    p
}

/// Value of the x-sorted `points` at `x`, linearly interpolated; 0 outside their span.
fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return 0.0;
    };
    if x < first.0 || x > last.0 {
        return 0.0;
    }
    // The first point at or after x.
    let i = points.partition_point(|p| p.0 < x);
    let (x1, y1) = points[i];
    if x1 == x || i == 0 {
        return y1;
    }
    let (x0, y0) = points[i - 1];
    y0 + (y1 - y0) * (x - x0) / (x1 - x0)
}

/// What is drawn for one series: a line, or a band between `lower` and `upper`.
struct DrawnSeries {
    name: String,
    color: RGBColor,
    /// Lines: the points. Stacked: the upper edge.
    upper: Vec<(f64, f64)>,
    /// Stacked only: the lower edge, at the same x as `upper`.
    lower: Vec<(f64, f64)>,
    /// Lines only: drawn dashed.
    dashed: bool,
}

/// Series prepared for drawing, with the data ranges.
struct TimeChartData {
    kind: ChartKind,
    series: Vec<DrawnSeries>,
    x_range: (f64, f64),
    y_range: (f64, f64),
    has_points: bool,
}

impl TimeChartData {
    fn new(kind: ChartKind, series: &[Series], styles: &[SeriesStyle]) -> Self {
        let style = |i: usize| styles.get(i).copied().unwrap_or_default();
        let color = |i: usize| series_color(style(i).color.unwrap_or(i));
        let cleaned: Vec<Vec<(f64, f64)>> =
            series.iter().map(|s| clean_points(&s.points)).collect();
        let mut drawn: Vec<DrawnSeries> = Vec::with_capacity(series.len());
        match kind {
            ChartKind::Lines => {
                for (i, (s, pts)) in series.iter().zip(cleaned).enumerate() {
                    drawn.push(DrawnSeries {
                        name: s.name.clone(),
                        color: color(i),
                        upper: pts,
                        lower: Vec::new(),
                        dashed: style(i).dashed,
                    });
                }
            }
            ChartKind::StackedArea => {
                let mut xs: Vec<f64> = cleaned.iter().flatten().map(|p| p.0).collect();
                xs.sort_by(f64::total_cmp);
                xs.dedup();
                let mut base = vec![0.0; xs.len()];
                for (i, (s, pts)) in series.iter().zip(&cleaned).enumerate() {
                    let lower: Vec<(f64, f64)> =
                        xs.iter().copied().zip(base.iter().copied()).collect();
                    for (b, &x) in base.iter_mut().zip(&xs) {
                        *b += interpolate(pts, x);
                    }
                    let upper: Vec<(f64, f64)> =
                        xs.iter().copied().zip(base.iter().copied()).collect();
                    drawn.push(DrawnSeries {
                        name: s.name.clone(),
                        color: color(i),
                        upper,
                        lower,
                        dashed: false,
                    });
                }
            }
        }

        let all = drawn.iter().flat_map(|d| d.upper.iter().chain(&d.lower));
        let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut y_lo, mut y_hi) = (0.0f64, 0.0f64);
        let mut has_points = false;
        for &(x, y) in all {
            has_points = true;
            x_lo = x_lo.min(x);
            x_hi = x_hi.max(x);
            y_lo = y_lo.min(y);
            y_hi = y_hi.max(y);
        }
        if !has_points {
            (x_lo, x_hi) = (0.0, 24.0);
        } else if x_hi - x_lo < 1e-9 {
            (x_lo, x_hi) = (x_lo - 1.0, x_hi + 1.0);
        }
        if y_hi - y_lo < 1e-12 {
            y_hi = y_lo + 1.0;
        }
        let pad = (y_hi - y_lo) * 0.05;
        let y_range = (if y_lo < 0.0 { y_lo - pad } else { y_lo }, y_hi + pad);
        TimeChartData {
            kind,
            series: drawn,
            x_range: (x_lo, x_hi),
            y_range,
            has_points,
        }
    }
}

/// How a legend entry's swatch is drawn.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Block(RGBColor),
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_LEGEND_CHARS {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(MAX_LEGEND_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Splits `area` into the plot (left) and a legend panel (right) sized to the entries, and
/// draws the legend there. Without entries the whole area is the plot.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, Swatch)],
) -> Result<DrawingArea<DB, Shift>, String> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let style = font(LEGEND_SIZE);
    let names: Vec<String> = entries.iter().map(|(n, _)| shorten(n)).collect();
    let mut text_w = 0u32;
    for n in &names {
        text_w = text_w.max(area.estimate_text_size(n, &style).map_err(area_err)?.0);
    }
    let (w, _) = area.dim_in_pixel();
    let panel_w = (text_w + 60).clamp(120, (w * 2 / 5).max(120));
    let (plot, panel) = area.split_horizontally(w.saturating_sub(panel_w));

    let row_h = 24i32;
    let (x0, y0) = (8i32, 30i32);
    let box_h = row_h * names.len() as i32 + 12;
    panel
        .draw(&Rectangle::new(
            [(x0 - 4, y0 - 6), (panel_w as i32 - 8, y0 + box_h - 6)],
            BLACK.mix(0.4).stroke_width(1),
        ))
        .map_err(area_err)?;
    for (i, (name, (_, swatch))) in names.iter().zip(entries).enumerate() {
        let cy = y0 + 6 + row_h * i as i32 + row_h / 2 - 6;
        match *swatch {
            Swatch::Line(c) => panel
                .draw(&PathElement::new(
                    vec![(x0 + 4, cy), (x0 + 30, cy)],
                    c.stroke_width(3),
                ))
                .map_err(area_err)?,
            Swatch::Dashed(c) => {
                for (a, b) in [(4, 11), (15, 22), (26, 30)] {
                    panel
                        .draw(&PathElement::new(
                            vec![(x0 + a, cy), (x0 + b, cy)],
                            c.stroke_width(3),
                        ))
                        .map_err(area_err)?;
                }
            }
            Swatch::Block(c) => panel
                .draw(&Rectangle::new(
                    [(x0 + 4, cy - 7), (x0 + 30, cy + 7)],
                    c.mix(0.8).filled(),
                ))
                .map_err(area_err)?,
        }
        panel
            .draw(&Text::new(
                name.clone(),
                (x0 + 38, cy),
                style.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(area_err)?;
    }
    Ok(plot)
}

fn draw_no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        "no data",
        (w as i32 / 2, h as i32 / 2),
        font(20.0)
            .color(&BLACK.mix(0.5))
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(area_err)
}

fn draw_time_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    data: &TimeChartData,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(area_err)?;
    let body = root
        .titled(&spec.title, font(TITLE_SIZE))
        .map_err(area_err)?;

    // Stacked bands are listed top band first, as they appear on the chart.
    let mut entries: Vec<(String, Swatch)> = data
        .series
        .iter()
        .map(|s| {
            let swatch = match data.kind {
                ChartKind::Lines if s.dashed => Swatch::Dashed(s.color),
                ChartKind::Lines => Swatch::Line(s.color),
                ChartKind::StackedArea => Swatch::Block(s.color),
            };
            (s.name.clone(), swatch)
        })
        .collect();
    if data.kind == ChartKind::StackedArea {
        entries.reverse();
    }
    let plot = with_legend(&body, &entries)?;

    let (x_lo, x_hi) = data.x_range;
    let (y_lo, y_hi) = data.y_range;
    let axis = TimeAxis::new(x_lo, x_hi);
    let x_desc = format!("{}{}", spec.x_label, axis.unit_suffix());
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(TickedRange::new(x_lo, x_hi, axis.ticks.clone()), y_lo..y_hi)
        .map_err(area_err)?;
    let x_fmt = |x: &f64| axis.label(*x);
    let y_fmt = |y: &f64| fmt_value(*y);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(spec.y_label.as_str())
        .axis_desc_style(font(AXIS_DESC_SIZE))
        .label_style(font(TICK_SIZE))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_labels(10)
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.05))
        .y_max_light_lines(2)
        .draw()
        .map_err(area_err)?;

    if !data.has_points {
        return draw_no_data(&plot);
    }
    // Dashed lines (limits, typically) are drawn over the solid ones, so that a line running
    // along its limit does not hide it; the legend keeps the given order.
    let order = data
        .series
        .iter()
        .filter(|s| !s.dashed)
        .chain(data.series.iter().filter(|s| s.dashed));
    for s in order {
        match data.kind {
            ChartKind::Lines => {
                if s.upper.len() == 1 {
                    chart
                        .draw_series(s.upper.iter().map(|&p| Circle::new(p, 4, s.color.filled())))
                        .map_err(area_err)?;
                } else if s.dashed {
                    chart
                        .draw_series(DashedLineSeries::new(
                            s.upper.iter().copied(),
                            9,
                            6,
                            s.color.stroke_width(2),
                        ))
                        .map_err(area_err)?;
                } else {
                    // A thick line is drawn as a polygon whose corners are mitred; at a sharp
                    // turn (a one-sample spike) the inner mitre reaches far beyond the data,
                    // below the axis. So the line is cut where it turns back by more than a
                    // right angle and each run drawn alone; the runs share their end points.
                    let px: Vec<(i32, i32)> =
                        s.upper.iter().map(|p| chart.backend_coord(p)).collect();
                    for run in split_at_sharp_turns(&px) {
                        chart
                            .draw_series(LineSeries::new(
                                s.upper[run].iter().copied(),
                                s.color.stroke_width(2),
                            ))
                            .map_err(area_err)?;
                    }
                }
            }
            ChartKind::StackedArea => {
                if s.upper.len() == 1 {
                    let (x, top) = s.upper[0];
                    let (_, bottom) = s.lower[0];
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(x, bottom), (x, top)],
                            s.color.stroke_width(4),
                        )))
                        .map_err(area_err)?;
                    continue;
                }
                let polygon: Vec<(f64, f64)> = s
                    .upper
                    .iter()
                    .chain(s.lower.iter().rev())
                    .copied()
                    .collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        polygon,
                        s.color.mix(0.75).filled(),
                    )))
                    .map_err(area_err)?;
                chart
                    .draw_series(LineSeries::new(
                        s.upper.iter().copied(),
                        s.color.stroke_width(1),
                    ))
                    .map_err(area_err)?;
            }
        }
    }
    Ok(())
}

/// Index ranges of `px` (pixel positions along a line) that turn by at most a right angle at
/// each inner vertex; consecutive ranges share the vertex where the line was cut. Repeated
/// pixels do not count as a turn.
fn split_at_sharp_turns(px: &[(i32, i32)]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    // The direction of the last segment of non-zero length.
    let mut last: Option<(i64, i64)> = None;
    for i in 1..px.len() {
        let d = (
            i64::from(px[i].0 - px[i - 1].0),
            i64::from(px[i].1 - px[i - 1].1),
        );
        if d == (0, 0) {
            continue;
        }
        if let Some(l) = last
            && l.0 * d.0 + l.1 * d.1 < 0
        {
            runs.push(start..i);
            start = i - 1;
        }
        last = Some(d);
    }
    runs.push(start..px.len());
    runs
}

fn draw_bar_ci<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    bars: &[(String, f64, f64, f64)],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(area_err)?;
    let body = root.titled(title, font(TITLE_SIZE)).map_err(area_err)?;
    let entries = if bars.is_empty() {
        Vec::new()
    } else {
        vec![
            ("mean".to_string(), Swatch::Block(series_color(0))),
            ("confidence interval".to_string(), Swatch::Line(BLACK)),
        ]
    };
    let plot = with_legend(&body, &entries)?;

    let finite = |v: f64| v.is_finite().then_some(v);
    let values = bars
        .iter()
        .flat_map(|b| [finite(b.1), finite(b.2), finite(b.3)])
        .flatten();
    let (mut y_lo, mut y_hi) = (0.0f64, 0.0f64);
    for v in values {
        y_lo = y_lo.min(v);
        y_hi = y_hi.max(v);
    }
    if y_hi - y_lo < 1e-12 {
        y_hi = y_lo + 1.0;
    }
    let pad = (y_hi - y_lo) * 0.1;
    let y_range = (if y_lo < 0.0 { y_lo - pad } else { y_lo }, y_hi + pad);

    let n = bars.len().max(1) as f64;
    let centers: Vec<f64> = (0..bars.len()).map(|i| i as f64 + 0.5).collect();
    let tick_size = if bars.len() > 8 { 11.0 } else { TICK_SIZE };
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(TickedRange::new(0.0, n, centers), y_range.0..y_range.1)
        .map_err(area_err)?;
    let x_fmt = |x: &f64| {
        let i = (x - 0.5).round();
        if i >= 0.0 {
            bars.get(i as usize)
                .map(|b| b.0.clone())
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let y_fmt = |y: &f64| fmt_value(*y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y_label)
        .axis_desc_style(font(AXIS_DESC_SIZE))
        .label_style(font(TICK_SIZE))
        .x_label_style(font(tick_size))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_labels(10)
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.05))
        .y_max_light_lines(2)
        .draw()
        .map_err(area_err)?;

    if bars.is_empty() {
        return draw_no_data(&plot);
    }
    let whisker = BLACK.stroke_width(2);
    for (i, (_, mean, low, high)) in bars.iter().enumerate() {
        let (mean, low, high) = (*mean, *low, *high);
        if !mean.is_finite() {
            continue;
        }
        let x = i as f64;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x + 0.2, 0.0), (x + 0.8, mean)],
                series_color(0).mix(0.8).filled(),
            )))
            .map_err(area_err)?;
        let mut label_y = mean;
        if low.is_finite() && high.is_finite() {
            let (lo, hi) = if low <= high {
                (low, high)
            } else {
                (high, low)
            };
            let c = x + 0.5;
            let cap = 0.08;
            chart
                .draw_series([
                    PathElement::new(vec![(c, lo), (c, hi)], whisker),
                    PathElement::new(vec![(c - cap, lo), (c + cap, lo)], whisker),
                    PathElement::new(vec![(c - cap, hi), (c + cap, hi)], whisker),
                ])
                .map_err(area_err)?;
            label_y = label_y.max(hi);
        }
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((x + 0.5, label_y))
                    + Text::new(
                        fmt_value(mean),
                        (0, -4),
                        font(13.0).pos(Pos::new(HPos::Center, VPos::Bottom)),
                    ),
            ))
            .map_err(area_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A unique temporary folder, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("fleetsim-charts-{}-{tag}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

    fn assert_png(path: &Path) {
        let bytes = std::fs::read(path).unwrap();
        assert!(
            bytes.starts_with(&PNG_MAGIC),
            "{} is not a PNG",
            path.display()
        );
        assert!(
            bytes.len() > 5 * 1024,
            "{} is only {} bytes",
            path.display(),
            bytes.len()
        );
    }

    fn sine_series(name: &str, hours: f64, level: f64) -> Series {
        let points = (0..=200)
            .map(|i| {
                let x = hours * i as f64 / 200.0;
                (x, level + level * 0.3 * (x / 12.0).sin())
            })
            .collect();
        Series {
            name: name.to_string(),
            points,
        }
    }

    fn spec(kind: ChartKind) -> ChartSpec {
        ChartSpec {
            title: "baseline-scenario seed 42".to_string(),
            x_label: "Simulated time".to_string(),
            y_label: "Running instances (count)".to_string(),
            kind,
        }
    }

    /// The contents of the SVG's `<text>` elements, trimmed.
    fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|rest| {
                let start = rest.find('>')? + 1;
                let end = rest.find("</text>")?;
                Some(rest[start..end].trim().to_string())
            })
            .collect()
    }

    /// Checks the SVG has the title, both axis labels and one legend entry per series, and
    /// returns its texts.
    fn assert_svg(path: &Path, spec: &ChartSpec, series: &[Series]) -> Vec<String> {
        let svg = std::fs::read_to_string(path).unwrap();
        assert!(svg.starts_with("<svg"), "not an SVG: {}", path.display());
        assert!(svg.trim_end().ends_with("</svg>"), "truncated SVG");
        let texts = svg_texts(&svg);
        let has = |t: &str| texts.iter().any(|x| x == t);
        assert!(has(&spec.title), "title missing in {texts:?}");
        assert!(
            texts.iter().any(|t| t.starts_with(&spec.x_label)),
            "x label missing in {texts:?}"
        );
        assert!(has(&spec.y_label), "y label missing in {texts:?}");
        for s in series {
            let n = texts.iter().filter(|t| **t == s.name).count();
            assert_eq!(n, 1, "legend entries for {:?} in {texts:?}", s.name);
        }
        texts
    }

    #[test]
    fn lines_chart_writes_svg_and_png_with_day_ticks() {
        let tmp = TempDir::new("lines");
        let spec = spec(ChartKind::Lines);
        let series = vec![
            sine_series("on-demand", 240.0, 400.0),
            sine_series("spot", 240.0, 150.0),
            sine_series("reserved", 240.0, 250.0),
        ];
        render_time_chart(&tmp.0, "fleet", &spec, &series).unwrap();
        let texts = assert_svg(&tmp.0.join("fleet.svg"), &spec, &series);
        assert!(texts.iter().any(|t| t == "Simulated time (days)"));
        assert!(texts.iter().any(|t| t == "d3"), "day ticks in {texts:?}");
        assert_png(&tmp.0.join("fleet.png"));
    }

    #[test]
    fn stacked_area_writes_svg_and_png_with_hour_ticks() {
        let tmp = TempDir::new("stacked");
        let spec = spec(ChartKind::StackedArea);
        let series = vec![
            sine_series("S5", 48.0, 100.0),
            sine_series("SA2", 48.0, 60.0),
            sine_series("M5", 48.0, 30.0),
        ];
        render_time_chart(&tmp.0, "stack", &spec, &series).unwrap();
        let texts = assert_svg(&tmp.0.join("stack.svg"), &spec, &series);
        assert!(texts.iter().any(|t| t == "Simulated time (hours)"));
        assert!(texts.iter().any(|t| t == "12h"), "hour ticks in {texts:?}");
        assert_png(&tmp.0.join("stack.png"));
    }

    #[test]
    fn empty_and_degenerate_series_render() {
        let tmp = TempDir::new("empty");
        for kind in [ChartKind::Lines, ChartKind::StackedArea] {
            let spec = spec(kind);
            render_time_chart(&tmp.0, "none", &spec, &[]).unwrap();
            let texts = assert_svg(&tmp.0.join("none.svg"), &spec, &[]);
            assert!(texts.iter().any(|t| t == "no data"));
            assert!(tmp.0.join("none.png").exists());

            let empty = vec![Series {
                name: "idle".to_string(),
                points: vec![],
            }];
            render_time_chart(&tmp.0, "empty", &spec, &empty).unwrap();
            assert_svg(&tmp.0.join("empty.svg"), &spec, &empty);

            let single = vec![
                Series {
                    name: "one".to_string(),
                    points: vec![(5.0, 3.0)],
                },
                Series {
                    name: "odd".to_string(),
                    points: vec![(f64::NAN, 1.0), (1.0, f64::INFINITY)],
                },
            ];
            render_time_chart(&tmp.0, "single", &spec, &single).unwrap();
            assert_svg(&tmp.0.join("single.svg"), &spec, &single);
        }
    }

    #[test]
    fn bar_chart_with_ci() {
        let tmp = TempDir::new("bars");
        let bars = vec![
            ("first-fit".to_string(), 0.82, 0.78, 0.86),
            ("best-fit".to_string(), 0.88, 0.85, 0.91),
            ("spread".to_string(), 0.71, 0.64, 0.77),
            ("broken".to_string(), f64::NAN, 0.0, 1.0),
        ];
        let title = "Utilisation by strategy, baseline, 20 seeds";
        let y_label = "Mean vCPU utilisation (fraction)";
        render_bar_ci(&tmp.0, "strategies", title, y_label, &bars).unwrap();
        let svg = std::fs::read_to_string(tmp.0.join("strategies.svg")).unwrap();
        let texts = svg_texts(&svg);
        let has = |t: &str| texts.iter().any(|x| x == t);
        assert!(has(title) && has(y_label), "{texts:?}");
        for (label, ..) in &bars {
            assert!(has(label), "bar label {label} in {texts:?}");
        }
        assert!(has("mean") && has("confidence interval"), "{texts:?}");
        assert!(has("0.88"), "mean value above its bar in {texts:?}");
        assert_png(&tmp.0.join("strategies.png"));

        render_bar_ci(&tmp.0, "no-bars", title, y_label, &[]).unwrap();
        let svg = std::fs::read_to_string(tmp.0.join("no-bars.svg")).unwrap();
        assert!(svg_texts(&svg).iter().any(|t| t == title));
        assert_png(&tmp.0.join("no-bars.png"));
    }

    #[test]
    fn styled_series_share_colours_and_dash() {
        let tmp = TempDir::new("styled");
        let spec = spec(ChartKind::Lines);
        let series = vec![
            sine_series("zone-a used", 48.0, 20.0),
            Series {
                name: "zone-a quota".to_string(),
                points: vec![(0.0, 30.0), (48.0, 30.0)],
            },
        ];
        let styles = [
            SeriesStyle {
                color: Some(10),
                dashed: false,
            },
            SeriesStyle {
                color: Some(0),
                dashed: true,
            },
        ];
        render_time_chart_styled(&tmp.0, "styled", &spec, &series, &styles).unwrap();
        assert_svg(&tmp.0.join("styled.svg"), &spec, &series);
        assert_png(&tmp.0.join("styled.png"));
        let svg = std::fs::read_to_string(tmp.0.join("styled.svg")).unwrap();
        // The light variant of colour 0 for the first series; the quota line in colour 0, drawn
        // as dashes: many short pieces (plus three in its legend swatch).
        assert!(svg.contains("stroke=\"#AEC7E8\""), "light blue line");
        let dashes = svg.matches("stroke=\"#1F77B4\"").count();
        assert!(
            dashes > 20,
            "{dashes} blue pieces: the quota line is not dashed"
        );
        // The quota line is drawn after (over) the solid one.
        let first_light = svg.find("#AEC7E8").unwrap();
        let last_blue = svg.rfind("#1F77B4").unwrap();
        assert!(last_blue > first_light);
        let d = TimeChartData::new(ChartKind::Lines, &series, &styles);
        assert_eq!(d.series[0].color, series_color(10));
        assert!(d.series[1].dashed && !d.series[0].dashed);
    }

    #[test]
    fn lines_are_cut_where_they_turn_back() {
        // Up, then straight down: a spike, cut at its tip; a right angle is not cut.
        let px = [(0, 10), (1, 0), (2, 10), (3, 10), (3, 10), (4, 10), (4, 0)];
        assert_eq!(split_at_sharp_turns(&px), vec![0..2, 1..px.len()]);
        assert_eq!(split_at_sharp_turns(&[(0, 0)]), vec![0..1]);
        assert_eq!(split_at_sharp_turns(&[]), vec![0..0]);
    }

    #[test]
    fn bad_stem_is_rejected() {
        let tmp = TempDir::new("stem");
        for stem in ["", "a/b", "..", "a\\b"] {
            let err = render_time_chart(&tmp.0, stem, &spec(ChartKind::Lines), &[]).unwrap_err();
            assert!(matches!(err, ChartError::InvalidStem(_)), "{stem:?}: {err}");
        }
    }

    #[test]
    fn time_axis_ticks_and_labels() {
        let a = TimeAxis::new(0.0, 48.0);
        assert!(!a.in_days);
        assert_eq!(
            a.ticks,
            vec![0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0, 42.0, 48.0]
        );
        assert_eq!(a.label(12.0), "12h");

        let a = TimeAxis::new(0.0, 72.0);
        assert!(!a.in_days, "72 h exactly stays in hours");

        let a = TimeAxis::new(0.0, 240.0);
        assert!(a.in_days);
        assert_eq!(a.ticks.first(), Some(&0.0));
        assert!(
            a.ticks.iter().all(|t| (t / 24.0).fract() == 0.0),
            "whole days"
        );
        assert_eq!(a.label(72.0), "d3");

        let a = TimeAxis::new(0.0, 24.0 * 365.0 * 30.0);
        assert!(a.ticks.len() <= 13, "{} ticks", a.ticks.len());

        let a = TimeAxis::new(0.0, 0.5);
        assert!(a.ticks.len() >= 2);
        assert_eq!(a.label(0.25), "0.25h");
    }

    #[test]
    fn stacking_is_cumulative_in_order() {
        let series = vec![
            Series {
                name: "a".into(),
                points: vec![(0.0, 1.0), (2.0, 3.0)],
            },
            Series {
                name: "b".into(),
                points: vec![(0.0, 10.0), (1.0, 10.0), (2.0, 10.0)],
            },
        ];
        let d = TimeChartData::new(ChartKind::StackedArea, &series, &[]);
        assert_eq!(d.series[0].lower, vec![(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]);
        assert_eq!(d.series[0].upper, vec![(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]);
        assert_eq!(d.series[1].lower, d.series[0].upper);
        assert_eq!(
            d.series[1].upper,
            vec![(0.0, 11.0), (1.0, 12.0), (2.0, 13.0)]
        );
        assert!(d.y_range.1 >= 13.0);
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_value(12_500.0), "12.5k");
        assert_eq!(fmt_value(3_000_000.0), "3M");
        assert_eq!(series_color(0), RGBColor(31, 119, 180));
        let colors: Vec<RGBColor> = (0..25).map(series_color).collect();
        for (i, a) in colors.iter().enumerate() {
            assert!(!colors[..i].contains(a), "colour {i} repeats");
        }
    }

    /// Writes sample charts to `<temp>/fleetsim-chart-demo` to look at:
    /// `cargo test --lib charts::tests::demo -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn demo() {
        let dir = std::env::temp_dir().join("fleetsim-chart-demo");
        let series = vec![
            sine_series("on-demand", 240.0, 400.0),
            sine_series("spot", 240.0, 150.0),
            sine_series("reserved", 240.0, 250.0),
        ];
        render_time_chart(&dir, "lines", &spec(ChartKind::Lines), &series).unwrap();
        render_time_chart(&dir, "stacked", &spec(ChartKind::StackedArea), &series[..2]).unwrap();
        render_time_chart(&dir, "empty", &spec(ChartKind::Lines), &[]).unwrap();
        let single = [Series {
            name: "one point".to_string(),
            points: vec![(5.0, 3.0)],
        }];
        render_time_chart(&dir, "single", &spec(ChartKind::Lines), &single).unwrap();
        let many: Vec<Series> = (0..14)
            .map(|i| sine_series(&format!("zone-{i}"), 30.0, 10.0 + i as f64))
            .collect();
        render_time_chart(&dir, "many", &spec(ChartKind::StackedArea), &many).unwrap();
        let bars = vec![
            ("first-fit".to_string(), 0.82, 0.78, 0.86),
            ("best-fit".to_string(), 0.88, 0.85, 0.91),
            ("spread".to_string(), 0.71, 0.64, 0.77),
        ];
        render_bar_ci(
            &dir,
            "bars",
            "Utilisation by strategy",
            "Utilisation (fraction)",
            &bars,
        )
        .unwrap();
        println!("charts in {}", dir.display());
    }
}
