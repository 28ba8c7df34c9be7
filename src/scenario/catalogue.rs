//! The catalogue: zones and their quotas, instance types and their prices (the illustrative
//! catalogue, replaced by `prices_file`, replaced by `[prices]`), disk and network prices, and
//! each zone's stock.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cloud::capacity::ZoneQuota;
use crate::cloud::catalog::{
    Catalog, InstanceType, TypePrice, Zone, illustrative_price, known_zone_id, parse_instance_type,
    region_of_zone,
};
use crate::cloud::pricing::{AttachmentPrices, DiskPrice, DiskType, Ladder};
use crate::cloud::{TypeIdx, ZoneIdx};

use super::load::{Fail, ScenarioError, scenario_relative};
use super::names::Names;
use super::schema::{PriceSettings, ScenarioFile};
use super::values::{MAX_PRICE, ladder_of, parse_price, to_micros};

/// Zones with their quotas, and types with their prices.
pub(super) fn resolve_catalogue(
    f: &ScenarioFile,
    dir: &Path,
    fail: Fail<'_>,
) -> Result<(Catalog, Vec<ZoneQuota>), ScenarioError> {
    // Zones.
    let mut zones = Vec::new();
    let mut quotas = Vec::new();
    for (name, z) in &f.zones {
        let region = region_of_zone(name).ok_or_else(|| {
            fail(
                &format!("zones.{name}"),
                "a zone name is <region>-<number>, e.g. ap-guangzhou-3".into(),
            )
        })?;
        let zone_id = match (z.zone_id, known_zone_id(name)) {
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => {
                return Err(fail(
                    &format!("zones.{name}.zone_id"),
                    format!("`{name}` is not a zone CVM documents; give its numeric zone_id"),
                ));
            }
        };
        zones.push(Zone {
            name: name.clone(),
            zone_id,
            region: region.to_string(),
        });
        let q = &z.quota;
        quotas.push(ZoneQuota {
            postpaid: q.postpaid,
            prepaid: q.prepaid,
            prepaid_once: q.prepaid_once,
            spot_cores: q.spot_cores,
            used_outside: [
                q.used_outside.prepaid,
                q.used_outside.postpaid,
                q.used_outside.spot_cores,
            ],
        });
    }
    // Types and prices: the illustrative catalogue, replaced by `prices_file`, replaced by
    // `[prices]`.
    let file_prices = match &f.prices_file {
        None => PriceFile::default(),
        Some(file) => {
            let path = scenario_relative(dir, file);
            read_price_file(&path).map_err(|m| fail("prices_file", m))?
        }
    };
    // Prepaid ladders: per family in `[billing]`, else the price file's, else
    // `prepaid_discount_percent` for all families, else the published ladders.
    let all_ladder = match &f.billing.prepaid_discount_percent {
        None => None,
        Some(t) => Some(ladder_of(t, "billing.prepaid_discount_percent", &fail)?),
    };
    let mut family_ladders = BTreeMap::new();
    for (fam, t) in &f.billing.prepaid_discount_by_family {
        let field = format!("billing.prepaid_discount_by_family.{fam}");
        family_ladders.insert(fam.clone(), ladder_of(t, &field, &fail)?);
    }
    let ladder_for = |family: &str| -> Ladder {
        family_ladders
            .get(family)
            .or(file_prices.ladders.get(family))
            .or(all_ladder.as_ref())
            .cloned()
            .unwrap_or_else(|| Ladder::published_for_family(family))
    };
    let mut types = Vec::new();
    let mut prices = Vec::new();
    for (i, name) in f.instance_types.iter().enumerate() {
        let t = parse_instance_type(name).map_err(|m| fail(&format!("instance_types[{i}]"), m))?;
        if types.iter().any(|x: &InstanceType| x.name == t.name) {
            return Err(fail(
                &format!("instance_types[{i}]"),
                format!("`{name}` is listed twice"),
            ));
        }
        let price = match f.prices.get(name).or(file_prices.types.get(name)) {
            None => illustrative_price(&t),
            Some(p) => {
                if !(p.postpaid_hourly.is_finite()
                    && (0.0..=MAX_PRICE).contains(&p.postpaid_hourly))
                {
                    return Err(fail(
                        &format!("prices.{name}.postpaid_hourly"),
                        format!("must be a price from 0 to {MAX_PRICE}"),
                    ));
                }
                if let Some(m) = p.prepaid_monthly
                    && !(m.is_finite() && (0.0..=MAX_PRICE).contains(&m))
                {
                    return Err(fail(
                        &format!("prices.{name}.prepaid_monthly"),
                        format!("must be a price from 0 to {MAX_PRICE}"),
                    ));
                }
                let ill = illustrative_price(&t);
                TypePrice {
                    postpaid_hourly: to_micros(p.postpaid_hourly),
                    prepaid_monthly: p.prepaid_monthly.map(to_micros).unwrap_or(
                        ill.prepaid_monthly * to_micros(p.postpaid_hourly)
                            / ill.postpaid_hourly.max(1),
                    ),
                    tiered: p.tiered,
                    ladder: Ladder::default(),
                }
            }
        };
        let price = TypePrice {
            ladder: ladder_for(&t.family),
            ..price
        };
        types.push(t);
        prices.push(price);
    }
    for name in f.prices.keys() {
        if !f.instance_types.contains(name) {
            return Err(fail(
                &format!("prices.{name}"),
                format!("`{name}` is not in instance_types"),
            ));
        }
    }
    let cat = Catalog {
        zones,
        types,
        prices,
        spot_fraction: f.cloud.spot_price_fraction.0,
        disk_gib_hourly: to_micros(f.cloud.disk_price_per_gib_hour),
        disk_gib: f.cloud.disk_gib,
        currency: f.cloud.currency.clone(),
        attach: attachment_prices(f, &file_prices, fail)?,
    };
    Ok((cat, quotas))
}

