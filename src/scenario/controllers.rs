//! Resolving `[[autoscalers]]` and `[[faults]]`: every mistake goes through load.rs's `fail`
//! with its field path, like the rest of the scenario.

use crate::cloud::ChargeType;
use crate::cloud::api::OutageMode;
use crate::engine::{SimDuration, SimTime};
use crate::workload::autoscale::{AutoscalerSpec, Signal};
use crate::workload::faults::FaultSpec;

use super::load::{Fail, ScenarioError};
use super::names::Names;
use super::schema::{
    FaultKind, FaultSettings, Interpolate, OutageInstances, ScenarioFile, SignalProfile,
    SignalSettings,
};

/// Fields given that a variant does not take are mistakes.
fn only(
    given: &[(&str, bool)],
    takes: &[&str],
    what: &str,
    at: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) -> Result<(), ScenarioError> {
    for &(k, present) in given {
        if present && !takes.contains(&k) {
            return Err(fail(
                &at(k),
                format!("{what} takes {}, not `{k}`", takes.join(", ")),
            ));
        }
    }
    Ok(())
}

/// `[[autoscalers]]`.
pub(super) fn resolve_autoscalers(
    f: &ScenarioFile,
    names: &Names<'_>,
    fail: Fail<'_>,
) -> Result<Vec<AutoscalerSpec>, ScenarioError> {
    let mut out: Vec<AutoscalerSpec> = Vec::new();
    for (i, a) in f.autoscalers.iter().enumerate() {
        let at = |s: &str| format!("autoscalers[{i}].{s}");
        if a.name.trim().is_empty() {
            return Err(fail(&at("name"), "must not be empty".into()));
        }
        if out.iter().any(|o| o.name == a.name) || f.workloads.iter().any(|w| w.name == a.name) {
            return Err(fail(
                &at("name"),
                format!(
                    "`{}` already names a workload or an autoscaler; names must be unique",
                    a.name
                ),
            ));
        }
        let mut zones = Vec::new();
        match (&a.zone, a.zones.is_empty()) {
            (Some(_), false) => {
                return Err(fail(
                    &at("zones"),
                    "give `zone` or `zones`, not both".into(),
                ));
            }
            (None, true) => {
                return Err(fail(
                    &at("zone"),
                    "name a zone (`zone`) or several (`zones`)".into(),
                ));
            }
            (Some(z), true) => zones.push(names.zone(&at("zone"), z)?),
            (None, false) => {
                for (k, z) in a.zones.iter().enumerate() {
                    let zi = names.zone(&at(&format!("zones[{k}]")), z)?;
                    if zones.contains(&zi) {
                        return Err(fail(
                            &at(&format!("zones[{k}]")),
                            format!("`{z}` is listed twice"),
                        ));
                    }
                    zones.push(zi);
                }
            }
        }
        let itype = names.itype(&at("instance_type"), &a.instance_type)?;
        if a.charge_type == ChargeType::Prepaid {
            return Err(fail(
                &at("charge_type"),
                "an autoscaler buys POSTPAID_BY_HOUR or SPOTPAID instances, not PREPAID".into(),
            ));
        }
        let max_price = match a.max_price {
            None => None,
            Some(_) if a.charge_type != ChargeType::Spotpaid => {
                return Err(fail(&at("max_price"), "is a SPOTPAID bid".into()));
            }
            Some(x) if x.is_finite() && x >= 0.0 => Some((x * 1e6).round() as u64),
            Some(x) => {
                return Err(fail(
                    &at("max_price"),
                    format!("must be a price of zero or more, got {x}"),
                ));
            }
        };
        if a.max == 0 {
            return Err(fail(&at("max"), "must be at least 1".into()));
        }
        if a.min > a.max {
            return Err(fail(
                &at("min"),
                format!("{} is above max ({})", a.min, a.max),
            ));
        }
        let interval = a
            .interval
            .map(|d| d.0)
            .unwrap_or(SimDuration::from_secs(60));
        if interval.ms() == 0 {
            return Err(fail(&at("interval"), "must be longer than zero".into()));
        }
        let signal = resolve_signal(f, &a.signal, &|s| at(&format!("signal.{s}")), fail)?;
        out.push(AutoscalerSpec {
            name: a.name.clone(),
            zones,
            itype,
            charge: a.charge_type,
            max_price,
            signal,
            target_per_instance: a.target_per_instance.0,
            min: a.min,
            max: a.max,
            interval,
            scale_out_cooldown: a
                .scale_out_cooldown
                .map(|d| d.0)
                .unwrap_or(SimDuration::from_secs(300)),
            scale_in_cooldown: a
                .scale_in_cooldown
                .map(|d| d.0)
                .unwrap_or(SimDuration::from_secs(300)),
            scale_in: a.scale_in,
        });
    }
    Ok(out)
}

