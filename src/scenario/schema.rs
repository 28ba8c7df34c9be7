//! The scenario file format (TOML), exactly as a user writes it. Every table rejects unknown
//! fields so a typo is an error, not a silently ignored setting. Values with a unit are strings
//! (`"90s"`, `"6h"`); plain numbers carry their unit in the field name (`rate_per_hour`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cloud::ChargeType;
use crate::engine::{SimDuration, format_duration, parse_duration};

// Settings the simulation runs as they are: their types live with the code that runs them.
pub use crate::workload::Placement;
pub use crate::workload::autoscale::ScaleInOrder;
pub use crate::workload::trace::{TimeUnit, TraceColumns};

/// A duration written as text (`"30d"`, `"1h30m"`), checked while parsing so that a mistake is
/// reported with its line.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Duration(pub SimDuration);

impl TryFrom<String> for Duration {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        parse_duration(&s).map(Duration)
    }
}
impl From<Duration> for String {
    fn from(d: Duration) -> String {
        format_duration(d.0)
    }
}

/// A number that must be finite and greater than zero.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Positive(pub f64);

impl TryFrom<f64> for Positive {
    type Error = String;
    fn try_from(x: f64) -> Result<Self, String> {
        if x.is_finite() && x > 0.0 {
            Ok(Positive(x))
        } else {
            Err(format!("must be a positive number, got {x}"))
        }
    }
}
impl From<Positive> for f64 {
    fn from(p: Positive) -> f64 {
        p.0
    }
}

/// A probability in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Probability(pub f64);

impl TryFrom<f64> for Probability {
    type Error = String;
    fn try_from(x: f64) -> Result<Self, String> {
        if (0.0..=1.0).contains(&x) {
            Ok(Probability(x))
        } else {
            Err(format!("must be a probability between 0 and 1, got {x}"))
        }
    }
}
impl From<Probability> for f64 {
    fn from(p: Probability) -> f64 {
        p.0
    }
}

/// The whole file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Names the run and its output folder.
    pub name: String,
    /// Master seed of every random stream.
    #[serde(default)]
    pub seed: u64,
    /// Simulated time span.
    pub duration: Duration,
    /// How often `timeseries.csv` samples the fleet.
    #[serde(default = "default_sample_interval")]
    pub sample_interval: Duration,
    /// Most rows of output a run may write by the estimate of `scenario::budget` (samples,
    /// hours, API buckets); a run over it is refused before it starts.
    #[serde(default)]
    pub max_output_rows: Option<u64>,
    /// Short free text shown in reports.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub cloud: CloudSettings,
    /// Zones by name (`ap-guangzhou-3`); the region is the name without its last `-N`.
    pub zones: BTreeMap<String, ZoneSettings>,
    /// Instance types the scenario uses, by CVM name (`S5.MEDIUM4`).
    pub instance_types: Vec<String>,
    /// A CSV price list of the user's (`instance_type,postpaid_hourly,prepaid_monthly,tiered`),
    /// relative to the scenario's folder; it replaces the illustrative catalogue for the types
    /// it lists, and `[prices]` overrides it.
    pub prices_file: Option<String>,
    /// Price overrides per instance type; types not listed use the illustrative catalogue.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceSettings>,
    #[serde(default)]
    pub workloads: Vec<WorkloadSettings>,
    #[serde(default)]
    pub api: ApiSettings,
    #[serde(default)]
    pub billing: BillingSettings,
    /// Scripted API calls at given times (what-if studies, classroom demos).
    #[serde(default)]
    pub actions: Vec<ActionSettings>,
    /// Recorded VM traces replayed through the control plane (`[[traces]]`).
    #[serde(default)]
    pub traces: Vec<TraceSettings>,
    /// Purchasing strategies for `fleetsim compare`.
    #[serde(default)]
    pub compare: Option<CompareSettings>,
    /// Replications and a parameter grid for `fleetsim sweep`.
    #[serde(default)]
    pub sweep: Option<SweepSettings>,
    /// Target-tracking autoscalers (`[[autoscalers]]`).
    #[serde(default)]
    pub autoscalers: Vec<AutoscalerSettings>,
    /// Platform faults: zone outages and random instance failures (`[[faults]]`).
    #[serde(default)]
    pub faults: Vec<FaultSettings>,
}

