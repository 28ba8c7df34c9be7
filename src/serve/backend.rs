//! The simulation side of `serve`: what the HTTP side asks of it ([`Backend`]), and the
//! implementation on the real world ([`SimBackend`], a [`Session`]): the scenario's own actors
//! keep running beside the external client, which calls through the same control-plane door.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::CvmError;
use super::clock::sim_iso8601;
use super::wire;
use crate::cloud::Owner;
use crate::cloud::api::Action;
use crate::engine::{SimTime, format_duration};
use crate::run::{RunOptions, Session};
use crate::scenario::Scenario;

/// What the HTTP side asks of the simulation. Called from one thread only.
pub trait Backend {
    /// Simulated time now.
    fn now(&self) -> SimTime;
    /// The latest time the run may reach.
    fn horizon(&self) -> SimTime;
    /// Runs the simulation until `t` (capped at the horizon).
    fn advance_to(&mut self, t: SimTime);
    /// One CVM call from the external client at the current time: `Ok` is the `Response`
    /// object without its `RequestId`.
    fn call(
        &mut self,
        action: &str,
        region: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CvmError>;
    /// `GET /fleetsim/status`.
    fn status(&self) -> Value;
    /// Ends the run at the current time and writes its folder; returns the folder.
    fn finish(self: Box<Self>) -> Result<PathBuf>;
}

/// The real world behind `serve`.
pub struct SimBackend {
    session: Session,
    name: String,
    currency: String,
    epoch: i64,
    external_calls: u64,
    /// The regions of the scenario's zones, sorted.
    regions: Vec<String>,
}

impl SimBackend {
    /// Opens the scenario's run as `fleetsim run` does, writing into `out` on
    /// [`Backend::finish`].
    pub fn new(scn: Scenario, out: &Path, epoch: i64) -> Result<Self> {
        let mut regions: Vec<String> = scn.catalog.zones.iter().map(|z| z.region.clone()).collect();
        regions.sort();
        regions.dedup();
        let session = Session::open(
            &scn,
            RunOptions {
                out: Some(out.to_path_buf()),
                write_files: true,
                ..Default::default()
            },
        )?;
        Ok(SimBackend {
            session,
            name: scn.name.clone(),
            currency: scn.catalog.currency.clone(),
            epoch,
            external_calls: 0,
            regions,
        })
    }
}

impl Backend for SimBackend {
    fn now(&self) -> SimTime {
        self.session.now()
    }

    fn horizon(&self) -> SimTime {
        self.session.horizon()
    }

    fn advance_to(&mut self, t: SimTime) {
        // An error stops the run for good; finishing reports it.
        let _ = self.session.advance_to(t);
    }

    fn call(
        &mut self,
        action: &str,
        region: &str,
        params: &Map<String, Value>,
    ) -> Result<Map<String, Value>, CvmError> {
        let Some(action) = Action::parse(action) else {
            return Err(CvmError::new(
                "InvalidAction",
                format!(
                    "CVM 2017-03-12 has no action `{action}` in fleetsim (it serves {})",
                    Action::ALL.map(|a| a.as_str()).join(", ")
                ),
            ));
        };
        if !self.regions.iter().any(|r| r == region) {
            return Err(CvmError::new(
                "UnsupportedRegion",
                format!(
                    "region `{region}` has no zone in this scenario (it has {})",
                    self.regions.join(", ")
                ),
            ));
        }
        let parsed = wire::parse(action, region, params, &self.session.world().cloud.catalog)?;
        self.external_calls += 1;
        match self.session.call(parsed.request) {
            Ok(resp) => Ok(wire::render(
                &resp,
                &parsed.scope,
                &wire::Ctx {
                    cloud: &self.session.world().cloud,
                    epoch: self.epoch,
                },
            )),
            Err(e) => Err(CvmError::new(e.code.as_str(), e.message)),
        }
    }

    fn status(&self) -> Value {
        let world = self.session.world();
        let fleet = world.cloud.fleet();
        let mut by_state: std::collections::BTreeMap<&str, u64> = Default::default();
        let mut external = 0u64;
        for (_, inst) in fleet.iter() {
            *by_state.entry(inst.state.as_str()).or_default() += 1;
            if inst.owner == Owner::External {
                external += 1;
            }
        }
        let rec = &world.rec;
        json!({
            "Scenario": self.name,
            "Now": format_duration(self.now().since(SimTime::ZERO)),
            "NowMs": self.now().ms(),
            "NowTime": sim_iso8601(self.epoch, self.now()),
            "Horizon": format_duration(self.horizon().since(SimTime::ZERO)),
            "InstancesAlive": fleet.len(),
            "InstancesByState": by_state,
            "ExternalInstancesAlive": external,
            "InstancesCreated": rec.created,
            "InstancesReleased": rec.released,
            "ApiCalls": rec.api_calls,
            "ExternalApiCalls": self.external_calls,
            "Currency": self.currency,
            "CostSoFar": rec.cost_total().as_f64(),
            "EventsProcessed": self.session.events(),
        })
    }

    fn finish(self: Box<Self>) -> Result<PathBuf> {
        let result = self.session.finish_now()?;
        result
            .out_dir
            .ok_or_else(|| anyhow::anyhow!("the run wrote no folder"))
    }
}
