//! The scenario's settings as its file wrote them, as short text: what a report shows next to
//! the results so that a reader can hold it against the file (`2h`, not 7,200,000 ms; a
//! distribution as `lognormal (median 2h, sigma 1)`; weights as shares).

use serde_json::Value;

use super::load::Scenario;

/// The settings a report shows, as text. An `Option` is `None` when the file has nothing to
/// show there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shown {
    pub description: Option<String>,
    pub launch_failure_probability: Option<String>,
    pub spot_price_fraction: Option<String>,
    pub disk_gib: Option<String>,
    pub disk_price_per_gib_hour: Option<String>,
    /// `[api]`: the preset, the window, the total limit, per-action limits, client retries.
    pub api_preset: Option<String>,
    pub api_window: Option<String>,
    pub api_total: Option<String>,
    pub api_limits: Option<String>,
    pub api_retry: Option<String>,
    /// Per type of the catalogue (in its order): whether `[prices]` gives its price.
    pub priced: Vec<bool>,
    /// Per zone of the catalogue, in its order.
    pub zones: Vec<ShownZone>,
    /// Per `[[workloads]]` entry, in the file's order.
    pub workloads: Vec<ShownWorkload>,
}

/// A zone's quotas (`unlimited` where none is set), quota used outside the simulation, stock
/// (`ample` where none is set) and the types it does not offer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShownZone {
    pub postpaid: String,
    pub prepaid: String,
    pub spot_cores: String,
    pub used_outside: String,
    pub stock: String,
    pub not_offered: String,
}

/// A workload as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShownWorkload {
    pub name: String,
    /// The charge type, with the period for PREPAID (`PREPAID, 12 month(s)`).
    pub charge: String,
    pub arrivals: String,
    pub lifetime: String,
    /// Type weights as shares.
    pub types: String,
    /// Zone weights as shares, or the placement policy and the zones.
    pub zones: String,
    pub per_request: String,
}

impl Scenario {
    /// The settings as the file wrote them, for a report.
    pub fn shown(&self) -> Shown {
        let file = serde_json::to_value(&self.file).unwrap_or(Value::Null);
        let cloud = file.get("cloud").unwrap_or(&Value::Null);
        let api = file.get("api").unwrap_or(&Value::Null);
        let zones = file.get("zones");
        let prices = file.get("prices");
        let empty = Vec::new();
        let workloads = file
            .get("workloads")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        Shown {
            description: file
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            launch_failure_probability: cloud.get("launch_failure_probability").map(plain),
            spot_price_fraction: cloud.get("spot_price_fraction").map(plain),
            disk_gib: cloud.get("disk_gib").map(plain),
            disk_price_per_gib_hour: cloud.get("disk_price_per_gib_hour").map(plain),
            api_preset: api.get("preset").map(plain),
            api_window: api.get("window").map(plain),
            api_total: api.get("total").filter(|v| !v.is_null()).map(plain),
            api_limits: api.get("limits").filter(|v| !is_empty(v)).map(plain),
            api_retry: api.get("retry").map(plain),
            priced: self
                .catalog
                .types
                .iter()
                .map(|t| prices.and_then(|c| c.get(&t.name)).is_some())
                .collect(),
            zones: self
                .catalog
                .zones
                .iter()
                .map(|z| zone(zones.and_then(|m| m.get(&z.name)).unwrap_or(&Value::Null)))
                .collect(),
            workloads: workloads.iter().map(workload).collect(),
        }
    }
}

