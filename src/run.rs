//! One run of a scenario: build the world, run the engine to the horizon, write the outputs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::cloud::capacity::{Quotas, Stock};
use crate::cloud::{ApiError, Cloud, ErrorCode, Observer, Request, Response};
use crate::engine::{RngStreams, Scheduler, SimTime};
use crate::report::journal::{Journal, TraceFilter};
use crate::report::output::Staging;
use crate::report::recorder::{Recorder, by_charge, by_item};
use crate::report::summary::Summary;
use crate::report::timeseries::TimeseriesWriter;
use crate::scenario::Scenario;
use crate::workload::Workload;
use crate::world::{Event, World};

/// How to run.
#[derive(Default)]
pub struct RunOptions {
    /// Output folder; `None` with `write_files` means `output/<scenario name>/`.
    pub out: Option<PathBuf>,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Narrate events to stdout.
    pub trace: Option<TraceFilter>,
    /// Write the run folder (off for replications that only need the summary).
    pub write_files: bool,
}

pub struct RunResult {
    pub summary: Summary,
    pub out_dir: Option<PathBuf>,
    /// What happened, from the files written (empty when none were).
    pub findings: Vec<crate::report::findings::Finding>,
    /// Things the user asked for that the run could not honour (a `--trace-zone` naming no
    /// zone, a `--trace-instance` no event concerned), for stderr after the results.
    pub warnings: Vec<String>,
}

/// Standard output that counts the bytes written through it: whether a filtered `--trace`
/// narrated anything.
struct CountingStdout(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl std::io::Write for CountingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = std::io::stdout().write(buf)?;
        self.0
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// Warnings for `--trace-zone`/`--trace-instance` filters that matched nothing.
fn trace_warnings(scn: &Scenario, filter: &TraceFilter, narrated: u64) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(z) = &filter.zone
        && !scn.catalog.zones.iter().any(|x| &x.name == z)
    {
        let names: Vec<&str> = scn.catalog.zones.iter().map(|x| x.name.as_str()).collect();
        out.push(format!(
            "--trace-zone {z}: the scenario has no such zone ({}), so nothing was narrated",
            names.join(", ")
        ));
    } else if narrated == 0 {
        let what = match (&filter.instance, &filter.zone) {
            (Some(i), Some(z)) => format!("--trace-instance {i} --trace-zone {z}"),
            (Some(i), None) => format!("--trace-instance {i}"),
            (None, Some(z)) => format!("--trace-zone {z}"),
            (None, None) => return out,
        };
        out.push(format!(
            "{what}: no event of this run matched, so nothing was narrated"
        ));
    }
    out
}

/// Builds the cloud and the actors of a scenario, with a seed, watched by a [`Recorder`].
pub fn build_world(scn: &Scenario, seed: u64) -> (World, Scheduler<Event>) {
    build_world_with(scn, seed, Recorder::new(scn.catalog.zones.len()))
}

/// [`build_world`] watched by any observer (the run is the same whatever watches it).
pub fn build_world_with<O: Observer>(
    scn: &Scenario,
    seed: u64,
    rec: O,
) -> (World<O>, Scheduler<Event>) {
    let streams = RngStreams::new(seed);
    let mut stock = Stock::new(scn.catalog.zones.len(), scn.catalog.types.len());
    for &(z, t, cap) in &scn.stock {
        stock.set_capacity(z, t, Some(cap));
    }
    for &(z, t) in &scn.not_offered {
        stock.set_offered(z, t, false);
    }
    let mut cloud = Cloud::new(
        crate::cloud::api::CloudSetup {
            catalog: scn.catalog.clone(),
            rules: scn.rules.clone(),
            timings: scn.timings.clone(),
            launch_failure: scn.launch_failure,
            quotas: Quotas::new(scn.quotas.clone()),
            stock,
            rate_limits: scn.rate_limits.clone(),
            spot_model: scn.spot_model.clone(),
            spot_step: scn.spot_step,
            spot_notice: scn.spot_notice,
            recycle_bin: scn.recycle_bin,
        },
        &streams,
    );
    cloud.max_run_count = scn.max_run_count;
    cloud.launch_failed_cleanup = scn.launch_failed_cleanup;
    let workloads = scn
        .workloads
        .iter()
        .map(|w| Workload::new(w.clone(), &streams))
        .collect();
    let mut world = World::new(
        cloud,
        workloads,
        rec,
        scn.retry.clone(),
        streams.stream("clients:retry"),
    );
    world.sample_interval = scn.sample_interval;
    world.set_scripts(scn.scripts.clone(), &streams);
    for spec in &scn.traces {
        match crate::workload::trace::TraceReplay::open(spec.clone(), &streams) {
            Ok(t) => world.add_trace(t),
            // The file was readable when the scenario was loaded; the run reports it.
            Err(e) => {
                world.error.get_or_insert(e);
            }
        }
    }
    world.set_controllers(scn.autoscalers.clone(), &scn.faults, &streams);
    let mut sched = Scheduler::new(SimTime::ZERO + scn.duration);
    world.start(&mut sched);
    (world, sched)
}

