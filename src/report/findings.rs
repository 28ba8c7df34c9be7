//! What happened in a run, in a few sentences: the "Findings" block at the top of
//! `report.html` and at the end of the table `fleetsim run` prints.
//!
//! Every figure comes from the run's own files: `summary.json` (the [`Summary`]), and
//! `quota.csv` and `api.csv` as read back for the charts ([`RunData`]). Nothing is estimated,
//! so a reader can recompute each sentence from the folder (the quickstart test does).

use crate::cloud::{ChargeType, ErrorCode};
use crate::report::figures::{Ms, RunData};
use crate::report::summary::Summary;

/// The error code of a call refused for instance quota.
pub const QUOTA_REFUSED: ErrorCode = ErrorCode::InstanceQuota;
/// The error code of a throttled call.
pub const THROTTLED: ErrorCode = ErrorCode::RequestLimitExceeded;
/// Error codes that say the zone had no stock of the type asked for.
pub const SOLD_OUT: [ErrorCode; 2] = [ErrorCode::SoldOutType, ErrorCode::ResourceInsufficientType];

/// One finding, with the figures it states.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A finite quota reached its total at a sample of `quota.csv`.
    QuotaFull {
        zone: String,
        charge_type: String,
        unit: String,
        total: f64,
        /// The first sample at which use reached the total.
        first_full: Ms,
    },
    /// RunInstances calls refused for instance quota over the run (`api.csv`).
    QuotaRefusals { calls: u64 },
    /// Throttled calls among all calls (`api.csv`), and the calls whose client gave up.
    Throttled {
        throttled: u64,
        calls: u64,
        give_ups: u64,
    },
    /// Calls refused because a type was sold out or short in a zone (`api.csv`).
    SoldOut { calls: u64 },
    /// Spot instances reclaimed (`summary.json`).
    SpotReclaims { reclaims: u64 },
    /// Prepaid expiries and renewals (`summary.json`).
    Prepaid { expiries: u64, renewals: u64 },
    /// Launches that ended in LAUNCH_FAILED among instances created (`summary.json`).
    LaunchFailures { failed: u64, created: u64 },
    /// Nothing above happened.
    Quiet,
}

impl Finding {
    /// A short machine name, used as an HTML attribute so tests and scripts can find it.
    pub fn key(&self) -> &'static str {
        match self {
            Finding::QuotaFull { .. } => "quota-full",
            Finding::QuotaRefusals { .. } => "quota-refusals",
            Finding::Throttled { .. } => "throttled",
            Finding::SoldOut { .. } => "sold-out",
            Finding::SpotReclaims { .. } => "spot-reclaims",
            Finding::Prepaid { .. } => "prepaid",
            Finding::LaunchFailures { .. } => "launch-failures",
            Finding::Quiet => "quiet",
        }
    }

    /// The sentence, plain text.
    pub fn text(&self) -> String {
        match self {
            Finding::QuotaFull {
                zone,
                charge_type,
                unit,
                total,
                first_full,
            } => format!(
                "{zone}'s {} quota ({} {unit}) was first full at {}.",
                short_charge_type(charge_type),
                fmt_count(*total),
                fmt_time(*first_full)
            ),
            Finding::QuotaRefusals { calls } => format!(
                "{} RunInstances call(s) were refused for quota ({QUOTA_REFUSED}).",
                fmt_int(*calls)
            ),
            Finding::Throttled {
                throttled,
                calls,
                give_ups,
            } => format!(
                "{} of {} API calls were throttled ({}); {} call(s) gave up after their last retry.",
                fmt_int(*throttled),
                fmt_int(*calls),
                fmt_percent(*throttled, *calls),
                fmt_int(*give_ups)
            ),
            Finding::SoldOut { calls } => format!(
                "{} call(s) found their type sold out or short in the zone asked for.",
                fmt_int(*calls)
            ),
            Finding::SpotReclaims { reclaims } => {
                format!("{} spot instance(s) were reclaimed.", fmt_int(*reclaims))
            }
            Finding::Prepaid { expiries, renewals } => format!(
                "{} prepaid instance(s) expired and {} were renewed.",
                fmt_int(*expiries),
                fmt_int(*renewals)
            ),
            Finding::LaunchFailures { failed, created } => format!(
                "{} of {} launches failed ({}).",
                fmt_int(*failed),
                fmt_int(*created),
                fmt_percent(*failed, *created)
            ),
            Finding::Quiet => "No quota was full, no call was throttled or refused, no spot \
                               instance was reclaimed and no launch failed."
                .to_string(),
        }
    }
}