fn resolve_signal(
    f: &ScenarioFile,
    s: &SignalSettings,
    at: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) -> Result<Signal, ScenarioError> {
    let given = [
        ("workload", s.workload.is_some()),
        ("profile", s.profile.is_some()),
        ("base", s.base.is_some()),
        ("amplitude", s.amplitude.is_some()),
        ("period", s.period.is_some()),
        ("peak", s.peak.is_some()),
        ("points", s.points.is_some()),
        ("interpolate", s.interpolate.is_some()),
    ];
    let need = |k: &str, what: &str| fail(&at(k), format!("{what} needs `{k}`"));
    match (&s.workload, s.profile) {
        (Some(_), Some(_)) => Err(fail(
            &at("profile"),
            "give `workload` or `profile`, not both".into(),
        )),
        (None, None) => Err(fail(
            &at("workload"),
            "name a workload (`workload = \"web\"`) or a `profile` (diurnal, table)".into(),
        )),
        (Some(name), None) => {
            only(&given, &["workload"], "a workload signal", at, fail)?;
            let w = f
                .workloads
                .iter()
                .position(|w| &w.name == name)
                .ok_or_else(|| fail(&at("workload"), format!("no workload is named `{name}`")))?;
            Ok(Signal::Workload(w as u32))
        }
        (None, Some(SignalProfile::Diurnal)) => {
            let what = "a diurnal signal";
            only(
                &given,
                &["profile", "base", "amplitude", "period", "peak"],
                what,
                at,
                fail,
            )?;
            let base = s.base.ok_or_else(|| need("base", what))?;
            if !(base.is_finite() && base >= 0.0) {
                return Err(fail(&at("base"), format!("must be 0 or more, got {base}")));
            }
            let amplitude = s.amplitude.ok_or_else(|| need("amplitude", what))?;
            if !(0.0..=1.0).contains(&amplitude) {
                return Err(fail(
                    &at("amplitude"),
                    format!("must be between 0 and 1, got {amplitude}"),
                ));
            }
            let period = s.period.map(|d| d.0.ms()).unwrap_or(86_400_000);
            if period == 0 {
                return Err(fail(&at("period"), "must be longer than zero".into()));
            }
            let peak = s.peak.map(|d| d.0.ms()).unwrap_or(period / 2);
            if peak >= period {
                return Err(fail(&at("peak"), "must be within the period".into()));
            }
            Ok(Signal::Diurnal {
                base,
                amplitude,
                period_ms: period,
                peak_ms: peak,
            })
        }
        (None, Some(SignalProfile::Table)) => {
            let what = "a table signal";
            only(
                &given,
                &["profile", "points", "interpolate", "period"],
                what,
                at,
                fail,
            )?;
            let pts = s.points.as_ref().ok_or_else(|| need("points", what))?;
            if pts.is_empty() {
                return Err(fail(&at("points"), "needs at least one point".into()));
            }
            let mut points = Vec::new();
            for (k, p) in pts.iter().enumerate() {
                let t = p.at.0.ms();
                if k == 0 && t != 0 {
                    return Err(fail(
                        &at("points[0].at"),
                        "the first point must be at 0".into(),
                    ));
                }
                if k > 0 && t <= points.last().map(|&(a, _)| a).unwrap_or(0) {
                    return Err(fail(
                        &at(&format!("points[{k}].at")),
                        "points must be in increasing time order".into(),
                    ));
                }
                if !(p.value.is_finite() && p.value >= 0.0) {
                    return Err(fail(
                        &at(&format!("points[{k}].value")),
                        format!("must be 0 or more, got {}", p.value),
                    ));
                }
                points.push((t, p.value));
            }
            let period = s.period.map(|d| d.0.ms());
            if let Some(p) = period
                && p <= points.last().map(|&(a, _)| a).unwrap_or(0)
            {
                return Err(fail(
                    &at("period"),
                    "must be longer than the time of the last point".into(),
                ));
            }
            Ok(Signal::Table {
                points,
                linear: s.interpolate == Some(Interpolate::Linear),
                period_ms: period,
            })
        }
    }
}

