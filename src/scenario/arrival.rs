//! Resolving a workload's `arrival` table into the process [`crate::workload::arrival`] runs:
//! the base rate, the week's profile, growth, bursts and batch sizes, each mistake named by
//! its field below `arrival`.

use crate::workload::arrival::{ArrivalSpec, Batch, Burst, Growth, HOURS_PER_WEEK};

use super::schema::{
    ArrivalKind, ArrivalSettings, BatchKind, BatchSettings, GrowthKind, GrowthSettings,
};

/// A mistake in arrival settings: the field below `arrival` and what is wrong with it.
pub(super) type Mistake = (String, String);

fn mistake(field: &str, message: impl Into<String>) -> Mistake {
    (field.to_string(), message.into())
}

/// Checks a list of multipliers or rates: its length, every value 0 or more, one above 0.
fn check_list(field: &str, v: &[f64], len: usize, what: &str) -> Result<(), Mistake> {
    if v.len() != len {
        return Err(mistake(
            field,
            format!("needs {len} values, {what}; got {}", v.len()),
        ));
    }
    for (i, x) in v.iter().enumerate() {
        if !(x.is_finite() && *x >= 0.0) {
            return Err(mistake(
                &format!("{field}[{i}]"),
                format!("must be a number of 0 or more, got {x}"),
            ));
        }
    }
    if v.iter().all(|x| *x == 0.0) {
        return Err(mistake(field, "at least one value must be above zero"));
    }
    Ok(())
}

/// Resolves `arrival`: the base rate in requests per hour and the rest of the process.
/// `horizon_ms` is the run's length; `max_per_hour` the highest peak rate allowed.
pub(super) fn resolve(
    a: &ArrivalSettings,
    horizon_ms: u64,
    max_per_hour: f64,
    batch_cap: u32,
) -> Result<(f64, ArrivalSpec), Mistake> {
    let kind = match a.process {
        ArrivalKind::Poisson => "poisson",
        ArrivalKind::Profile => "profile",
    };
    if a.process == ArrivalKind::Poisson {
        for (k, given) in [
            ("daily", a.daily.is_some()),
            ("weekly", a.weekly.is_some()),
            ("hourly_rates", a.hourly_rates.is_some()),
        ] {
            if given {
                return Err(mistake(
                    k,
                    format!(
                        "a poisson process has a constant rate; use process = \"profile\" for \
                         `{k}`"
                    ),
                ));
            }
        }
    }
    let (base, week) = match &a.hourly_rates {
        Some(rates) => {
            for (k, given) in [
                ("rate_per_hour", a.rate_per_hour.is_some()),
                ("daily", a.daily.is_some()),
                ("weekly", a.weekly.is_some()),
            ] {
                if given {
                    return Err(mistake(
                        k,
                        format!("`hourly_rates` gives every hour's rate; leave out `{k}`"),
                    ));
                }
            }
            check_list(
                "hourly_rates",
                rates,
                HOURS_PER_WEEK,
                "requests per hour for each hour of the week",
            )?;
            let peak = rates.iter().copied().fold(0.0, f64::max);
            (peak, rates.iter().map(|r| r / peak).collect::<Vec<_>>())
        }
        None => {
            let base = a
                .rate_per_hour
                .ok_or_else(|| {
                    mistake(
                        "rate_per_hour",
                        format!(
                            "a {kind} process needs `rate_per_hour`{}",
                            if a.process == ArrivalKind::Profile {
                                " (or `hourly_rates`)"
                            } else {
                                ""
                            }
                        ),
                    )
                })?
                .0;
            let mut week = Vec::new();
            if a.process == ArrivalKind::Profile {
                if a.daily.is_none() && a.weekly.is_none() {
                    return Err(mistake(
                        "daily",
                        "a profile process needs `daily`, `weekly` or both (multipliers of \
                         `rate_per_hour`), or `hourly_rates`",
                    ));
                }
                let ones_d = vec![1.0; 24];
                let ones_w = vec![1.0; 7];
                let daily = a.daily.as_ref().unwrap_or(&ones_d);
                let weekly = a.weekly.as_ref().unwrap_or(&ones_w);
                check_list(
                    "daily",
                    daily,
                    24,
                    "one multiplier per hour of the day from 00:00",
                )?;
                check_list(
                    "weekly",
                    weekly,
                    7,
                    "one multiplier per day of the week from the run's first day",
                )?;
                week = (0..HOURS_PER_WEEK)
                    .map(|h| daily[h % 24] * weekly[h / 24])
                    .collect();
                if week.iter().all(|x| *x == 0.0) {
                    return Err(mistake(
                        "daily",
                        "`daily` × `weekly` is zero at every hour of the week",
                    ));
                }
            }
            (base, week)
        }
    };
    let growth = a.growth.as_ref().map(resolve_growth).transpose()?;
    let burst = match &a.burst {
        None => None,
        Some(b) => {
            for (k, d) in [("on_mean", b.on_mean), ("off_mean", b.off_mean)] {
                if d.0.ms() == 0 {
                    return Err(mistake(&format!("burst.{k}"), "must be longer than zero"));
                }
            }
            Some(Burst {
                on_mean: b.on_mean.0.ms() as f64,
                off_mean: b.off_mean.0.ms() as f64,
                factor: b.factor.0,
            })
        }
    };
    let batch = a
        .batch
        .as_ref()
        .map(|b| resolve_batch(b, batch_cap))
        .transpose()?;
    let spec = ArrivalSpec {
        week,
        growth,
        burst,
        batch,
        horizon: horizon_ms as f64,
    };
    // The highest rate the run reaches.
    let week_max = if spec.week.is_empty() {
        1.0
    } else {
        spec.week.iter().copied().fold(0.0, f64::max)
    };
    let growth_max = match &spec.growth {
        None => 1.0,
        Some(Growth::Step { factor, .. }) => factor.max(1.0),
        Some(g @ Growth::Ramp { .. }) => g.factor(0.0).max(g.factor(spec.horizon)),
    };
    let burst_max = spec.burst.as_ref().map_or(1.0, |b| b.factor.max(1.0));
    let peak = base * week_max * growth_max * burst_max;
    if peak > max_per_hour {
        let field = if a.hourly_rates.is_some() {
            "hourly_rates"
        } else {
            "rate_per_hour"
        };
        return Err(mistake(
            field,
            format!(
                "the peak rate, {peak:.0} requests per hour, is more than the simulator's \
                 millisecond clock can separate (at most {max_per_hour})"
            ),
        ));
    }
    Ok((base, spec))
}

