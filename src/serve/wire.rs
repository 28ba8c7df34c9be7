//! CVM's JSON, both ways: a call's parameters (field names of API 2017-03-12, as the SDKs
//! send them) into the control plane's [`Request`], and its [`Response`] into CVM's response
//! models (`InstanceSet`, `AccountQuotaOverview`, `InstanceTypeQuotaSet`, ...).
//!
//! Fields CVM has and fleetsim does not model (images, networks, disks, names, tags) are
//! accepted and ignored; a field CVM does not have is `UnknownParameter`, as CVM answers.

use serde_json::{Map, Value, json};

use super::CvmError;
use crate::cloud::Cloud;
use crate::cloud::api::{
    Action, Filter, InstanceRef, InstanceRefs, ItemQuote, Request, Response, RunInstances,
};
use crate::cloud::catalog::{Catalog, ChargeType, TypeIdx, ZoneIdx};
use crate::cloud::instance::{RenewFlag, StoppedMode};
use crate::cloud::money::Money;
use crate::cloud::pricing::{Attachments, DiskSpec, DiskType, InternetChargeType, InternetSpec};

/// The parameters each action takes: the ones fleetsim reads and the ones it accepts and
/// ignores. Anything else is `UnknownParameter`.
fn known_fields(action: Action) -> &'static [&'static str] {
    match action {
        Action::RunInstances => &[
            "Placement",
            "InstanceChargeType",
            "InstanceChargePrepaid",
            "InstanceType",
            "InstanceCount",
            "MinCount",
            "ClientToken",
            "DryRun",
            "InstanceMarketOptions",
            "SystemDisk",
            "DataDisks",
            "InternetAccessible",
            // Accepted and ignored: fleetsim models no images, private networks or metadata.
            "ImageId",
            "VirtualPrivateCloud",
            "InstanceName",
            "LoginSettings",
            "SecurityGroupIds",
            "EnhancedService",
            "HostName",
            "ActionTimer",
            "DisasterRecoverGroupIds",
            "TagSpecification",
            "UserData",
            "Metadata",
            "CamRoleName",
            "HpcClusterId",
            "LaunchTemplate",
            "DedicatedClusterId",
            "ChcIds",
            "DisableApiTermination",
            "EnableJumboFrame",
            "ProjectId",
        ],
        Action::StartInstances => &["InstanceIds"],
        Action::StopInstances => &["InstanceIds", "ForceStop", "StopType", "StoppedMode"],
        Action::RebootInstances => &["InstanceIds", "ForceReboot", "StopType"],
        Action::TerminateInstances => &["InstanceIds", "ReleasePrepaidDataDisks"],
        Action::ResetInstancesType => &["InstanceIds", "InstanceType", "ForceStop"],
        Action::RenewInstances => &[
            "InstanceIds",
            "InstanceChargePrepaid",
            "RenewPortableDataDisk",
        ],
        Action::ModifyInstancesChargeType => &[
            "InstanceIds",
            "InstanceChargeType",
            "InstanceChargePrepaid",
            "ModifyPortableDataDisk",
        ],
        Action::DescribeInstances => &["InstanceIds", "Filters", "Offset", "Limit"],
        Action::DescribeAccountQuota
        | Action::DescribeZoneInstanceConfigInfos
        | Action::DescribeInstanceTypeConfigs => &["Filters"],
        Action::DescribeInstancesStatus => &["InstanceIds", "Offset", "Limit"],
        Action::ModifyInstancesRenewFlag => &["InstanceIds", "RenewFlag"],
        Action::DescribeZones | Action::DescribeRegions => &[],
        // models.go's InquiryPrice*Request fields.
        Action::InquiryPriceRunInstances => &[
            "Placement",
            "InstanceChargeType",
            "InstanceChargePrepaid",
            "InstanceType",
            "InstanceCount",
            "ClientToken",
            "InstanceMarketOptions",
            "SystemDisk",
            "DataDisks",
            "InternetAccessible",
            // Accepted and ignored, as for RunInstances.
            "ImageId",
            "VirtualPrivateCloud",
            "InstanceName",
            "LoginSettings",
            "SecurityGroupIds",
            "EnhancedService",
            "HostName",
            "TagSpecification",
            "Metadata",
            "HpcClusterId",
            "CpuTopology",
            "LaunchTemplate",
            "NetworkInterfaces",
        ],
        // DryRun: an inquiry changes nothing, so there is nothing for a dry run to spare.
        Action::InquiryPriceRenewInstances => &[
            "InstanceIds",
            "InstanceChargePrepaid",
            "DryRun",
            "RenewPortableDataDisk",
        ],
        Action::InquiryPriceResetInstancesType => &["InstanceIds", "InstanceType"],
        Action::InquiryPriceTerminateInstances => &["InstanceIds"],
        Action::InquiryPriceModifyInstancesChargeType => &[
            "InstanceIds",
            "InstanceChargeType",
            "InstanceChargePrepaid",
            "ModifyPortableDataDisk",
        ],
    }
}

fn invalid(field: &str, what: impl std::fmt::Display) -> CvmError {
    CvmError::new("InvalidParameter", format!("{field}: {what}"))
}

fn invalid_value(field: &str, what: impl std::fmt::Display) -> CvmError {
    CvmError::new("InvalidParameterValue", format!("{field}: {what}"))
}

/// Reads the fields of one object, with CVM's errors for missing and mistyped ones.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// Dotted path of the object, for messages (`InstanceChargePrepaid.`).
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    fn name(&self, f: &str) -> String {
        format!("{}{f}", self.prefix)
    }
    fn get(&self, f: &str) -> Option<&'a Value> {
        self.map.get(f).filter(|v| !v.is_null())
    }
    fn str(&self, f: &str) -> Result<Option<&'a str>, CvmError> {
        match self.get(f) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(invalid(&self.name(f), format!("must be a string, not {v}"))),
        }
    }
    fn req_str(&self, f: &str) -> Result<&'a str, CvmError> {
        self.str(f)?.ok_or_else(|| missing(&self.name(f)))
    }
    fn int(&self, f: &str) -> Result<Option<i64>, CvmError> {
        match self.get(f) {
            None => Ok(None),
            Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
            Some(v) => Err(invalid(
                &self.name(f),
                format!("must be an integer, not {v}"),
            )),
        }
    }
    /// A non-negative integer that fits in u32.
    fn u32(&self, f: &str) -> Result<Option<u32>, CvmError> {
        match self.int(f)? {
            None => Ok(None),
            Some(n) => u32::try_from(n)
                .map(Some)
                .map_err(|_| invalid_value(&self.name(f), format!("{n} is out of range"))),
        }
    }
    fn bool(&self, f: &str) -> Result<Option<bool>, CvmError> {
        match self.get(f) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(invalid(
                &self.name(f),
                format!("must be true or false, not {v}"),
            )),
        }
    }
    fn object(&self, f: &str) -> Result<Option<&'a Map<String, Value>>, CvmError> {
        match self.get(f) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(invalid(
                &self.name(f),
                format!("must be an object, not {v}"),
            )),
        }
    }
    fn array(&self, f: &str) -> Result<Option<&'a Vec<Value>>, CvmError> {
        match self.get(f) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(invalid(&self.name(f), format!("must be an array, not {v}"))),
        }
    }
    fn strings(&self, f: &str) -> Result<Vec<String>, CvmError> {
        let Some(a) = self.array(f)? else {
            return Ok(Vec::new());
        };
        a.iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                v => Err(invalid(
                    &format!("{}.{i}", self.name(f)),
                    format!("must be a string, not {v}"),
                )),
            })
            .collect()
    }
}

