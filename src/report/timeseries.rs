//! `timeseries.csv`: the fleet sampled at a fixed interval, one row per zone, charge type and
//! state with at least one instance.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cloud::{Catalog, ChargeType, InstanceState};
use crate::engine::SimTime;

use super::fleet_counts::FleetCounts;
use super::recorder::secs;

pub struct TimeseriesWriter {
    out: BufWriter<File>,
}

impl TimeseriesWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(f);
        writeln!(
            out,
            "time_s,zone,charge_type,state,instances,vcpus,memory_gib"
        )?;
        Ok(TimeseriesWriter { out })
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
        self.out.flush().context("cannot write timeseries.csv")
    }
}
