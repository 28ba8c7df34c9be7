//! The simulated world: the cloud, the workloads that call it, and the recorder watching it.
//! It is the engine's [`Model`]; its events are the cloud's own plus the actors'.

use std::collections::HashSet;

use crate::cloud::{
    Cloud, CloudEvent, InstanceId, InstanceState, Owner, Request, Response, RunInstances,
};
use crate::engine::RandomStream;
use crate::engine::{Model, Scheduler, SimTime};
use crate::report::recorder::Recorder;
use crate::scenario::RetryPolicy;
use crate::workload::{Demand, Workload};

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
    /// A client retries a call (index into the world's pending retries).
    Retry(u32),
}

/// A call waiting to be retried.
#[derive(Clone, Debug)]
enum RetryCall {
    Run(Demand),
    Terminate(InstanceId),
}

#[derive(Clone, Debug)]
struct PendingRetry {
    workload: u32,
    /// Attempts already made.
    attempts: u32,
    call: RetryCall,
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
    pub retry: RetryPolicy,
    retry_rng: RandomStream,
    retries: Vec<Option<PendingRetry>>,
    free_retries: Vec<u32>,
}

impl World {
    pub fn new(
        cloud: Cloud,
        workloads: Vec<Workload>,
        rec: Recorder,
        retry: RetryPolicy,
        retry_rng: RandomStream,
    ) -> Self {
        World {
            cloud,
            workloads,
            rec,
            end_when_running: HashSet::new(),
            sampler: None,
            sample_interval: crate::engine::SimDuration::from_hours(1),
            occupancy: Occupancy::default(),
            error: None,
            retry,
            retry_rng,
            retries: Vec::new(),
            free_retries: Vec::new(),
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
        let demand = wl.draw(sched.now());
        let next = wl.next_arrival(sched.now());
        sched.schedule_at(next, Event::Arrival(w));
        self.launch(w, demand, 1, sched);
    }

    /// Calls RunInstances for a demand (attempt `attempt`, counted from 1).
    fn launch(&mut self, w: u32, demand: Demand, attempt: u32, sched: &mut Scheduler<Event>) {
        let req = Request::RunInstances(RunInstances {
            zone: demand.zone,
            itype: demand.itype,
            charge: demand.charge,
            count: demand.lifetimes.len() as u32,
            min_count: None,
            dry_run: false,
            period_months: demand.period_months,
        });
        self.rec.attempt = attempt;
        let result = self
            .cloud
            .call(Owner::Workload(w), req, sched, &mut self.rec);
        match result {
            Ok(Response::Launched(ids)) => {
                let refused = demand.lifetimes.len() - ids.len();
                self.workloads[w as usize].refused += refused as u64;
                // Lifetimes count from the original request, whatever the retries took.
                for (id, life) in ids.into_iter().zip(&demand.lifetimes) {
                    let end = (demand.requested + *life).max(sched.now());
                    sched.schedule_at(end, Event::End(w, id));
                }
            }
            Ok(_) => {}
            Err(e) => {
                if !self.maybe_retry(w, attempt, e.code, RetryCall::Run(demand.clone()), sched) {
                    self.workloads[w as usize].refused += demand.lifetimes.len() as u64;
                }
            }
        }
    }

    /// Schedules a retry of a refused call if the error is retryable and attempts remain;
    /// counts a give-up otherwise. Returns whether a retry was scheduled.
    fn maybe_retry(
        &mut self,
        w: u32,
        attempts: u32,
        code: crate::cloud::ErrorCode,
        call: RetryCall,
        sched: &mut Scheduler<Event>,
    ) -> bool {
        if !code.retryable() {
            return false;
        }
        let action = match call {
            RetryCall::Run(_) => crate::cloud::Action::RunInstances,
            RetryCall::Terminate(_) => crate::cloud::Action::TerminateInstances,
        };
        if attempts >= self.retry.max_attempts {
            self.rec.give_up(sched.now(), action, code);
            return false;
        }
        let p = &self.retry;
        let backoff = p
            .base_delay
            .ms()
            .saturating_mul(1u64 << (attempts - 1).min(40))
            .min(p.max_delay.ms());
        let wait = if p.jitter {
            (backoff as f64 * self.retry_rng.uniform()).round() as u64
        } else {
            backoff
        };
        let pending = PendingRetry {
            workload: w,
            attempts,
            call,
        };
        let slot = match self.free_retries.pop() {
            Some(i) => {
                self.retries[i as usize] = Some(pending);
                i
            }
            None => {
                self.retries.push(Some(pending));
                (self.retries.len() - 1) as u32
            }
        };
        sched.schedule_in(crate::engine::SimDuration(wait.max(1)), Event::Retry(slot));
        true
    }

    fn do_retry(&mut self, slot: u32, sched: &mut Scheduler<Event>) {
        let Some(p) = self.retries[slot as usize].take() else {
            return;
        };
        self.free_retries.push(slot);
        match p.call {
            RetryCall::Run(d) => self.launch(p.workload, d, p.attempts + 1, sched),
            RetryCall::Terminate(id) => {
                self.terminate_attempt(p.workload, id, p.attempts + 1, sched)
            }
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
        self.terminate_attempt(w, id, 1, sched);
    }

    fn terminate_attempt(
        &mut self,
        w: u32,
        id: InstanceId,
        attempt: u32,
        sched: &mut Scheduler<Event>,
    ) {
        let req = Request::TerminateInstances {
            ids: vec![id.into()],
        };
        self.rec.attempt = attempt;
        if let Err(e) = self
            .cloud
            .call(Owner::Workload(w), req, sched, &mut self.rec)
        {
            self.maybe_retry(w, attempt, e.code, RetryCall::Terminate(id), sched);
        }
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
            Event::Retry(slot) => self.do_retry(slot, sched),
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