/// Runs a scenario and, if asked, writes its run folder atomically.
pub fn run(scn: &Scenario, opts: RunOptions) -> Result<RunResult> {
    run_with_progress(scn, opts, None)
}

/// Steps of a run reported to a progress callback.
const PROGRESS_STEPS: u64 = 200;

/// [`run`], calling `progress(now, horizon)` each time simulated time has advanced by 1/200 of
/// the run. Stepping a run ([`Session::advance_to`]) does not change it.
pub fn run_with_progress(
    scn: &Scenario,
    opts: RunOptions,
    mut progress: Option<&mut dyn FnMut(SimTime, SimTime)>,
) -> Result<RunResult> {
    let mut session = Session::open(scn, opts)?;
    if let Some(report) = progress.as_mut() {
        let end = session.horizon();
        let step = (end.ms() / PROGRESS_STEPS).max(1);
        while session.now() < end {
            let t = SimTime(session.now().ms().saturating_add(step).min(end.ms()));
            session.advance_to(t)?;
            report(t, end);
        }
    }
    session.finish()
}

/// A run driven in steps from outside: advanced to a time and held there, called into by an
/// external client at that time, finished when asked. A session advanced in any steps and
/// finished, with no external call, writes exactly what [`run`] writes.
pub struct Session {
    scn: Scenario,
    seed: u64,
    trace: Option<TraceFilter>,
    /// Bytes the `--trace` journal has written (whether a filter matched anything).
    narrated: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The error that stopped the run, if one did.
    failed: Option<String>,
    world: World,
    sched: Scheduler<Event>,
    staging: Option<Staging>,
    started: Instant,
}

impl Session {
    /// Builds the world of `scn` and opens its outputs (written by [`Session::finish`]); the
    /// clock reads zero and nothing has happened yet.
    pub fn open(scn: &Scenario, opts: RunOptions) -> Result<Session> {
        let seed = opts.seed.unwrap_or(scn.seed);
        let staging = if opts.write_files {
            let target = opts
                .out
                .clone()
                .unwrap_or_else(|| Path::new("output").join(&scn.name));
            Some(Staging::new(&target)?)
        } else {
            None
        };
        let (mut world, sched) = build_world(scn, seed);
        if staging.is_some() {
            // A run that writes its folder is one a user waits for, alone on the machine:
            // a second core draws the busy workloads' requests (replications in a sweep
            // already use every core).
            crate::workload::ahead::draw_ahead(
                world.workloads.iter_mut().map(|c| &mut c.workload),
                SimTime::ZERO + scn.duration,
            );
        }
        world.rec.api_bucket_ms = scn.sample_interval.ms();
        let narrated = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        if let Some(f) = opts.trace.clone() {
            world.rec.journal = Some(Journal::new(Box::new(CountingStdout(narrated.clone())), f));
        }
        if let Some(st) = &staging {
            world.rec.costs = scn.rules.enabled.then(|| {
                crate::report::costs::CostLedger::new(
                    scn.catalog.zones.len(),
                    SimTime::ZERO + scn.duration,
                )
            });
            world.rec.accrued = scn.rules.enabled.then(|| {
                crate::report::accrued::AccruedLedger::new(
                    scn.catalog.zones.len(),
                    SimTime::ZERO + scn.duration,
                )
            });
            world.rec.stream_instances(&st.path("instances.csv"))?;
            let mut ts = Some(TimeseriesWriter::create(st.dir())?);
            let horizon = SimTime::ZERO + scn.duration;
            world.sampler = Some(Box::new(move |t, rec, cloud| {
                if let Some(w) = ts.as_mut() {
                    w.sample(t, &rec.counts, &cloud.catalog)?;
                    w.sample_quota(t, cloud.quotas(), &cloud.catalog)?;
                    if t == horizon {
                        // The last sample: close the files, so a write error is reported.
                        if let Some(w) = ts.take() {
                            w.finish()?;
                        }
                    }
                }
                Ok(())
            }));
        }
        Ok(Session {
            scn: scn.clone(),
            seed,
            trace: opts.trace,
            narrated,
            failed: None,
            world,
            sched,
            staging,
            started: Instant::now(),
        })
    }