fn missing(field: &str) -> CvmError {
    CvmError::new(
        "MissingParameter",
        format!("the parameter {field} is required"),
    )
}

/// What to keep of an answer that the control plane computes account-wide: the call's region
/// and the caller's filters that the control plane does not take.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub region: String,
    /// Zones named by a `zone` filter (empty: all of the region's).
    pub zones: Vec<String>,
    pub types: Vec<String>,
    pub families: Vec<String>,
    pub charges: Vec<String>,
}

impl Scope {
    fn keeps_zone(&self, cat: &Catalog, z: ZoneIdx) -> bool {
        let zone = cat.zone(z);
        zone.region == self.region && (self.zones.is_empty() || self.zones.contains(&zone.name))
    }
}

/// A call parsed for the control plane.
pub struct Parsed {
    pub request: Request,
    pub scope: Scope,
}

fn charge_type(field: &str, s: &str) -> Result<ChargeType, CvmError> {
    match s {
        "PREPAID" => Ok(ChargeType::Prepaid),
        "POSTPAID_BY_HOUR" => Ok(ChargeType::PostpaidByHour),
        "SPOTPAID" => Ok(ChargeType::Spotpaid),
        _ => Err(invalid_value(
            field,
            format!("`{s}` is not PREPAID, POSTPAID_BY_HOUR or SPOTPAID"),
        )),
    }
}

/// An `InstanceType` the catalogue sells. The code is the one the action's SDK list has for
/// an unknown type: RunInstances `InvalidParameterValue.InstanceTypeNotFound`,
/// ResetInstancesType (whose list lacks it) `ResourceNotFound.InvalidZoneInstanceType`.
fn instance_type(action: Action, cat: &Catalog, s: &str) -> Result<TypeIdx, CvmError> {
    cat.type_index(s).ok_or_else(|| {
        CvmError::new(
            match action {
                Action::ResetInstancesType => "ResourceNotFound.InvalidZoneInstanceType",
                Action::InquiryPriceResetInstancesType => "ResourceUnavailable.InstanceType",
                _ => "InvalidParameterValue.InstanceTypeNotFound",
            },
            format!("InstanceType `{s}` is not sold in this simulated account"),
        )
    })
}

fn zone_in_region(cat: &Catalog, region: &str, s: &str) -> Result<ZoneIdx, CvmError> {
    match cat.zone_index(s) {
        Some(z) if cat.zone(z).region == region => Ok(z),
        Some(_) => Err(CvmError::new(
            "InvalidZone.MismatchRegion",
            format!("zone `{s}` is not in region {region}"),
        )),
        None => Err(CvmError::new(
            "InvalidParameterValue.ZoneNotSupported",
            format!("zone `{s}` is not offered in this simulated account"),
        )),
    }
}

/// `InstanceChargePrepaid`: (Period, RenewFlag).
fn prepaid(f: &Fields<'_>) -> Result<(Option<u32>, Option<RenewFlag>), CvmError> {
    let Some(m) = f.object("InstanceChargePrepaid")? else {
        return Ok((None, None));
    };
    let p = Fields {
        map: m,
        prefix: "InstanceChargePrepaid.",
    };
    let period = p.u32("Period")?;
    let flag = match p.str("RenewFlag")? {
        None => None,
        Some(s) => Some(RenewFlag::parse(s).ok_or_else(|| {
            invalid_value(
                "InstanceChargePrepaid.RenewFlag",
                format!(
                    "`{s}` is not NOTIFY_AND_AUTO_RENEW, NOTIFY_AND_MANUAL_RENEW or \
                     DISABLE_NOTIFY_AND_MANUAL_RENEW"
                ),
            )
        })?),
    };
    Ok((period, flag))
}

fn ids(f: &Fields<'_>) -> Result<InstanceRefs, CvmError> {
    if f.get("InstanceIds").is_none() {
        return Err(missing("InstanceIds"));
    }
    Ok(f.strings("InstanceIds")?
        .into_iter()
        .map(InstanceRef::Text)
        .collect())
}

fn filters(f: &Fields<'_>) -> Result<Vec<(String, Vec<String>)>, CvmError> {
    let Some(a) = f.array("Filters")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, v) in a.iter().enumerate() {
        let prefix = format!("Filters.{i}.");
        let Value::Object(m) = v else {
            return Err(invalid(&format!("Filters.{i}"), "must be an object"));
        };
        let ff = Fields {
            map: m,
            prefix: &prefix,
        };
        let name = ff.req_str("Name")?.to_string();
        let values = ff.strings("Values")?;
        out.push((name, values));
    }
    Ok(out)
}

/// A `MaxPrice` string (currency per hour) in micro-units.
fn max_price(s: &str) -> Result<u64, CvmError> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok((x * 1e6).round() as u64),
        _ => Err(invalid_value(
            "InstanceMarketOptions.SpotOptions.MaxPrice",
            format!("`{s}` is not a price"),
        )),
    }
}

/// Disk type of a `SystemDisk` or `DataDisks` item that names none.
const DEFAULT_DISK_TYPE: DiskType = DiskType::CloudPremium;
/// `SystemDisk.DiskSize` when not given, GiB (CVM's default).
const DEFAULT_SYSTEM_DISK_GIB: u32 = 50;

fn disk(
    m: &Map<String, Value>,
    prefix: &str,
    default_size: Option<u32>,
) -> Result<DiskSpec, CvmError> {
    let f = Fields { map: m, prefix };
    let disk_type = match f.str("DiskType")? {
        None => DEFAULT_DISK_TYPE,
        Some(s) => DiskType::parse(s).ok_or_else(|| {
            invalid_value(
                &f.name("DiskType"),
                format!(
                    "`{s}` is not a cloud disk type ({})",
                    DiskType::ALL.map(|t| t.as_str()).join(", ")
                ),
            )
        })?,
    };
    let size = match (f.u32("DiskSize")?, default_size) {
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => return Err(missing(&f.name("DiskSize"))),
    };
    if !(1..=32_000).contains(&size) {
        return Err(invalid_value(
            &f.name("DiskSize"),
            format!("{size} GiB: a disk is 1 to 32000 GiB"),
        ));
    }
    Ok(DiskSpec {
        disk_type,
        disk_size: size,
    })
}

