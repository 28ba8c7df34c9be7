//! Reading a scenario: TOML → [`ScenarioFile`] (serde, with the field path and line of any
//! mistake) → cross-checks (references to zones and types) → the resolved [`Scenario`] the
//! simulator runs.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::cloud::billing::BillingRules;
use crate::cloud::capacity::ZoneQuota;
use crate::cloud::catalog::{
    Catalog, TypePrice, Zone, illustrative_price, known_zone_id, parse_instance_type,
    region_of_zone,
};
use crate::cloud::pricing::{
    AttachmentPrices, Attachments, DiskPrice, DiskSpec, DiskType, InternetChargeType, InternetSpec,
    Ladder,
};
use crate::cloud::ratelimit::{Limit, RateLimits, WindowKind};
use crate::cloud::spot_market::SpotModel;
use crate::cloud::{Action, ChargeType, Timings, TypeIdx, ZoneIdx};
use crate::engine::{Dist, SimDuration, SimTime};

use crate::cloud::api::{Filter, RunInstances};
use crate::cloud::{InstanceState, Owner, RenewFlag, StoppedMode};
use crate::workload::script::{ScriptAction, ScriptCall, Selection};

use super::locate::line_of_path;
use super::schema::{DistSettings, Placement, ScenarioFile, Window};

/// Highest arrival rate a workload may have: one request per millisecond on average.
pub const MAX_RATE_PER_HOUR: f64 = 3_600_000.0;

/// The embedded default scenario, identical to `scenarios/quickstart.toml`.
pub const QUICKSTART: &str = include_str!("../../scenarios/quickstart.toml");
pub const QUICKSTART_NAME: &str = "scenarios/quickstart.toml (embedded)";

/// A mistake in a scenario, located as precisely as the input allows.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read the scenario: {reason}")]
    Read {
        file: String,
        reason: std::io::Error,
    },
    #[error("{file}{}: {}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), if field.is_empty() { String::new() } else { format!("`{field}`: ") })]
    Invalid {
        file: String,
        line: Option<usize>,
        /// Dotted path of the field (`workloads[0].arrival.rate_per_hour`).
        field: String,
        message: String,
    },
    /// Several mistakes, in the order of the file's sections: one `file:line: field: what`
    /// per line.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<ScenarioError>),
}

/// A workload, resolved to catalogue indices.
#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    pub name: String,
    pub charge: ChargeType,
    /// Requests per millisecond (the base rate of a non-homogeneous process).
    pub rate_per_ms: f64,
    /// Profile, growth, bursts and batch sizes (see `workload::arrival`).
    pub arrival: crate::workload::arrival::ArrivalSpec,
    /// Lifetime in milliseconds.
    pub lifetime: Dist,
    /// Per entry of `types`: the lifetime law replacing `lifetime` for that type, if any.
    pub lifetime_by_type: Vec<Option<Dist>>,
    pub types: Vec<TypeIdx>,
    pub type_cumulative: Vec<f64>,
    pub zones: Vec<ZoneIdx>,
    pub zone_cumulative: Vec<f64>,
    pub placement: Placement,
    pub per_request: u32,
    pub period_months: u32,
    pub renew_flag: RenewFlag,
    /// Spot bid, micro-CNY per hour.
    pub max_price: Option<u64>,
    /// For SPOTPAID: the charge type to launch on instead when spot is refused or reclaimed.
    pub fallback: Option<ChargeType>,
    /// On a quota or stock refusal, try the next zone at once (`zone_fallback`).
    pub zone_fallback: bool,
    /// Relaunch instances the platform lost or stopped (`replace_failed`).
    pub replace_failed: bool,
    /// `least_quota_used`: how long a DescribeAccountQuota answer is used.
    pub quota_refresh: SimDuration,
    /// RunInstances `SystemDisk`, `DataDisks`, `InternetAccessible`.
    pub attach: Option<std::sync::Arc<Attachments>>,
}

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub file: ScenarioFile,
    /// Where it came from, for messages and reports.
    pub origin: String,
    /// The folder its relative file names (`file`, `prices_file`) are read from: the scenario
    /// file's folder, whatever `origin` says (it may carry a note such as the `--set` list).
    pub dir: PathBuf,
    pub name: String,
    pub seed: u64,
    pub duration: SimDuration,
    pub sample_interval: SimDuration,
    pub catalog: Catalog,
    pub rules: BillingRules,
    pub timings: Timings,
    pub launch_failure: f64,
    pub quotas: Vec<ZoneQuota>,
    /// (zone, type, capacity in instances).
    pub stock: Vec<(ZoneIdx, TypeIdx, u32)>,
    pub not_offered: Vec<(ZoneIdx, TypeIdx)>,
    pub workloads: Vec<WorkloadSpec>,
    pub rate_limits: RateLimits,
    pub retry: RetryPolicy,
    pub scripts: Vec<ScriptAction>,
    pub spot_model: SpotModel,
    pub spot_step: SimDuration,
    pub spot_notice: SimDuration,
    pub recycle_bin: SimDuration,
    /// Trace replays (`[[traces]]`).
    pub traces: Vec<crate::workload::trace::TraceSpec>,
    /// Target-tracking autoscalers (`[[autoscalers]]`).
    pub autoscalers: Vec<crate::workload::autoscale::AutoscalerSpec>,
    /// Platform faults (`[[faults]]`).
    pub faults: Vec<crate::workload::faults::FaultSpec>,
}

/// How clients retry (resolved from `[api.retry]`).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: SimDuration,
    pub max_delay: SimDuration,
    pub jitter: bool,
}

