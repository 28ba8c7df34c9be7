//! `[[workloads]]`: each workload's arrival process, lifetimes, types, zones, charge type and
//! what its RunInstances carries, resolved to catalogue indices.

use std::collections::HashMap;
use std::path::Path;

use crate::cloud::ChargeType;
use crate::cloud::billing::BillingRules;
use crate::engine::time::MS_PER_HOUR;
use crate::engine::{Dist, SimDuration};
use crate::workload::{Placement, WorkloadSpec};

use super::attach::{AttachSettings, attachments_of};
use super::load::ScenarioError;
use super::names::Names;
use super::schema::{ScenarioFile, WorkloadSettings};
use super::values::{cumulative, dist_ms, parse_price, parse_renew_flag};

/// Highest arrival rate a workload may have: one request per millisecond on average.
pub const MAX_RATE_PER_HOUR: f64 = 3_600_000.0;

/// Every workload; each one's first mistake is added to `errors` (and the workload left out).
pub(super) fn resolve_workloads(
    f: &ScenarioFile,
    names: &Names<'_>,
    rules: &BillingRules,
    dir: &Path,
    errors: &mut Vec<ScenarioError>,
) -> Vec<WorkloadSpec> {
    let mut out = Vec::new();
    // First index of each name: a scenario may hold tens of thousands of workloads.
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(f.workloads.len());
    for (i, w) in f.workloads.iter().enumerate() {
        if let Some(&j) = seen.get(w.name.as_str()) {
            errors.push((names.fail)(
                &format!("workloads[{i}].name"),
                format!("two workloads are named `{}` (workloads[{j}] too)", w.name),
            ));
            continue;
        }
        seen.insert(&w.name, i);
        match resolve_workload(f, i, w, names, rules, dir) {
            Ok(spec) => out.push(spec),
            Err(e) => errors.push(e),
        }
    }
    out
}

/// Workload `i`, `w`.
fn resolve_workload(
    f: &ScenarioFile,
    i: usize,
    w: &WorkloadSettings,
    names: &Names<'_>,
    rules: &BillingRules,
    dir: &Path,
) -> Result<WorkloadSpec, ScenarioError> {
    let fail = names.fail;
    let at = |s: &str| format!("workloads[{i}].{s}");
    // One request is one RunInstances call: at most `[api] max_instance_count` instances.
    let max_count = f.api.max_instance_count;
    let (rate_per_hour, arrival) =
        super::arrival::resolve(&w.arrival, f.duration.0.ms(), MAX_RATE_PER_HOUR, max_count)
            .map_err(|(k, m)| fail(&at(&format!("arrival.{k}")), m))?;
    if arrival.batch.is_some() && w.instances_per_request != 1 {
        return Err(fail(
            &at("instances_per_request"),
            "give either `instances_per_request` or `arrival.batch`, not both".into(),
        ));
    }
    let lifetime = dist_ms(&w.lifetime, &at("lifetime"), dir, fail)?;
    if w.types.is_empty() {
        return Err(fail(&at("types"), "name at least one instance type".into()));
    }
    if w.zones.is_empty() {
        return Err(fail(&at("zones"), "name at least one zone".into()));
    }
    let mut types = Vec::new();
    for name in w.types.keys() {
        types.push(names.itype(&at(&format!("types.{name}")), name)?);
    }
    // Lifetimes per type, in the order of `types` (name order, like `w.types`).
    let mut lifetime_by_type: Vec<Option<Dist>> = vec![None; types.len()];
    for (name, d) in &w.lifetime_by_type {
        let field = at(&format!("lifetime_by_type.{name}"));
        let Some(j) = w.types.keys().position(|k| k == name) else {
            return Err(fail(
                &field,
                format!(
                    "`{name}` is not among this workload's types ({})",
                    w.types.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        lifetime_by_type[j] = Some(dist_ms(d, &field, dir, fail)?);
    }
    let mut zs = Vec::new();
    for name in w.zones.keys() {
        zs.push(names.zone(&at(&format!("zones.{name}")), name)?);
    }
    if w.instances_per_request == 0 || w.instances_per_request > max_count {
        return Err(fail(
            &at("instances_per_request"),
            format!("must be within 1..={max_count} (`[api] max_instance_count`)"),
        ));
    }
    if w.period_months.is_some() && w.charge_type != ChargeType::Prepaid {
        return Err(fail(
            &at("period_months"),
            format!(
                "a prepaid period on a {} workload means nothing; drop it or set \
             charge_type = \"PREPAID\"",
                w.charge_type.as_str()
            ),
        ));
    }
    let period_months = w.period_months.unwrap_or(1);
    if w.charge_type == ChargeType::Prepaid && !rules.valid_period(period_months) {
        return Err(fail(
            &at("period_months"),
            format!("{period_months} is not a prepaid period; use 1-12, 24, 36, 48 or 60"),
        ));
    }
    let renew_flag = parse_renew_flag(&w.renew_flag, &at("renew_flag"), fail)?;
    let max_price = parse_price(w.max_price, &at("max_price"), fail)?;
    let attach = attachments_of(
        AttachSettings {
            charge_type: w.charge_type,
            system_disk: &w.system_disk,
            data_disks: &w.data_disks,
            internet_accessible: &w.internet_accessible,
        },
        &at,
        &fail,
    )?;
    if w.quota_refresh.is_some() && w.placement != Placement::LeastQuotaUsed {
        return Err(fail(
            &at("quota_refresh"),
            "is only used by placement = \"least_quota_used\"".into(),
        ));
    }
    let quota_refresh = w
        .quota_refresh
        .map(|d| d.0)
        .unwrap_or(SimDuration::from_secs(60));
    if quota_refresh.ms() == 0 {
        return Err(fail(
            &at("quota_refresh"),
            "must be longer than zero".into(),
        ));
    }
    Ok(WorkloadSpec {
        attach,
        zone_fallback: w.zone_fallback,
        replace_failed: w.replace_failed,
        quota_refresh,
        fallback: None,
        renew_flag,
        max_price,
        name: w.name.clone(),
        charge: w.charge_type,
        rate_per_ms: rate_per_hour / MS_PER_HOUR as f64,
        arrival,
        lifetime,
        lifetime_by_type,
        types,
        type_cumulative: cumulative(w.types.values().map(|p| p.0)),
        zones: zs,
        zone_cumulative: cumulative(w.zones.values().map(|p| p.0)),
        placement: w.placement,
        per_request: w.instances_per_request,
        period_months,
    })
}