/// (zone, type, capacity in instances), and the (zone, type) pairs not offered.
type Stock = (Vec<(ZoneIdx, TypeIdx, u32)>, Vec<(ZoneIdx, TypeIdx)>);

/// Each zone's stock (instances per type) and the types it does not offer.
pub(super) fn resolve_stock(f: &ScenarioFile, names: &Names<'_>) -> Result<Stock, ScenarioError> {
    let mut stock = Vec::new();
    let mut not_offered = Vec::new();
    for (zname, z) in &f.zones {
        let zi = names.cat.zone_index(zname).expect("zone just added");
        for (tname, &cap) in &z.stock {
            let ti = names.itype(&format!("zones.{zname}.stock.{tname}"), tname)?;
            stock.push((zi, ti, cap));
        }
        for (i, tname) in z.not_offered.iter().enumerate() {
            let ti = names.itype(&format!("zones.{zname}.not_offered[{i}]"), tname)?;
            not_offered.push((zi, ti));
        }
    }
    Ok((stock, not_offered))
}

/// Reads a price file: CSV with a header naming `instance_type`, `postpaid_hourly` and
/// optionally `prepaid_monthly` and `tiered` (true/false), prices in the scenario's currency.
/// Types the scenario does not use are ignored, so one file can hold a whole price list.
fn read_price_file(path: &Path) -> Result<PriceFile, String> {
    let shown = path.display();
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let head = r.headers().map_err(|e| format!("`{shown}`: {e}"))?.clone();
    let col = |name: &str| head.iter().position(|h| h == name);
    let (Some(ty), Some(post)) = (col("instance_type"), col("postpaid_hourly")) else {
        return Err(format!(
            "`{shown}`: the header must name instance_type and postpaid_hourly (and may name \
             prepaid_monthly, tiered)"
        ));
    };
    let (pre, tier) = (col("prepaid_monthly"), col("tiered"));
    let ladder_col = col("prepaid_discount");
    let mut out = PriceFile::default();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("`{shown}`:{line}: {e}"))?;
        let cell = |c: usize| rec.get(c).unwrap_or("").to_string();
        let num = |c: usize, what: &str| -> Result<f64, String> {
            let v = cell(c);
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    format!("`{shown}`:{line}: {what} `{v}` is not a price of zero or more")
                })
        };
        let name = cell(ty);
        let postpaid_hourly = num(post, "postpaid_hourly")?;
        let prepaid_monthly = match pre {
            Some(c) if !cell(c).is_empty() => Some(num(c, "prepaid_monthly")?),
            _ => None,
        };
        if let Some(d) = DiskType::parse(&name) {
            // A disk type's row: prices per GiB-hour and per GiB-month.
            let monthly = prepaid_monthly.ok_or_else(|| {
                format!("`{shown}`:{line}: disk type {name} needs prepaid_monthly (per GiB-month)")
            })?;
            out.disks.insert(
                d,
                DiskPrice {
                    gib_hourly: to_micros(postpaid_hourly),
                    gib_monthly: to_micros(monthly),
                },
            );
            continue;
        }
        if let Some(c) = ladder_col
            && !cell(c).is_empty()
        {
            let ladder = Ladder::parse(&cell(c))
                .map_err(|e| format!("`{shown}`:{line}: prepaid_discount: {e}"))?;
            let family = name.split('.').next().unwrap_or("").to_string();
            if let Some(old) = out.ladders.get(&family)
                && *old != ladder
            {
                return Err(format!(
                    "`{shown}`:{line}: prepaid_discount of family {family} differs from an \
                     earlier row's (the ladder is per family)"
                ));
            }
            out.ladders.insert(family, ladder);
        }
        let tiered = match tier.map(cell).as_deref() {
            None | Some("") => true,
            Some("true") => true,
            Some("false") => false,
            Some(o) => {
                return Err(format!(
                    "`{shown}`:{line}: tiered `{o}` is not true or false"
                ));
            }
        };
        out.types.insert(
            name,
            PriceSettings {
                postpaid_hourly,
                prepaid_monthly,
                tiered,
            },
        );
    }
    Ok(out)
}