/// The findings of a run, in the order they are shown; only what happened is said.
pub fn findings(summary: &Summary, data: &RunData) -> Vec<Finding> {
    let mut out = Vec::new();
    for ((zone, charge_type), track) in &data.quota {
        let Some(total) = track.total() else { continue };
        let first = track
            .points
            .iter()
            .find(|&&(_, used, tot)| tot.is_some() && used >= total);
        if let Some(&(t, _, _)) = first {
            out.push(Finding::QuotaFull {
                zone: zone.clone(),
                charge_type: charge_type.clone(),
                unit: track.unit.clone(),
                total,
                first_full: t,
            });
        }
    }
    let calls_of = |code: ErrorCode| {
        data.api_by_outcome
            .get(code.as_str())
            .map_or(0, |t| t.calls)
    };
    let refused = calls_of(QUOTA_REFUSED);
    if refused > 0 {
        out.push(Finding::QuotaRefusals { calls: refused });
    }
    let throttled = calls_of(THROTTLED);
    if throttled > 0 {
        let calls = data.api_by_outcome.values().map(|t| t.calls).sum();
        let give_ups = data.api_by_outcome.values().map(|t| t.give_ups).sum();
        out.push(Finding::Throttled {
            throttled,
            calls,
            give_ups,
        });
    }
    let sold_out: u64 = SOLD_OUT.into_iter().map(calls_of).sum();
    if sold_out > 0 {
        out.push(Finding::SoldOut { calls: sold_out });
    }
    if summary.spot_reclaims > 0 {
        out.push(Finding::SpotReclaims {
            reclaims: summary.spot_reclaims,
        });
    }
    if summary.prepaid_expiries > 0 || summary.prepaid_renewals > 0 {
        out.push(Finding::Prepaid {
            expiries: summary.prepaid_expiries,
            renewals: summary.prepaid_renewals,
        });
    }
    if summary.instances_launch_failed > 0 {
        out.push(Finding::LaunchFailures {
            failed: summary.instances_launch_failed,
            created: summary.instances_created,
        });
    }
    if out.is_empty() {
        out.push(Finding::Quiet);
    }
    out
}

/// `POSTPAID_BY_HOUR` → `postpaid`, as the scenario files name quotas.
fn short_charge_type(c: &str) -> String {
    match ChargeType::ALL.into_iter().find(|t| t.as_str() == c) {
        Some(ChargeType::PostpaidByHour) => "postpaid".to_string(),
        Some(ChargeType::Prepaid) => "prepaid".to_string(),
        Some(ChargeType::Spotpaid) => "spot".to_string(),
        None => c.to_lowercase(),
    }
}

/// Simulated time as `d<day> hh:mm` (days from 0, like `--trace`).
pub fn fmt_time(t: Ms) -> String {
    let s = t / 1000;
    format!(
        "d{} {:02}:{:02}",
        s / 86_400,
        s % 86_400 / 3600,
        s % 3600 / 60
    )
}

/// `part / whole` as a percentage with two decimals, `0.00%` for an empty whole.
pub fn fmt_percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.00%".to_string();
    }
    format!("{:.2}%", part as f64 * 100.0 / whole as f64)
}

/// An integer with thousands separators: 1234567 → `1,234,567`.
pub fn fmt_int(n: u64) -> String {
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

fn fmt_count(v: f64) -> String {
    if v.fract() == 0.0 && (0.0..1e15).contains(&v) {
        fmt_int(v as u64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::{ApiTally, QuotaTrack};

    fn summary() -> Summary {
        Summary {
            scenario: "t".into(),
            seed: 1,
            duration_s: 86_400.0,
            currency: "CNY".into(),
            events_processed: 0,
            instances_created: 2000,
            instances_terminated: 0,
            instances_launch_failed: 3,
            instances_alive_at_end: 0,
            requests_refused: 0,
            api_calls_total: 0,
            api_calls_throttled: 0,
            api_give_ups: 0,
            spot_reclaims: 0,
            prepaid_expiries: 0,
            prepaid_renewals: 0,
            api_errors_by_code: Default::default(),
            cost_total: 0.0,
            cost_by_charge_type: Default::default(),
            cost_by_item: Default::default(),
            cost_prepaid_unused: 0.0,
            cost_to_horizon: 0.0,
            mean_instances_alive: 0.0,
            peak_instances_alive: 0,
            wall_seconds: 0.0,
            events_per_second: 0.0,
        }
    }

    #[test]
    fn quota_first_full_throttle_share_and_failures() {
        let mut d = RunData::default();
        d.quota.insert(
            ("z1".into(), "POSTPAID_BY_HOUR".into()),
            QuotaTrack {
                unit: "instances".into(),
                // Full first at d1 03:00 (97,200 s), then again later.
                points: vec![
                    (0, 10.0, Some(500.0)),
                    (97_200_000, 500.0, Some(500.0)),
                    (100_000_000, 500.0, Some(500.0)),
                ],
            },
        );
        d.quota.insert(
            ("z1".into(), "PREPAID".into()),
            QuotaTrack {
                unit: "instances".into(),
                points: vec![(0, 900.0, None)],
            },
        );
        let tally = |calls, give_ups| ApiTally {
            calls,
            errors: 0,
            retries: 0,
            give_ups,
        };
        d.api_by_outcome.insert("OK".into(), tally(9_900, 0));
        d.api_by_outcome
            .insert(THROTTLED.as_str().into(), tally(100, 7));
        let f = findings(&summary(), &d);
        let texts: Vec<String> = f.iter().map(Finding::text).collect();
        assert_eq!(
            texts,
            [
                "z1's postpaid quota (500 instances) was first full at d1 03:00.",
                "100 of 10,000 API calls were throttled (1.00%); 7 call(s) gave up after their last retry.",
                "3 of 2,000 launches failed (0.15%).",
            ]
        );
    }

    #[test]
    fn a_quiet_run_says_so() {
        let mut s = summary();
        s.instances_launch_failed = 0;
        assert_eq!(findings(&s, &RunData::default()), [Finding::Quiet]);
    }
}
