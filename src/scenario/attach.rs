//! The disks and public network of a RunInstances (a workload's or a scripted action's):
//! `system_disk`, `data_disks` and `internet_accessible`.

use std::sync::Arc;

use crate::cloud::ChargeType;
use crate::cloud::pricing::{Attachments, DiskSpec, DiskType, InternetChargeType, InternetSpec};

use super::load::{Fail, ScenarioError};
use super::schema::{DiskSettings, InternetSettings};

/// The RunInstances fields of a workload or a scripted action that choose disks and network.
pub(super) struct AttachSettings<'a> {
    pub(super) charge_type: ChargeType,
    pub(super) system_disk: &'a Option<DiskSettings>,
    pub(super) data_disks: &'a [DiskSettings],
    pub(super) internet_accessible: &'a Option<InternetSettings>,
}

/// The disks and public network of a workload's or a script's RunInstances.
pub(super) fn attachments_of(
    w: AttachSettings<'_>,
    at: &dyn Fn(&str) -> String,
    fail: Fail<'_>,
) -> Result<Option<Arc<Attachments>>, ScenarioError> {
    let disk = |d: &DiskSettings, field: &str| -> Result<DiskSpec, ScenarioError> {
        let t = DiskType::parse(&d.disk_type).ok_or_else(|| {
            fail(
                &at(&format!("{field}.disk_type")),
                format!(
                    "`{}` is not a cloud disk type; use {}",
                    d.disk_type,
                    DiskType::ALL.map(|t| t.as_str()).join(", ")
                ),
            )
        })?;
        if d.disk_size == 0 || d.disk_size > 32_000 {
            return Err(fail(
                &at(&format!("{field}.disk_size")),
                format!("{} GiB: a disk is 1 to 32000 GiB", d.disk_size),
            ));
        }
        Ok(DiskSpec {
            disk_type: t,
            disk_size: d.disk_size,
        })
    };
    let mut a = Attachments::default();
    if let Some(d) = &w.system_disk {
        a.system_disk = Some(disk(d, "system_disk")?);
    }
    if w.data_disks.len() > 20 {
        return Err(fail(
            &at("data_disks"),
            format!(
                "{} data disks: RunInstances takes at most 20 cloud disks",
                w.data_disks.len()
            ),
        ));
    }
    for (i, d) in w.data_disks.iter().enumerate() {
        a.data_disks.push(disk(d, &format!("data_disks[{i}]"))?);
    }
    if let Some(n) = &w.internet_accessible {
        let charge = match &n.internet_charge_type {
            None => InternetChargeType::BandwidthPostpaidByHour,
            Some(t) => InternetChargeType::parse(t).ok_or_else(|| {
                fail(
                    &at("internet_accessible.internet_charge_type"),
                    format!(
                        "`{t}`: use BANDWIDTH_POSTPAID_BY_HOUR, TRAFFIC_POSTPAID_BY_HOUR or \
                         BANDWIDTH_PREPAID (BANDWIDTH_PACKAGE is not modelled)"
                    ),
                )
            })?,
        };
        if charge == InternetChargeType::BandwidthPrepaid && w.charge_type != ChargeType::Prepaid {
            return Err(fail(
                &at("internet_accessible.internet_charge_type"),
                format!(
                    "BANDWIDTH_PREPAID needs a PREPAID instance; this workload is {}",
                    w.charge_type
                ),
            ));
        }
        if n.internet_max_bandwidth_out == 0 {
            return Err(fail(
                &at("internet_accessible.internet_max_bandwidth_out"),
                "0 Mbps is no public network: leave internet_accessible out".into(),
            ));
        }
        let gb = n
            .traffic_gb_per_hour
            .unwrap_or(n.internet_max_bandwidth_out as f64 * 0.045);
        if !(gb.is_finite() && gb >= 0.0) {
            return Err(fail(
                &at("internet_accessible.traffic_gb_per_hour"),
                format!("{gb} is not an amount of GB of zero or more"),
            ));
        }
        if n.traffic_gb_per_hour.is_some() && charge != InternetChargeType::TrafficPostpaidByHour {
            return Err(fail(
                &at("internet_accessible.traffic_gb_per_hour"),
                "is only used with TRAFFIC_POSTPAID_BY_HOUR".into(),
            ));
        }
        a.internet = Some(InternetSpec {
            charge,
            max_bandwidth_out: n.internet_max_bandwidth_out,
            traffic_mgb_per_hour: (gb * 1000.0).round() as u64,
        });
    }
    Ok((!a.is_empty()).then(|| Arc::new(a)))
}