/// `fleetsim sweep`: R replications of every point of a grid of settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSettings {
    #[serde(default = "default_replications")]
    pub replications: u32,
    /// Dotted path → the values it takes, e.g.
    /// `"zones.ap-guangzhou-3.quota.postpaid" = [100, 200, 400]`.
    #[serde(default)]
    pub set: BTreeMap<String, Vec<toml::Value>>,
}

/// `fleetsim compare`: strategies run on the same demand, over replications.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSettings {
    /// Replications (seeds) per strategy.
    #[serde(default = "default_replications")]
    pub replications: u32,
    pub strategies: Vec<StrategySettings>,
}

fn default_replications() -> u32 {
    10
}

/// One purchasing strategy: how the workloads it covers buy their instances.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySettings {
    pub name: String,
    /// Workloads it applies to, by name; empty = all.
    #[serde(default)]
    pub workloads: Vec<String>,
    /// Buy every instance with this charge type.
    pub charge_type: Option<ChargeType>,
    /// PREPAID period for `charge_type = "PREPAID"` and for the prepaid base.
    pub period_months: Option<u32>,
    pub renew_flag: Option<String>,
    /// With SPOTPAID: launch on this charge type instead when spot is refused (quota, stock,
    /// price) or an instance is reclaimed before its work is done.
    pub fallback: Option<ChargeType>,
    /// A prepaid base per zone and type, sized to this percentile (0-100) of the instances
    /// alive in an all-postpaid pilot run; demand beyond it runs postpaid.
    pub base_percentile: Option<f64>,
}

/// One scripted API call (or a series of calls, when the selection needs several).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSettings {
    /// When to call.
    pub at: Duration,
    /// CVM action name: RunInstances, StartInstances, StopInstances, RebootInstances,
    /// TerminateInstances, ResetInstancesType, RenewInstances, ModifyInstancesChargeType,
    /// DescribeInstances, DescribeAccountQuota, DescribeZoneInstanceConfigInfos.
    pub action: String,
    /// A name later actions can refer to with `select.from`.
    pub name: Option<String>,
    /// Which instances the call names.
    pub select: Option<Selection>,
    /// RunInstances / DescribeAccountQuota / DescribeZoneInstanceConfigInfos: the zone.
    pub zone: Option<String>,
    /// RunInstances, ResetInstancesType: the instance type.
    pub instance_type: Option<String>,
    /// RunInstances, ModifyInstancesChargeType: the charge type.
    pub charge_type: Option<ChargeType>,
    /// RunInstances: InstanceCount and MinCount.
    pub count: Option<u32>,
    pub min_count: Option<u32>,
    #[serde(default)]
    pub dry_run: bool,
    /// PREPAID period (RunInstances, RenewInstances, ModifyInstancesChargeType).
    pub period_months: Option<u32>,
    /// RunInstances: `ClientToken`; a second call with the same token returns the first
    /// call's instances and creates nothing (idempotency).
    pub client_token: Option<String>,
    /// RunInstances: PREPAID RenewFlag and SPOTPAID MaxPrice per hour.
    pub renew_flag: Option<String>,
    pub max_price: Option<f64>,
    /// StopInstances: KEEP_CHARGING (default) or STOP_CHARGING.
    pub stopped_mode: Option<String>,
    /// StopInstances: SOFT (default), HARD or SOFT_FIRST.
    pub stop_type: Option<String>,
    /// ResetInstancesType: stop a RUNNING instance first.
    #[serde(default)]
    pub force_stop: bool,
    /// DescribeInstances: Limit per page (the script pages through everything).
    pub page_size: Option<u32>,
    /// DescribeInstances: Filters, name → values.
    #[serde(default)]
    pub filters: BTreeMap<String, Vec<String>>,
    /// RunInstances: `SystemDisk`, `DataDisks`, `InternetAccessible` (as for a workload).
    pub system_disk: Option<DiskSettings>,
    #[serde(default)]
    pub data_disks: Vec<DiskSettings>,
    pub internet_accessible: Option<InternetSettings>,
}

