//! `fleetsim fit`: derives a `[[workloads]]` section from a VM trace, so a planner can simulate
//! demand shaped like the trace and scale it.
//!
//! What it measures, reading the trace once (streamed, with the same column mapping, batching
//! and size rule as a replay, [`super::trace`]):
//!
//! - **requests**: a request is what a replay would send as one RunInstances: the VMs of one
//!   batch in one batch window that map to the same type (at most 100);
//! - **arrival profile**: requests per hour for each of the 168 hours of the week, hour 0 being
//!   the hour that starts at the trace's `time_offset` (by default its first creation). A trace
//!   spanning a week or less cannot tell the days of the week apart: its hours are folded by
//!   hour of the day instead (`rate_per_hour` × 24 `daily` multipliers), and the output says so.
//!   A rate is the requests counted in that hour of the week (or day) divided by the number of
//!   such hours the trace covers (from hour 0 to the hour of its last creation);
//! - **batch sizes**: the empirical law of instances per request;
//! - **size mix**: requests per instance type (after mapping) as the type weights;
//! - **lifetimes**: per type (and overall), quantiles of the lifetime law as an empirical
//!   distribution. VMs with no lifetime (alive at the end of the trace) are right-censored at
//!   the end of the observation, `end`, by default the latest of the last creation and the last
//!   deletion the trace shows; the law is the Kaplan-Meier estimate, so censored VMs are not
//!   mistaken for short-lived ones. Beyond the estimate's last step the top quantile is the
//!   longest time observed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, anyhow, bail};

use super::trace::{
    SizeMap, SlotReader, TimeUnit, TraceColumns, TraceReader, TraceSpec, check_mapping, group_rows,
};
use crate::cloud::catalog::{Catalog, illustrative_price, parse_instance_type};
use crate::cloud::{ChargeType, ZoneIdx};
use crate::engine::time::MS_PER_HOUR;
use crate::engine::{SimDuration, format_duration};

/// Hours in a week.
const WEEK_HOURS: usize = 168;
/// Points of the fitted quantile functions.
const QUANTILE_PS: &[f64] = &[
    0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7,
    0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0,
];
/// Types with fewer finished VMs than this share the overall lifetime law.
const MIN_PER_TYPE: usize = 30;

/// The column names of the Azure 2017 trace (`../shared/data/azure2017/azure2017_vms.csv`).
pub fn azure2017_columns() -> TraceColumns {
    TraceColumns {
        created: "create_s".into(),
        lifetime: Some("lifetime_s".into()),
        vcpus: Some("vcpus".into()),
        memory: Some("memory_gb".into()),
        batch: Some("batch".into()),
        ..TraceColumns::default()
    }
}

/// The types `fit` maps sizes to when no scenario names them: the Azure replay's.
pub const DEFAULT_TYPES: &[&str] = &[
    "S5.SMALL2",
    "S5.MEDIUM4",
    "S5.LARGE8",
    "S5.2XLARGE16",
    "S5.4XLARGE32",
    "M5.MEDIUM16",
    "M5.LARGE32",
    "M5.2XLARGE64",
    "M5.4XLARGE128",
];

/// Parses `created=create_s,lifetime=lifetime_s,...` into a mapping (same keys as a scenario's
/// `columns`).
pub fn parse_columns(text: &str) -> Result<TraceColumns> {
    let mut c = TraceColumns::default();
    let mut created = None;
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| anyhow!("--columns: `{part}` is not key=column"))?;
        let v = Some(v.trim().to_string());
        match k.trim() {
            "created" => created = v,
            "lifetime" => c.lifetime = v,
            "deleted" => c.deleted = v,
            "vcpus" => c.vcpus = v,
            "memory" => c.memory = v,
            "batch" => c.batch = v,
            "zone" => c.zone = v,
            "charge_type" => c.charge_type = v,
            "instance_type" => c.instance_type = v,
            other => bail!(
                "--columns: unknown key `{other}`; use created, lifetime, deleted, vcpus, \
                 memory, batch, zone, charge_type, instance_type"
            ),
        }
    }
    c.created = created.ok_or_else(|| anyhow!("--columns: `created=<column>` is needed"))?;
    Ok(c)
}