fn zone(zs: &Value) -> ShownZone {
    let quota = zs.get("quota").unwrap_or(&Value::Null);
    let q = |k: &str| match quota.get(k) {
        Some(v) if !v.is_null() => plain(v),
        _ => "unlimited".to_string(),
    };
    let used_outside = quota
        .get("used_outside")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_f64().is_some_and(|x| x != 0.0))
                .map(|(k, v)| format!("{k} {}", plain(v)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    ShownZone {
        postpaid: q("postpaid"),
        prepaid: q("prepaid"),
        spot_cores: q("spot_cores"),
        used_outside,
        stock: zs
            .get("stock")
            .filter(|v| !is_empty(v))
            .map(plain)
            .unwrap_or_else(|| "ample".into()),
        not_offered: zs
            .get("not_offered")
            .filter(|v| !is_empty(v))
            .map(plain)
            .unwrap_or_default(),
    }
}

fn workload(w: &Value) -> ShownWorkload {
    let get = |k: &str| w.get(k).map(plain).unwrap_or_default();
    let mut charge = get("charge_type");
    if charge == "PREPAID"
        && let Some(p) = w.get("period_months")
    {
        charge = format!("PREPAID, {} month(s)", plain(p));
    }
    // Policies other than `weighted` ignore the weights: show the policy and the zones.
    let policy = w
        .get("placement")
        .and_then(Value::as_str)
        .filter(|p| *p != "weighted");
    let zones = match w.get("zones") {
        Some(z) if policy.is_some() => format!(
            "{}: {}",
            policy.unwrap_or_default().replace('_', " "),
            z.as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ),
        Some(z) => shares(z),
        None => String::new(),
    };
    ShownWorkload {
        name: get("name"),
        charge,
        arrivals: tagged(w.get("arrival")),
        lifetime: tagged(w.get("lifetime")),
        types: w.get("types").map(shares).unwrap_or_default(),
        zones,
        per_request: get("instances_per_request"),
    }
}

/// A settings value as short text: strings bare, numbers without a trailing `.0`, lists
/// joined, tables as `key value` pairs.
fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => n.as_f64().map(fmt_num).unwrap_or_else(|| n.to_string()),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k} {}", plain(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A tagged table (`{ dist = "lognormal", median = "2h", sigma = 1 }`) as
/// `lognormal (median 2h, sigma 1)`.
fn tagged(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return v.map(plain).unwrap_or_default();
    };
    let tag = ["dist", "process"]
        .iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str));
    let rest: Vec<String> = m
        .iter()
        .filter(|(k, v)| !matches!(k.as_str(), "dist" | "process") && !v.is_null())
        .map(|(k, v)| format!("{} {}", k.replace('_', " "), plain(v)))
        .collect();
    match (tag, rest.is_empty()) {
        (Some(t), true) => t.to_string(),
        (Some(t), false) => format!("{t} ({})", rest.join(", ")),
        (None, _) => rest.join(", "),
    }
}

/// Weights (`{ a = 3, b = 1 }`) as shares: `a 75%, b 25%`.
fn shares(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return plain(v);
    };
    let sum: f64 = m.values().filter_map(Value::as_f64).sum();
    m.iter()
        .map(|(k, w)| match w.as_f64() {
            Some(x) if sum > 0.0 => format!("{k} {}", pct(x, sum)),
            _ => k.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number without a trailing `.0`.
fn fmt_num(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn pct(part: f64, whole: f64) -> String {
    if whole > 0.0 && part.is_finite() {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "–".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_as_text() {
        let v: Value = serde_json::json!({"dist": "lognormal", "median": "2h", "sigma": 1.0});
        assert_eq!(tagged(Some(&v)), "lognormal (median 2h, sigma 1)");
        let v: Value = serde_json::json!({"process": "poisson", "rate_per_hour": 600.0});
        assert_eq!(tagged(Some(&v)), "poisson (rate per hour 600)");
        let v: Value = serde_json::json!({"S5.LARGE8": 1.0, "S5.MEDIUM4": 3.0});
        assert_eq!(shares(&v), "S5.LARGE8 25.0%, S5.MEDIUM4 75.0%");
    }

    #[test]
    fn the_quickstart_as_written() {
        let s = crate::scenario::quickstart().shown();
        assert_eq!(s.api_preset.as_deref(), Some("per-minute-2018"));
        assert_eq!(s.launch_failure_probability.as_deref(), Some("0.001"));
        // `quota = { postpaid = 500 }` in ap-guangzhou-3 (the first zone, in name order) and
        // 160 S5.2XLARGE16 in ap-shanghai-2.
        assert_eq!(s.zones.len(), 4);
        assert_eq!(s.zones[0].postpaid, "500");
        assert_eq!(s.zones[0].prepaid, "unlimited");
        assert_eq!(s.zones[2].stock, "S5.2XLARGE16 160");
        let web = &s.workloads[0];
        assert_eq!(web.name, "web");
        assert_eq!(web.lifetime, "lognormal (median 2h, sigma 1)");
        assert_eq!(web.types, "S5.LARGE8 25.0%, S5.MEDIUM4 75.0%");
        assert_eq!(
            s.workloads[1].zones,
            "round robin: ap-guangzhou-4, ap-shanghai-4"
        );
    }
}