/// A selection of instances alive at the time of the action.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    pub zone: Option<String>,
    pub charge_type: Option<ChargeType>,
    /// InstanceState name, e.g. RUNNING.
    pub state: Option<String>,
    pub instance_type: Option<String>,
    /// `script`, or a workload's name.
    pub owner: Option<String>,
    /// The instances a named earlier action was applied to.
    pub from: Option<String>,
    /// Exactly these ids, sent as given (an unknown one gets the control plane's error). Not
    /// combined with the other fields.
    pub ids: Option<Vec<String>>,
    /// Keep this fraction of the matches, drawn at random (0 < fraction <= 1).
    pub fraction: Option<f64>,
    /// Keep at most this many of the matches, drawn at random.
    pub count: Option<u32>,
}

/// API rate limits and client retries.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// `per-minute-2018` (1,000 calls/min in total, 100/min per action; the default),
    /// `per-second` (today's documented per-action limits) or `unlimited`.
    #[serde(default = "default_preset")]
    pub preset: String,
    /// `fixed` window or `token_bucket` (CVM does not document which).
    #[serde(default)]
    pub window: Window,
    /// Overrides the preset's total limit: `"1000/1m"`, or `"none"`.
    pub total: Option<String>,
    /// Per-action overrides: `{ RunInstances = "20/1s" }`.
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
    #[serde(default)]
    pub retry: RetrySettings,
    /// Most instances one RunInstances may ask for (`InstanceCount`): 1–500. The current
    /// RunInstances documentation gives 1–500 in mainland China regions and 1–100 elsewhere;
    /// the default, 100, holds everywhere.
    #[serde(default = "default_max_instance_count")]
    pub max_instance_count: u32,
}

fn default_max_instance_count() -> u32 {
    100
}

fn default_preset() -> String {
    "per-minute-2018".into()
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            preset: default_preset(),
            window: Window::Fixed,
            total: None,
            limits: BTreeMap::new(),
            retry: RetrySettings::default(),
            max_instance_count: default_max_instance_count(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    #[default]
    Fixed,
    TokenBucket,
}

/// How clients retry throttled and other retryable errors: exponential backoff
/// (`base_delay × 2^(attempt-1)`, capped at `max_delay`) with full jitter.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Attempts in all, the first included (official SDKs: 3). 1 = never retry.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_base_delay")]
    pub base_delay: Duration,
    #[serde(default = "default_max_delay")]
    pub max_delay: Duration,
    /// Full jitter: wait a uniform fraction of the backoff, so retries do not stampede.
    #[serde(default = "yes")]
    pub jitter: bool,
}

fn default_attempts() -> u32 {
    3
}
fn default_base_delay() -> Duration {
    Duration(SimDuration::from_secs(2))
}
fn default_max_delay() -> Duration {
    Duration(SimDuration::from_secs(60))
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: default_attempts(),
            base_delay: default_base_delay(),
            max_delay: default_max_delay(),
            jitter: true,
        }
    }
}

fn default_sample_interval() -> Duration {
    Duration(SimDuration::from_hours(1))
}

