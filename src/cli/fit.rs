//! `fleetsim fit` from the command line: its flags, and the options they give
//! [`crate::workload::fit`] (the mapping of a scenario's `[[traces]]` entry with `--scenario`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::cloud::ChargeType;
use crate::workload::fit::{DEFAULT_TYPES, FitOptions, azure2017_columns, fit, parse_columns};
use crate::workload::trace::{TimeUnit, TraceSpec};

/// Everything `fleetsim fit` takes from its command line (its flags, as `--help` shows them).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct FitArgs {
    /// Trace file (CSV with a header row).
    pub trace: PathBuf,
    /// Take the column mapping, time unit and offset, instance types, zones and charge type
    /// from this scenario's [[traces]] section.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// With --scenario: the [[traces]] entry to use, by name [default: the first].
    #[arg(long = "trace", value_name = "NAME")]
    pub trace_name: Option<String>,
    /// Column mapping, KEY=COLUMN,...: created, lifetime or deleted, vcpus and memory (or
    /// instance_type), batch.
    #[arg(long, value_name = "MAPPING")]
    pub columns: Option<String>,
    /// Unit of the time columns: s or ms [default: s].
    #[arg(long, value_enum, hide_possible_values = true)]
    pub time_unit: Option<FitTimeUnit>,
    /// Subtracted from the trace's times, in its unit [default: the first creation].
    #[arg(long, value_name = "T")]
    pub time_offset: Option<f64>,
    /// End of the observation, in the trace's time unit (VMs without a lifetime are censored
    /// there) [default: the last creation or deletion seen].
    #[arg(long, value_name = "T")]
    pub end: Option<f64>,
    /// Instance types to map sizes to, comma-separated [default: S5 and M5, 1-16 vCPUs].
    #[arg(long, value_name = "TYPES")]
    pub types: Option<String>,
    /// Zones of the fitted workload, ZONE[=WEIGHT],... [default: ap-guangzhou-3].
    #[arg(long, value_name = "ZONES")]
    pub zones: Option<String>,
    /// Charge type of the fitted workload [default: POSTPAID_BY_HOUR].
    #[arg(long, value_name = "TYPE", value_parser = parse_charge_type)]
    pub charge_type: Option<ChargeType>,
    /// Name of the fitted workload [default: <trace file name>-fit].
    #[arg(long)]
    pub name: Option<String>,
    /// Multiply every arrival rate by this (1.3 = 30% more demand).
    #[arg(long)]
    pub scale: Option<f64>,
}

/// `--time-unit`: the unit of a trace's time columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FitTimeUnit {
    S,
    Ms,
}

/// `--charge-type`: the API's names (`POSTPAID_BY_HOUR`, `PREPAID`, `SPOTPAID`).
fn parse_charge_type(c: &str) -> Result<ChargeType, String> {
    ChargeType::ALL
        .into_iter()
        .find(|x| x.as_str() == c)
        .ok_or_else(|| format!("`{c}`: use POSTPAID_BY_HOUR, PREPAID or SPOTPAID"))
}

/// Builds the options of `fleetsim fit` from its arguments.
pub fn options_from_args(a: &FitArgs) -> Result<FitOptions> {
    let mut opts = match &a.scenario {
        Some(path) => {
            let scn = crate::scenario::load_file(path)?;
            let spec = match &a.trace_name {
                Some(n) => scn.traces.iter().find(|t| &t.name == n).ok_or_else(|| {
                    anyhow!("{}: no [[traces]] entry is named `{n}`", path.display())
                })?,
                None => scn.traces.first().ok_or_else(|| {
                    anyhow!(
                        "{}: the scenario has no [[traces]] section to take the mapping from",
                        path.display()
                    )
                })?,
            };
            let mut spec = spec.clone();
            spec.path = a.trace.clone();
            let zones = if spec.zones.is_empty() {
                vec![(scn.catalog.zones[0].name.clone(), 1.0)]
            } else {
                let mut prev = 0.0;
                spec.zones
                    .iter()
                    .zip(&spec.zone_cumulative)
                    .map(|(z, c)| {
                        let w = c - prev;
                        prev = *c;
                        (scn.catalog.zone(*z).name.clone(), w)
                    })
                    .collect()
            };
            let stem = a
                .trace
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("trace");
            FitOptions {
                name: format!("{stem}-fit"),
                charge: spec.charge,
                spec,
                scale: 1.0,
                end: None,
                zones,
            }
        }
        None => {
            let columns = match &a.columns {
                Some(c) => parse_columns(c)?,
                None => azure2017_columns(),
            };
            let types: Vec<String> = match &a.types {
                Some(t) => t
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                None => DEFAULT_TYPES.iter().map(|s| s.to_string()).collect(),
            };
            FitOptions::new(&a.trace, columns, &types)?
        }
    };
    if a.scenario.is_some() && (a.columns.is_some() || a.types.is_some()) {
        bail!("--columns and --types come from the scenario with --scenario; leave them out");
    }
    if let Some(u) = a.time_unit {
        opts.spec.unit_ms = TraceSpec::unit_ms_of(match u {
            FitTimeUnit::S => TimeUnit::Seconds,
            FitTimeUnit::Ms => TimeUnit::Millis,
        });
    }
    if let Some(o) = a.time_offset {
        opts.spec.time_offset = Some(o);
    }
    opts.end = a.end;
    if let Some(z) = &a.zones {
        // The zones the fitted workload may name: the scenario's, or the documented ones.
        let known_zones: Vec<String> = match &a.scenario {
            Some(path) => crate::scenario::load_file(path)?
                .catalog
                .zones
                .iter()
                .map(|z| z.name.clone())
                .collect(),
            None => crate::cloud::catalog::KNOWN_ZONES
                .iter()
                .map(|(n, _)| n.to_string())
                .collect(),
        };
        let mut v = Vec::new();
        for part in z.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, w) = match part.split_once('=') {
                Some((n, w)) => (
                    n.trim().to_string(),
                    w.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| anyhow!("--zones: `{part}`: the weight must be above 0"))?,
                ),
                None => (part.to_string(), 1.0),
            };
            if crate::cloud::catalog::region_of_zone(&name).is_none() {
                bail!("--zones: `{name}` is not a zone name such as ap-guangzhou-3");
            }
            if !known_zones.contains(&name) {
                bail!(
                    "--zones: `{name}` is not a zone of the {} ({})",
                    if a.scenario.is_some() {
                        "scenario's catalogue"
                    } else {
                        "catalogue CVM documents"
                    },
                    known_zones.join(", ")
                );
            }
            v.push((name, w));
        }
        if v.is_empty() {
            bail!("--zones: name at least one zone");
        }
        opts.zones = v;
    }
    if let Some(c) = a.charge_type {
        opts.charge = c;
    }
    if let Some(n) = &a.name {
        opts.name = n.clone();
    }
    if let Some(s) = a.scale {
        if !(s.is_finite() && s > 0.0) {
            bail!("--scale must be a positive number, got {s}");
        }
        opts.scale = s;
    }
    Ok(opts)
}

/// `fleetsim fit`: fits and writes the workload to `out` (or returns it to print). Returns the
/// TOML and a one-line report.
pub fn run_fit(a: &FitArgs, out: Option<&Path>) -> Result<(String, String)> {
    let opts = options_from_args(a)?;
    let fitted = fit(&opts)?;
    let text = fitted.to_toml();
    if let Some(p) = out {
        std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok((text, fitted.report()))
}