/// What to fit and how to write it.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// The trace, its mapping and the instance types (zones and charge-type columns are not
    /// used: the fitted workload takes `zones` and `charge` below).
    pub spec: TraceSpec,
    /// Name of the fitted workload.
    pub name: String,
    /// Multiplies every arrival rate.
    pub scale: f64,
    /// End of the observation, in trace units; `None`: the latest creation or deletion seen.
    pub end: Option<f64>,
    /// Zone weights of the fitted workload.
    pub zones: Vec<(String, f64)>,
    pub charge: ChargeType,
}

impl FitOptions {
    /// Options for a trace read with `columns` and mapped to `types`, without a scenario.
    pub fn new(path: &Path, columns: TraceColumns, types: &[String]) -> Result<FitOptions> {
        check_mapping(&columns).map_err(|(k, m)| anyhow!("columns.{k}: {m}"))?;
        let mut parsed = Vec::new();
        for t in types {
            let it = parse_instance_type(t).map_err(|m| anyhow!("--types: {m}"))?;
            parsed.push(it);
        }
        if parsed.is_empty() {
            bail!("--types: name at least one instance type");
        }
        let cat = Catalog {
            zones: vec![],
            prices: parsed.iter().map(illustrative_price).collect(),
            types: parsed,
            spot_fraction: 0.2,
            disk_gib_hourly: 0,
            disk_gib: 0,
            attach: Default::default(),
            currency: "CNY".into(),
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("trace")
            .to_string();
        Ok(FitOptions {
            spec: TraceSpec {
                name: stem.clone(),
                path: path.to_path_buf(),
                columns,
                unit_ms: TraceSpec::unit_ms_of(TimeUnit::Seconds),
                time_offset: None,
                speedup: 1.0,
                zones: vec![ZoneIdx(0)],
                zone_cumulative: vec![1.0],
                charge: ChargeType::PostpaidByHour,
                period_months: 1,
                batch_window_ms: 300_000,
                sizes: SizeMap::new(&cat),
                zone_names: vec![],
                type_names: cat.types.iter().map(|t| t.name.clone()).collect(),
            },
            name: format!("{stem}-fit"),
            scale: 1.0,
            end: None,
            zones: vec![("ap-guangzhou-3".into(), 1.0)],
            charge: ChargeType::PostpaidByHour,
        })
    }
}

/// The arrival profile found.
#[derive(Clone, Debug, PartialEq)]
pub enum Profile {
    /// A trace of a week or less: requests per hour for each hour of the day (24).
    Daily(Vec<f64>),
    /// Requests per hour for each hour of the week (168).
    Weekly(Vec<f64>),
}

/// A fitted workload.
#[derive(Clone, Debug)]
pub struct Fitted {
    pub opts: FitOptions,
    pub vms: u64,
    pub requests: u64,
    /// Hours the trace covers (hour 0 to the hour of its last creation).
    pub hours: u64,
    /// Rates already multiplied by `scale`.
    pub profile: Profile,
    /// Hours of the day the trace does not cover (given the mean rate), for a trace shorter
    /// than a day.
    pub uncovered_hours: Vec<usize>,
    /// Instances per request → requests.
    pub batch: BTreeMap<u32, u64>,
    /// Per type, in the scenario's order: requests and VMs.
    pub type_requests: Vec<u64>,
    pub type_vms: Vec<u64>,
    /// Quantile points (p, ms) overall and per type (`None`: too few finished VMs).
    pub lifetime: Vec<(f64, u64)>,
    pub lifetime_by_type: Vec<Option<Vec<(f64, u64)>>>,
    /// VMs with no lifetime (right-censored).
    pub censored: u64,
    /// End of the observation, ms of simulated time.
    pub end_ms: u64,
}

/// The Kaplan-Meier estimate of a lifetime law from `(time, finished)` observations
/// (`finished = false`: censored at `time`): its steps `(t, F(t))` at each time a VM finished,
/// and the longest time observed. `None` when nothing finished.
pub fn kaplan_meier(obs: &mut [(u64, bool)]) -> Option<(Vec<(u64, f64)>, u64)> {
    if !obs.iter().any(|o| o.1) {
        return None;
    }
    // Deaths before censorings at the same time (the usual convention).
    obs.sort_by_key(|&(t, died)| (t, !died));
    let max_t = obs.last().map(|o| o.0).unwrap_or(0);
    let mut at_risk = obs.len() as f64;
    let mut surv = 1.0f64;
    let mut steps: Vec<(u64, f64)> = Vec::new();
    let mut i = 0;
    while i < obs.len() {
        let t = obs[i].0;
        let (mut d, mut c) = (0.0, 0.0);
        while i < obs.len() && obs[i].0 == t {
            if obs[i].1 {
                d += 1.0;
            } else {
                c += 1.0;
            }
            i += 1;
        }
        if d > 0.0 {
            surv *= 1.0 - d / at_risk;
            steps.push((t, 1.0 - surv));
        }
        at_risk -= d + c;
    }
    Some((steps, max_t))
}

/// Kaplan-Meier quantiles at the probabilities `ps` (`None` when nothing finished). Above the
/// estimate's last step, the quantile is the longest time observed.
pub fn km_quantiles(obs: &mut [(u64, bool)], ps: &[f64]) -> Option<Vec<(f64, u64)>> {
    let (steps, max_t) = kaplan_meier(obs)?;
    Some(grid_points(&steps, max_t, ps))
}

fn grid_points(steps: &[(u64, f64)], max_t: u64, ps: &[f64]) -> Vec<(f64, u64)> {
    let q = |p: f64| {
        if p >= 1.0 {
            return max_t;
        }
        steps
            .iter()
            .find(|&&(_, f)| f >= p - 1e-12)
            .map(|s| s.0)
            .unwrap_or(max_t)
    };
    let mut out: Vec<(f64, u64)> = ps.iter().map(|&p| (p, q(p))).collect();
    for k in 1..out.len() {
        out[k].1 = out[k].1.max(out[k - 1].1);
    }
    out
}

/// The estimate's quantile function (`steps` as from [`kaplan_meier`], the mass above the last
/// step at `max_t`) integrated over `[0, p]`.
fn quantile_integral(steps: &[(u64, f64)], max_t: u64, p: f64) -> f64 {
    let mut sum = 0.0;
    let mut prev_f = 0.0;
    for &(t, f) in steps {
        if f >= p {
            return sum + (p - prev_f).max(0.0) * t as f64;
        }
        sum += (f - prev_f) * t as f64;
        prev_f = f;
    }
    sum + (p - prev_f).max(0.0) * max_t as f64
}

/// A step law on the probability grid `ps`: between two grid points the lifetime is the
/// estimate's mean over that stretch of probability. Linear interpolation between quantiles
/// would add the convexity of a heavy tail to the mean (7% too long on the Azure 2017 trace,
/// 38% for one type); this keeps the mean, and every value stays between the quantiles at the
/// stretch's ends. `one` is the unit of probability the points are rounded to; each step
/// starts one unit above the previous one's end, so interpolation moves a unit of mass at most.
fn interval_means(steps: &[(u64, f64)], max_t: u64, ps: &[f64], one: u64) -> Vec<(f64, u64)> {
    let mut pts: Vec<(u64, u64)> = Vec::new();
    for w in ps.windows(2) {
        let (a, b) = (w[0], w[1]);
        let m = (quantile_integral(steps, max_t, b) - quantile_integral(steps, max_t, a)) / (b - a);
        let m = (m.round().max(0.0) as u64).max(pts.last().map(|x| x.1).unwrap_or(0));
        let pa = (a * one as f64).round() as u64;
        let pb = (b * one as f64).round() as u64;
        let start = if pts.is_empty() { pa } else { pa + 1 };
        if start < pb {
            pts.push((start, m));
        }
        pts.push((pb, m));
    }
    pts.into_iter()
        .map(|(p, t)| (p as f64 / one as f64, t))
        .collect()
}

/// Most distinct lifetimes written as an exact step law; above, a grid of quantiles.
const MAX_EXACT_STEPS: usize = 300;

/// The quantile points `(p, ms)` of a lifetime law for the scenario's `quantiles` list. With
/// few distinct lifetimes (binned traces such as Azure's) the law is written exactly: each
/// lifetime holds its probability between two points (p in millionths, so the linear
/// interpolation the scenario applies moves one millionth of the mass at most). Otherwise,
/// quantiles at [`QUANTILE_PS`].
pub fn lifetime_points(obs: &mut [(u64, bool)]) -> Option<Vec<(f64, u64)>> {
    let (steps, max_t) = kaplan_meier(obs)?;
    const ONE: u64 = 1_000_000;
    if steps.len() > MAX_EXACT_STEPS {
        return Some(interval_means(&steps, max_t, QUANTILE_PS, ONE));
    }
    let mut pts: Vec<(u64, u64)> = vec![(0, steps[0].0)];
    let mut prev_p = 0u64;
    for &(t, f) in &steps {
        let p = ((f * ONE as f64).round() as u64).min(ONE);
        let (last, last_t) = pts.last().copied().unwrap_or((0, 0));
        // Where this lifetime's mass starts (just above the previous one's end).
        if last_t != t && prev_p + 1 > last && prev_p + 1 < p {
            pts.push((prev_p + 1, t));
        }
        if p > pts.last().map(|x| x.0).unwrap_or(0) {
            pts.push((p, t));
        }
        prev_p = p.max(prev_p);
    }
    // Mass the estimate leaves above its last step (censored VMs): at the longest time seen.
    let last = pts.last().map(|x| x.0).unwrap_or(0);
    if last < ONE {
        if last + 1 < ONE {
            pts.push((last + 1, max_t));
        }
        pts.push((ONE, max_t));
    }
    Some(
        pts.into_iter()
            .map(|(p, t)| (p as f64 / ONE as f64, t))
            .collect(),
    )
}

/// Reads the trace and fits the workload.
pub fn fit(opts: &FitOptions) -> Result<Fitted> {
    let mut spec = opts.spec.clone();
    // Zones and charge types are the fitted workload's own.
    spec.columns.zone = None;
    spec.columns.charge_type = None;
    let types = spec.type_names.len();
    let mut slots = SlotReader::new(TraceReader::open(spec.clone())?);
    let mut per_hour: Vec<u64> = Vec::new();
    let mut batch: BTreeMap<u32, u64> = BTreeMap::new();
    let mut type_requests = vec![0u64; types];
    let mut type_vms = vec![0u64; types];
    // (type, creation ms, lifetime ms or None)
    let mut lives: Vec<(u16, u64, Option<u64>)> = Vec::new();
    let (mut vms, mut requests, mut last_at, mut last_end) = (0u64, 0u64, 0u64, 0u64);
    while let Some(rows) = slots.next_slot()? {
        for g in group_rows(rows, || ZoneIdx(0)) {
            let h = (g.at.ms() / MS_PER_HOUR) as usize;
            if per_hour.len() <= h {
                per_hour.resize(h + 1, 0);
            }
            per_hour[h] += 1;
            requests += 1;
            *batch.entry(g.rows.len() as u32).or_default() += 1;
            type_requests[g.itype.0 as usize] += 1;
            for r in &g.rows {
                vms += 1;
                type_vms[g.itype.0 as usize] += 1;
                last_at = last_at.max(r.at.ms());
                let life = r.life.map(|l| l.ms());
                if let Some(l) = life {
                    last_end = last_end.max(r.at.ms() + l);
                }
                lives.push((g.itype.0, r.at.ms(), life));
            }
        }
    }
    if requests == 0 {
        bail!("{}: the trace holds no VMs", spec.path.display());
    }
    let offset = slots.reader.offset().unwrap_or(0.0);
    let end_ms = match opts.end {
        Some(e) if !e.is_finite() => bail!("--end: `{e}` is not a time"),
        Some(e) if e < offset => bail!(
            "--end {e} is before every creation in {} (the first is at {offset})",
            spec.path.display()
        ),
        Some(e) => {
            let ms = ((e - offset) * spec.unit_ms / spec.speedup).round();
            if ms > crate::workload::trace::MAX_TRACE_MS {
                bail!("--end {e} is past the simulated clock's reach");
            }
            ms as u64
        }
        None => last_at.max(last_end),
    };
    // Arrival profile.
    let hours = per_hour.len();
    let scale = opts.scale;
    let mut uncovered = Vec::new();
    let profile = if hours <= WEEK_HOURS {
        let mut count = [0u64; 24];
        let mut seen = [0u64; 24];
        for (h, n) in per_hour.iter().enumerate() {
            count[h % 24] += n;
            seen[h % 24] += 1;
        }
        let mean = requests as f64 / hours as f64;
        Profile::Daily(
            (0..24)
                .map(|j| {
                    if seen[j] == 0 {
                        uncovered.push(j);
                        mean * scale
                    } else {
                        count[j] as f64 / seen[j] as f64 * scale
                    }
                })
                .collect(),
        )
    } else {
        let mut count = vec![0u64; WEEK_HOURS];
        let mut seen = vec![0u64; WEEK_HOURS];
        for (h, n) in per_hour.iter().enumerate() {
            count[h % WEEK_HOURS] += n;
            seen[h % WEEK_HOURS] += 1;
        }
        Profile::Weekly(
            (0..WEEK_HOURS)
                .map(|k| count[k] as f64 / seen[k].max(1) as f64 * scale)
                .collect(),
        )
    };
    // Lifetimes.
    let mut all: Vec<(u64, bool)> = Vec::with_capacity(lives.len());
    let mut by_type: Vec<Vec<(u64, bool)>> = vec![Vec::new(); types];
    let mut censored = 0;
    for &(t, at, life) in &lives {
        let o = match life {
            Some(l) => (l, true),
            None => {
                censored += 1;
                (end_ms.saturating_sub(at), false)
            }
        };
        all.push(o);
        by_type[t as usize].push(o);
    }
    drop(lives);
    let lifetime = lifetime_points(&mut all).ok_or_else(|| {
        anyhow!(
            "{}: no VM of the trace has a lifetime (all are alive at its end)",
            spec.path.display()
        )
    })?;
    let lifetime_by_type = by_type
        .iter_mut()
        .map(|v| {
            if v.iter().filter(|o| o.1).count() >= MIN_PER_TYPE {
                lifetime_points(v)
            } else {
                None
            }
        })
        .collect();
    Ok(Fitted {
        opts: opts.clone(),
        vms,
        requests,
        hours: hours as u64,
        profile,
        uncovered_hours: uncovered,
        batch,
        type_requests,
        type_vms,
        lifetime,
        lifetime_by_type,
        censored,
        end_ms,
    })
}

/// A number for TOML: at most 6 decimals, trailing zeros removed (always with a `.`).
fn num(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

fn quantile_list(points: &[(f64, u64)]) -> String {
    let items: Vec<String> = points
        .iter()
        .map(|&(p, ms)| format!("[{}, \"{}\"]", num(p), format_duration(SimDuration(ms))))
        .collect();
    format!("[{}]", items.join(", "))
}

fn key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn wrap_list(items: &[String], indent: &str) -> String {
    let mut out = String::from("[");
    let mut line = String::new();
    for (i, it) in items.iter().enumerate() {
        let sep = if i + 1 < items.len() { ", " } else { "" };
        if line.len() + it.len() > 90 {
            out.push('\n');
            out.push_str(indent);
            out.push_str(line.trim_end());
            line.clear();
        }
        line.push_str(it);
        line.push_str(sep);
    }
    if !line.is_empty() {
        out.push('\n');
        out.push_str(indent);
        out.push_str(line.trim_end());
    }
    out.push_str("\n]");
    out
}

impl Fitted {
    /// Mean requests per hour over the profile (after `scale`).
    pub fn mean_rate(&self) -> f64 {
        match &self.profile {
            Profile::Daily(r) | Profile::Weekly(r) => r.iter().sum::<f64>() / r.len() as f64,
        }
    }

    /// The fitted `[[workloads]]` section, with comments saying where each figure comes from.
    pub fn to_toml(&self) -> String {
        let o = &self.opts;
        let names = &o.spec.type_names;
        let mut t = String::new();
        let source = o.spec.path.display();
        let _ = writeln!(
            t,
            "# Fitted by `fleetsim fit` from {source}: {} VMs in {} requests over {} hours.",
            self.vms, self.requests, self.hours
        );
        match &self.profile {
            Profile::Daily(_) => {
                let _ = writeln!(
                    t,
                    "# The trace spans a week or less: its arrivals are folded by hour of the \
                     day (hour 0 = the trace's\n# first hour); days of the week are not told \
                     apart."
                );
                if !self.uncovered_hours.is_empty() {
                    let _ = writeln!(
                        t,
                        "# Hours of the day the trace does not cover take the mean rate: {:?}.",
                        self.uncovered_hours
                    );
                }
            }
            Profile::Weekly(_) => {
                let _ = writeln!(
                    t,
                    "# Arrivals per hour of the week (hour 0 = the trace's first hour)."
                );
            }
        }
        let _ = writeln!(
            t,
            "# Scale the demand with `fleetsim fit --scale 1.3`{}.{}",
            match self.profile {
                Profile::Daily(_) => ", or multiply rate_per_hour by 1.3",
                Profile::Weekly(_) =>
                    ", or add growth = { kind = \"step\", at = \"0s\", factor = 1.3 } to arrival",
            },
            if o.scale != 1.0 {
                format!(" These rates are already scaled by {}.", num(o.scale))
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            t,
            "# Lifetimes: Kaplan-Meier quantiles; {} VMs alive at the end of the observation \
             ({}) are censored there.",
            self.censored,
            format_duration(SimDuration(self.end_ms))
        );
        let _ = writeln!(
            t,
            "# The scenario's instance_types must include: {}.",
            names
                .iter()
                .zip(&self.type_requests)
                .filter(|(_, n)| **n > 0)
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(t, "[[workloads]]");
        let _ = writeln!(t, "name = \"{}\"", o.name.replace('"', "'"));
        let _ = writeln!(t, "charge_type = \"{}\"", o.charge);
        let types: Vec<String> = names
            .iter()
            .zip(&self.type_requests)
            .filter(|(_, n)| **n > 0)
            .map(|(name, n)| format!("{} = {n}", key(name)))
            .collect();
        let _ = writeln!(t, "# requests per type (weights); VMs per type: {}", {
            names
                .iter()
                .zip(&self.type_vms)
                .filter(|(_, n)| **n > 0)
                .map(|(name, n)| format!("{name} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let _ = writeln!(t, "types = {{ {} }}", types.join(", "));
        let zones: Vec<String> = o
            .zones
            .iter()
            .map(|(z, w)| format!("{} = {}", key(z), num(*w)))
            .collect();
        let _ = writeln!(t, "zones = {{ {} }}", zones.join(", "));
        let _ = writeln!(t);
        let _ = writeln!(t, "[workloads.arrival]");
        let _ = writeln!(t, "process = \"profile\"");
        match &self.profile {
            Profile::Daily(r) => {
                let mean = r.iter().sum::<f64>() / 24.0;
                let _ = writeln!(
                    t,
                    "rate_per_hour = {}   # mean requests per hour",
                    num(mean)
                );
                let mult: Vec<String> = r
                    .iter()
                    .map(|x| num(if mean > 0.0 { x / mean } else { 1.0 }))
                    .collect();
                let _ = writeln!(
                    t,
                    "# requests per hour = rate_per_hour × daily[hour of the day]"
                );
                let _ = writeln!(t, "daily = {}", wrap_list(&mult, "  "));
            }
            Profile::Weekly(r) => {
                let rates: Vec<String> = r.iter().map(|x| num(*x)).collect();
                let _ = writeln!(t, "# requests per hour for each hour of the week");
                let _ = writeln!(t, "hourly_rates = {}", wrap_list(&rates, "  "));
            }
        }
        let values: Vec<String> = self.batch.keys().map(|k| k.to_string()).collect();
        let weights: Vec<String> = self.batch.values().map(|k| k.to_string()).collect();
        let _ = writeln!(t, "# instances per request (requests seen with each size)");
        let _ = writeln!(
            t,
            "batch = {{ dist = \"empirical\", values = {}, weights = {} }}",
            wrap_list(&values, "  "),
            wrap_list(&weights, "  ")
        );
        let _ = writeln!(t);
        let _ = writeln!(t, "[workloads.lifetime]   # all types");
        let _ = writeln!(t, "dist = \"empirical\"");
        let _ = writeln!(t, "quantiles = {}", quantile_list(&self.lifetime));
        for (name, q) in names.iter().zip(&self.lifetime_by_type) {
            if let Some(q) = q {
                let _ = writeln!(t);
                let _ = writeln!(t, "[workloads.lifetime_by_type.{}]", key(name));
                let _ = writeln!(t, "dist = \"empirical\"");
                let _ = writeln!(t, "quantiles = {}", quantile_list(q));
            }
        }
        t
    }

    /// A short account for the terminal.
    pub fn report(&self) -> String {
        let mean_batch = self.vms as f64 / self.requests as f64;
        let median = self
            .lifetime
            .iter()
            .find(|p| p.0 >= 0.5)
            .map(|p| format_duration(SimDuration(p.1)))
            .unwrap_or_default();
        format!(
            "fit: {} VMs, {} requests over {} hours ({}); {:.1} requests/h on average, {:.2} \
             VMs per request, median lifetime {median}, {} VMs censored",
            self.vms,
            self.requests,
            self.hours,
            match self.profile {
                Profile::Daily(_) => "a week or less: folded by hour of the day",
                Profile::Weekly(_) => "profile by hour of the week",
            },
            self.mean_rate(),
            mean_batch,
            self.censored
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaplan_meier_without_censoring_is_the_empirical_law() {
        let mut obs: Vec<(u64, bool)> = (1..=10).map(|t| (t * 100, true)).collect();
        let q = km_quantiles(&mut obs, &[0.0, 0.5, 0.9, 1.0]).expect("deaths");
        assert_eq!(q, vec![(0.0, 100), (0.5, 500), (0.9, 900), (1.0, 1000)]);
    }

    #[test]
    fn censored_observations_are_not_short_lifetimes() {
        // Half die at 100, half are censored at 50: KM says all die at 100.
        let mut obs = vec![(100, true), (100, true), (50, false), (50, false)];
        let q = km_quantiles(&mut obs, &[0.0, 0.5, 1.0]).expect("deaths");
        assert_eq!(q, vec![(0.0, 100), (0.5, 100), (1.0, 100)]);
        // Censored beyond every death: the top of the law is the censoring time.
        let mut obs = vec![(100, true), (900, false)];
        let q = km_quantiles(&mut obs, &[0.5, 0.9, 1.0]).expect("deaths");
        assert_eq!(q, vec![(0.5, 100), (0.9, 900), (1.0, 900)]);
    }

    #[test]
    fn few_distinct_lifetimes_are_written_as_an_exact_step_law() {
        // 1/4 at 100, 1/2 at 200, 1/4 censored at 50 (KM: 1/3 at 100, 2/3 at 200).
        let mut obs = vec![(100, true), (200, true), (200, true), (50, false)];
        let pts = lifetime_points(&mut obs).expect("deaths");
        assert_eq!(
            pts,
            vec![(0.0, 100), (0.333333, 100), (0.333334, 200), (1.0, 200)]
        );
        // Censored beyond the last death: the rest of the mass at the longest time seen.
        let mut obs = vec![(100, true), (900, false)];
        let pts = lifetime_points(&mut obs).expect("deaths");
        assert_eq!(
            pts,
            vec![(0.0, 100), (0.5, 100), (0.500001, 900), (1.0, 900)]
        );
    }

    #[test]
    fn columns_parse_from_the_command_line() {
        let c = parse_columns("created=start, deleted=end,vcpus=cpu,memory=mem").expect("ok");
        assert_eq!(c.created, "start");
        assert_eq!(c.deleted.as_deref(), Some("end"));
        assert!(parse_columns("lifetime=l").is_err());
        assert!(parse_columns("created=c,colour=red").is_err());
    }
}
