//! The fault injector, the platform's own actor: it carries out the scenario's fault plan
//! (zone outages begin and end, random-failure processes switch on and off) and strikes
//! RUNNING instances at the processes' rates. It owns no instances and makes no API calls: it
//! acts through the cloud's fault methods, and what it did to an instance is posted to the
//! instance's owner (through its context) and handed on by the world.

use crate::cloud::api::{Observer, OutageMode};
use crate::cloud::{InstanceState, ZoneIdx};
use crate::engine::RngStreams;
use crate::workload::faults::{FailureProcess, FaultInjector, FaultSpec, Step};

use super::Event;
use super::actor::{Actor, Ctx};

/// The fault injector's own events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultEvent {
    /// Step `k` of the fault plan.
    Step(u32),
    /// Failure process `p` strikes.
    Strike(u32),
}

/// The fault plan and where it stands.
#[derive(Default)]
pub struct Platform {
    plan: FaultInjector,
    /// The process that struck in the event being handled: rearmed once the owners were told.
    struck: Option<u32>,
}

/// Instances RUNNING now, in one zone or all.
fn running_now<O: Observer>(ctx: &Ctx<'_, O>, zone: Option<ZoneIdx>) -> u64 {
    ctx.cloud().running(zone)
}

impl Platform {
    /// The plan of `faults`; failure process `i` draws from the stream `faults:<i>`.
    pub fn new(faults: &[FaultSpec], streams: &RngStreams) -> Self {
        Platform {
            plan: FaultInjector::new(faults, streams),
            struck: None,
        }
    }

    /// The random-failure processes, as they stand (failures so far, exposure).
    pub fn processes(&self) -> &[FailureProcess] {
        &self.plan.processes
    }

    fn step<O: Observer>(&mut self, k: u32, ctx: &mut Ctx<'_, O>) {
        let now = ctx.now();
        let Some(&(_, step)) = self.plan.steps.get(k as usize) else {
            return;
        };
        match step {
            Step::OutageBegins(z, mode) => {
                let what = match mode {
                    OutageMode::Lost => "its instances are lost",
                    OutageMode::Stopped => "its instances are stopped",
                };
                ctx.narrate(z, &format!("outage of {{zone}} begins: {what}"));
                ctx.begin_zone_outage(z, mode);
            }
            Step::OutageEnds(z) => {
                ctx.narrate(z, "outage of {zone} ends");
                ctx.end_zone_outage(z);
            }
            Step::FailuresOn(p) => {
                let zone = self.plan.processes[p as usize].zone;
                let n = running_now(ctx, zone);
                let proc = &mut self.plan.processes[p as usize];
                proc.set_active(now, true);
                proc.running = n;
                self.rearm(p, ctx);
            }
            Step::FailuresOff(p) => {
                let proc = &mut self.plan.processes[p as usize];
                proc.set_active(now, false);
                if let Some(ev) = proc.pending.take() {
                    ctx.cancel(ev);
                }
            }
        }
    }

    /// Schedules process `p`'s next strike at its current count (cancelling the one pending).
    fn rearm<O: Observer>(&mut self, p: u32, ctx: &mut Ctx<'_, O>) {
        let proc = &mut self.plan.processes[p as usize];
        if let Some(ev) = proc.pending.take() {
            ctx.cancel(ev);
        }
        if let Some(t) = proc.due(ctx.now()) {
            proc.pending = Some(ctx.schedule_at(t, Event::Failure(p)));
        }
    }

    /// Process `p` strikes: a RUNNING instance picked uniformly is lost (its owner is told
    /// before the process is rearmed, in [`Actor::after_posts`]).
    fn strike<O: Observer>(&mut self, p: u32, ctx: &mut Ctx<'_, O>) {
        let now = ctx.now();
        let zone = self.plan.processes[p as usize].zone;
        let n = running_now(ctx, zone);
        let proc = &mut self.plan.processes[p as usize];
        proc.pending = None;
        let victim = proc.strike(now, n).and_then(|k| {
            ctx.cloud()
                .fleet()
                .iter()
                .filter(|(_, i)| {
                    i.state == InstanceState::Running && zone.is_none_or(|z| i.zone == z)
                })
                .nth(k as usize)
                .map(|(_, i)| i.id)
        });
        if let Some(id) = victim
            && ctx.fail_instance(id)
        {
            self.plan.processes[p as usize].failures += 1;
        }
        self.struck = Some(p);
    }
}

impl Actor for Platform {
    type Event = FaultEvent;
    type Reply = ();

    /// Schedules every step of the plan.
    fn start<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        for (k, &(t, _)) in self.plan.steps.iter().enumerate() {
            ctx.schedule_at(t, Event::Fault(k as u32));
        }
    }

    fn handle<O: Observer>(&mut self, ev: FaultEvent, ctx: &mut Ctx<'_, O>) {
        match ev {
            FaultEvent::Step(k) => self.step(k, ctx),
            FaultEvent::Strike(p) => self.strike(p, ctx),
        }
    }

    /// After a strike: the process's count is taken afresh and its next strike scheduled.
    fn after_posts<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        if let Some(p) = self.struck.take() {
            let zone = self.plan.processes[p as usize].zone;
            let n = running_now(ctx, zone);
            self.plan.processes[p as usize].running = n;
            self.rearm(p, ctx);
        }
    }

    /// A process whose count of RUNNING instances changed spends its hazard so far at the old
    /// count and is rescheduled at the new one.
    fn after_event<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        for p in 0..self.plan.processes.len() {
            let proc = &self.plan.processes[p];
            if !proc.is_active() {
                continue;
            }
            let n = running_now(ctx, proc.zone);
            if n != self.plan.processes[p].running {
                let proc = &mut self.plan.processes[p];
                proc.advance(ctx.now());
                proc.running = n;
                self.rearm(p as u32, ctx);
            }
        }
    }
}