/// Control-plane settings (CVM.md's assumptions).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSettings {
    /// Probability that a launch ends in LAUNCH_FAILED.
    #[serde(default = "default_launch_failure")]
    pub launch_failure_probability: Probability,
    /// Spot market price as a fraction of the postpaid price.
    #[serde(default = "default_spot_fraction")]
    pub spot_price_fraction: Probability,
    /// Currency label for all prices.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// System disk per instance (GiB) and its price per GiB-hour, still billed while stopped
    /// with STOP_CHARGING.
    #[serde(default = "default_disk_gib")]
    pub disk_gib: u32,
    #[serde(default = "default_disk_price")]
    pub disk_price_per_gib_hour: f64,
    /// Cloud disk prices by `DiskType`, replacing the illustrative ones.
    #[serde(default)]
    pub disk_prices: BTreeMap<String, DiskPriceSettings>,
    /// Public network prices, replacing the illustrative ones.
    #[serde(default)]
    pub bandwidth: BandwidthSettings,
    #[serde(default)]
    pub timings: TimingSettings,
    /// How the spot market price moves; absent = constant at `spot_price_fraction`.
    pub spot_market: Option<SpotMarketSettings>,
    /// Notice a spot instance gets before it is reclaimed (ASSUMPTION: 2 minutes).
    #[serde(default = "default_spot_notice")]
    pub spot_notice: Duration,
    /// How long an isolated (SHUTDOWN) instance waits in the recycle bin before release.
    #[serde(default = "default_recycle_bin")]
    pub recycle_bin: Duration,
    /// How long a LAUNCH_FAILED instance stays listed before the platform removes it
    /// (ASSUMPTION: CVM cleans failed launches up itself and refuses TerminateInstances on
    /// them, but does not say when; 1 hour).
    #[serde(default = "default_launch_failed_cleanup")]
    pub launch_failed_cleanup: Duration,
}

fn default_launch_failed_cleanup() -> Duration {
    Duration(SimDuration::from_hours(1))
}

fn default_spot_notice() -> Duration {
    Duration(SimDuration::from_secs(120))
}
fn default_recycle_bin() -> Duration {
    Duration(SimDuration::from_days(7))
}

/// A bounded, mean-reverting random spot price (fractions of the postpaid price).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpotMarketSettings {
    #[serde(default = "default_spot_min")]
    pub min: Probability,
    #[serde(default = "default_spot_max")]
    pub max: Probability,
    #[serde(default = "default_spot_mean")]
    pub mean: Probability,
    /// Standard deviation of one step's change of the fraction.
    #[serde(default = "default_spot_vol")]
    pub volatility: f64,
    /// Pull toward the mean per step (0 = none, 1 = back at once).
    #[serde(default = "default_spot_rev")]
    pub reversion: Probability,
    /// The price holds for this long between moves.
    #[serde(default = "default_spot_step")]
    pub step: Duration,
}

fn default_spot_min() -> Probability {
    Probability(0.03)
}
fn default_spot_max() -> Probability {
    Probability(0.20)
}
fn default_spot_mean() -> Probability {
    Probability(0.10)
}
fn default_spot_vol() -> f64 {
    0.01
}
fn default_spot_rev() -> Probability {
    Probability(0.1)
}
fn default_spot_step() -> Duration {
    Duration(SimDuration::from_hours(1))
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            postpaid_tiers: None,
            prepaid_discount_percent: None,
            prepaid_discount_by_family: BTreeMap::new(),
            disk_prepaid_discount_percent: None,
            settlement_rounding: true,
            five_day_returns_per_year: 1,
            returns_per_year: default_returns(),
            max_downgrades: default_downgrades(),
            enabled: true,
        }
    }
}

/// Billing rules that are documented figures or assumptions.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSettings {
    /// Postpaid tiers: `[[from_hours, percent], ...]`; default `[[0, 100], [96, 50], [360, 34]]`.
    pub postpaid_tiers: Option<Vec<(u64, u32)>>,
    /// Prepaid discount ladder for every family: from months → percent of the list price (a
    /// period pays the step at or below it). Default: the published ladders, S5's for S5 and
    /// the other families' for the rest.
    pub prepaid_discount_percent: Option<BTreeMap<String, u32>>,
    /// The same per family (`S5 = { "1" = 87, "3" = 78 }`), over the price file's ladder and
    /// `prepaid_discount_percent`.
    #[serde(default)]
    pub prepaid_discount_by_family: BTreeMap<String, BTreeMap<String, u32>>,
    /// The prepaid cloud-disk ladder; default 6: 88, 12: 83, 24: 70, 36: 50.
    pub disk_prepaid_discount_percent: Option<BTreeMap<String, u32>>,
    /// Round each hourly settlement (per instance and item) and each order to 0.01; default
    /// `true`, as CVM does.
    #[serde(default = "yes")]
    pub settlement_rounding: bool,
    /// Five-day full refunds per account per year (default 1).
    #[serde(default = "one")]
    pub five_day_returns_per_year: u32,
    /// Self-service returns of prepaid instances per account per year (default 199).
    #[serde(default = "default_returns")]
    pub returns_per_year: u32,
    /// Downgrades a prepaid instance may have in all (default 5).
    #[serde(default = "default_downgrades")]
    pub max_downgrades: u32,
    /// `false` turns billing off (to measure its cost in run time); default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_returns() -> u32 {
    199
}
fn default_downgrades() -> u32 {
    5
}