/// `SystemDisk`, `DataDisks` and `InternetAccessible` of a RunInstances, priced by the
/// control plane (`None`: none given).
fn attachments(f: &Fields<'_>, charge: ChargeType) -> Result<Option<Attachments>, CvmError> {
    let mut a = Attachments::default();
    if let Some(m) = f.object("SystemDisk")? {
        a.system_disk = Some(disk(m, "SystemDisk.", Some(DEFAULT_SYSTEM_DISK_GIB))?);
    }
    if let Some(disks) = f.array("DataDisks")? {
        if disks.len() > 20 {
            return Err(invalid_value(
                "DataDisks",
                format!("{} data disks: at most 20", disks.len()),
            ));
        }
        for (i, d) in disks.iter().enumerate() {
            let prefix = format!("DataDisks.{i}.");
            let Value::Object(m) = d else {
                return Err(invalid(&format!("DataDisks.{i}"), "must be an object"));
            };
            a.data_disks.push(disk(m, &prefix, None)?);
        }
    }
    if let Some(m) = f.object("InternetAccessible")? {
        let n = Fields {
            map: m,
            prefix: "InternetAccessible.",
        };
        let net_charge = match n.str("InternetChargeType")? {
            None => InternetChargeType::BandwidthPostpaidByHour,
            Some(s) => InternetChargeType::parse(s).ok_or_else(|| {
                invalid_value(
                    "InternetAccessible.InternetChargeType",
                    format!(
                        "`{s}`: BANDWIDTH_POSTPAID_BY_HOUR, TRAFFIC_POSTPAID_BY_HOUR or \
                         BANDWIDTH_PREPAID (BANDWIDTH_PACKAGE is not modelled)"
                    ),
                )
            })?,
        };
        if net_charge == InternetChargeType::BandwidthPrepaid && charge != ChargeType::Prepaid {
            return Err(invalid_value(
                "InternetAccessible.InternetChargeType",
                format!("BANDWIDTH_PREPAID needs a PREPAID instance, not {charge}"),
            ));
        }
        let mbps = n.u32("InternetMaxBandwidthOut")?.unwrap_or(0);
        // 0 Mbps is no public network, as in CVM.
        if mbps > 0 {
            a.internet = Some(InternetSpec {
                charge: net_charge,
                max_bandwidth_out: mbps,
                // As a scenario's default: 0.045 GB an hour per Mbps while RUNNING.
                traffic_mgb_per_hour: (mbps as f64 * 0.045 * 1000.0).round() as u64,
            });
        }
    }
    Ok((!a.is_empty()).then_some(a))
}

/// The parameters of a RunInstances (or of its price inquiry, whose fields lack MinCount and
/// DryRun: absent, they read as not given).
fn run_instances(f: &Fields<'_>, region: &str, cat: &Catalog) -> Result<RunInstances, CvmError> {
    let placement = f.object("Placement")?.ok_or_else(|| missing("Placement"))?;
    let zone = Fields {
        map: placement,
        prefix: "Placement.",
    }
    .req_str("Zone")?;
    let zone = zone_in_region(cat, region, zone)?;
    let itype = instance_type(Action::RunInstances, cat, f.req_str("InstanceType")?)?;
    let mut charge = match f.str("InstanceChargeType")? {
        None => ChargeType::PostpaidByHour,
        Some(s) => charge_type("InstanceChargeType", s)?,
    };
    let mut max = None;
    if let Some(m) = f.object("InstanceMarketOptions")? {
        let mo = Fields {
            map: m,
            prefix: "InstanceMarketOptions.",
        };
        match mo.str("MarketType")? {
            None | Some("spot") => {}
            Some(other) => {
                return Err(invalid_value(
                    "InstanceMarketOptions.MarketType",
                    format!("`{other}` is not `spot`"),
                ));
            }
        }
        if let Some(so) = mo.object("SpotOptions")? {
            let so = Fields {
                map: so,
                prefix: "InstanceMarketOptions.SpotOptions.",
            };
            max = so.str("MaxPrice")?.map(max_price).transpose()?;
        }
        charge = ChargeType::Spotpaid;
    }
    let (period, flag) = prepaid(f)?;
    if charge == ChargeType::Prepaid && period.is_none() {
        return Err(missing("InstanceChargePrepaid.Period"));
    }
    Ok(RunInstances {
        zone,
        itype,
        charge,
        count: f.u32("InstanceCount")?.unwrap_or(1),
        min_count: f.u32("MinCount")?,
        dry_run: f.bool("DryRun")?.unwrap_or(false),
        period_months: period.unwrap_or(0),
        renew_flag: flag.unwrap_or_default(),
        max_price: max,
        client_token: f.str("ClientToken")?.map(str::to_string),
        attach: attachments(f, charge)?.map(std::sync::Arc::new),
    })
}