    /// Simulated time now.
    pub fn now(&self) -> SimTime {
        self.sched.now()
    }

    /// The end of the run.
    pub fn horizon(&self) -> SimTime {
        self.sched.end()
    }

    /// The world as it stands (read-only: only the control plane changes it).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Handles every event before `t` (capped at the horizon) and holds the clock at `t`; the
    /// events due at `t` itself come after any external call made now. An earlier `t` than
    /// now changes nothing. An error stops the run for good: it is returned here, and again
    /// by [`Session::finish`], which then writes nothing.
    pub fn advance_to(&mut self, t: SimTime) -> Result<()> {
        if let Some(e) = &self.failed {
            anyhow::bail!("{e}");
        }
        if let Err(e) = self.sched.run_until(t, &mut self.world) {
            self.failed = Some(format!("{e:#}"));
            return Err(e);
        }
        Ok(())
    }

    /// A call from an external client (`Owner::External`) at the current time, through the
    /// control plane's one door (rate limits, quotas, stock); the answer is its own.
    pub fn call(&mut self, request: Request) -> Result<Response, ApiError> {
        self.world.external_call(request, &mut self.sched)
    }

    /// Events handled so far.
    pub fn events(&self) -> u64 {
        self.sched.processed()
    }

    /// [`Session::finish`] at the current time instead of the horizon: the run ends where it
    /// stands (a served run ends when its server stops), its books close now and its summary
    /// covers the time run.
    pub fn finish_now(mut self) -> Result<RunResult> {
        self.sched.end_now();
        self.scn.duration = self.sched.now().since(SimTime::ZERO);
        self.finish()
    }

