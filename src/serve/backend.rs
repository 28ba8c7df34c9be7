//! The simulation side of `serve`: what the HTTP side asks of it ([`Backend`]), and the
//! implementation on the real world ([`SimBackend`]): the scenario's own actors keep running
//! beside the external client, which calls through the same control-plane door.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::CvmError;
use super::clock::sim_iso8601;
use super::wire;
use crate::cloud::Owner;
use crate::cloud::api::Action;
use crate::engine::{Scheduler, SimTime, format_duration};
use crate::report::output::Staging;
use crate::report::timeseries::TimeseriesWriter;
use crate::run::{build_world, summarize};
use crate::scenario::Scenario;
use crate::world::{Event, World};

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
    scn: Scenario,
    world: World,
    sched: Scheduler<Event>,
    staging: Staging,
    epoch: i64,
    started: Instant,
    external_calls: u64,
}

impl SimBackend {
    /// Builds the scenario's world as `fleetsim run` does, writing into `out` on
    /// [`Backend::finish`].
    pub fn new(scn: Scenario, out: &Path, epoch: i64) -> Result<Self> {
        let staging = Staging::new(out)?;
        let (mut world, sched) = build_world(&scn, scn.seed);
        world.rec.api_bucket_ms = scn.sample_interval.ms();
        let horizon = SimTime::ZERO + scn.duration;
        world.rec.costs = scn
            .rules
            .enabled
            .then(|| crate::report::costs::CostLedger::new(scn.catalog.zones.len(), horizon));
        world.rec.stream_instances(&staging.path("instances.csv"))?;
        let mut ts = Some(TimeseriesWriter::create(staging.dir())?);
        world.sampler = Some(Box::new(move |t, rec, cloud| {
            if let Some(w) = ts.as_mut() {
                w.sample(t, &rec.counts, &cloud.catalog)?;
                w.sample_quota(t, cloud.quotas(), &cloud.catalog)?;
            }
            Ok(())
        }));
        Ok(SimBackend {
            scn,
            world,
            sched,
            staging,
            epoch,
            started: Instant::now(),
            external_calls: 0,
        })
    }

    fn regions(&self) -> Vec<&str> {
        let mut r: Vec<&str> = self
            .world
            .cloud
            .catalog
            .zones
            .iter()
            .map(|z| z.region.as_str())
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    }
}

impl Backend for SimBackend {
    fn now(&self) -> SimTime {
        self.sched.now()
    }

    fn horizon(&self) -> SimTime {
        self.sched.end()
    }

    fn advance_to(&mut self, t: SimTime) {
        // After an error the run stands still; finishing reports the error.
        if t > self.sched.now()
            && self.world.error.is_none()
            && let Err(e) = self.sched.run_until(t, &mut self.world)
        {
            self.world.error = Some(e);
        }
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
        if !self.regions().contains(&region) {
            return Err(CvmError::new(
                "UnsupportedRegion",
                format!(
                    "region `{region}` has no zone in this scenario (it has {})",
                    self.regions().join(", ")
                ),
            ));
        }
        let parsed = wire::parse(action, region, params, &self.world.cloud.catalog)?;
        self.external_calls += 1;
        let result = self.world.cloud.call(
            Owner::External,
            parsed.request,
            &mut self.sched,
            &mut self.world.rec,
        );
        match result {
            Ok(resp) => Ok(wire::render(
                &resp,
                &parsed.scope,
                &wire::Ctx {
                    cloud: &self.world.cloud,
                    epoch: self.epoch,
                },
            )),
            Err(e) => Err(CvmError::new(e.code.as_str(), e.message)),
        }
    }

    fn status(&self) -> Value {
        let now = self.sched.now();
        let fleet = self.world.cloud.fleet();
        let mut by_state: std::collections::BTreeMap<&str, u64> = Default::default();
        let mut external = 0u64;
        for (_, inst) in fleet.iter() {
            *by_state.entry(inst.state.as_str()).or_default() += 1;
            if inst.owner == Owner::External {
                external += 1;
            }
        }
        let rec = &self.world.rec;
        json!({
            "Scenario": self.scn.name,
            "Now": format_duration(now.since(SimTime::ZERO)),
            "NowMs": now.ms(),
            "NowTime": sim_iso8601(self.epoch, now),
            "Horizon": format_duration(self.sched.end().since(SimTime::ZERO)),
            "InstancesAlive": fleet.len(),
            "InstancesByState": by_state,
            "ExternalInstancesAlive": external,
            "InstancesCreated": rec.created,
            "InstancesReleased": rec.released,
            "ApiCalls": rec.api_calls,
            "ExternalApiCalls": self.external_calls,
            "Currency": self.scn.catalog.currency,
            "CostSoFar": rec.cost_total().as_f64(),
            "EventsProcessed": self.sched.processed(),
        })
    }

    fn finish(self: Box<Self>) -> Result<PathBuf> {
        let SimBackend {
            mut scn,
            mut world,
            sched,
            staging,
            started,
            ..
        } = *self;
        let end = sched.now();
        if let Some(f) = world.sampler.as_mut() {
            f(end, &world.rec, &world.cloud)?;
        }
        world.sampler = None; // flushes and closes timeseries.csv
        if let Some(e) = world.error.take() {
            return Err(e);
        }
        world.cloud.close_books(end, &mut world.rec);
        world.rec.finish()?;
        world.rec.write_api_csv(&staging.path("api.csv"))?;
        if let Some(l) = &world.rec.costs {
            l.write_csv(&staging.path("costs.csv"), &scn.catalog, end)?;
        }
        // The run lasted until the server stopped: its summary and figures say so.
        scn.duration = end.since(SimTime::ZERO);
        let wall = started.elapsed().as_secs_f64();
        let summary = summarize(&scn, scn.seed, &world, sched.processed(), wall);
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(staging.path("summary.json"), text + "\n")?;
        let figs = crate::report::figures::write_all(staging.dir(), &summary, &scn)?;
        crate::report::html::write_report(staging.dir(), &summary, &scn, &figs)?;
        staging.commit()
    }
}