/// The catalogue's disk and network prices: the illustrative ones, replaced by the price
/// file's disk rows, replaced by `[cloud.disk_prices]` and `[cloud.bandwidth]`.
fn attachment_prices(
    f: &ScenarioFile,
    file: &PriceFile,
    fail: Fail<'_>,
) -> Result<AttachmentPrices, ScenarioError> {
    let mut a = AttachmentPrices::default();
    let price = |x: f64, field: &str| -> Result<u64, ScenarioError> {
        parse_price(Some(x), field, fail).map(|p| p.unwrap_or(0))
    };
    for (d, p) in &file.disks {
        if let Some(slot) = a.disks.iter_mut().find(|(t, _)| t == d) {
            slot.1 = *p;
        }
    }
    for (name, p) in &f.cloud.disk_prices {
        let field = format!("cloud.disk_prices.{name}");
        let d = DiskType::parse(name).ok_or_else(|| {
            fail(
                &field,
                format!(
                    "`{name}` is not a cloud disk type; use {}",
                    DiskType::ALL.map(|t| t.as_str()).join(", ")
                ),
            )
        })?;
        let p = DiskPrice {
            gib_hourly: price(
                p.postpaid_per_gib_hour,
                &format!("{field}.postpaid_per_gib_hour"),
            )?,
            gib_monthly: price(
                p.prepaid_per_gib_month,
                &format!("{field}.prepaid_per_gib_month"),
            )?,
        };
        if let Some(slot) = a.disks.iter_mut().find(|(t, _)| *t == d) {
            slot.1 = p;
        }
    }
    if let Some(t) = &f.billing.disk_prepaid_discount_percent {
        a.disk_ladder = ladder_of(t, "billing.disk_prepaid_discount_percent", fail)?;
    }
    let b = &f.cloud.bandwidth;
    let bw = &mut a.bandwidth;
    if let Some(x) = b.postpaid_per_mbps_hour {
        bw.hourly_per_mbps = price(x, "cloud.bandwidth.postpaid_per_mbps_hour")?;
    }
    if let Some(x) = b.postpaid_per_mbps_hour_above {
        bw.hourly_per_mbps_above = price(x, "cloud.bandwidth.postpaid_per_mbps_hour_above")?;
    }
    if let Some(x) = b.tier_mbps {
        bw.tier_mbps = x;
    }
    if let Some(x) = b.traffic_per_gb {
        bw.per_gb = price(x, "cloud.bandwidth.traffic_per_gb")?;
    }
    if let Some(steps) = &b.prepaid_per_mbps_month {
        let field = "cloud.bandwidth.prepaid_per_mbps_month";
        if steps.first().map(|s| s.0) != Some(0) || steps.windows(2).any(|w| w[1].0 <= w[0].0) {
            return Err(fail(
                field,
                "steps must start at 0 Mbps and rise, e.g. [[0, 20], [2, 25], [5, 90]]".into(),
            ));
        }
        bw.monthly_per_mbps = steps
            .iter()
            .map(|&(m, p)| price(p, field).map(|p| (m, p)))
            .collect::<Result<_, _>>()?;
    }
    Ok(a)
}

/// What a price file holds: type prices, family ladders, disk prices.
#[derive(Default)]
struct PriceFile {
    types: BTreeMap<String, PriceSettings>,
    ladders: BTreeMap<String, Ladder>,
    disks: BTreeMap<DiskType, DiskPrice>,
}