fn resolve_growth(g: &GrowthSettings) -> Result<Growth, Mistake> {
    let (name, takes): (&str, &[&str]) = match g.kind {
        GrowthKind::Step => ("step", &["at", "factor"]),
        GrowthKind::Ramp => ("ramp", &["per_month"]),
    };
    for (k, given) in [
        ("at", g.at.is_some()),
        ("factor", g.factor.is_some()),
        ("per_month", g.per_month.is_some()),
    ] {
        if given && !takes.contains(&k) {
            return Err(mistake(
                &format!("growth.{k}"),
                format!("a {name} growth takes {}, not `{k}`", takes.join(" and ")),
            ));
        }
    }
    let need = |k: &str| {
        mistake(
            &format!("growth.{k}"),
            format!("a {name} growth needs `{k}`"),
        )
    };
    Ok(match g.kind {
        GrowthKind::Step => Growth::Step {
            at: g.at.ok_or_else(|| need("at"))?.0.ms() as f64,
            factor: g.factor.ok_or_else(|| need("factor"))?.0,
        },
        GrowthKind::Ramp => {
            let per_month = g.per_month.ok_or_else(|| need("per_month"))?;
            if !(per_month.is_finite() && per_month > -1.0) {
                return Err(mistake(
                    "growth.per_month",
                    format!("must be a number above -1 (0.05 = +5% a month), got {per_month}"),
                ));
            }
            Growth::Ramp { per_month }
        }
    })
}

/// Resolves `batch`; sizes must be within `1..=cap` (CVM's InstanceCount limit).
fn resolve_batch(b: &BatchSettings, cap: u32) -> Result<Batch, Mistake> {
    let (name, takes): (&str, &[&str]) = match b.dist {
        BatchKind::Fixed => ("fixed", &["value"]),
        BatchKind::Uniform => ("uniform", &["min", "max"]),
        BatchKind::Geometric => ("geometric", &["mean"]),
        BatchKind::Empirical => ("empirical", &["values", "weights"]),
    };
    for (k, given) in [
        ("value", b.value.is_some()),
        ("min", b.min.is_some()),
        ("max", b.max.is_some()),
        ("mean", b.mean.is_some()),
        ("values", b.values.is_some()),
        ("weights", b.weights.is_some()),
    ] {
        if given && !takes.contains(&k) {
            return Err(mistake(
                &format!("batch.{k}"),
                format!("a {name} batch takes {}, not `{k}`", takes.join(" and ")),
            ));
        }
    }
    let need = |k: &str| mistake(&format!("batch.{k}"), format!("a {name} batch needs `{k}`"));
    let size = |k: &str, v: u32| {
        if (1..=cap).contains(&v) {
            Ok(v)
        } else {
            Err(mistake(
                &format!("batch.{k}"),
                format!("must be within 1..={cap} (InstanceCount), got {v}"),
            ))
        }
    };
    Ok(match b.dist {
        BatchKind::Fixed => Batch::Fixed(size("value", b.value.ok_or_else(|| need("value"))?)?),
        BatchKind::Uniform => {
            let min = size("min", b.min.ok_or_else(|| need("min"))?)?;
            let max = size("max", b.max.ok_or_else(|| need("max"))?)?;
            if max < min {
                return Err(mistake(
                    "batch.max",
                    format!("max ({max}) is below min ({min})"),
                ));
            }
            Batch::Uniform { min, max }
        }
        BatchKind::Geometric => {
            let mean = b.mean.ok_or_else(|| need("mean"))?;
            if !(mean.is_finite() && mean >= 1.0 && mean < cap as f64) {
                return Err(mistake(
                    "batch.mean",
                    format!("must be at least 1 and below {cap}, got {mean}"),
                ));
            }
            Batch::Geometric { p: 1.0 / mean, cap }
        }
        BatchKind::Empirical => {
            let values = b.values.as_ref().ok_or_else(|| need("values"))?;
            if values.is_empty() {
                return Err(mistake("batch.values", "needs at least one size"));
            }
            for (i, v) in values.iter().enumerate() {
                size(&format!("values[{i}]"), *v)?;
            }
            let weights = match &b.weights {
                None => vec![1.0; values.len()],
                Some(w) => {
                    if w.len() != values.len() {
                        return Err(mistake(
                            "batch.weights",
                            format!(
                                "needs one weight per value ({}), got {}",
                                values.len(),
                                w.len()
                            ),
                        ));
                    }
                    for (i, x) in w.iter().enumerate() {
                        if !(x.is_finite() && *x > 0.0) {
                            return Err(mistake(
                                &format!("batch.weights[{i}]"),
                                format!("must be a positive number, got {x}"),
                            ));
                        }
                    }
                    w.clone()
                }
            };
            let mut acc = 0.0;
            Batch::Empirical {
                values: values.clone(),
                cumulative: weights
                    .iter()
                    .map(|w| {
                        acc += w;
                        acc
                    })
                    .collect(),
            }
        }
    })
}
