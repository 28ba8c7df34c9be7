//! `timeseries.csv`: the fleet sampled at a fixed interval, one row per zone, charge type and
//! state with at least one instance.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cloud::capacity::Quotas;
use crate::cloud::{Catalog, ChargeType, InstanceState, ZoneIdx};
use crate::engine::SimTime;

use super::fleet_counts::FleetCounts;
use super::recorder::secs;

pub struct TimeseriesWriter {
    out: BufWriter<File>,
    quota: BufWriter<File>,
}

impl TimeseriesWriter {
    /// Creates `timeseries.csv` and `quota.csv` in `dir`.
    pub fn create(dir: &Path) -> Result<Self> {
        let open = |name: &str| -> Result<BufWriter<File>> {
            let p = dir.join(name);
            let f = File::create(&p).with_context(|| format!("cannot create {}", p.display()))?;
            Ok(BufWriter::new(f))
        };
        let mut out = open("timeseries.csv")?;
        writeln!(
            out,
            "time_s,zone,charge_type,state,instances,vcpus,memory_gib"
        )?;
        let mut quota = open("quota.csv")?;
        writeln!(quota, "time_s,zone,charge_type,unit,used,total")?;
        Ok(TimeseriesWriter { out, quota })
    }

    /// One `quota.csv` row per zone and charge type: used (including use outside the
    /// simulation) and total, empty when unlimited.
    pub fn sample_quota(&mut self, t: SimTime, q: &Quotas, cat: &Catalog) -> Result<()> {
        for (z, zone) in cat.zones.iter().enumerate() {
            for c in ChargeType::ALL {
                let zi = ZoneIdx(z as u16);
                writeln!(
                    self.quota,
                    "{},{},{},{},{},{}",
                    secs(t),
                    zone.name,
                    c,
                    if c == ChargeType::Spotpaid {
                        "vcpus"
                    } else {
                        "instances"
                    },
                    q.used(zi, c),
                    q.total(zi, c).map(|x| x.to_string()).unwrap_or_default()
                )?;
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
                        writeln!(
                            self.out,
                            "{},{},{},{},{},{},{}",
                            secs(t),
                            zone.name,
                            c,
                            s,
                            n.instances,
                            n.vcpus,
                            n.memory_gib
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.out.flush().context("cannot write timeseries.csv")?;
        self.quota.flush().context("cannot write quota.csv")
    }
}
