//! Reading a scenario: TOML → [`ScenarioFile`] (serde, with the field path and line of any
//! mistake) → each section resolved on its own (references to zones and types checked) → the
//! typed [`Scenario`] the simulator runs. The sections:
//!
//! | section | module |
//! |---|---|
//! | `name`, `seed`, `duration`, `sample_interval`, `max_output_rows` | here |
//! | `zones`, `instance_types`, `prices`, `prices_file`, disk and bandwidth prices | [`super::catalogue`] |
//! | `[cloud.timings]`, `[billing]`, `[cloud.spot_market]` | [`super::platform`] |
//! | `[[workloads]]` (their `arrival`: [`super::arrival`]) | [`super::workloads`] |
//! | `[api]` | [`super::api`] |
//! | `[[actions]]` | [`super::actions`] |
//! | `[[traces]]` | [`super::traces`] |
//! | `[[autoscalers]]`, `[[faults]]` | [`super::controllers`] |
//!
//! A name of a zone or type is looked up in one place, [`super::names`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use crate::cloud::billing::BillingRules;
use crate::cloud::capacity::ZoneQuota;
use crate::cloud::catalog::Catalog;
use crate::cloud::ratelimit::RateLimits;
use crate::cloud::spot_market::SpotModel;
use crate::cloud::{Timings, TypeIdx, ZoneIdx};
use crate::engine::SimDuration;
use crate::workload::autoscale::AutoscalerSpec;
use crate::workload::faults::FaultSpec;
use crate::workload::script::ScriptAction;
use crate::workload::trace::TraceSpec;
use crate::workload::{RetryPolicy, WorkloadSpec};

use super::locate::line_of_path;
use super::names::Names;
use super::schema::ScenarioFile;

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

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file as written: sections the run does not need (`[compare]`, `[sweep]`) are
    /// resolved from it on demand, by the methods in [`super::sections`] and
    /// [`super::shown`]. Nothing outside `scenario` reads it.
    pub(super) file: ScenarioFile,
    /// The text it was read from, to locate a field's line in messages.
    pub(super) text: Arc<str>,
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
    /// How long a LAUNCH_FAILED instance stays before the platform removes it.
    pub launch_failed_cleanup: SimDuration,
    /// `[api] max_instance_count`: most instances one RunInstances may ask for.
    pub max_run_count: u32,
    /// Trace replays (`[[traces]]`).
    pub traces: Vec<TraceSpec>,
    /// Target-tracking autoscalers (`[[autoscalers]]`).
    pub autoscalers: Vec<AutoscalerSpec>,
    /// Platform faults (`[[faults]]`).
    pub faults: Vec<FaultSpec>,
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

impl Scenario {
    /// The line of the field at dotted `path` (`compare.strategies[1].name`) in the text the
    /// scenario was read from, if the text sets it.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        line_of_path(&self.text, path)
    }

    /// A mistake at the field `path`: `origin:line: `path`: message`.
    pub(super) fn mistake(&self, path: &str, message: String) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.origin.clone(),
            line: self.line_of(path),
            field: path.into(),
            message,
        }
    }
}

/// A mistake at `field`, located in the text.
pub(crate) type Fail<'a> = &'a dyn Fn(&str, String) -> ScenarioError;

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
    // The run, the catalogue and the platform: the first mistake stops here, since every
    // later section refers to them.
    check_run(&f, text, &fail)?;
    let (catalog, quotas) = super::catalogue::resolve_catalogue(&f, dir, &fail)?;
    let names = Names {
        cat: &catalog,
        fail: &fail,
    };
    let (stock, not_offered) = super::catalogue::resolve_stock(&f, &names)?;
    let timings = super::platform::resolve_timings(&f, dir, &fail)?;
    let rules = super::platform::resolve_billing(&f, &fail)?;
    let (spot_model, spot_step) = super::platform::resolve_spot(&f, &fail)?;
    // Every mistake found from here on is collected, so `validate` reports them all: each
    // workload, the API settings, scripted actions, traces, autoscalers and faults are
    // checked on their own (the first mistake within each).
    let mut errors: Vec<ScenarioError> = Vec::new();
    let workloads = super::workloads::resolve_workloads(&f, &names, &rules, dir, &mut errors);
    let api = super::api::resolve_api(&f, &fail)
        .map_err(|e| errors.push(e))
        .ok();
    let scripts = collect(
        super::actions::resolve_actions(&f, &names, &rules, &fail),
        &mut errors,
    );
    let traces = collect(
        super::traces::resolve_traces(&f, &names, &rules, dir, &fail),
        &mut errors,
    );
    let autoscalers = collect(
        super::controllers::resolve_autoscalers(&f, &names, &fail),
        &mut errors,
    );
    let faults = collect(
        super::controllers::resolve_faults(&f, &names, &fail),
        &mut errors,
    );
    match errors.len() {
        0 => {}
        1 => return Err(errors.remove(0)),
        _ => return Err(ScenarioError::Many(errors)),
    }
    // Resolved whenever no mistake was collected.
    let Some((rate_limits, retry)) = api else {
        return Err(fail("api", "cannot be resolved".into()));
    };
    Ok(Scenario {
        autoscalers,
        faults,
        spot_model,
        spot_step,
        spot_notice: f.cloud.spot_notice.0,
        recycle_bin: f.cloud.recycle_bin.0,
        launch_failed_cleanup: f.cloud.launch_failed_cleanup.0,
        max_run_count: f.api.max_instance_count,
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
        catalog,
        rules,
        timings,
        launch_failure: f.cloud.launch_failure_probability.0,
        quotas,
        stock,
        not_offered,
        workloads,
        file: f,
        text: Arc::from(text),
    })
}

/// The run's own settings: its name, length, sampling, output budget, and that it has zones
/// and types.
fn check_run(f: &ScenarioFile, text: &str, fail: Fail<'_>) -> Result<(), ScenarioError> {
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
    check_output_budget(f, text, fail)?;
    for (field, n) in [
        ("workloads", f.workloads.len()),
        ("traces", f.traces.len()),
        ("autoscalers", f.autoscalers.len()),
    ] {
        if n > crate::cloud::MAX_ACTORS {
            return Err(fail(
                field,
                format!(
                    "{n} entries; at most {} are supported (an instance records its owner's \
                     index in 16 bits)",
                    crate::cloud::MAX_ACTORS
                ),
            ));
        }
    }
    if f.instance_types.is_empty() {
        return Err(fail(
            "instance_types",
            "at least one instance type is needed".into(),
        ));
    }
    Ok(())
}

/// The value of a section that resolved, or its default with the mistake kept in `errors`.
fn collect<T: Default>(r: Result<T, ScenarioError>, errors: &mut Vec<ScenarioError>) -> T {
    r.unwrap_or_else(|e| {
        errors.push(e);
        T::default()
    })
}

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
