//! The simulated world: the cloud, the workloads that call it, and the recorder watching it.
//! It is the engine's [`Model`]; its events are the cloud's own plus the actors'.

use std::collections::HashSet;

use crate::cloud::{
    Cloud, CloudEvent, InstanceId, InstanceState, Owner, Request, Response, RunInstances,
};
use crate::engine::{Model, Scheduler, SimTime};
use crate::report::recorder::Recorder;
use crate::workload::Workload;

/// Everything that can happen in a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    Cloud(CloudEvent),
    /// A workload's next request arrives.
    Arrival(u32),
    /// A workload is done with an instance.
    End(u32, InstanceId),
    /// Time to sample the fleet.
    Sample,
}

impl From<CloudEvent> for Event {
    fn from(e: CloudEvent) -> Self {
        Event::Cloud(e)
    }
}

/// Called on every Sample event with the world as it is (writes `timeseries.csv`).
pub type Sampler = Box<dyn FnMut(SimTime, &Recorder, &Cloud) -> anyhow::Result<()>>;

/// Fleet state integrated over time, for time-average figures (Little's law checks).
#[derive(Default, Clone, Copy, Debug)]
pub struct Occupancy {
    last: SimTime,
    current: u64,
    /// Σ instances × ms.
    pub area: u128,
    pub peak: u64,
}

impl Occupancy {
    fn advance(&mut self, now: SimTime, current: u64) {
        self.area += self.current as u128 * now.since(self.last).ms() as u128;
        self.last = now;
        self.current = current;
        self.peak = self.peak.max(current);
    }
    pub fn mean(&self, until: SimTime) -> f64 {
        let area = self.area + self.current as u128 * until.since(self.last).ms() as u128;
        if until.ms() == 0 {
            0.0
        } else {
            area as f64 / until.ms() as f64
        }
    }
}

pub struct World {
    pub cloud: Cloud,
    pub workloads: Vec<Workload>,
    pub rec: Recorder,
    /// Instances whose end came while they were still booting: ended once RUNNING.
    end_when_running: HashSet<InstanceId>,
    /// Called on every Sample event, with the world as it is.
    pub sampler: Option<Sampler>,
    pub sample_interval: crate::engine::SimDuration,
    pub occupancy: Occupancy,
    pub error: Option<anyhow::Error>,
}

impl World {
    pub fn new(cloud: Cloud, workloads: Vec<Workload>, rec: Recorder) -> Self {
        World {
            cloud,
            workloads,
            rec,
            end_when_running: HashSet::new(),
            sampler: None,
            sample_interval: crate::engine::SimDuration::from_hours(1),
            occupancy: Occupancy::default(),
            error: None,
        }
    }

    /// Schedules the first arrival of every workload and the first sample.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        for (i, w) in self.workloads.iter_mut().enumerate() {
            let t = w.next_arrival(SimTime::ZERO);
            sched.schedule_at(t, Event::Arrival(i as u32));
        }
        sched.schedule_at(SimTime::ZERO, Event::Sample);
    }

    fn arrival(&mut self, w: u32, sched: &mut Scheduler<Event>) {
        let wl = &mut self.workloads[w as usize];
        let demand = wl.draw();
        let next = wl.next_arrival(sched.now());
        sched.schedule_at(next, Event::Arrival(w));
        let req = Request::RunInstances(RunInstances {
            zone: demand.zone,
            itype: demand.itype,
            charge: demand.charge,
            count: demand.lifetimes.len() as u32,
            min_count: None,
            dry_run: false,
            period_months: demand.period_months,
        });
        match self
            .cloud
            .call(Owner::Workload(w), req, sched, &mut self.rec)
        {
            Ok(Response::Launched(ids)) => {
                let refused = demand.lifetimes.len() - ids.len();
                self.workloads[w as usize].refused += refused as u64;
                for (id, life) in ids.into_iter().zip(demand.lifetimes) {
                    sched.schedule_in(life, Event::End(w, id));
                }
            }
            Ok(Response::Accepted) => {}
            Err(_) => self.workloads[w as usize].refused += demand.lifetimes.len() as u64,
        }
    }

    /// A workload ends an instance: terminate it if it can take the call now, else once it is
    /// RUNNING.
    fn end(&mut self, w: u32, id: InstanceId, sched: &mut Scheduler<Event>) {
        let Some(key) = self.cloud.fleet().key_of(id) else {
            return;
        };
        let inst = self.cloud.fleet().get(key).expect("live");
        match inst.state {
            InstanceState::Running | InstanceState::Stopped | InstanceState::Shutdown
                if !inst.busy() =>
            {
                self.terminate(w, id, sched);
            }
            _ => {
                self.end_when_running.insert(id);
            }
        }
    }

    fn terminate(&mut self, w: u32, id: InstanceId, sched: &mut Scheduler<Event>) {
        let req = Request::TerminateInstances { ids: vec![id] };
        let _ = self
            .cloud
            .call(Owner::Workload(w), req, sched, &mut self.rec);
    }

    /// Lets owners react to what happened to their instances.
    fn dispatch_notices(&mut self, sched: &mut Scheduler<Event>) {
        while !self.rec.notices.is_empty() {
            let notices = std::mem::take(&mut self.rec.notices);
            for n in notices {
                let Owner::Workload(w) = n.owner else {
                    continue;
                };
                match n.to {
                    Some(InstanceState::Running) if self.end_when_running.remove(&n.id) => {
                        self.terminate(w, n.id, sched);
                    }
                    // A prepaid instance its workload ended sits in the recycle bin: destroy it.
                    // A failed launch is cleaned up.
                    Some(InstanceState::Shutdown) | Some(InstanceState::LaunchFailed) => {
                        self.end_when_running.remove(&n.id);
                        self.terminate(w, n.id, sched);
                    }
                    _ => {}
                }
            }
        }
    }
}

impl Model for World {
    type Event = Event;

    fn handle(&mut self, ev: Event, sched: &mut Scheduler<Event>) {
        match ev {
            Event::Cloud(e) => self.cloud.handle(e, sched, &mut self.rec),
            Event::Arrival(w) => self.arrival(w, sched),
            Event::End(w, id) => self.end(w, id, sched),
            Event::Sample => {
                if let Some(f) = self.sampler.as_mut()
                    && self.error.is_none()
                    && let Err(e) = f(sched.now(), &self.rec, &self.cloud)
                {
                    self.error = Some(e);
                }
                sched.schedule_in(self.sample_interval, Event::Sample);
            }
        }
        self.dispatch_notices(sched);
        let alive = self.cloud.fleet().len() as u64;
        if alive != self.occupancy.current {
            self.occupancy.advance(sched.now(), alive);
        }
    }
}