/// Parses `"100/1m"`: calls per period.
fn parse_limit(text: &str) -> Result<Limit, String> {
    let (n, per) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a limit; write calls/period such as \"100/1m\""))?;
    let calls: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{text}`: `{n}` is not a whole number of calls"))?;
    let per = crate::engine::parse_duration(per)?;
    if calls == 0 || per.ms() == 0 {
        return Err(format!("`{text}`: calls and period must be above zero"));
    }
    Ok(Limit { calls, per })
}

/// Reads and checks a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|reason| ScenarioError::Read {
        file: file.clone(),
        reason,
    })?;
    parse_scenario(&text, &file)
}

/// The embedded quickstart scenario. It has no folder: a file named in it (through `--set`) is
/// read from the current folder.
pub fn quickstart() -> Scenario {
    parse_scenario_in(QUICKSTART, QUICKSTART_NAME, Path::new(""))
        .expect("the embedded scenario is valid")
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The folder a scenario file's relative file names are read from.
pub fn folder_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// A file named in a scenario: a relative name is read from the scenario's folder `dir`, an
/// absolute one as is.
pub fn scenario_relative(dir: &Path, file: &str) -> PathBuf {
    let f = Path::new(file);
    if f.is_absolute() {
        f.to_path_buf()
    } else {
        dir.join(f)
    }
}

/// Parses the text of the scenario file at `origin` (a path: relative file names are read from
/// its folder).
pub fn parse_scenario(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    parse_scenario_in(text, origin, &folder_of(Path::new(origin)))
}

/// Parses scenario text; `origin` names it in messages and `dir` is the folder its relative
/// file names are read from.
pub fn parse_scenario_in(text: &str, origin: &str, dir: &Path) -> Result<Scenario, ScenarioError> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| ScenarioError::Invalid {
        file: origin.into(),
        line: e.span().map(|s| line_of_offset(text, s.start)),
        field: String::new(),
        message: e.message().trim().to_string(),
    })?;
    let parsed: ScenarioFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ScenarioError::Invalid {
            file: origin.into(),
            line: inner.span().map(|s| line_of_offset(text, s.start)),
            field: if path == "." { String::new() } else { path },
            message: inner.message().trim().to_string(),
        }
    })?;
    resolve(parsed, text, origin, dir)
}

fn dist_ms(
    d: &DistSettings,
    field: &str,
    dir: &Path,
    fail: &dyn Fn(&str, String) -> ScenarioError,
) -> Result<Dist, ScenarioError> {
    use super::schema::DistKind as K;
    let ms = |x: &super::schema::Duration| x.0.ms() as f64;
    // The parameters each kind takes; any other one given is a mistake.
    let takes: &[&str] = match d.dist {
        K::Fixed => &["value"],
        K::Uniform => &["min", "max"],
        K::Exponential => &["mean"],
        K::Lognormal => &["median", "sigma"],
        K::Weibull | K::Pareto => &["shape", "scale"],
        K::Empirical => &["values", "file", "quantiles"],
    };
    let given = [
        ("value", d.value.is_some()),
        ("min", d.min.is_some()),
        ("max", d.max.is_some()),
        ("mean", d.mean.is_some()),
        ("median", d.median.is_some()),
        ("sigma", d.sigma.is_some()),
        ("shape", d.shape.is_some()),
        ("scale", d.scale.is_some()),
        ("values", d.values.is_some()),
        ("file", d.file.is_some()),
        ("quantiles", d.quantiles.is_some()),
    ];
    let name = format!("{:?}", d.dist).to_lowercase();
    if d.dist == K::Empirical {
        // One source of observations: values, a file or a quantile list.
        let sources: Vec<&str> = ["values", "file", "quantiles"]
            .into_iter()
            .filter(|k| given.iter().any(|(g, p)| g == k && *p))
            .collect();
        match sources.as_slice() {
            [] => {
                return Err(fail(
                    &format!("{field}.values"),
                    "an empirical distribution needs `values`, `file` or `quantiles`".into(),
                ));
            }
            [_] => {}
            [a, b, ..] => {
                return Err(fail(
                    &format!("{field}.{b}"),
                    format!(
                        "give one of `values`, `file` and `quantiles`, not both `{a}` and `{b}`"
                    ),
                ));
            }
        }
    }
    for (k, present) in given {
        if present && !takes.contains(&k) {
            return Err(fail(
                &format!("{field}.{k}"),
                format!(
                    "a {name} distribution takes {}, not `{k}`",
                    takes.join(" and ")
                ),
            ));
        }
    }
    let need = |k: &str| {
        fail(
            &format!("{field}.{k}"),
            format!("a {name} distribution needs `{k}`"),
        )
    };
    let positive = |k: &str, v: &super::schema::Duration| {
        if v.0.ms() == 0 {
            Err(fail(
                &format!("{field}.{k}"),
                format!("`{k}` must be above zero"),
            ))
        } else {
            Ok(ms(v))
        }
    };
    Ok(match d.dist {
        K::Fixed => Dist::Fixed(ms(d.value.as_ref().ok_or_else(|| need("value"))?)),
        K::Uniform => {
            let min = d.min.as_ref().ok_or_else(|| need("min"))?;
            let max = d.max.as_ref().ok_or_else(|| need("max"))?;
            if max.0 < min.0 {
                return Err(fail(
                    &format!("{field}.max"),
                    format!("max ({}) is below min ({})", max.0, min.0),
                ));
            }
            Dist::Uniform {
                low: ms(min),
                high: ms(max),
            }
        }
        K::Exponential => Dist::Exponential {
            mean: positive("mean", d.mean.as_ref().ok_or_else(|| need("mean"))?)?,
        },
        K::Lognormal => Dist::LogNormal {
            mu: positive("median", d.median.as_ref().ok_or_else(|| need("median"))?)?.ln(),
            sigma: d.sigma.ok_or_else(|| need("sigma"))?.0,
        },
        K::Weibull => Dist::Weibull {
            shape: d.shape.ok_or_else(|| need("shape"))?.0,
            scale: positive("scale", d.scale.as_ref().ok_or_else(|| need("scale"))?)?,
        },
        K::Pareto => Dist::Pareto {
            shape: d.shape.ok_or_else(|| need("shape"))?.0,
            scale: positive("scale", d.scale.as_ref().ok_or_else(|| need("scale"))?)?,
        },
        K::Empirical if d.file.is_some() => {
            let file = d.file.as_deref().unwrap_or_default();
            let path = scenario_relative(dir, file);
            let sorted = crate::workload::lifetimes::read_durations(&path)
                .map_err(|m| fail(&format!("{field}.file"), m))?;
            Dist::Empirical { sorted }
        }
        K::Empirical if d.quantiles.is_some() => {
            let points: Vec<(f64, SimDuration)> = d
                .quantiles
                .iter()
                .flatten()
                .map(|(p, v)| (*p, v.0))
                .collect();
            crate::workload::lifetimes::quantile_dist(&points).map_err(|(i, m)| match i {
                Some(i) => fail(&format!("{field}.quantiles[{i}]"), m),
                None => fail(&format!("{field}.quantiles"), m),
            })?
        }
        K::Empirical => {
            let values = d.values.as_ref().ok_or_else(|| need("values"))?;
            if values.is_empty() {
                return Err(fail(
                    &format!("{field}.values"),
                    "needs at least one value".into(),
                ));
            }
            let mut v: Vec<f64> = values.iter().map(ms).collect();
            v.sort_by(f64::total_cmp);
            Dist::Empirical { sorted: v }
        }
    })
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// The highest price a scenario may give (per hour, or per month for prepaid), in its currency:
/// far above any real one, and low enough that costs in micro-units cannot overflow.
pub const MAX_PRICE: f64 = 1e6;

fn to_micros(x: f64) -> u64 {
    (x * 1e6).round() as u64
}

fn resolve(
    f: ScenarioFile,
    text: &str,
    origin: &str,
    dir: &Path,
) -> Result<Scenario, ScenarioError> {
    let fail = |field: &str, message: String| ScenarioError::Invalid {
        file: origin.into(),
        line: line_of_path(text, field),
        field: field.into(),
        message,
    };
    // The same; the second argument names the offending value, for readers of the call.
    let fail_at = |field: &str, _value: &str, message: String| fail(field, message);
    if f.name.trim().is_empty() || f.name.contains(['/', '\\']) || f.name.starts_with('.') {
        return Err(fail(
            "name",
            "must be a non-empty name usable as a folder (no `/`, `\\`, leading `.`)".into(),
        ));
    }
    if f.duration.0.ms() == 0 {
        return Err(fail("duration", "must be longer than zero".into()));
    }
    if f.sample_interval.0.ms() == 0 {
        return Err(fail("sample_interval", "must be longer than zero".into()));
    }
    if f.zones.is_empty() {
        return Err(fail("zones", "at least one zone is needed".into()));
    }
    check_output_budget(&f, text, &fail)?;
    if f.instance_types.is_empty() {
        return Err(fail(
            "instance_types",
            "at least one instance type is needed".into(),
        ));
    }
    // Zones.
    let mut zones = Vec::new();
    let mut quotas = Vec::new();
    for (name, z) in &f.zones {
        let region = region_of_zone(name).ok_or_else(|| {
            fail_at(
                &format!("zones.{name}"),
                name,
                "a zone name is <region>-<number>, e.g. ap-guangzhou-3".into(),
            )
        })?;
        let zone_id = match (z.zone_id, known_zone_id(name)) {
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => {
                return Err(fail_at(
                    &format!("zones.{name}.zone_id"),
                    name,
                    format!("`{name}` is not a zone CVM documents; give its numeric zone_id"),
                ));
            }
        };
        zones.push(Zone {
            name: name.clone(),
            zone_id,
            region: region.to_string(),
        });
        let q = &z.quota;
        quotas.push(ZoneQuota {
            postpaid: q.postpaid,
            prepaid: q.prepaid,
            prepaid_once: q.prepaid_once,
            spot_cores: q.spot_cores,
            used_outside: [
                q.used_outside.prepaid,
                q.used_outside.postpaid,
                q.used_outside.spot_cores,
            ],
        });
    }
    // Types and prices: the illustrative catalogue, replaced by `prices_file`, replaced by
    // `[prices]`.
    let file_prices = match &f.prices_file {
        None => PriceFile::default(),
        Some(file) => {
            let path = scenario_relative(dir, file);
            read_price_file(&path).map_err(|m| fail("prices_file", m))?
        }
    };
    // Prepaid ladders: per family in `[billing]`, else the price file's, else
    // `prepaid_discount_percent` for all families, else the published ladders.
    let all_ladder = match &f.billing.prepaid_discount_percent {
        None => None,
        Some(t) => Some(ladder_of(t, "billing.prepaid_discount_percent", &fail)?),
    };
    let mut family_ladders = std::collections::BTreeMap::new();
    for (fam, t) in &f.billing.prepaid_discount_by_family {
        let field = format!("billing.prepaid_discount_by_family.{fam}");
        family_ladders.insert(fam.clone(), ladder_of(t, &field, &fail)?);
    }
    let ladder_for = |family: &str| -> Ladder {
        family_ladders
            .get(family)
            .or(file_prices.ladders.get(family))
            .or(all_ladder.as_ref())
            .cloned()
            .unwrap_or_else(|| Ladder::published_for_family(family))
    };
    let mut types = Vec::new();
    let mut prices = Vec::new();
    for (i, name) in f.instance_types.iter().enumerate() {
        let t = parse_instance_type(name)
            .map_err(|m| fail_at(&format!("instance_types[{i}]"), name, m))?;
        if types
            .iter()
            .any(|x: &crate::cloud::InstanceType| x.name == t.name)
        {
            return Err(fail_at(
                &format!("instance_types[{i}]"),
                name,
                format!("`{name}` is listed twice"),
            ));
        }
        let price = match f.prices.get(name).or(file_prices.types.get(name)) {
            None => illustrative_price(&t),
            Some(p) => {
                if !(p.postpaid_hourly.is_finite()
                    && (0.0..=MAX_PRICE).contains(&p.postpaid_hourly))
                {
                    return Err(fail_at(
                        &format!("prices.{name}.postpaid_hourly"),
                        "postpaid_hourly",
                        format!("must be a price from 0 to {MAX_PRICE}"),
                    ));
                }
                if let Some(m) = p.prepaid_monthly
                    && !(m.is_finite() && (0.0..=MAX_PRICE).contains(&m))
                {
                    return Err(fail_at(
                        &format!("prices.{name}.prepaid_monthly"),
                        "prepaid_monthly",
                        format!("must be a price from 0 to {MAX_PRICE}"),
                    ));
                }
                let ill = illustrative_price(&t);
                TypePrice {
                    postpaid_hourly: to_micros(p.postpaid_hourly),
                    prepaid_monthly: p.prepaid_monthly.map(to_micros).unwrap_or(
                        ill.prepaid_monthly * to_micros(p.postpaid_hourly)
                            / ill.postpaid_hourly.max(1),
                    ),
                    tiered: p.tiered,
                    ladder: Ladder::default(),
                }
            }
        };
        let price = TypePrice {
            ladder: ladder_for(&t.family),
            ..price
        };
        types.push(t);
        prices.push(price);
    }
    for name in f.prices.keys() {
        if !f.instance_types.contains(name) {
            return Err(fail_at(
                &format!("prices.{name}"),
                name,
                format!("`{name}` is not in instance_types"),
            ));
        }
    }
    let cat = Catalog {
        zones,
        types,
        prices,
        spot_fraction: f.cloud.spot_price_fraction.0,
        disk_gib_hourly: to_micros(f.cloud.disk_price_per_gib_hour),
        disk_gib: f.cloud.disk_gib,
        currency: f.cloud.currency.clone(),
        attach: attachment_prices(&f, &file_prices, &fail)?,
    };
    let type_ref = |field: &str, name: &str| {
        cat.type_index(name).ok_or_else(|| {
            fail_at(
                field,
                name,
                format!(
                    "unknown instance type `{name}`; the scenario's instance_types are {}",
                    cat.types
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    };
    let zone_ref = |field: &str, name: &str| {
        cat.zone_index(name).ok_or_else(|| {
            fail_at(
                field,
                name,
                format!(
                    "unknown zone `{name}`; the scenario's zones are {}",
                    cat.zones
                        .iter()
                        .map(|z| z.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    };
    // Stock.
    let mut stock = Vec::new();
    let mut not_offered = Vec::new();
    for (zname, z) in &f.zones {
        let zi = cat.zone_index(zname).expect("zone just added");
        for (tname, &cap) in &z.stock {
            let ti = type_ref(&format!("zones.{zname}.stock.{tname}"), tname)?;
            stock.push((zi, ti, cap));
        }
        for (i, tname) in z.not_offered.iter().enumerate() {
            let ti = type_ref(&format!("zones.{zname}.not_offered[{i}]"), tname)?;
            not_offered.push((zi, ti));
        }
    }
    // Timings.
    let mut timings = Timings::default();
    let t = &f.cloud.timings;
    for (slot, set, field) in [
        (&mut timings.pending, &t.pending, "cloud.timings.pending"),
        (&mut timings.stopping, &t.stopping, "cloud.timings.stopping"),
        (&mut timings.starting, &t.starting, "cloud.timings.starting"),
        (
            &mut timings.rebooting,
            &t.rebooting,
            "cloud.timings.rebooting",
        ),
        (
            &mut timings.terminating,
            &t.terminating,
            "cloud.timings.terminating",
        ),
        (
            &mut timings.reset_type,
            &t.reset_type,
            "cloud.timings.reset_type",
        ),
    ] {
        if let Some(d) = set {
            *slot = dist_ms(d, field, dir, &fail)?;
        }
    }
    let mut rules = BillingRules {
        enabled: f.billing.enabled,
        ..BillingRules::default()
    };
    if let Some(tiers) = &f.billing.postpaid_tiers {
        if tiers.first().map(|t| t.0) != Some(0) || tiers.windows(2).any(|w| w[1].0 <= w[0].0) {
            return Err(fail(
                "billing.postpaid_tiers",
                "tiers must start at 0 hours and rise, e.g. [[0, 100], [96, 50], [360, 34]]".into(),
            ));
        }
        rules.postpaid_tiers = tiers.clone();
    }
    rules.round_cents = f.billing.settlement_rounding;
    rules.five_day_returns_per_year = f.billing.five_day_returns_per_year;
    rules.returns_per_year = f.billing.returns_per_year;
    rules.max_downgrades = f.billing.max_downgrades;
    let spot_model = match &f.cloud.spot_market {
        None => SpotModel::Constant {
            fraction: f.cloud.spot_price_fraction.0,
        },
        Some(m) => {
            let ordered = m.min.0 <= m.mean.0 && m.mean.0 <= m.max.0;
            if !ordered || m.volatility.is_nan() || m.volatility < 0.0 {
                return Err(fail(
                    "cloud.spot_market",
                    "needs min <= mean <= max and a volatility of 0 or more".into(),
                ));
            }
            if m.step.0.ms() == 0 {
                return Err(fail(
                    "cloud.spot_market.step",
                    "must be longer than zero".into(),
                ));
            }
            SpotModel::Random {
                min: m.min.0,
                max: m.max.0,
                mean: m.mean.0,
                volatility: m.volatility,
                reversion: m.reversion.0,
            }
        }
    };
    let spot_step = f
        .cloud
        .spot_market
        .as_ref()
        .map(|m| m.step.0)
        .unwrap_or(SimDuration::from_hours(1));
    // Workloads.
    // Every mistake found from here on is collected, so `validate` reports them all: each
    // workload, the API settings, scripted actions, traces, autoscalers and faults are
    // checked on their own (the first mistake within each).
    let mut errors: Vec<ScenarioError> = Vec::new();
    let workload =
        |i: usize, w: &super::schema::WorkloadSettings| -> Result<WorkloadSpec, ScenarioError> {
            let at = |s: &str| format!("workloads[{i}].{s}");
            if f.workloads[..i].iter().any(|o| o.name == w.name) {
                return Err(fail_at(
                    &at("name"),
                    &w.name,
                    format!("two workloads are named `{}`", w.name),
                ));
            }
            let (rate_per_hour, arrival) = crate::workload::arrival::resolve(
                &w.arrival,
                f.duration.0.ms(),
                MAX_RATE_PER_HOUR,
                crate::cloud::api::MAX_RUN_COUNT,
            )
            .map_err(|(k, m)| fail(&at(&format!("arrival.{k}")), m))?;
            if arrival.batch.is_some() && w.instances_per_request != 1 {
                return Err(fail(
                    &at("instances_per_request"),
                    "give either `instances_per_request` or `arrival.batch`, not both".into(),
                ));
            }
            let lifetime = dist_ms(&w.lifetime, &at("lifetime"), dir, &fail)?;
            if w.types.is_empty() {
                return Err(fail(&at("types"), "name at least one instance type".into()));
            }
            if w.zones.is_empty() {
                return Err(fail(&at("zones"), "name at least one zone".into()));
            }
            let mut types = Vec::new();
            for name in w.types.keys() {
                types.push(type_ref(&at(&format!("types.{name}")), name)?);
            }
            // Lifetimes per type, in the order of `types` (name order, like `w.types`).
            let mut lifetime_by_type: Vec<Option<Dist>> = vec![None; types.len()];
            for (name, d) in &w.lifetime_by_type {
                let field = at(&format!("lifetime_by_type.{name}"));
                let Some(j) = w.types.keys().position(|k| k == name) else {
                    return Err(fail(
                        &field,
                        format!(
                            "`{name}` is not among this workload's types ({})",
                            w.types.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                };
                lifetime_by_type[j] = Some(dist_ms(d, &field, dir, &fail)?);
            }
            let mut zs = Vec::new();
            for name in w.zones.keys() {
                zs.push(zone_ref(&at(&format!("zones.{name}")), name)?);
            }
            if w.instances_per_request == 0
                || w.instances_per_request > crate::cloud::api::MAX_RUN_COUNT
            {
                return Err(fail(
                    &at("instances_per_request"),
                    format!("must be within 1..={}", crate::cloud::api::MAX_RUN_COUNT),
                ));
            }
            if w.period_months.is_some() && w.charge_type != ChargeType::Prepaid {
                return Err(fail(
                    &at("period_months"),
                    format!(
                        "a prepaid period on a {} workload means nothing; drop it or set \
                     charge_type = \"PREPAID\"",
                        w.charge_type.as_str()
                    ),
                ));
            }
            let period_months = w.period_months.unwrap_or(1);
            if w.charge_type == ChargeType::Prepaid && !rules.valid_period(period_months) {
                return Err(fail(
                    &at("period_months"),
                    format!("{period_months} is not a prepaid period; use 1-12, 24, 36, 48 or 60"),
                ));
            }
            let renew_flag = parse_renew_flag(&w.renew_flag, &at("renew_flag"), &fail)?;
            let max_price = parse_price(w.max_price, &at("max_price"), &fail)?;
            let attach = attachments_of(
                AttachSettings {
                    charge_type: w.charge_type,
                    system_disk: &w.system_disk,
                    data_disks: &w.data_disks,
                    internet_accessible: &w.internet_accessible,
                },
                &at,
                &fail,
            )?;
            if w.quota_refresh.is_some() && w.placement != Placement::LeastQuotaUsed {
                return Err(fail(
                    &at("quota_refresh"),
                    "is only used by placement = \"least_quota_used\"".into(),
                ));
            }
            let quota_refresh = w
                .quota_refresh
                .map(|d| d.0)
                .unwrap_or(SimDuration::from_secs(60));
            if quota_refresh.ms() == 0 {
                return Err(fail(
                    &at("quota_refresh"),
                    "must be longer than zero".into(),
                ));
            }
            Ok(WorkloadSpec {
                attach,
                zone_fallback: w.zone_fallback,
                replace_failed: w.replace_failed,
                quota_refresh,
                fallback: None,
                renew_flag,
                max_price,
                name: w.name.clone(),
                charge: w.charge_type,
                rate_per_ms: rate_per_hour / crate::engine::time::MS_PER_HOUR as f64,
                arrival,
                lifetime,
                lifetime_by_type,
                types,
                type_cumulative: cumulative(w.types.values().map(|p| p.0)),
                zones: zs,
                zone_cumulative: cumulative(w.zones.values().map(|p| p.0)),
                placement: w.placement,
                per_request: w.instances_per_request,
                period_months,
            })
        };
    let mut workloads = Vec::new();
    for (i, w) in f.workloads.iter().enumerate() {
        match workload(i, w) {
            Ok(spec) => workloads.push(spec),
            Err(e) => errors.push(e),
        }
    }
    // API rate limits and retries.
    let api_settings = || -> Result<(RateLimits, RetryPolicy), ScenarioError> {
        let api = &f.api;
        let mut rate_limits = match api.preset.as_str() {
            "per-minute-2018" => RateLimits::per_minute_2018(),
            "per-second" => RateLimits::per_second_current(),
            "unlimited" => RateLimits::unlimited(),
            other => {
                return Err(fail(
                    "api.preset",
                    format!(
                        "unknown preset `{other}`; use per-minute-2018, per-second or unlimited"
                    ),
                ));
            }
        };
        rate_limits.window = match api.window {
            Window::Fixed => WindowKind::Fixed,
            Window::TokenBucket => WindowKind::TokenBucket,
        };
        if let Some(t) = &api.total {
            rate_limits.total = if t == "none" {
                None
            } else {
                Some(parse_limit(t).map_err(|m| fail("api.total", m))?)
            };
        }
        for (name, text) in &api.limits {
            let field = format!("api.limits.{name}");
            let action = Action::parse(name).ok_or_else(|| {
                fail_at(
                    &field,
                    name,
                    format!("unknown action `{name}`; use CVM's names such as RunInstances"),
                )
            })?;
            let limit = parse_limit(text).map_err(|m| fail_at(&field, name, m))?;
            rate_limits.per_action.retain(|(a, _)| *a != action);
            rate_limits.per_action.push((action, limit));
        }
        if api.retry.max_attempts == 0 {
            return Err(fail(
                "api.retry.max_attempts",
                "must be at least 1 (the first attempt)".into(),
            ));
        }
        let retry = RetryPolicy {
            max_attempts: api.retry.max_attempts,
            base_delay: api.retry.base_delay.0,
            max_delay: api.retry.max_delay.0,
            jitter: api.retry.jitter,
        };
        Ok((rate_limits, retry))
    };
    let api_resolved = match api_settings() {
        Ok(x) => Some(x),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let scripts = collect(
        resolve_actions(&f, &cat, &rules, &fail, &fail_at),
        &mut errors,
    );
    let traces = collect(resolve_traces(&f, &cat, &rules, dir, &fail), &mut errors);
    let autoscalers = collect(
        super::controllers::resolve_autoscalers(&f, &cat, &fail),
        &mut errors,
    );
    let faults = collect(
        super::controllers::resolve_faults(&f, &cat, &fail),
        &mut errors,
    );
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(ScenarioError::Many(errors)),
    }
    // Resolved whenever no mistake was collected.
    let Some((rate_limits, retry)) = api_resolved else {
        return Err(fail("api", "cannot be resolved".into()));
    };
    Ok(Scenario {
        autoscalers,
        faults,
        spot_model,
        spot_step,
        spot_notice: f.cloud.spot_notice.0,
        recycle_bin: f.cloud.recycle_bin.0,
        scripts,
        traces,
        rate_limits,
        retry,
        origin: origin.into(),
        dir: dir.to_path_buf(),
        name: f.name.clone(),
        seed: f.seed,
        duration: f.duration.0,
        sample_interval: f.sample_interval.0,
        catalog: cat,
        rules,
        timings,
        launch_failure: f.cloud.launch_failure_probability.0,
        quotas,
        stock,
        not_offered,
        workloads,
        file: f,
    })
}

/// The value of a section that resolved, or its default with the mistake kept in `errors`.
fn collect<T: Default>(r: Result<T, ScenarioError>, errors: &mut Vec<ScenarioError>) -> T {
    r.unwrap_or_else(|e| {
        errors.push(e);
        T::default()
    })
}

type Fail<'a> = &'a dyn Fn(&str, String) -> ScenarioError;

/// Refuses a scenario whose estimated output is over `max_output_rows` (see
/// `scenario::budget`), pointing at the setting most to blame.
fn check_output_budget(f: &ScenarioFile, text: &str, fail: Fail<'_>) -> Result<(), ScenarioError> {
    use super::budget::{DEFAULT_MAX_OUTPUT_ROWS, OutputEstimate};
    if f.max_output_rows == Some(0) {
        return Err(fail("max_output_rows", "must be at least 1".into()));
    }
    let limit = f.max_output_rows.unwrap_or(DEFAULT_MAX_OUTPUT_ROWS);
    let est = OutputEstimate::new(f.duration.0, f.sample_interval.0, f.zones.len());
    if est.total() > limit {
        // A field the file does not set has no line: then the duration is to blame.
        let field = match est.culprit() {
            _ if f.max_output_rows.is_some() => "max_output_rows",
            "sample_interval" if line_of_path(text, "sample_interval").is_none() => "duration",
            c => c,
        };
        return Err(fail(field, est.refusal(limit)));
    }
    Ok(())
}
type FailAt<'a> = &'a dyn Fn(&str, &str, String) -> ScenarioError;

/// Resolves `[[traces]]`: the mapping of columns, zones and charge type, and the file, whose
/// header is read to check that the mapped columns are there. A relative `file` is read from
/// the folder of the scenario file (`dir`).
fn resolve_traces(
    f: &ScenarioFile,
    cat: &Catalog,
    rules: &BillingRules,
    dir: &Path,
    fail: Fail<'_>,
) -> Result<Vec<crate::workload::trace::TraceSpec>, ScenarioError> {
    use crate::workload::trace::{SizeMap, TraceSpec, check_header, check_mapping};
    let mut out: Vec<TraceSpec> = Vec::new();
    for (i, t) in f.traces.iter().enumerate() {
        let at = |s: &str| format!("traces[{i}].{s}");
        if t.name.trim().is_empty() {
            return Err(fail(&at("name"), "must not be empty".into()));
        }
        if out.iter().any(|o| o.name == t.name) {
            return Err(fail(
                &at("name"),
                format!("two traces are named `{}`", t.name),
            ));
        }
        check_mapping(&t.columns).map_err(|(k, m)| fail(&at(&format!("columns.{k}")), m))?;
        let mut zones = Vec::new();
        let mut weights = Vec::new();
        if t.columns.zone.is_some() {
            if !t.zones.is_empty() {
                return Err(fail(
                    &at("zones"),
                    "the trace has a zone column; `zones` would not be used".into(),
                ));
            }
        } else if t.zones.is_empty() {
            if cat.zones.len() != 1 {
                return Err(fail(
                    &at("zones"),
                    "the trace has no zone column: give zone weights, e.g. \
                     zones = { ap-guangzhou-3 = 1 }"
                        .into(),
                ));
            }
            zones.push(ZoneIdx(0));
            weights.push(1.0);
        } else {
            for (name, w) in &t.zones {
                let z = cat.zone_index(name).ok_or_else(|| {
                    fail(
                        &at(&format!("zones.{name}")),
                        format!(
                            "unknown zone `{name}`; the scenario's zones are {}",
                            cat.zones
                                .iter()
                                .map(|z| z.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
                zones.push(z);
                weights.push(w.0);
            }
        }
        if t.charge_type == ChargeType::Prepaid && !rules.valid_period(t.period_months) {
            return Err(fail(
                &at("period_months"),
                format!(
                    "{} is not a prepaid period; use 1-12, 24, 36, 48 or 60",
                    t.period_months
                ),
            ));
        }
        if t.batch_window.0.ms() == 0 {
            return Err(fail(&at("batch_window"), "must be longer than zero".into()));
        }
        if let Some(o) = t.time_offset
            && !o.is_finite()
        {
            return Err(fail(&at("time_offset"), "must be a finite number".into()));
        }
        let path = scenario_relative(dir, &t.file);
        check_header(&path, &t.columns).map_err(|(k, m)| {
            if k == "file" {
                fail(&at("file"), m)
            } else {
                fail(&at(&format!("columns.{k}")), m)
            }
        })?;
        out.push(TraceSpec {
            name: t.name.clone(),
            path,
            columns: t.columns.clone(),
            unit_ms: TraceSpec::unit_ms_of(t.time_unit),
            time_offset: t.time_offset,
            speedup: t.speedup.map(|s| s.0).unwrap_or(1.0),
            zones,
            zone_cumulative: cumulative(weights.into_iter()),
            charge: t.charge_type,
            period_months: t.period_months,
            batch_window_ms: t.batch_window.0.ms(),
            sizes: SizeMap::new(cat),
            zone_names: cat.zones.iter().map(|z| z.name.clone()).collect(),
            type_names: cat.types.iter().map(|t| t.name.clone()).collect(),
        });
    }
    Ok(out)
}

/// Resolves `[[actions]]`: checks each action has what it needs and nothing it cannot use.
fn resolve_actions(
    f: &ScenarioFile,
    cat: &Catalog,
    rules: &BillingRules,
    fail: Fail<'_>,
    fail_at: FailAt<'_>,
) -> Result<Vec<ScriptAction>, ScenarioError> {
    let mut out: Vec<ScriptAction> = Vec::new();
    for (i, a) in f.actions.iter().enumerate() {
        let at = |s: &str| format!("actions[{i}].{s}");
        if a.at.0 >= f.duration.0 {
            return Err(fail(
                &at("at"),
                format!(
                    "{} is not before the end of the run ({})",
                    a.at.0, f.duration.0
                ),
            ));
        }
        let action = Action::parse(&a.action).ok_or_else(|| {
            fail_at(
                &at("action"),
                &a.action,
                format!(
                    "unknown action `{}`; use one of {}",
                    a.action,
                    Action::ALL
                        .iter()
                        .map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let zone = |field: &str, name: &Option<String>| -> Result<Option<ZoneIdx>, ScenarioError> {
            name.as_ref()
                .map(|n| {
                    cat.zone_index(n)
                        .ok_or_else(|| fail_at(&at(field), n, format!("unknown zone `{n}`")))
                })
                .transpose()
        };
        let itype =
            |field: &str, name: &Option<String>| -> Result<Option<TypeIdx>, ScenarioError> {
                name.as_ref()
                    .map(|n| {
                        cat.type_index(n).ok_or_else(|| {
                            fail_at(&at(field), n, format!("unknown instance type `{n}`"))
                        })
                    })
                    .transpose()
            };
        let need = |what: &str| fail(&at(what), format!("{} needs `{what}`", a.action));
        let months = |default: u32| -> Result<u32, ScenarioError> {
            let m = a.period_months.unwrap_or(default);
            if rules.valid_period(m) {
                Ok(m)
            } else {
                Err(fail(
                    &at("period_months"),
                    format!("{m} is not a prepaid period; use 1-12, 24, 36, 48 or 60"),
                ))
            }
        };
        let takes_selection = !matches!(
            action,
            Action::RunInstances
                | Action::DescribeAccountQuota
                | Action::DescribeZoneInstanceConfigInfos
                | Action::DescribeZones
                | Action::DescribeRegions
                | Action::DescribeInstanceTypeConfigs
        );
        if !takes_selection && a.select.is_some() {
            return Err(fail(
                &at("select"),
                format!("{} does not name instances", a.action),
            ));
        }
        if matches!(
            action,
            Action::StartInstances
                | Action::StopInstances
                | Action::RebootInstances
                | Action::TerminateInstances
                | Action::ResetInstancesType
                | Action::RenewInstances
                | Action::ModifyInstancesChargeType
                | Action::ModifyInstancesRenewFlag
        ) && a.select.is_none()
        {
            return Err(need("select"));
        }
        let call = match action {
            Action::RunInstances => ScriptCall::Run(RunInstances {
                zone: zone("zone", &a.zone)?.ok_or_else(|| need("zone"))?,
                itype: itype("instance_type", &a.instance_type)?
                    .ok_or_else(|| need("instance_type"))?,
                charge: a.charge_type.unwrap_or(ChargeType::PostpaidByHour),
                count: a.count.unwrap_or(1),
                min_count: a.min_count,
                dry_run: a.dry_run,
                // Left unchecked on purpose: a bad Period is for the control plane to refuse.
                period_months: a.period_months.unwrap_or(1),
                renew_flag: parse_renew_flag(&a.renew_flag, &at("renew_flag"), fail)?,
                max_price: parse_price(a.max_price, &at("max_price"), fail)?,
                client_token: a.client_token.clone(),
                attach: attachments_of(
                    AttachSettings {
                        charge_type: a.charge_type.unwrap_or(ChargeType::PostpaidByHour),
                        system_disk: &a.system_disk,
                        data_disks: &a.data_disks,
                        internet_accessible: &a.internet_accessible,
                    },
                    &at,
                    fail,
                )?,
            }),
            Action::StartInstances => ScriptCall::Start,
            Action::StopInstances => {
                match a.stop_type.as_deref() {
                    None | Some("SOFT") | Some("HARD") | Some("SOFT_FIRST") => {}
                    Some(o) => {
                        return Err(fail(
                            &at("stop_type"),
                            format!("`{o}`: use SOFT, HARD or SOFT_FIRST"),
                        ));
                    }
                }
                ScriptCall::Stop(match a.stopped_mode.as_deref() {
                    None | Some("KEEP_CHARGING") => StoppedMode::KeepCharging,
                    Some("STOP_CHARGING") => StoppedMode::StopCharging,
                    Some(o) => {
                        return Err(fail(
                            &at("stopped_mode"),
                            format!("`{o}`: use KEEP_CHARGING or STOP_CHARGING"),
                        ));
                    }
                })
            }
            Action::RebootInstances => ScriptCall::Reboot,
            Action::TerminateInstances => ScriptCall::Terminate,
            Action::ResetInstancesType => ScriptCall::Reset {
                itype: itype("instance_type", &a.instance_type)?
                    .ok_or_else(|| need("instance_type"))?,
                force_stop: a.force_stop,
            },
            Action::RenewInstances => ScriptCall::Renew { months: months(1)? },
            Action::ModifyInstancesChargeType => ScriptCall::Modify {
                charge: a.charge_type.ok_or_else(|| need("charge_type"))?,
                months: months(1)?,
            },
            Action::DescribeInstances => {
                // CVM refuses InstanceIds with Filters (InvalidParameter), and a selection is
                // sent as InstanceIds: every such call would fail, so say so now.
                if a.select.is_some() && !a.filters.is_empty() {
                    return Err(fail(
                        &at("filters"),
                        "DescribeInstances takes `select` (sent as InstanceIds) or `filters`, \
                         not both: CVM refuses InstanceIds with Filters (InvalidParameter); \
                         use `filters` alone (an `instance-id` filter names ids)"
                            .into(),
                    ));
                }
                let page_size = a.page_size.unwrap_or(20);
                ScriptCall::Describe {
                    page_size,
                    filters: a
                        .filters
                        .iter()
                        .map(|(k, v)| Filter {
                            name: k.clone(),
                            values: v.clone(),
                        })
                        .collect(),
                }
            }
            Action::DescribeAccountQuota => ScriptCall::DescribeQuota {
                zone: zone("zone", &a.zone)?,
            },
            Action::DescribeZoneInstanceConfigInfos => ScriptCall::DescribeConfigs {
                zone: zone("zone", &a.zone)?,
            },
            Action::DescribeInstancesStatus => ScriptCall::DescribeStatus,
            Action::ModifyInstancesRenewFlag => {
                if a.renew_flag.is_none() {
                    return Err(need("renew_flag"));
                }
                ScriptCall::ModifyRenewFlag(parse_renew_flag(
                    &a.renew_flag,
                    &at("renew_flag"),
                    fail,
                )?)
            }
            Action::DescribeZones => ScriptCall::DescribeZones,
            Action::DescribeRegions => ScriptCall::DescribeRegions,
            Action::DescribeInstanceTypeConfigs => ScriptCall::DescribeTypeConfigs {
                zone: zone("zone", &a.zone)?,
            },
        };
        let select = match &a.select {
            None => None,
            Some(sel) => {
                let state = sel
                    .state
                    .as_ref()
                    .map(|s| {
                        InstanceState::parse(s).ok_or_else(|| {
                            fail_at(
                                &at("select.state"),
                                s,
                                format!("`{s}` is not an instance state (e.g. RUNNING, STOPPED)"),
                            )
                        })
                    })
                    .transpose()?;
                let owner = sel
                    .owner
                    .as_ref()
                    .map(|o| {
                        if o == "script" {
                            Ok(Owner::Script)
                        } else {
                            f.workloads
                                .iter()
                                .position(|w| &w.name == o)
                                .map(|p| Owner::Workload(p as u32))
                                .or_else(|| {
                                    f.autoscalers
                                        .iter()
                                        .position(|a| &a.name == o)
                                        .map(|p| Owner::Autoscaler(p as u32))
                                })
                                .ok_or_else(|| {
                                    fail_at(
                                        &at("select.owner"),
                                        o,
                                        format!(
                                            "`{o}` is neither `script` nor a workload's or an \
                                             autoscaler's name"
                                        ),
                                    )
                                })
                        }
                    })
                    .transpose()?;
                let from = sel
                    .from
                    .as_ref()
                    .map(|n| {
                        out.iter()
                            .position(|x| x.name.as_deref() == Some(n))
                            .ok_or_else(|| {
                                fail_at(
                                    &at("select.from"),
                                    n,
                                    format!("no earlier action is named `{n}`"),
                                )
                            })
                    })
                    .transpose()?;
                if let Some(ids) = &sel.ids {
                    // `ids` names instances exactly; mixed with filters it would be unclear
                    // whether they add to or narrow the match, so neither is guessed.
                    let others: Vec<&str> = [
                        ("zone", sel.zone.is_some()),
                        ("charge_type", sel.charge_type.is_some()),
                        ("state", sel.state.is_some()),
                        ("instance_type", sel.instance_type.is_some()),
                        ("owner", sel.owner.is_some()),
                        ("from", sel.from.is_some()),
                        ("fraction", sel.fraction.is_some()),
                        ("count", sel.count.is_some()),
                    ]
                    .into_iter()
                    .filter_map(|(k, set)| set.then_some(k))
                    .collect();
                    if !others.is_empty() {
                        return Err(fail(
                            &at("select.ids"),
                            format!(
                                "`ids` names the instances exactly and cannot be combined with \
                                 `{}`: use either `ids` or the other fields",
                                others.join("`, `")
                            ),
                        ));
                    }
                    if ids.is_empty() {
                        return Err(fail(
                            &at("select.ids"),
                            "is empty: name at least one instance id".into(),
                        ));
                    }
                }
                if let Some(fr) = sel.fraction
                    && !(fr > 0.0 && fr <= 1.0)
                {
                    return Err(fail(
                        &at("select.fraction"),
                        format!("must be in (0, 1], got {fr}"),
                    ));
                }
                Some(Selection {
                    zone: zone("select.zone", &sel.zone)?,
                    charge: sel.charge_type,
                    state,
                    itype: itype("select.instance_type", &sel.instance_type)?,
                    owner,
                    from,
                    ids: sel.ids.clone().unwrap_or_default(),
                    fraction: sel.fraction,
                    count: sel.count,
                })
            }
        };
        if let Some(n) = &a.name
            && out.iter().any(|x| x.name.as_ref() == Some(n))
        {
            return Err(fail_at(
                &at("name"),
                n,
                format!("two actions are named `{n}`"),
            ));
        }
        if let Some(prev) = out.last()
            && prev.at > SimTime::ZERO + a.at.0
        {
            return Err(fail(
                &at("at"),
                "actions must be listed in time order".into(),
            ));
        }
        out.push(ScriptAction {
            at: SimTime::ZERO + a.at.0,
            name: a.name.clone(),
            call,
            select,
        });
    }
    Ok(out)
}

fn parse_renew_flag(
    s: &Option<String>,
    field: &str,
    fail: Fail<'_>,
) -> Result<RenewFlag, ScenarioError> {
    match s {
        None => Ok(RenewFlag::default()),
        Some(t) => RenewFlag::parse(t).ok_or_else(|| {
            fail(
                field,
                format!("`{t}`: use NOTIFY_AND_AUTO_RENEW, NOTIFY_AND_MANUAL_RENEW or DISABLE_NOTIFY_AND_MANUAL_RENEW"),
            )
        }),
    }
}

fn parse_price(p: Option<f64>, field: &str, fail: Fail<'_>) -> Result<Option<u64>, ScenarioError> {
    match p {
        None => Ok(None),
        Some(x) if x.is_finite() && (0.0..=MAX_PRICE).contains(&x) => Ok(Some(to_micros(x))),
        Some(x) => Err(fail(
            field,
            format!("must be a price from 0 to {MAX_PRICE}, got {x}"),
        )),
    }
}

/// Reads a price file: CSV with a header naming `instance_type`, `postpaid_hourly` and
/// optionally `prepaid_monthly` and `tiered` (true/false), prices in the scenario's currency.
/// Types the scenario does not use are ignored, so one file can hold a whole price list.
fn read_price_file(path: &Path) -> Result<PriceFile, String> {
    let shown = path.display();
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let head = r.headers().map_err(|e| format!("`{shown}`: {e}"))?.clone();
    let col = |name: &str| head.iter().position(|h| h == name);
    let (Some(ty), Some(post)) = (col("instance_type"), col("postpaid_hourly")) else {
        return Err(format!(
            "`{shown}`: the header must name instance_type and postpaid_hourly (and may name \
             prepaid_monthly, tiered)"
        ));
    };
    let (pre, tier) = (col("prepaid_monthly"), col("tiered"));
    let ladder_col = col("prepaid_discount");
    let mut out = PriceFile::default();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("`{shown}`:{line}: {e}"))?;
        let cell = |c: usize| rec.get(c).unwrap_or("").to_string();
        let num = |c: usize, what: &str| -> Result<f64, String> {
            let v = cell(c);
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    format!("`{shown}`:{line}: {what} `{v}` is not a price of zero or more")
                })
        };
        let name = cell(ty);
        let postpaid_hourly = num(post, "postpaid_hourly")?;
        let prepaid_monthly = match pre {
            Some(c) if !cell(c).is_empty() => Some(num(c, "prepaid_monthly")?),
            _ => None,
        };
        if let Some(d) = DiskType::parse(&name) {
            // A disk type's row: prices per GiB-hour and per GiB-month.
            let monthly = prepaid_monthly.ok_or_else(|| {
                format!("`{shown}`:{line}: disk type {name} needs prepaid_monthly (per GiB-month)")
            })?;
            out.disks.insert(
                d,
                DiskPrice {
                    gib_hourly: to_micros(postpaid_hourly),
                    gib_monthly: to_micros(monthly),
                },
            );
            continue;
        }
        if let Some(c) = ladder_col
            && !cell(c).is_empty()
        {
            let ladder = Ladder::parse(&cell(c))
                .map_err(|e| format!("`{shown}`:{line}: prepaid_discount: {e}"))?;
            let family = name.split('.').next().unwrap_or("").to_string();
            if let Some(old) = out.ladders.get(&family)
                && *old != ladder
            {
                return Err(format!(
                    "`{shown}`:{line}: prepaid_discount of family {family} differs from an \
                     earlier row's (the ladder is per family)"
                ));
            }
            out.ladders.insert(family, ladder);
        }
        let tiered = match tier.map(cell).as_deref() {
            None | Some("") => true,
            Some("true") => true,
            Some("false") => false,
            Some(o) => {
                return Err(format!(
                    "`{shown}`:{line}: tiered `{o}` is not true or false"
                ));
            }
        };
        out.types.insert(
            name,
            super::schema::PriceSettings {
                postpaid_hourly,
                prepaid_monthly,
                tiered,
            },
        );
    }
    Ok(out)
}

/// The catalogue's disk and network prices: the illustrative ones, replaced by the price
/// file's disk rows, replaced by `[cloud.disk_prices]` and `[cloud.bandwidth]`.
fn attachment_prices(
    f: &ScenarioFile,
    file: &PriceFile,
    fail: Fail<'_>,
) -> Result<AttachmentPrices, ScenarioError> {
    let mut a = AttachmentPrices::default();
    let price = |x: f64, field: &str| -> Result<u64, ScenarioError> {
        parse_price(Some(x), field, fail).map(|p| p.unwrap_or(0))
    };
    for (d, p) in &file.disks {
        if let Some(slot) = a.disks.iter_mut().find(|(t, _)| t == d) {
            slot.1 = *p;
        }
    }
    for (name, p) in &f.cloud.disk_prices {
        let field = format!("cloud.disk_prices.{name}");
        let d = DiskType::parse(name).ok_or_else(|| {
            fail(
                &field,
                format!(
                    "`{name}` is not a cloud disk type; use {}",
                    DiskType::ALL.map(|t| t.as_str()).join(", ")
                ),
            )
        })?;
        let p = DiskPrice {
            gib_hourly: price(
                p.postpaid_per_gib_hour,
                &format!("{field}.postpaid_per_gib_hour"),
            )?,
            gib_monthly: price(
                p.prepaid_per_gib_month,
                &format!("{field}.prepaid_per_gib_month"),
            )?,
        };
        if let Some(slot) = a.disks.iter_mut().find(|(t, _)| *t == d) {
            slot.1 = p;
        }
    }
    if let Some(t) = &f.billing.disk_prepaid_discount_percent {
        a.disk_ladder = ladder_of(t, "billing.disk_prepaid_discount_percent", fail)?;
    }
    let b = &f.cloud.bandwidth;
    let bw = &mut a.bandwidth;
    if let Some(x) = b.postpaid_per_mbps_hour {
        bw.hourly_per_mbps = price(x, "cloud.bandwidth.postpaid_per_mbps_hour")?;
    }
    if let Some(x) = b.postpaid_per_mbps_hour_above {
        bw.hourly_per_mbps_above = price(x, "cloud.bandwidth.postpaid_per_mbps_hour_above")?;
    }
    if let Some(x) = b.tier_mbps {
        bw.tier_mbps = x;
    }
    if let Some(x) = b.traffic_per_gb {
        bw.per_gb = price(x, "cloud.bandwidth.traffic_per_gb")?;
    }
    if let Some(steps) = &b.prepaid_per_mbps_month {
        let field = "cloud.bandwidth.prepaid_per_mbps_month";
        if steps.first().map(|s| s.0) != Some(0) || steps.windows(2).any(|w| w[1].0 <= w[0].0) {
            return Err(fail(
                field,
                "steps must start at 0 Mbps and rise, e.g. [[0, 20], [2, 25], [5, 90]]".into(),
            ));
        }
        bw.monthly_per_mbps = steps
            .iter()
            .map(|&(m, p)| price(p, field).map(|p| (m, p)))
            .collect::<Result<_, _>>()?;
    }
    Ok(a)
}

/// What a price file holds: type prices, family ladders, disk prices.
#[derive(Default)]
struct PriceFile {
    types: std::collections::BTreeMap<String, super::schema::PriceSettings>,
    ladders: std::collections::BTreeMap<String, Ladder>,
    disks: std::collections::BTreeMap<DiskType, DiskPrice>,
}

/// A `{ "months" = percent }` table as a ladder, or a message naming the bad step.
fn ladder_of(
    table: &std::collections::BTreeMap<String, u32>,
    field: &str,
    fail: Fail<'_>,
) -> Result<Ladder, ScenarioError> {
    let mut steps = Vec::new();
    for (k, &pct) in table {
        let m: u32 = k.parse().map_err(|_| {
            fail(
                &format!("{field}.{k}"),
                format!("`{k}` is not a number of months"),
            )
        })?;
        steps.push((m, pct));
    }
    Ladder::new(steps).map_err(|e| fail(field, e))
}

/// The RunInstances fields of a workload or a scripted action that choose disks and network.
struct AttachSettings<'a> {
    charge_type: ChargeType,
    system_disk: &'a Option<super::schema::DiskSettings>,
    data_disks: &'a [super::schema::DiskSettings],
    internet_accessible: &'a Option<super::schema::InternetSettings>,
}

/// The disks and public network of a workload's or a script's RunInstances.
fn attachments_of(
    w: AttachSettings<'_>,
    at: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) -> Result<Option<std::sync::Arc<Attachments>>, ScenarioError> {
    let disk = |d: &super::schema::DiskSettings, field: &str| -> Result<DiskSpec, ScenarioError> {
        let t = DiskType::parse(&d.disk_type).ok_or_else(|| {
            fail(
                &at(&format!("{field}.disk_type")),
                format!(
                    "`{}` is not a cloud disk type; use {}",
                    d.disk_type,
                    DiskType::ALL.map(|t| t.as_str()).join(", ")
                ),
            )
        })?;
        if d.disk_size == 0 || d.disk_size > 32_000 {
            return Err(fail(
                &at(&format!("{field}.disk_size")),
                format!("{} GiB: a disk is 1 to 32000 GiB", d.disk_size),
            ));
        }
        Ok(DiskSpec {
            disk_type: t,
            disk_size: d.disk_size,
        })
    };
    let mut a = Attachments::default();
    if let Some(d) = &w.system_disk {
        a.system_disk = Some(disk(d, "system_disk")?);
    }
    if w.data_disks.len() > 20 {
        return Err(fail(
            &at("data_disks"),
            format!(
                "{} data disks: RunInstances takes at most 20 cloud disks",
                w.data_disks.len()
            ),
        ));
    }
    for (i, d) in w.data_disks.iter().enumerate() {
        a.data_disks.push(disk(d, &format!("data_disks[{i}]"))?);
    }
    if let Some(n) = &w.internet_accessible {
        let charge = match &n.internet_charge_type {
            None => InternetChargeType::BandwidthPostpaidByHour,
            Some(t) => InternetChargeType::parse(t).ok_or_else(|| {
                fail(
                    &at("internet_accessible.internet_charge_type"),
                    format!(
                        "`{t}`: use BANDWIDTH_POSTPAID_BY_HOUR, TRAFFIC_POSTPAID_BY_HOUR or \
                         BANDWIDTH_PREPAID (BANDWIDTH_PACKAGE is not modelled)"
                    ),
                )
            })?,
        };
        if charge == InternetChargeType::BandwidthPrepaid && w.charge_type != ChargeType::Prepaid {
            return Err(fail(
                &at("internet_accessible.internet_charge_type"),
                format!(
                    "BANDWIDTH_PREPAID needs a PREPAID instance; this workload is {}",
                    w.charge_type
                ),
            ));
        }
        if n.internet_max_bandwidth_out == 0 {
            return Err(fail(
                &at("internet_accessible.internet_max_bandwidth_out"),
                "0 Mbps is no public network: leave internet_accessible out".into(),
            ));
        }
        let gb = n
            .traffic_gb_per_hour
            .unwrap_or(n.internet_max_bandwidth_out as f64 * 0.045);
        if !(gb.is_finite() && gb >= 0.0) {
            return Err(fail(
                &at("internet_accessible.traffic_gb_per_hour"),
                format!("{gb} is not an amount of GB of zero or more"),
            ));
        }
        if n.traffic_gb_per_hour.is_some() && charge != InternetChargeType::TrafficPostpaidByHour {
            return Err(fail(
                &at("internet_accessible.traffic_gb_per_hour"),
                "is only used with TRAFFIC_POSTPAID_BY_HOUR".into(),
            ));
        }
        a.internet = Some(InternetSpec {
            charge,
            max_bandwidth_out: n.internet_max_bandwidth_out,
            traffic_mgb_per_hour: (gb * 1000.0).round() as u64,
        });
    }
    Ok((!a.is_empty()).then(|| std::sync::Arc::new(a)))
}
