//! Values several sections share: distributions of durations, weights, prices, renewal flags
//! and prepaid discount ladders, each mistake named by its field.

use std::path::Path;

use crate::cloud::RenewFlag;
use crate::cloud::pricing::Ladder;
use crate::engine::{Dist, SimDuration};

use super::load::{Fail, ScenarioError, scenario_relative};
use super::schema::DistSettings;

pub(super) fn dist_ms(
    d: &DistSettings,
    field: &str,
    dir: &Path,
    fail: Fail<'_>,
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

pub(super) fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
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

pub(super) fn to_micros(x: f64) -> u64 {
    (x * 1e6).round() as u64
}

pub(super) fn parse_renew_flag(
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

pub(super) fn parse_price(
    p: Option<f64>,
    field: &str,
    fail: Fail<'_>,
) -> Result<Option<u64>, ScenarioError> {
    match p {
        None => Ok(None),
        Some(x) if x.is_finite() && (0.0..=MAX_PRICE).contains(&x) => Ok(Some(to_micros(x))),
        Some(x) => Err(fail(
            field,
            format!("must be a price from 0 to {MAX_PRICE}, got {x}"),
        )),
    }
}

/// A `{ "months" = percent }` table as a ladder, or a message naming the bad step.
pub(super) fn ladder_of(
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