/// Parses one call. `region` is its `X-TC-Region`, already known to the catalogue.
pub fn parse(
    action: Action,
    region: &str,
    params: &Map<String, Value>,
    cat: &Catalog,
) -> Result<Parsed, CvmError> {
    let known = known_fields(action);
    if let Some(k) = params.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(CvmError::new(
            "UnknownParameter",
            format!("{} takes no parameter `{k}`", action.as_str()),
        ));
    }
    let f = Fields {
        map: params,
        prefix: "",
    };
    let mut scope = Scope {
        region: region.to_string(),
        ..Default::default()
    };
    let request = match action {
        Action::RunInstances => Request::RunInstances(run_instances(&f, region, cat)?),
        Action::InquiryPriceRunInstances => {
            Request::InquiryPriceRunInstances(run_instances(&f, region, cat)?)
        }
        Action::StartInstances => Request::StartInstances { ids: ids(&f)? },
        Action::StopInstances => {
            if let Some(s) = f.str("StopType")?
                && !matches!(s, "SOFT" | "HARD" | "SOFT_FIRST")
            {
                return Err(invalid_value(
                    "StopType",
                    format!("`{s}` is not SOFT, HARD or SOFT_FIRST"),
                ));
            }
            f.bool("ForceStop")?;
            let stopped_mode = match f.str("StoppedMode")? {
                None | Some("KEEP_CHARGING") => StoppedMode::KeepCharging,
                Some("STOP_CHARGING") => StoppedMode::StopCharging,
                Some(s) => {
                    return Err(invalid_value(
                        "StoppedMode",
                        format!("`{s}` is not KEEP_CHARGING or STOP_CHARGING"),
                    ));
                }
            };
            Request::StopInstances {
                ids: ids(&f)?,
                stopped_mode,
            }
        }
        Action::RebootInstances => Request::RebootInstances { ids: ids(&f)? },
        Action::TerminateInstances => Request::TerminateInstances { ids: ids(&f)? },
        Action::ResetInstancesType => Request::ResetInstancesType {
            ids: ids(&f)?,
            itype: instance_type(action, cat, f.req_str("InstanceType")?)?,
            force_stop: f.bool("ForceStop")?.unwrap_or(false),
        },
        Action::RenewInstances => {
            let (period, _) = prepaid(&f)?;
            Request::RenewInstances {
                ids: ids(&f)?,
                period_months: period.ok_or_else(|| missing("InstanceChargePrepaid.Period"))?,
            }
        }
        Action::ModifyInstancesChargeType => {
            let charge = charge_type("InstanceChargeType", f.req_str("InstanceChargeType")?)?;
            let (period, _) = prepaid(&f)?;
            if charge == ChargeType::Prepaid && period.is_none() {
                return Err(missing("InstanceChargePrepaid.Period"));
            }
            Request::ModifyInstancesChargeType {
                ids: ids(&f)?,
                charge,
                period_months: period.unwrap_or(0),
            }
        }
        Action::DescribeInstances => {
            let ids = if f.get("InstanceIds").is_some() {
                ids(&f)?
            } else {
                InstanceRefs::new()
            };
            let mut fs: Vec<Filter> = filters(&f)?
                .into_iter()
                .map(|(name, values)| Filter { name, values })
                .collect();
            // CVM's limits on Filters are checked on what the caller sent, before the zone
            // filter is narrowed to the region below.
            if let Some(f) = fs.iter().find(|f| f.values.len() > 5) {
                return Err(CvmError::new(
                    "InvalidFilterValue.LimitExceeded",
                    format!(
                        "filter `{}` has {} values, at most 5",
                        f.name,
                        f.values.len()
                    ),
                ));
            }
            // The control plane lists the whole account; the call sees its region only.
            let region_zones: Vec<String> = cat
                .zones
                .iter()
                .filter(|z| z.region == region)
                .map(|z| z.name.clone())
                .collect();
            let room = fs.len() < 10;
            if ids.is_empty() {
                match fs.iter_mut().find(|f| f.name == "zone") {
                    // Zones of other regions match nothing here, as in CVM; an empty
                    // alternative would mean "no filter", so a name no zone has stands in.
                    Some(zf) => {
                        zf.values.retain(|v| region_zones.contains(v));
                        if zf.values.is_empty() {
                            zf.values.push(String::new());
                        }
                    }
                    None if region_zones.len() == cat.zones.len() => {}
                    // Room for one more filter of at most 5 values; otherwise the answer is
                    // cut to the region when rendered.
                    None if region_zones.len() <= 5 && room => fs.push(Filter {
                        name: "zone".into(),
                        values: region_zones,
                    }),
                    None => {}
                }
            }
            Request::DescribeInstances {
                ids,
                filters: fs,
                offset: f.u32("Offset")?.unwrap_or(0),
                limit: f.u32("Limit")?,
            }
        }
        Action::DescribeAccountQuota | Action::DescribeZoneInstanceConfigInfos => {
            for (name, values) in filters(&f)? {
                let slot = match (action, name.as_str()) {
                    (_, "zone") => &mut scope.zones,
                    (Action::DescribeZoneInstanceConfigInfos, "instance-type") => &mut scope.types,
                    (Action::DescribeZoneInstanceConfigInfos, "instance-family") => {
                        &mut scope.families
                    }
                    (Action::DescribeZoneInstanceConfigInfos, "instance-charge-type") => {
                        &mut scope.charges
                    }
                    (Action::DescribeAccountQuota, "quota-type") => &mut scope.charges,
                    _ => {
                        return Err(CvmError::new(
                            "InvalidFilter",
                            format!("{} has no filter `{name}`", action.as_str()),
                        ));
                    }
                };
                slot.extend(values);
            }
            if action == Action::DescribeAccountQuota {
                Request::DescribeAccountQuota { zone: None }
            } else {
                Request::DescribeZoneInstanceConfigInfos { zone: None }
            }
        }
        Action::DescribeInstancesStatus => {
            let ids = if f.get("InstanceIds").is_some() {
                ids(&f)?
            } else {
                InstanceRefs::new()
            };
            // The call sees its region's instances only.
            let zones = (0..cat.zones.len() as u16)
                .map(ZoneIdx)
                .filter(|&z| cat.zone(z).region == region)
                .collect();
            Request::DescribeInstancesStatus {
                ids,
                zones,
                offset: f.u32("Offset")?.unwrap_or(0),
                limit: f.u32("Limit")?,
            }
        }
        Action::ModifyInstancesRenewFlag => {
            let s = f.req_str("RenewFlag")?;
            let flag = RenewFlag::parse(s).ok_or_else(|| {
                invalid_value(
                    "RenewFlag",
                    format!(
                        "`{s}` is not NOTIFY_AND_AUTO_RENEW, NOTIFY_AND_MANUAL_RENEW or \
                         DISABLE_NOTIFY_AND_MANUAL_RENEW"
                    ),
                )
            })?;
            Request::ModifyInstancesRenewFlag {
                ids: ids(&f)?,
                flag,
            }
        }
        Action::InquiryPriceRenewInstances => {
            let (period, _) = prepaid(&f)?;
            f.bool("DryRun")?;
            f.bool("RenewPortableDataDisk")?;
            Request::InquiryPriceRenewInstances {
                ids: ids(&f)?,
                period_months: period.ok_or_else(|| missing("InstanceChargePrepaid.Period"))?,
            }
        }
        Action::InquiryPriceResetInstancesType => Request::InquiryPriceResetInstancesType {
            ids: ids(&f)?,
            itype: instance_type(action, cat, f.req_str("InstanceType")?)?,
        },
        Action::InquiryPriceTerminateInstances => {
            Request::InquiryPriceTerminateInstances { ids: ids(&f)? }
        }
        Action::InquiryPriceModifyInstancesChargeType => {
            let charge = charge_type("InstanceChargeType", f.req_str("InstanceChargeType")?)?;
            let (period, _) = prepaid(&f)?;
            if charge == ChargeType::Prepaid && period.is_none() {
                return Err(missing("InstanceChargePrepaid.Period"));
            }
            f.bool("ModifyPortableDataDisk")?;
            Request::InquiryPriceModifyInstancesChargeType {
                ids: ids(&f)?,
                charge,
                period_months: period.unwrap_or(0),
            }
        }
        Action::DescribeZones => Request::DescribeZones,
        Action::DescribeRegions => Request::DescribeRegions,
        Action::DescribeInstanceTypeConfigs => {
            let fs = filters(&f)?;
            if fs.len() > 10 {
                return Err(CvmError::new(
                    "InvalidParameterValue.LimitExceeded",
                    format!("{} filters given, at most 10", fs.len()),
                ));
            }
            for (name, values) in fs {
                // Each filter takes one value (models.go: `Filter.Values` 的上限为1).
                if values.len() > 1 {
                    return Err(CvmError::new(
                        "InvalidFilterValue.LimitExceeded",
                        format!("filter `{name}` takes one value, {} given", values.len()),
                    ));
                }
                let slot = match name.as_str() {
                    "zone" => {
                        for v in &values {
                            zone_in_region(cat, region, v)?;
                        }
                        &mut scope.zones
                    }
                    "instance-family" => &mut scope.families,
                    "instance-type" => &mut scope.types,
                    _ => {
                        return Err(CvmError::new(
                            "InvalidFilter",
                            format!("{} has no filter `{name}`", action.as_str()),
                        ));
                    }
                };
                slot.extend(values);
            }
            Request::DescribeInstanceTypeConfigs { zone: None }
        }
    };
    Ok(Parsed { request, scope })
}

/// What rendering an answer needs besides the answer.
pub struct Ctx<'a> {
    pub cloud: &'a Cloud,
    /// Unix seconds of simulated time 0.
    pub epoch: i64,
}

fn money(micro: u64) -> Value {
    json!((micro as f64 / 1e6 * 100.0).round() / 100.0)
}