/// Prices of a cloud disk type, per GiB.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiskPriceSettings {
    pub postpaid_per_gib_hour: f64,
    pub prepaid_per_gib_month: f64,
}

/// Public network prices.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BandwidthSettings {
    /// BANDWIDTH_POSTPAID_BY_HOUR per Mbps-hour up to `tier_mbps` (default 0.063, 5 Mbps),
    /// and above it (default 0.25).
    pub postpaid_per_mbps_hour: Option<f64>,
    pub postpaid_per_mbps_hour_above: Option<f64>,
    pub tier_mbps: Option<u32>,
    /// BANDWIDTH_PREPAID per Mbps-month: `[[from_mbps, price], ...]` (default
    /// `[[0, 20], [2, 25], [5, 90]]`).
    pub prepaid_per_mbps_month: Option<Vec<(u32, f64)>>,
    /// TRAFFIC_POSTPAID_BY_HOUR per GB (default 0.80).
    pub traffic_per_gb: Option<f64>,
}

/// A disk of a workload's RunInstances (`SystemDisk`, `DataDisks`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiskSettings {
    pub disk_type: String,
    /// GiB.
    pub disk_size: u32,
}

/// `InternetAccessible` of a workload's RunInstances.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InternetSettings {
    /// BANDWIDTH_POSTPAID_BY_HOUR (default), TRAFFIC_POSTPAID_BY_HOUR or BANDWIDTH_PREPAID
    /// (PREPAID instances only).
    pub internet_charge_type: Option<String>,
    /// Mbps.
    pub internet_max_bandwidth_out: u32,
    /// TRAFFIC_POSTPAID_BY_HOUR: outbound GB per RUNNING hour (ASSUMPTION; default 10% of
    /// the bandwidth: Mbps × 0.045).
    pub traffic_gb_per_hour: Option<f64>,
}

fn default_launch_failure() -> Probability {
    Probability(0.001)
}
fn default_spot_fraction() -> Probability {
    Probability(0.2)
}
fn default_currency() -> String {
    "CNY".into()
}
fn default_disk_gib() -> u32 {
    50
}
fn default_disk_price() -> f64 {
    0.0004
}

impl Default for CloudSettings {
    fn default() -> Self {
        CloudSettings {
            launch_failure_probability: default_launch_failure(),
            spot_price_fraction: default_spot_fraction(),
            currency: default_currency(),
            disk_gib: default_disk_gib(),
            disk_price_per_gib_hour: default_disk_price(),
            disk_prices: BTreeMap::new(),
            bandwidth: BandwidthSettings::default(),
            timings: TimingSettings::default(),
            spot_market: None,
            spot_notice: default_spot_notice(),
            recycle_bin: default_recycle_bin(),
            launch_failed_cleanup: default_launch_failed_cleanup(),
        }
    }
}

/// How long each transient state lasts. Defaults are CVM.md's starting points.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimingSettings {
    pub pending: Option<DistSettings>,
    pub stopping: Option<DistSettings>,
    pub starting: Option<DistSettings>,
    pub rebooting: Option<DistSettings>,
    pub terminating: Option<DistSettings>,
    pub reset_type: Option<DistSettings>,
}

