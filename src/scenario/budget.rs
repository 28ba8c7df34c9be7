//! The output budget: an upper estimate of the rows a run writes, checked before anything runs,
//! so that a mistaken `sample_interval = "1ms"` or `duration = "999999d"` is refused at once
//! instead of filling the disk (and memory: the cost ledger holds every hour) hours later.
//!
//! Counted are the rows whose number the scenario's clock settings decide: `timeseries.csv` and
//! `quota.csv` (per sample), `costs.csv` and `costs_accrued.csv` (per hour) and `api.csv` (per
//! bucket, one row each).
//! Rows per instance (`instances.csv`) and per API call grow with the simulated work itself,
//! which a run pays for in time as it writes them, so they are not part of the budget.

use crate::cloud::{ChargeType, InstanceState};
use crate::engine::SimDuration;
use crate::engine::time::MS_PER_HOUR;

/// The default of `max_output_rows`: about 1 GB of CSV at most, and about 90 times the largest
/// shipped scenario's estimate.
pub const DEFAULT_MAX_OUTPUT_ROWS: u64 = 20_000_000;

/// The rows a run is estimated to write, by file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputEstimate {
    /// Fleet samples: one at 0, one per `sample_interval`, one at the horizon.
    pub samples: u64,
    /// `timeseries.csv`: at most one row per zone, charge type and state, each sample.
    pub timeseries_rows: u64,
    /// `quota.csv`: one row per zone and charge type, each sample.
    pub quota_rows: u64,
    /// `costs.csv`: at most one row per zone and charge type, each hour.
    pub cost_rows: u64,
    /// `costs_accrued.csv`: the same hours, and one last row per zone and charge type for
    /// what was paid beyond the horizon.
    pub accrued_rows: u64,
    /// `api.csv`: counted as one row per bucket of `sample_interval`.
    pub api_rows: u64,
}

impl OutputEstimate {
    /// The estimate for a run of `duration` sampled every `interval` across `zones` zones.
    pub fn new(duration: SimDuration, interval: SimDuration, zones: usize) -> Self {
        let zones = zones as u64;
        let cells = zones.saturating_mul(ChargeType::ALL.len() as u64);
        let samples = (duration.ms() / interval.ms().max(1)).saturating_add(2);
        let hours = duration.ms().div_ceil(MS_PER_HOUR).max(1);
        OutputEstimate {
            samples,
            timeseries_rows: samples
                .saturating_mul(cells)
                .saturating_mul(InstanceState::ALL.len() as u64),
            quota_rows: samples.saturating_mul(cells),
            cost_rows: hours.saturating_mul(cells),
            accrued_rows: hours.saturating_add(1).saturating_mul(cells),
            api_rows: samples,
        }
    }

    pub fn total(&self) -> u64 {
        self.timeseries_rows
            .saturating_add(self.quota_rows)
            .saturating_add(self.hourly_rows())
            .saturating_add(self.api_rows)
    }

    /// Rows written per hour of the run: `costs.csv` and `costs_accrued.csv`.
    fn hourly_rows(&self) -> u64 {
        self.cost_rows.saturating_add(self.accrued_rows)
    }

    /// The field most to blame when over budget: the sampling when its rows dominate, else
    /// the duration.
    pub fn culprit(&self) -> &'static str {
        let per_sample = self
            .timeseries_rows
            .saturating_add(self.quota_rows)
            .saturating_add(self.api_rows);
        if per_sample >= self.hourly_rows() {
            "sample_interval"
        } else {
            "duration"
        }
    }

    /// Why a run of this size is refused, with the way out.
    pub fn refusal(&self, limit: u64) -> String {
        format!(
            "the run would write up to {} rows of output ({} samples: {} in timeseries.csv, {} in \
quota.csv, {} in api.csv; {} in costs.csv, {} in costs_accrued.csv), over the limit of {limit} rows; lengthen \
`sample_interval` or shorten `duration`, or raise the limit with `max_output_rows = N` at the top \
of the scenario (for one run: `--set max_output_rows=N`)",
            self.total(),
            self.samples,
            self.timeseries_rows,
            self.quota_rows,
            self.api_rows,
            self.cost_rows,
            self.accrued_rows
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_hand() {
        // 30 days sampled hourly over 4 zones: 720 + 2 samples, 12 zone × charge cells, 9 states.
        let e = OutputEstimate::new(SimDuration::from_hours(720), SimDuration::from_hours(1), 4);
        assert_eq!(e.samples, 722);
        assert_eq!(e.timeseries_rows, 722 * 12 * 9);
        assert_eq!(e.quota_rows, 722 * 12);
        assert_eq!(e.cost_rows, 720 * 12);
        assert_eq!(e.accrued_rows, 721 * 12);
        assert_eq!(e.api_rows, 722);
        assert_eq!(
            e.total(),
            722 * 12 * 9 + 722 * 12 + 720 * 12 + 721 * 12 + 722
        );
        assert!(e.total() < DEFAULT_MAX_OUTPUT_ROWS);
        assert_eq!(e.culprit(), "sample_interval");
    }

    #[test]
    fn runaway_settings_are_over_the_default() {
        // 1 ms over 2 days, one zone: 172.8 million samples.
        let e = OutputEstimate::new(SimDuration::from_hours(48), SimDuration(1), 1);
        assert_eq!(e.samples, 172_800_002);
        assert!(e.total() > DEFAULT_MAX_OUTPUT_ROWS);
        // 999999 days sampled daily: the hourly cost rows are what overflows.
        let e = OutputEstimate::new(
            SimDuration::from_hours(999_999 * 24),
            SimDuration::from_hours(24),
            1,
        );
        assert_eq!(e.cost_rows, 999_999 * 24 * 3);
        assert!(e.total() > DEFAULT_MAX_OUTPUT_ROWS);
        assert_eq!(e.culprit(), "duration");
        // Saturates rather than overflows.
        let e = OutputEstimate::new(SimDuration(u64::MAX), SimDuration(1), usize::MAX);
        assert_eq!(e.total(), u64::MAX);
        let msg = e.refusal(5);
        assert!(msg.contains("max_output_rows = N"), "{msg}");
    }
}