/// The success body of a call (without `RequestId`).
pub fn render(resp: &Response, scope: &Scope, ctx: &Ctx<'_>) -> Map<String, Value> {
    let cat = &ctx.cloud.catalog;
    let mut out = Map::new();
    match resp {
        Response::Launched { ids, .. } => {
            out.insert(
                "InstanceIdSet".into(),
                ids.iter().map(|id| Value::String(id.to_string())).collect(),
            );
        }
        Response::Accepted => {}
        Response::Instances { total, items } => {
            let mut total = *total as i64;
            let mut set = Vec::new();
            for v in items {
                if cat.zone(v.zone).region != scope.region {
                    // Named by id from another region: CVM does not list it here.
                    total -= 1;
                    continue;
                }
                set.push(instance_json(v, ctx));
            }
            out.insert("TotalCount".into(), json!(total.max(0)));
            out.insert("InstanceSet".into(), Value::Array(set));
        }
        Response::Quotas(qs) => {
            let wants = |c: ChargeType| {
                let name = match c {
                    ChargeType::PostpaidByHour => "POST_PAID_QUOTA_SET",
                    ChargeType::Prepaid => "PRE_PAID_QUOTA_SET",
                    ChargeType::Spotpaid => "SPOT_PAID_QUOTA_SET",
                };
                scope.charges.is_empty() || scope.charges.iter().any(|s| s == name)
            };
            let mut sets: [Vec<Value>; 3] = Default::default();
            for q in qs.iter().filter(|q| scope.keeps_zone(cat, q.zone)) {
                if !wants(q.charge) {
                    continue;
                }
                let mut o = Map::new();
                o.insert("Zone".into(), json!(cat.zone(q.zone).name));
                o.insert("UsedQuota".into(), json!(q.used));
                o.insert("RemainingQuota".into(), json!(q.remaining));
                o.insert("TotalQuota".into(), json!(q.total));
                if q.charge == ChargeType::Prepaid {
                    o.insert("OnceQuota".into(), json!(q.once));
                }
                sets[q.charge.index()].push(Value::Object(o));
            }
            let [pre, post, spot] = sets;
            out.insert("AppId".into(), json!(1_000_000_000u64));
            out.insert(
                "AccountQuotaOverview".into(),
                json!({
                    "Region": scope.region,
                    "AccountQuota": {
                        "PostPaidQuotaSet": post,
                        "PrePaidQuotaSet": pre,
                        "SpotPaidQuotaSet": spot,
                        "ImageQuotaSet": [],
                        "DisasterRecoverGroupQuotaSet": [],
                    }
                }),
            );
        }
        Response::Configs(cs) => {
            let mut set = Vec::new();
            for c in cs.iter().filter(|c| scope.keeps_zone(cat, c.zone)) {
                let t = cat.itype(c.itype);
                if (!scope.types.is_empty() && !scope.types.contains(&t.name))
                    || (!scope.families.is_empty() && !scope.families.contains(&t.family))
                {
                    continue;
                }
                for charge in [
                    ChargeType::PostpaidByHour,
                    ChargeType::Prepaid,
                    ChargeType::Spotpaid,
                ] {
                    if !scope.charges.is_empty()
                        && !scope.charges.iter().any(|s| s == charge.as_str())
                    {
                        continue;
                    }
                    let p = cat.price(c.itype);
                    let price = match charge {
                        ChargeType::PostpaidByHour => json!({
                            "UnitPrice": money(p.postpaid_hourly),
                            "ChargeUnit": "HOUR",
                            "UnitPriceDiscount": money(p.postpaid_hourly),
                            "Discount": 100.0,
                        }),
                        ChargeType::Spotpaid => json!({
                            "UnitPrice": money(p.postpaid_hourly),
                            "ChargeUnit": "HOUR",
                            "UnitPriceDiscount": money(cat.spot_hourly(c.itype)),
                            "Discount": (cat.spot_fraction * 1000.0).round() / 10.0,
                        }),
                        ChargeType::Prepaid => {
                            let month = ctx.cloud.rules.prepaid_price(p, 1);
                            json!({
                                "OriginalPrice": money(p.prepaid_monthly),
                                "DiscountPrice": (month.as_f64() * 100.0).round() / 100.0,
                                "Discount": if p.prepaid_monthly == 0 { 100.0 } else {
                                    (month.as_f64() * 1e6 / p.prepaid_monthly as f64 * 1000.0)
                                        .round() / 10.0
                                },
                            })
                        }
                    };
                    set.push(json!({
                        "Zone": cat.zone(c.zone).name,
                        "InstanceType": t.name,
                        "InstanceChargeType": charge.as_str(),
                        "InstanceFamily": t.family,
                        "TypeName": t.family,
                        "Cpu": t.vcpus,
                        "Memory": t.memory_gib,
                        "Status": c.status,
                        "Price": price,
                        "SoldOutReason": if c.status == "SOLD_OUT" { "sold out" } else { "" },
                    }));
                }
            }
            out.insert("InstanceTypeQuotaSet".into(), Value::Array(set));
        }
        Response::Statuses { total, items } => {
            out.insert("TotalCount".into(), json!(total));
            let set: Vec<Value> = items
                .iter()
                .map(|(id, st)| json!({"InstanceId": id.to_string(), "InstanceState": st.as_str()}))
                .collect();
            out.insert("InstanceStatusSet".into(), Value::Array(set));
        }
        Response::Zones(zs) => {
            let set: Vec<Value> = zs
                .iter()
                .filter(|z| scope.keeps_zone(cat, z.zone))
                .map(|z| {
                    let zone = cat.zone(z.zone);
                    json!({
                        "Zone": zone.name,
                        "ZoneName": zone_display_name(&zone.name),
                        "ZoneId": zone.zone_id.to_string(),
                        "ZoneState": if z.available { "AVAILABLE" } else { "UNAVAILABLE" },
                    })
                })
                .collect();
            out.insert("TotalCount".into(), json!(set.len()));
            out.insert("ZoneSet".into(), Value::Array(set));
        }
        Response::Regions(rs) => {
            let set: Vec<Value> = rs
                .iter()
                .map(|r| {
                    json!({
                        "Region": r,
                        "RegionName": region_display_name(r),
                        "RegionState": "AVAILABLE",
                    })
                })
                .collect();
            out.insert("TotalCount".into(), json!(set.len()));
            out.insert("RegionSet".into(), Value::Array(set));
        }
        Response::TypeConfigs(cs) => {
            let set: Vec<Value> = cs
                .iter()
                .filter(|&&(z, _)| scope.keeps_zone(cat, z))
                .filter_map(|&(z, t)| {
                    let ty = cat.itype(t);
                    let wanted = (scope.types.is_empty() || scope.types.contains(&ty.name))
                        && (scope.families.is_empty() || scope.families.contains(&ty.family));
                    wanted.then(|| {
                        json!({
                            "Zone": cat.zone(z).name,
                            "InstanceType": ty.name,
                            "InstanceFamily": ty.family,
                            "GPU": 0,
                            "CPU": ty.vcpus,
                            "Memory": ty.memory_gib,
                            "FPGA": 0,
                            "GpuCount": 0.0,
                        })
                    })
                })
                .collect();
            out.insert("InstanceTypeConfigSet".into(), Value::Array(set));
        }
        Response::Price(q) => {
            // No public network: a bandwidth item of nothing, as CVM answers.
            let none = ItemQuote {
                unit_price: Some(Money::ZERO),
                unit_price_discount: Some(Money::ZERO),
                charge_unit: Some("HOUR"),
                ..Default::default()
            };
            out.insert(
                "Price".into(),
                json!({
                    "InstancePrice": item_price(&q.instance),
                    "BandwidthPrice": item_price(q.bandwidth.as_ref().unwrap_or(&none)),
                }),
            );
        }
        Response::Refunds(rs) => {
            let set: Vec<Value> = rs
                .iter()
                .map(|r| {
                    json!({
                        "InstanceId": r.id.to_string(),
                        "Refunds": amount(r.refund),
                        "PriceDetail": r.detail,
                    })
                })
                .collect();
            out.insert("InstanceRefundsSet".into(), Value::Array(set));
        }
    }
    out
}

/// An amount in currency units, exact to the micro-unit (a JSON number).
fn amount(m: Money) -> Value {
    json!(m.micros() as f64 / 1e6)
}

/// `Discount` of CVM's `ItemPrice`: what is billed as a percent of the list price, to 0.1
/// ("20.0代表2折"); 100 when the list price is nothing.
fn discount(list: Money, billed: Money) -> f64 {
    if list == Money::ZERO {
        100.0
    } else {
        (billed.micros() as f64 / list.micros() as f64 * 1000.0).round() / 10.0
    }
}