/// A distribution of durations: `dist` names it, the other fields are its parameters (only
/// the ones it takes; see the README). A flat table rather than a tagged enum so that every
/// mistake is reported with its full field path and line.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DistSettings {
    pub dist: DistKind,
    pub value: Option<Duration>,
    pub min: Option<Duration>,
    pub max: Option<Duration>,
    pub mean: Option<Duration>,
    pub median: Option<Duration>,
    pub sigma: Option<Positive>,
    pub shape: Option<Positive>,
    pub scale: Option<Duration>,
    pub values: Option<Vec<Duration>>,
    /// `empirical`: a file of observed durations, one per line in seconds (a relative path is
    /// read from the scenario file's folder).
    pub file: Option<String>,
    /// `empirical`: `[[p, value], ...]` points of the quantile function, from p = 0 to p = 1,
    /// linearly interpolated between them.
    pub quantiles: Option<Vec<(f64, Duration)>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DistKind {
    Fixed,
    Uniform,
    Exponential,
    /// Log-normal given by its median and the standard deviation of its logarithm.
    Lognormal,
    Weibull,
    Pareto,
    /// Resample from observed values.
    Empirical,
}

/// One zone.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSettings {
    /// Numeric ZoneId; known zones get CVM's real id by default.
    pub zone_id: Option<u32>,
    #[serde(default)]
    pub quota: QuotaSettings,
    /// Stock in instances per type; a type not listed has ample stock.
    #[serde(default)]
    pub stock: BTreeMap<String, u32>,
    /// Types not sold in this zone (`ResourceUnavailable.InstanceType`).
    #[serde(default)]
    pub not_offered: Vec<String>,
}

/// A zone's quotas (DescribeAccountQuota); absent means unlimited.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    pub postpaid: Option<u32>,
    pub prepaid: Option<u32>,
    pub prepaid_once: Option<u32>,
    pub spot_cores: Option<u32>,
    /// Quota already used outside the simulation (console purchases).
    #[serde(default)]
    pub used_outside: UsedOutside,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UsedOutside {
    #[serde(default)]
    pub postpaid: u32,
    #[serde(default)]
    pub prepaid: u32,
    #[serde(default)]
    pub spot_cores: u32,
}

/// Prices of one type, in the scenario's currency.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSettings {
    pub postpaid_hourly: f64,
    pub prepaid_monthly: Option<f64>,
    #[serde(default = "yes")]
    pub tiered: bool,
}

fn yes() -> bool {
    true
}

/// A source of demand: arrivals of requests for instances that live for a while.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSettings {
    pub name: String,
    #[serde(default = "default_charge")]
    pub charge_type: ChargeType,
    pub arrival: ArrivalSettings,
    pub lifetime: DistSettings,
    /// Lifetimes of some instance types: type name → distribution, replacing `lifetime`.
    #[serde(default)]
    pub lifetime_by_type: BTreeMap<String, DistSettings>,
    /// Instance-type mix: type name → weight.
    pub types: BTreeMap<String, Positive>,
    /// Zone choice: zone name → weight.
    pub zones: BTreeMap<String, Positive>,
    /// How a zone is chosen for each request.
    #[serde(default)]
    pub placement: Placement,
    /// Instances per RunInstances call (one tenant asks for a batch).
    #[serde(default = "one")]
    pub instances_per_request: u32,
    /// PREPAID period in months [default: 1]; only with `charge_type = "PREPAID"`.
    pub period_months: Option<u32>,
    /// PREPAID RenewFlag: NOTIFY_AND_AUTO_RENEW, NOTIFY_AND_MANUAL_RENEW (default) or
    /// DISABLE_NOTIFY_AND_MANUAL_RENEW.
    pub renew_flag: Option<String>,
    /// SPOTPAID bid (`MaxPrice`) per hour, in the scenario's currency; absent bids the market.
    pub max_price: Option<f64>,
    /// On a quota or stock refusal, call RunInstances again at once in the next zone of
    /// `zones` (name order, wrapping), each zone at most once per request.
    #[serde(default)]
    pub zone_fallback: bool,
    /// Relaunch an instance the platform lost or stopped (`[[faults]]`) for the rest of its
    /// lifetime.
    #[serde(default)]
    pub replace_failed: bool,
    /// `least_quota_used`: how long a DescribeAccountQuota answer is used before it is asked
    /// again (default 1m).
    pub quota_refresh: Option<Duration>,
    /// RunInstances `SystemDisk`; absent, the instance price covers the system disk.
    pub system_disk: Option<DiskSettings>,
    /// RunInstances `DataDisks` (at most 20 cloud disks).
    #[serde(default)]
    pub data_disks: Vec<DiskSettings>,
    /// RunInstances `InternetAccessible`; absent, no public bandwidth (CVM's default 0 Mbps).
    pub internet_accessible: Option<InternetSettings>,
}

