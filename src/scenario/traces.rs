//! `[[traces]]`: the mapping of columns, zones and charge type, and the file, whose header is
//! read to check that the mapped columns are there.

use std::collections::HashMap;
use std::path::Path;

use crate::cloud::billing::BillingRules;
use crate::cloud::{ChargeType, ZoneIdx};
use crate::workload::trace::{SizeMap, TraceSpec, check_header, check_mapping};

use super::load::{Fail, ScenarioError, scenario_relative};
use super::names::Names;
use super::schema::ScenarioFile;
use super::values::cumulative;

/// Resolves `[[traces]]`: the mapping of columns, zones and charge type, and the file, whose
/// header is read to check that the mapped columns are there. A relative `file` is read from
/// the folder of the scenario file (`dir`).
pub(super) fn resolve_traces(
    f: &ScenarioFile,
    names: &Names<'_>,
    rules: &BillingRules,
    dir: &Path,
    fail: Fail<'_>,
) -> Result<Vec<TraceSpec>, ScenarioError> {
    let cat = names.cat;
    let mut out: Vec<TraceSpec> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, t) in f.traces.iter().enumerate() {
        let at = |s: &str| format!("traces[{i}].{s}");
        if t.name.trim().is_empty() {
            return Err(fail(&at("name"), "must not be empty".into()));
        }
        if let Some(j) = seen.insert(&t.name, i) {
            return Err(fail(
                &at("name"),
                format!("two traces are named `{}` (traces[{j}] too)", t.name),
            ));
        }
        check_mapping(&t.columns).map_err(|(k, m)| fail(&at(&format!("columns.{k}")), m))?;
        let mut zones = Vec::new();
        let mut weights = Vec::new();
        if t.columns.zone.is_some() {
            if !t.zones.is_empty() {
                return Err(fail(
                    &at("zones"),
                    "the trace has a zone column; `zones` would not be used".into(),
                ));
            }
        } else if t.zones.is_empty() {
            if cat.zones.len() != 1 {
                return Err(fail(
                    &at("zones"),
                    "the trace has no zone column: give zone weights, e.g. \
                     zones = { ap-guangzhou-3 = 1 }"
                        .into(),
                ));
            }
            zones.push(ZoneIdx(0));
            weights.push(1.0);
        } else {
            for (name, w) in &t.zones {
                let z = names.zone(&at(&format!("zones.{name}")), name)?;
                zones.push(z);
                weights.push(w.0);
            }
        }
        if t.charge_type == ChargeType::Prepaid && !rules.valid_period(t.period_months) {
            return Err(fail(
                &at("period_months"),
                format!(
                    "{} is not a prepaid period; use 1-12, 24, 36, 48 or 60",
                    t.period_months
                ),
            ));
        }
        if t.batch_window.0.ms() == 0 {
            return Err(fail(&at("batch_window"), "must be longer than zero".into()));
        }
        if let Some(o) = t.time_offset
            && !o.is_finite()
        {
            return Err(fail(&at("time_offset"), "must be a finite number".into()));
        }
        let path = scenario_relative(dir, &t.file);
        check_header(&path, &t.columns).map_err(|(k, m)| {
            if k == "file" {
                fail(&at("file"), m)
            } else {
                fail(&at(&format!("columns.{k}")), m)
            }
        })?;
        out.push(TraceSpec {
            name: t.name.clone(),
            path,
            columns: t.columns.clone(),
            unit_ms: TraceSpec::unit_ms_of(t.time_unit),
            time_offset: t.time_offset,
            speedup: t.speedup.map(|s| s.0).unwrap_or(1.0),
            zones,
            zone_cumulative: cumulative(weights.into_iter()),
            charge: t.charge_type,
            period_months: t.period_months,
            batch_window_ms: t.batch_window.0.ms(),
            sizes: SizeMap::new(cat),
            zone_names: cat.zones.iter().map(|z| z.name.clone()).collect(),
            type_names: cat.types.iter().map(|t| t.name.clone()).collect(),
        });
    }
    Ok(out)
}
