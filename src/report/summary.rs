//! `summary.json`: the run's headline figures.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub duration_s: f64,
    pub currency: String,
    pub events_processed: u64,
    pub instances_created: u64,
    pub instances_terminated: u64,
    pub instances_launch_failed: u64,
    pub instances_alive_at_end: u64,
    pub requests_refused: u64,
    pub api_calls_total: u64,
    pub api_calls_throttled: u64,
    /// Calls whose client gave up after its last retry.
    pub api_give_ups: u64,
    /// Spot instances destroyed by a reclaim (after their notice).
    pub spot_reclaims: u64,
    /// Prepaid instances isolated into the recycle bin because their paid period ended.
    pub prepaid_expiries: u64,
    /// Prepaid renewals, one per instance: RenewInstances and automatic renewals.
    pub prepaid_renewals: u64,
    pub api_errors_by_code: BTreeMap<String, u64>,
    pub cost_total: f64,
    pub cost_by_charge_type: BTreeMap<&'static str, f64>,
    /// `cost_total` split into the instances (`compute`), their `disk`s and their public
    /// `network`.
    pub cost_by_item: BTreeMap<&'static str, f64>,
    /// Prepaid payments that cover time after the end of the run (instances still alive).
    pub cost_prepaid_unused: f64,
    /// `cost_total` less `cost_prepaid_unused`: what the run's horizon itself cost, the figure
    /// `compare` ranks strategies by.
    pub cost_to_horizon: f64,
    /// Time-average number of instances in the fleet (any state).
    pub mean_instances_alive: f64,
    pub peak_instances_alive: u64,
    pub wall_seconds: f64,
    pub events_per_second: f64,
}

impl Summary {
    /// The summary without its wall-clock figures, which differ between identical runs; this is
    /// what determinism checks compare and what `summary.json` holds under `--deterministic`.
    pub fn without_timing(&self) -> Summary {
        Summary {
            wall_seconds: 0.0,
            events_per_second: 0.0,
            ..self.clone()
        }
    }
}