    /// Runs to the horizon, closes the books and writes the run folder (if asked for); the
    /// run's error, if it had one, and nothing written.
    pub fn finish(self) -> Result<RunResult> {
        let Session {
            scn,
            seed,
            trace,
            narrated,
            failed,
            mut world,
            mut sched,
            staging,
            started,
        } = self;
        if let Some(e) = failed {
            anyhow::bail!("{e}");
        }
        let end = run_to_horizon(&mut world, &mut sched, None)?;
        // The final sample, at the horizon.
        if let Some(f) = world.sampler.as_mut() {
            f(end, &world.rec, &world.cloud)?;
        }
        world.sampler = None; // flushes and closes timeseries.csv
        world.cloud.close_books(end, &mut world.rec);
        world.rec.finish()?;
        if let Some(st) = &staging {
            world.rec.write_api_csv(&st.path("api.csv"))?;
            if let Some(l) = &world.rec.costs {
                l.write_csv(&st.path("costs.csv"), &scn.catalog, end)?;
                if let Some(a) = &world.rec.accrued {
                    let file = crate::report::accrued::COSTS_ACCRUED_FILE;
                    a.write_csv(&st.path(file), l, &scn.catalog, end)?;
                }
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let events = sched.processed();
        let summary = summarize(&scn, seed, &world, events, wall);
        let mut findings = Vec::new();
        let out_dir = match staging {
            Some(st) => {
                let json = serde_json::to_string_pretty(&summary)?;
                std::fs::write(st.path("summary.json"), json + "\n")
                    .context("cannot write summary.json")?;
                let figs = crate::report::figures::write_all(st.dir(), &summary, &scn)?;
                findings = crate::report::findings::findings(&summary, &figs.data);
                crate::report::html::write_report(st.dir(), &summary, &scn, &figs, &findings)?;
                Some(st.commit()?)
            }
            None => None,
        };
        let warnings = match &trace {
            Some(f) => {
                if let Some(j) = world.rec.journal.as_mut() {
                    j.flush();
                }
                trace_warnings(&scn, f, narrated.load(std::sync::atomic::Ordering::Relaxed))
            }
            None => Vec::new(),
        };
        Ok(RunResult {
            summary,
            out_dir,
            findings,
            warnings,
        })
    }
}

/// The headline figures of a finished run.
pub fn summarize(scn: &Scenario, seed: u64, world: &World, events: u64, wall: f64) -> Summary {
    let end = SimTime::ZERO + scn.duration;
    let rec = &world.rec;
    Summary {
        scenario: scn.name.clone(),
        seed,
        duration_s: scn.duration.secs_f64(),
        currency: scn.catalog.currency.clone(),
        events_processed: events,
        instances_created: rec.created,
        instances_terminated: rec.released,
        instances_launch_failed: rec.launch_failed,
        instances_alive_at_end: world.cloud.fleet().len() as u64,
        requests_refused: world
            .workloads
            .iter()
            .map(|w| w.workload.refused)
            .sum::<u64>()
            + world.traces.iter().map(|t| t.replay.refused).sum::<u64>(),
        api_calls_total: rec.api_calls,
        api_give_ups: rec.give_ups,
        spot_reclaims: rec.spot_reclaims,
        prepaid_expiries: rec.prepaid_expiries,
        prepaid_renewals: rec.prepaid_renewals,
        api_calls_throttled: rec
            .api_by_code
            .get(&ErrorCode::RequestLimitExceeded)
            .copied()
            .unwrap_or(0),
        api_errors_by_code: rec
            .api_by_code
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect(),
        cost_total: rec.cost_total().as_f64(),
        cost_by_charge_type: by_charge(&rec.cost_by_charge),
        cost_by_item: by_item(rec.cost_total(), rec.cost_disk, rec.cost_network),
        cost_prepaid_unused: rec.prepaid_unused.as_f64(),
        cost_to_horizon: (rec.cost_total() - rec.prepaid_unused).as_f64(),
        mean_instances_alive: world.occupancy.mean(end),
        peak_instances_alive: world.occupancy.peak,
        wall_seconds: wall,
        events_per_second: if wall > 0.0 {
            events as f64 / wall
        } else {
            0.0
        },
    }
}

/// Runs a built world to its horizon: the one loop every command's simulations go through
/// (`run`, each `compare` and `sweep` job, the pilot runs that size a prepaid base). Returns the
/// end time, or the run's error (a trace line that cannot be read, a sample that cannot be
/// written, ...), so no command can report figures of a run that failed. With `progress`, the
/// scheduler is stepped in 1/200ths of the run and `progress(now, horizon)` called after each
/// step; stepping (`run_until`) does not change the run.
pub fn run_to_horizon(
    world: &mut World,
    sched: &mut Scheduler<Event>,
    mut progress: Option<&mut dyn FnMut(SimTime, SimTime)>,
) -> Result<SimTime> {
    if let Some(report) = progress.as_mut() {
        let end = sched.end();
        let step = (end.ms() / PROGRESS_STEPS).max(1);
        while sched.now() < end && world.error.is_none() {
            let t = SimTime(sched.now().ms().saturating_add(step).min(end.ms()));
            sched.run_until(t, world)?;
            report(t, end);
        }
    }
    if world.error.is_none() {
        sched.run(world)?;
    }
    match world.error.take() {
        Some(e) => Err(e),
        None => Ok(sched.now()),
    }
}

/// Runs a built world to the horizon without writing files, and summarises it (replications).
pub fn simulate(
    scn: &Scenario,
    seed: u64,
    mut world: World,
    sched: &mut Scheduler<Event>,
) -> Result<Summary> {
    let started = Instant::now();
    let end = run_to_horizon(&mut world, sched, None)?;
    world.cloud.close_books(end, &mut world.rec);
    let wall = started.elapsed().as_secs_f64();
    Ok(summarize(scn, seed, &world, sched.processed(), wall))
}
