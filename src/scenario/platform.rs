//! How the platform behaves: the lifecycle's timings (`[cloud.timings]`), the billing rules
//! (`[billing]`) and the spot market (`[cloud.spot_market]`).

use std::path::Path;

use crate::cloud::Timings;
use crate::cloud::billing::BillingRules;
use crate::cloud::spot_market::SpotModel;
use crate::engine::SimDuration;

use super::load::{Fail, ScenarioError};
use super::schema::ScenarioFile;
use super::values::dist_ms;

/// `[cloud.timings]`: each transition's duration law, the defaults where none is given.
pub(super) fn resolve_timings(
    f: &ScenarioFile,
    dir: &Path,
    fail: Fail<'_>,
) -> Result<Timings, ScenarioError> {
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
            *slot = dist_ms(d, field, dir, fail)?;
        }
    }
    Ok(timings)
}

/// `[billing]`: postpaid tiers, settlement rounding, and the limits on returns and downgrades.
pub(super) fn resolve_billing(
    f: &ScenarioFile,
    fail: Fail<'_>,
) -> Result<BillingRules, ScenarioError> {
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
    Ok(rules)
}

/// `[cloud.spot_market]`: the spot price model and the step between its prices.
pub(super) fn resolve_spot(
    f: &ScenarioFile,
    fail: Fail<'_>,
) -> Result<(SpotModel, SimDuration), ScenarioError> {
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
    Ok((spot_model, spot_step))
}