/// `[[faults]]`.
pub(super) fn resolve_faults(
    f: &ScenarioFile,
    names: &Names<'_>,
    fail: Fail<'_>,
) -> Result<Vec<FaultSpec>, ScenarioError> {
    let end = SimTime::ZERO + f.duration.0;
    let mut out: Vec<FaultSpec> = Vec::new();
    for (i, x) in f.faults.iter().enumerate() {
        let at = |s: &str| format!("faults[{i}].{s}");
        out.push(resolve_fault(x, names, end, &out, &at, fail)?);
    }
    Ok(out)
}

fn resolve_fault(
    x: &FaultSettings,
    names: &Names<'_>,
    end: SimTime,
    earlier: &[FaultSpec],
    at: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) -> Result<FaultSpec, ScenarioError> {
    let given = [
        ("zone", x.zone.is_some()),
        ("at", x.at.is_some()),
        ("duration", x.duration.is_some()),
        ("instances", x.instances.is_some()),
        (
            "rate_per_instance_per_day",
            x.rate_per_instance_per_day.is_some(),
        ),
        ("mtbf", x.mtbf.is_some()),
    ];
    let start = x.at.map(|d| SimTime::ZERO + d.0);
    if let Some(s) = start
        && s >= end
    {
        return Err(fail(
            &at("at"),
            format!(
                "{} is not before the end of the run ({})",
                s.since(SimTime::ZERO),
                end.since(SimTime::ZERO)
            ),
        ));
    }
    if x.duration.is_some_and(|d| d.0.ms() == 0) {
        return Err(fail(&at("duration"), "must be longer than zero".into()));
    }
    match x.kind {
        FaultKind::ZoneOutage => {
            let what = "a zone_outage";
            only(
                &given,
                &["zone", "at", "duration", "instances"],
                what,
                at,
                fail,
            )?;
            let name = x
                .zone
                .as_ref()
                .ok_or_else(|| fail(&at("zone"), format!("{what} needs `zone`")))?;
            let zone = names.zone(&at("zone"), name)?;
            let from = start.ok_or_else(|| fail(&at("at"), format!("{what} needs `at`")))?;
            let d = x
                .duration
                .ok_or_else(|| fail(&at("duration"), format!("{what} needs `duration`")))?;
            let until = from + d.0;
            for e in earlier {
                if let FaultSpec::ZoneOutage {
                    zone: z,
                    at: a,
                    until: u,
                    ..
                } = *e
                    && z == zone
                    && from < u
                    && a < until
                {
                    return Err(fail(
                        &at("at"),
                        format!("overlaps an earlier outage of {name}"),
                    ));
                }
            }
            Ok(FaultSpec::ZoneOutage {
                zone,
                at: from,
                until,
                mode: match x.instances {
                    None | Some(OutageInstances::Lost) => OutageMode::Lost,
                    Some(OutageInstances::Stopped) => OutageMode::Stopped,
                },
            })
        }
        FaultKind::InstanceFailures => {
            let what = "instance_failures";
            only(
                &given,
                &[
                    "zone",
                    "at",
                    "duration",
                    "rate_per_instance_per_day",
                    "mtbf",
                ],
                what,
                at,
                fail,
            )?;
            let per_day = match (x.rate_per_instance_per_day, x.mtbf) {
                (Some(_), Some(_)) => {
                    return Err(fail(
                        &at("mtbf"),
                        "give `rate_per_instance_per_day` or `mtbf`, not both".into(),
                    ));
                }
                (None, None) => {
                    return Err(fail(
                        &at("rate_per_instance_per_day"),
                        format!("{what} needs `rate_per_instance_per_day` or `mtbf`"),
                    ));
                }
                (Some(r), None) => {
                    if !(r.is_finite() && r > 0.0) {
                        return Err(fail(
                            &at("rate_per_instance_per_day"),
                            format!("must be a positive number, got {r}"),
                        ));
                    }
                    r
                }
                (None, Some(m)) => {
                    if m.0.ms() == 0 {
                        return Err(fail(&at("mtbf"), "must be longer than zero".into()));
                    }
                    86_400_000.0 / m.0.ms() as f64
                }
            };
            let zone = x
                .zone
                .as_ref()
                .map(|n| names.zone(&at("zone"), n))
                .transpose()?;
            let from = start.unwrap_or(SimTime::ZERO);
            Ok(FaultSpec::InstanceFailures {
                per_ms: per_day / 86_400_000.0,
                zone,
                from,
                until: x.duration.map(|d| from + d.0),
            })
        }
    }
}