fn default_charge() -> ChargeType {
    ChargeType::PostpaidByHour
}
fn one() -> u32 {
    1
}

/// An arrival process of requests: `process` names it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalSettings {
    pub process: ArrivalKind,
    /// Requests per hour: the rate of `poisson`, the base rate `daily` and `weekly` multiply.
    pub rate_per_hour: Option<Positive>,
    /// `profile`: 24 multipliers of the base rate, one per hour of the day.
    pub daily: Option<Vec<f64>>,
    /// `profile`: 7 multipliers of the base rate, one per day of the week (the run's first day
    /// is day 0).
    pub weekly: Option<Vec<f64>>,
    /// `profile`, instead of the three above: 168 rates in requests per hour, one per hour of
    /// the week.
    pub hourly_rates: Option<Vec<f64>>,
    /// Growth of the rate over the run.
    pub growth: Option<GrowthSettings>,
    /// On/off bursts multiplying the rate while on.
    pub burst: Option<BurstSettings>,
    /// Instances per request drawn from a distribution (instead of `instances_per_request`).
    pub batch: Option<BatchSettings>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalKind {
    /// Homogeneous Poisson process.
    Poisson,
    /// Non-homogeneous Poisson process with a daily and weekly profile.
    Profile,
}

/// Growth of an arrival rate: `kind` names it, the other fields are its parameters.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrowthSettings {
    pub kind: GrowthKind,
    /// `step`: when the rate changes.
    pub at: Option<Duration>,
    /// `step`: what the rate is multiplied by from `at` on.
    pub factor: Option<Positive>,
    /// `ramp`: compound growth per month of 30 days (0.05 = +5%/month; negative shrinks).
    pub per_month: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GrowthKind {
    Step,
    Ramp,
}

/// On/off bursts (a two-state Markov chain with exponential sojourns): the rate is multiplied
/// by `factor` while on.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BurstSettings {
    pub on_mean: Duration,
    pub off_mean: Duration,
    pub factor: Positive,
}

/// Instances per request: `dist` names the distribution, the other fields are its parameters.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSettings {
    pub dist: BatchKind,
    /// `fixed`.
    pub value: Option<u32>,
    /// `uniform`: whole numbers from `min` to `max`, both included.
    pub min: Option<u32>,
    pub max: Option<u32>,
    /// `geometric`: mean on 1, 2, 3, ...
    pub mean: Option<f64>,
    /// `empirical`: the sizes, and optionally their weights (equal by default).
    pub values: Option<Vec<u32>>,
    pub weights: Option<Vec<f64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchKind {
    Fixed,
    Uniform,
    Geometric,
    Empirical,
}

/// A recorded VM trace (CSV, sorted by creation time) replayed through the control plane: each
/// VM's creation is a RunInstances, its deletion a TerminateInstances (`[[traces]]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSettings {
    pub name: String,
    /// The CSV file; a relative path is read from the scenario file's folder.
    pub file: String,
    /// Which of the file's columns hold what.
    pub columns: TraceColumns,
    /// Unit of the time columns: `s` (default) or `ms`.
    #[serde(default)]
    pub time_unit: TimeUnit,
    /// Subtracted from every creation and deletion time, in `time_unit`; rows created earlier
    /// are skipped. Default: the first row's creation time.
    pub time_offset: Option<f64>,
    /// Replay this many times faster: times and lifetimes are divided by it.
    pub speedup: Option<Positive>,
    /// Zone weights, used when the trace has no zone column (one batch goes to one zone).
    #[serde(default)]
    pub zones: BTreeMap<String, Positive>,
    /// Charge type of VMs when the trace has no charge-type column.
    #[serde(default = "default_charge")]
    pub charge_type: ChargeType,
    /// PREPAID period in months.
    #[serde(default = "one")]
    pub period_months: u32,
    /// VMs of one batch whose creations fall in the same window of this length (counted in
    /// trace time from `time_offset`) and that map to the same type, zone and charge type go
    /// in one RunInstances (default 5m, the Azure trace's slot).
    #[serde(default = "default_batch_window")]
    pub batch_window: Duration,
}