/// CVM's `ItemPrice`: only the fields that apply (prepaid: `OriginalPrice`, `DiscountPrice`;
/// billed after use: `UnitPrice`, `ChargeUnit`, `UnitPriceDiscount` and, for a tiered type,
/// the second and third steps), with `Discount`.
fn item_price(q: &ItemQuote) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, m: Option<Money>| {
        if let Some(m) = m {
            o.insert(k.into(), amount(m));
        }
    };
    put("OriginalPrice", q.original_price);
    put("DiscountPrice", q.discount_price);
    put("UnitPrice", q.unit_price);
    put("UnitPriceDiscount", q.unit_price_discount);
    put("UnitPriceSecondStep", q.second_step.map(|s| s.0));
    put("UnitPriceDiscountSecondStep", q.second_step.map(|s| s.1));
    put("UnitPriceThirdStep", q.third_step.map(|s| s.0));
    put("UnitPriceDiscountThirdStep", q.third_step.map(|s| s.1));
    if let Some(u) = q.charge_unit {
        o.insert("ChargeUnit".into(), json!(u));
    }
    let d = match (
        q.original_price,
        q.discount_price,
        q.unit_price,
        q.unit_price_discount,
    ) {
        (Some(l), Some(b), _, _) => discount(l, b),
        (_, _, Some(l), Some(b)) => discount(l, b),
        _ => 100.0,
    };
    o.insert("Discount".into(), json!(d));
    Value::Object(o)
}

/// Cities of the regions CVM.md names, as CVM's console and `RegionName` write them.
const CITIES: &[(&str, &str, &str)] = &[
    ("ap-guangzhou", "广州", "华南地区"),
    ("ap-shanghai", "上海", "华东地区"),
    ("ap-nanjing", "南京", "华东地区"),
    ("ap-beijing", "北京", "华北地区"),
    ("ap-chengdu", "成都", "西南地区"),
    ("ap-hongkong", "中国香港", "港澳台地区"),
    ("ap-singapore", "新加坡", "亚太东南"),
    ("ap-seoul", "首尔", "亚太东北"),
    ("na-siliconvalley", "硅谷", "美国西部"),
    ("eu-frankfurt", "法兰克福", "欧洲地区"),
];

/// `RegionName`: `华南地区(广州)` for ap-guangzhou (models.go's example); a region not in the
/// table is named by its id.
fn region_display_name(region: &str) -> String {
    match CITIES.iter().find(|(r, _, _)| *r == region) {
        Some((_, city, area)) => format!("{area}({city})"),
        None => region.to_string(),
    }
}

/// `ZoneName`: `广州三区` for ap-guangzhou-3 (models.go's example); a zone of a region not in
/// the table, or numbered past ten, is named by its id.
fn zone_display_name(zone: &str) -> String {
    const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    let city = crate::cloud::catalog::region_of_zone(zone)
        .and_then(|r| CITIES.iter().find(|(c, _, _)| *c == r))
        .map(|(_, city, _)| *city);
    let n: Option<usize> = zone.rsplit_once('-').and_then(|(_, n)| n.parse().ok());
    match (city, n) {
        (Some(city), Some(n)) if (1..=10).contains(&n) => format!("{city}{}区", NUMERALS[n - 1]),
        _ => zone.to_string(),
    }
}

fn instance_json(v: &crate::cloud::api::InstanceView, ctx: &Ctx<'_>) -> Value {
    let cat = &ctx.cloud.catalog;
    let inst = ctx
        .cloud
        .fleet()
        .key_of(v.id)
        .and_then(|k| ctx.cloud.fleet().get(k));
    let t = cat.itype(v.itype);
    let created = inst.map(|i| super::clock::sim_iso8601(ctx.epoch, i.created));
    let expired = inst
        .and_then(|i| i.expires().get())
        .map(|e| super::clock::sim_iso8601(ctx.epoch, e));
    let renew = inst
        .filter(|i| i.charge == ChargeType::Prepaid)
        .map(|i| match i.renew_flag {
            RenewFlag::NotifyAndAutoRenew => "NOTIFY_AND_AUTO_RENEW",
            RenewFlag::NotifyAndManualRenew => "NOTIFY_AND_MANUAL_RENEW",
            RenewFlag::DisableNotifyAndManualRenew => "DISABLE_NOTIFY_AND_MANUAL_RENEW",
        });
    // models.go: NOT_APPLICABLE while the instance is not stopped (or the mode does not apply).
    let stop_charging = match inst {
        Some(i) if v.state == crate::cloud::state::InstanceState::Stopped => match i.stopped_mode()
        {
            StoppedMode::StopCharging if i.charge == ChargeType::PostpaidByHour => "STOP_CHARGING",
            _ => "KEEP_CHARGING",
        },
        _ => "NOT_APPLICABLE",
    };
    let error_msg = inst.and_then(latest_operation_error);
    // Launched without disks or network: nothing attached (an empty set of attachments).
    let none = Attachments::default();
    let attach = inst.map(|i| {
        i.billing
            .extra
            .as_ref()
            .map_or(&none, |x| x.attach.as_ref())
    });
    let disk = |d: &DiskSpec| json!({"DiskType": d.disk_type.as_str(), "DiskSize": d.disk_size});
    let system_disk = attach.and_then(|a| a.system_disk.as_ref()).map(disk);
    let data_disks: Option<Vec<Value>> = attach.map(|a| a.data_disks.iter().map(disk).collect());
    let internet = attach.map(|a| match &a.internet {
        Some(n) => json!({"InternetChargeType": n.charge.as_str(),
                          "InternetMaxBandwidthOut": n.max_bandwidth_out,
                          "PublicIpAssigned": true}),
        None => json!({"InternetMaxBandwidthOut": 0, "PublicIpAssigned": false}),
    });
    json!({
        "Placement": {"Zone": cat.zone(v.zone).name, "ProjectId": 0},
        "SystemDisk": system_disk,
        "DataDisks": data_disks,
        "InternetAccessible": internet,
        "InstanceId": v.id.to_string(),
        "InstanceType": t.name,
        "CPU": t.vcpus,
        "Memory": t.memory_gib,
        "RestrictState": "NORMAL",
        "InstanceName": v.id.to_string(),
        "InstanceChargeType": v.charge.as_str(),
        "RenewFlag": renew,
        "CreatedTime": created,
        "ExpiredTime": expired,
        "InstanceState": v.state.as_str(),
        "StopChargingMode": stop_charging,
        "LatestOperation": v.latest_operation,
        "LatestOperationState": v.latest_operation_state.map(|s| s.as_str()),
        "LatestOperationRequestId": Value::Null,
        "LatestOperationErrorMsg": error_msg,
    })
}

