//! `timeseries.csv`: the fleet sampled at a fixed interval, one row per zone, charge type and
//! state with at least one instance; and `quota.csv`, the quotas' use at the same times.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::cloud::capacity::Quotas;
use crate::cloud::{Catalog, ChargeType, InstanceState, ZoneIdx};
use crate::engine::SimTime;

use super::fleet_counts::FleetCounts;
use super::recorder::Secs;
use super::table::Table;

/// A row of `timeseries.csv`.
#[derive(Serialize)]
struct FleetRow<'a> {
    time_s: Secs,
    zone: &'a str,
    charge_type: ChargeType,
    /// CVM's name of the state (`RUNNING`).
    state: &'static str,
    instances: u64,
    vcpus: u64,
    memory_gib: u64,
}

/// A row of `quota.csv`: use (including use outside the simulation) and total, empty when
/// unlimited, in the quota's unit.
#[derive(Serialize)]
struct QuotaRow<'a> {
    time_s: Secs,
    zone: &'a str,
    charge_type: ChargeType,
    /// `instances`, or `vcpus` for the spot quota.
    unit: &'static str,
    used: u32,
    total: Option<u32>,
}

pub struct TimeseriesWriter {
    out: Table,
    quota: Table,
}

impl TimeseriesWriter {
    /// Creates `timeseries.csv` and `quota.csv` in `dir`.
    pub fn create(dir: &Path) -> Result<Self> {
        Ok(TimeseriesWriter {
            out: Table::create_like(
                &dir.join("timeseries.csv"),
                &FleetRow {
                    time_s: Secs(SimTime(0)),
                    zone: "",
                    charge_type: ChargeType::PostpaidByHour,
                    state: "",
                    instances: 0,
                    vcpus: 0,
                    memory_gib: 0,
                },
            )?,
            quota: Table::create_like(
                &dir.join("quota.csv"),
                &QuotaRow {
                    time_s: Secs(SimTime(0)),
                    zone: "",
                    charge_type: ChargeType::PostpaidByHour,
                    unit: "",
                    used: 0,
                    total: None,
                },
            )?,
        })
    }

    /// One `quota.csv` row per zone and charge type.
    pub fn sample_quota(&mut self, t: SimTime, q: &Quotas, cat: &Catalog) -> Result<()> {
        for (z, zone) in cat.zones.iter().enumerate() {
            for c in ChargeType::ALL {
                let zi = ZoneIdx(z as u16);
                self.quota.row(&QuotaRow {
                    time_s: Secs(t),
                    zone: &zone.name,
                    charge_type: c,
                    unit: if c == ChargeType::Spotpaid {
                        "vcpus"
                    } else {
                        "instances"
                    },
                    used: q.used(zi, c),
                    total: q.total(zi, c),
                })?;
            }
        }
        Ok(())
    }

    pub fn sample(&mut self, t: SimTime, counts: &FleetCounts, cat: &Catalog) -> Result<()> {
        for (z, zone) in cat.zones.iter().enumerate() {
            for c in ChargeType::ALL {
                for s in InstanceState::ALL {
                    let n = counts.get(z, c, s);
                    if n.instances > 0 {
                        self.out.row(&FleetRow {
                            time_s: Secs(t),
                            zone: &zone.name,
                            charge_type: c,
                            state: s.as_str(),
                            instances: n.instances,
                            vcpus: n.vcpus,
                            memory_gib: n.memory_gib,
                        })?;
                    }
                }
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.out.finish()?;
        self.quota.finish()
    }
}