fn default_batch_window() -> Duration {
    Duration(SimDuration::from_secs(300))
}

/// A target-tracking autoscaler (`[[autoscalers]]`): every `interval` it sets its fleet to
/// `ceil(signal / target_per_instance)` instances, within `min..=max`, through the API.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerSettings {
    pub name: String,
    /// One zone, or several with `zones` (new instances are spread evenly over them).
    pub zone: Option<String>,
    #[serde(default)]
    pub zones: Vec<String>,
    pub instance_type: String,
    /// POSTPAID_BY_HOUR (default) or SPOTPAID.
    #[serde(default = "default_charge")]
    pub charge_type: ChargeType,
    /// SPOTPAID bid (`MaxPrice`) per hour; absent bids the market.
    pub max_price: Option<f64>,
    /// The demand it tracks.
    pub signal: SignalSettings,
    /// Units of signal one instance serves.
    pub target_per_instance: Positive,
    #[serde(default)]
    pub min: u32,
    pub max: u32,
    /// Evaluation period (default 1m).
    pub interval: Option<Duration>,
    /// Least time between two scale-outs (default 5m).
    pub scale_out_cooldown: Option<Duration>,
    /// Least time between a scaling action (either way) and a scale-in (default 5m).
    pub scale_in_cooldown: Option<Duration>,
    /// Which instances a scale-in terminates first: `newest_first` (default) or `oldest_first`.
    #[serde(default)]
    pub scale_in: ScaleInOrder,
}

/// An autoscaler's signal: `workload` (the instances that workload currently wants) or a
/// deterministic `profile`. A flat table, so every mistake has its field path.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalSettings {
    /// A workload's name: the signal is the number of instances it wants now (requests whose
    /// lifetimes have not ended, whether the control plane served them or not).
    pub workload: Option<String>,
    pub profile: Option<SignalProfile>,
    /// `diurnal`: `base × (1 + amplitude × cos(2π (t − peak) / period))`.
    pub base: Option<f64>,
    pub amplitude: Option<f64>,
    /// `diurnal` (default 1d); `table`: repeat the points with this period.
    pub period: Option<Duration>,
    /// `diurnal`: when the curve peaks within the period (default half the period).
    pub peak: Option<Duration>,
    /// `table`: `[{ at = "6h", value = 40 }, ...]`, in time order, the first at 0.
    pub points: Option<Vec<SignalPoint>>,
    /// `table`: `step` (default: each value holds until the next point) or `linear`.
    pub interpolate: Option<Interpolate>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalProfile {
    Diurnal,
    Table,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolate {
    Step,
    Linear,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalPoint {
    pub at: Duration,
    pub value: f64,
}

/// A platform fault (`[[faults]]`): `kind` names it, the other fields are its parameters.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSettings {
    pub kind: FaultKind,
    /// `zone_outage`: the zone; `instance_failures`: only this zone (default: every zone).
    pub zone: Option<String>,
    /// When it begins (`instance_failures`: default 0).
    pub at: Option<Duration>,
    /// How long it lasts (`instance_failures`: default to the end of the run).
    pub duration: Option<Duration>,
    /// `zone_outage`: what happens to the zone's instances, `lost` (default) or `stopped`.
    pub instances: Option<OutageInstances>,
    /// `instance_failures`: failures per RUNNING instance per day, or `mtbf`.
    pub rate_per_instance_per_day: Option<f64>,
    /// `instance_failures`: mean time between failures of one RUNNING instance.
    pub mtbf: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    ZoneOutage,
    InstanceFailures,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageInstances {
    Lost,
    Stopped,
}