/// `LatestOperationErrorMsg`: why the latest operation FAILED (null unless it did).
fn latest_operation_error(i: &crate::cloud::Instance) -> Option<String> {
    use crate::cloud::instance::OperationState;
    if i.latest_operation_state != Some(OperationState::Failed) {
        return None;
    }
    let op = i.latest_operation.unwrap_or("the operation");
    Some(match (op, i.state) {
        ("RunInstances", crate::cloud::state::InstanceState::LaunchFailed) => {
            "RunInstances failed: the platform could not launch the instance (LAUNCH_FAILED); \
             it is removed by the platform, launch again"
                .to_string()
        }
        ("StartInstances", crate::cloud::state::InstanceState::Stopped) => {
            "StartInstances failed: no capacity for the instance in its zone; it is STOPPED, \
             start it again later"
                .to_string()
        }
        (op, state) => format!("{op} failed; the instance is {state}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::api::Response;

    fn catalog() -> Catalog {
        crate::scenario::parse_scenario(super::super::DEFAULT_SCENARIO, "serve.toml")
            .expect("the embedded scenario")
            .catalog
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn err(action: Action, v: Value) -> String {
        match parse(action, "ap-guangzhou", &obj(v), &catalog()) {
            Err(e) => e.code,
            Ok(_) => "ok".into(),
        }
    }

    #[test]
    fn run_instances_maps_cvm_fields_onto_the_request() {
        let cat = catalog();
        let p = parse(
            Action::RunInstances,
            "ap-guangzhou",
            &obj(json!({
                "Placement": {"Zone": "ap-guangzhou-4", "ProjectId": 0},
                "InstanceType": "S5.LARGE8",
                "InstanceCount": 3, "MinCount": 2, "ClientToken": "abc", "DryRun": true,
                "InstanceMarketOptions": {"MarketType": "spot",
                                          "SpotOptions": {"MaxPrice": "0.05"}},
                "ImageId": "img-1", "SystemDisk": {"DiskSize": 50},
            })),
            &cat,
        )
        .expect("valid");
        let Request::RunInstances(r) = p.request else {
            panic!("not RunInstances")
        };
        assert_eq!(cat.zone(r.zone).name, "ap-guangzhou-4");
        assert_eq!(cat.itype(r.itype).name, "S5.LARGE8");
        assert_eq!(r.charge, ChargeType::Spotpaid, "market options mean spot");
        assert_eq!(r.max_price, Some(50_000), "0.05 per hour in micro-units");
        assert_eq!((r.count, r.min_count, r.dry_run), (3, Some(2), true));
        assert_eq!(r.client_token.as_deref(), Some("abc"));
        let p = parse(
            Action::RunInstances,
            "ap-guangzhou",
            &obj(json!({"Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.SMALL2",
                        "InstanceChargeType": "PREPAID",
                        "InstanceChargePrepaid": {"Period": 12, "RenewFlag": "NOTIFY_AND_AUTO_RENEW"}})),
            &cat,
        )
        .expect("valid");
        let Request::RunInstances(r) = p.request else {
            panic!("not RunInstances")
        };
        assert_eq!(
            (r.charge, r.period_months, r.count),
            (ChargeType::Prepaid, 12, 1)
        );
        assert_eq!(r.renew_flag, RenewFlag::NotifyAndAutoRenew);
    }

    #[test]
    fn disks_and_network_reach_the_control_plane() {
        let cat = catalog();
        let p = parse(
            Action::RunInstances,
            "ap-guangzhou",
            &obj(json!({
                "Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.SMALL2",
                "SystemDisk": {"DiskType": "CLOUD_SSD", "DiskSize": 100},
                "DataDisks": [{"DiskSize": 200, "DeleteWithInstance": true}],
                "InternetAccessible": {"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
                                       "InternetMaxBandwidthOut": 10, "PublicIpAssigned": true},
            })),
            &cat,
        )
        .expect("valid");
        let Request::RunInstances(r) = p.request else {
            panic!("not RunInstances")
        };
        let a = r.attach.expect("attachments");
        assert_eq!(
            a.system_disk,
            Some(DiskSpec {
                disk_type: DiskType::CloudSsd,
                disk_size: 100
            })
        );
        assert_eq!(
            a.data_disks,
            [DiskSpec {
                disk_type: DEFAULT_DISK_TYPE,
                disk_size: 200
            }]
        );
        let net = a.internet.expect("network");
        assert_eq!(
            (net.charge, net.max_bandwidth_out),
            (InternetChargeType::TrafficPostpaidByHour, 10)
        );
        assert_eq!(net.traffic_mgb_per_hour, 450, "0.045 GB/h per Mbps");
        // 0 Mbps: no public network, nothing attached.
        let p = parse(
            Action::RunInstances,
            "ap-guangzhou",
            &obj(
                json!({"Placement": {"Zone": "ap-guangzhou-3"}, "InstanceType": "S5.SMALL2",
                        "InternetAccessible": {"InternetMaxBandwidthOut": 0}}),
            ),
            &cat,
        )
        .unwrap();
        let Request::RunInstances(r) = p.request else {
            panic!()
        };
        assert!(r.attach.is_none());
    }

    #[test]
    fn cvm_errors_for_bad_parameters() {
        let run = |extra: Value| {
            let mut m = obj(json!({"Placement": {"Zone": "ap-guangzhou-3"},
                                   "InstanceType": "S5.SMALL2"}));
            m.extend(obj(extra));
            err(Action::RunInstances, Value::Object(m))
        };
        assert_eq!(run(json!({})), "ok");
        assert_eq!(
            run(json!({"InstanceChargeType": "PREPAID"})),
            "MissingParameter"
        );
        assert_eq!(
            run(json!({"InstanceChargeType": "FREE"})),
            "InvalidParameterValue"
        );
        assert_eq!(run(json!({"InstanceCount": "2"})), "InvalidParameter");
        assert_eq!(run(json!({"InstanceCount": -1})), "InvalidParameterValue");
        assert_eq!(run(json!({"Colour": "red"})), "UnknownParameter");
        assert_eq!(
            run(json!({"Placement": {"Zone": "ap-shanghai-2"}})),
            "InvalidZone.MismatchRegion"
        );
        assert_eq!(
            run(json!({"Placement": {"Zone": "ap-mars-1"}})),
            "InvalidParameterValue.ZoneNotSupported"
        );
        assert_eq!(
            run(json!({"InstanceMarketOptions": {"SpotOptions": {"MaxPrice": "cheap"}}})),
            "InvalidParameterValue"
        );
        assert_eq!(
            run(json!({"DataDisks": [{"DiskType": "CLOUD_SSD"}]})),
            "MissingParameter"
        );
        assert_eq!(
            run(json!({"SystemDisk": {"DiskSize": 0}})),
            "InvalidParameterValue"
        );
        assert_eq!(
            run(json!({"SystemDisk": {"DiskType": "FLOPPY"}})),
            "InvalidParameterValue"
        );
        assert_eq!(
            run(
                json!({"InternetAccessible": {"InternetChargeType": "BANDWIDTH_PREPAID",
                                              "InternetMaxBandwidthOut": 5}})
            ),
            "InvalidParameterValue"
        );
        assert_eq!(err(Action::StopInstances, json!({})), "MissingParameter");
        assert_eq!(
            err(
                Action::StopInstances,
                json!({"InstanceIds": ["ins-1"], "StoppedMode": "NAP"})
            ),
            "InvalidParameterValue"
        );
        assert_eq!(
            err(Action::DescribeInstances, json!({"InstanceIds": [1]})),
            "InvalidParameter"
        );
        assert_eq!(
            err(
                Action::DescribeAccountQuota,
                json!({"Filters": [{"Name": "colour", "Values": []}]})
            ),
            "InvalidFilter"
        );
        assert_eq!(
            err(
                Action::DescribeInstances,
                json!({"Filters": [{"Values": ["x"]}]})
            ),
            "MissingParameter"
        );
    }

    /// Every code the wire answers a bad call with is one the action's SDK list has (or a
    /// common code): the cases below reach each error the parser has, for each action.
    #[test]
    fn every_wire_error_is_in_the_actions_list() {
        let zone = json!({"Zone": "ap-guangzhou-3"});
        let cases: Vec<(Action, Value)> = vec![
            (
                Action::RunInstances,
                json!({"Placement": zone, "InstanceType": "X9.HUGE"}),
            ),
            (
                Action::RunInstances,
                json!({"Placement": {"Zone": "ap-mars-1"}, "InstanceType": "S5.SMALL2"}),
            ),
            (
                Action::RunInstances,
                json!({"Placement": {"Zone": "ap-shanghai-2"}, "InstanceType": "S5.SMALL2"}),
            ),
            (
                Action::RunInstances,
                json!({"Placement": zone, "InstanceType": "S5.SMALL2", "InstanceCount": "2"}),
            ),
            (
                Action::RunInstances,
                json!({"Placement": zone, "InstanceType": "S5.SMALL2", "InstanceChargeType": "PREPAID"}),
            ),
            (
                Action::RunInstances,
                json!({"Placement": zone, "InstanceType": "S5.SMALL2", "InstanceMarketOptions": {"MarketType": "x"}}),
            ),
            (Action::RunInstances, json!({"Colour": "red"})),
            (Action::RunInstances, json!({})),
            (Action::StartInstances, json!({})),
            (Action::StartInstances, json!({"InstanceIds": [1]})),
            (
                Action::StopInstances,
                json!({"InstanceIds": ["ins-1"], "StopType": "NAP"}),
            ),
            (
                Action::StopInstances,
                json!({"InstanceIds": ["ins-1"], "StoppedMode": "NAP"}),
            ),
            (Action::RebootInstances, json!({"Colour": 1})),
            (Action::TerminateInstances, json!({})),
            (
                Action::ResetInstancesType,
                json!({"InstanceIds": ["ins-1"], "InstanceType": "X9.HUGE"}),
            ),
            (
                Action::ResetInstancesType,
                json!({"InstanceIds": ["ins-1"]}),
            ),
            (Action::RenewInstances, json!({"InstanceIds": ["ins-1"]})),
            (
                Action::RenewInstances,
                json!({"InstanceIds": ["ins-1"], "InstanceChargePrepaid": {"Period": 1, "RenewFlag": "X"}}),
            ),
            (
                Action::ModifyInstancesChargeType,
                json!({"InstanceIds": ["ins-1"], "InstanceChargeType": "FREE"}),
            ),
            (
                Action::ModifyInstancesChargeType,
                json!({"InstanceIds": ["ins-1"], "InstanceChargeType": "PREPAID"}),
            ),
            (Action::DescribeInstances, json!({"InstanceIds": [1]})),
            (
                Action::DescribeInstances,
                json!({"Filters": [{"Values": ["x"]}]}),
            ),
            (Action::DescribeInstances, json!({"Filters": [1]})),
            (Action::DescribeInstances, json!({"Limit": -1})),
            (
                Action::DescribeInstances,
                json!({"Filters": [{"Name": "zone", "Values": ["a", "b", "c", "d", "e", "f"]}]}),
            ),
            (
                Action::DescribeAccountQuota,
                json!({"Filters": [{"Name": "colour", "Values": []}]}),
            ),
            (
                Action::DescribeZoneInstanceConfigInfos,
                json!({"Filters": [{"Name": "colour", "Values": []}]}),
            ),
            (Action::DescribeInstancesStatus, json!({"Offset": "x"})),
            (
                Action::ModifyInstancesRenewFlag,
                json!({"InstanceIds": ["ins-1"], "RenewFlag": "X"}),
            ),
            (
                Action::ModifyInstancesRenewFlag,
                json!({"InstanceIds": ["ins-1"]}),
            ),
            (Action::DescribeZones, json!({"Colour": 1})),
            (Action::DescribeRegions, json!({"Colour": 1})),
            (
                Action::DescribeInstanceTypeConfigs,
                json!({"Filters": [{"Name": "zone", "Values": ["a", "b"]}]}),
            ),
            (
                Action::DescribeInstanceTypeConfigs,
                json!({"Filters": [{"Name": "colour", "Values": ["a"]}]}),
            ),
            (
                Action::DescribeInstanceTypeConfigs,
                json!({"Filters": [{"Name": "zone", "Values": ["ap-mars-1"]}]}),
            ),
            (
                Action::DescribeInstanceTypeConfigs,
                json!({"Filters": vec![json!({"Name": "zone", "Values": ["ap-guangzhou-3"]}); 11]}),
            ),
        ];
        for (action, params) in cases {
            let code = err(action, params.clone());
            assert_ne!(code, "ok", "{} {params}", action.as_str());
            assert!(
                crate::cloud::sdk_codes::allowed(action.as_str(), &code),
                "{} answers {code} for {params}: not in its SDK list",
                action.as_str()
            );
        }
    }

    #[test]
    fn describe_instances_sees_its_region_only() {
        let cat = catalog();
        let zone_filter = |v: Value| -> Vec<String> {
            let p = parse(Action::DescribeInstances, "ap-shanghai", &obj(v), &cat).unwrap();
            let Request::DescribeInstances { filters, .. } = p.request else {
                panic!()
            };
            filters
                .into_iter()
                .find(|f| f.name == "zone")
                .map(|f| f.values)
                .unwrap_or_default()
        };
        assert_eq!(zone_filter(json!({})), ["ap-shanghai-2", "ap-shanghai-4"]);
        assert_eq!(
            zone_filter(
                json!({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3", "ap-shanghai-4"]}]})
            ),
            ["ap-shanghai-4"]
        );
        assert_eq!(
            zone_filter(json!({"Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}]})),
            [""],
            "another region's zone matches nothing"
        );
    }

    #[test]
    fn quota_answer_is_cvms_model() {
        let scn =
            crate::scenario::parse_scenario(super::super::DEFAULT_SCENARIO, "serve.toml").unwrap();
        let (world, _) = crate::run::build_world(&scn, 1);
        let cloud = &world.cloud;
        let views = (0..cloud.catalog.zones.len())
            .flat_map(|z| {
                ChargeType::ALL.map(|c| crate::cloud::api::QuotaView {
                    zone: ZoneIdx(z as u16),
                    charge: c,
                    used: 1,
                    remaining: Some(29),
                    total: Some(30),
                    once: None,
                })
            })
            .collect();
        let scope = Scope {
            region: "ap-shanghai".into(),
            charges: vec!["POST_PAID_QUOTA_SET".into()],
            ..Default::default()
        };
        let out = render(&Response::Quotas(views), &scope, &Ctx { cloud, epoch: 0 });
        let q = &out["AccountQuotaOverview"];
        assert_eq!(q["Region"], "ap-shanghai");
        let post = q["AccountQuota"]["PostPaidQuotaSet"].as_array().unwrap();
        assert_eq!(post.len(), 2, "the region's two zones");
        assert_eq!(post[0]["Zone"], "ap-shanghai-2");
        assert_eq!(
            (
                post[0]["UsedQuota"].clone(),
                post[0]["RemainingQuota"].clone(),
                post[0]["TotalQuota"].clone()
            ),
            (json!(1), json!(29), json!(30))
        );
        assert_eq!(
            q["AccountQuota"]["PrePaidQuotaSet"],
            json!([]),
            "filtered by quota-type"
        );
    }
}
