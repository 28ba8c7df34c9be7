//! What every actor is: a small trait, and the context it acts through.
//!
//! An actor is whoever calls the control plane or acts on the platform: a workload's client, a
//! trace replay, the scripted actions, an autoscaler, the fault injector, the buyer of a
//! prepaid pool, an external client. Each is one type in its own file under `world/`, named by
//! the [`Owner`] of the instances it launches; the world holds them in typed lists and only
//! dispatches to them. An actor never sees another actor: it learns what happened from the
//! answers of its calls and from the notices about its own instances, and it reaches the cloud
//! only through its [`Ctx`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::cloud::api::{InstanceRef, Notice, Observer, OutageMode, PlatformNotice};
use crate::cloud::{
    Action, ApiError, Cloud, ErrorCode, InstanceId, Owner, Request, Response, TypeIdx, ZoneIdx,
};
use crate::engine::{EventId, RandomStream, Scheduler, SimDuration, SimTime};
use crate::workload::pool::Pool;
use crate::workload::{Demand, RetryPolicy};

use super::Event;

/// One actor: it receives its own events and notices about the instances it owns, and acts
/// through a [`Ctx`]. Every method but [`Actor::handle`] does nothing unless the actor needs
/// it.
pub trait Actor {
    /// The events only this actor receives (what it schedules for itself, or is asked to do).
    type Event;
    /// What handling an event answers (most actors answer nothing; an external client gets
    /// the control plane's response to its call).
    type Reply;

    /// At the start of a run, before any event: schedule the first events.
    fn start<O: Observer>(&mut self, _ctx: &mut Ctx<'_, O>) {}

    /// One of its own events.
    fn handle<O: Observer>(&mut self, ev: Self::Event, ctx: &mut Ctx<'_, O>) -> Self::Reply;

    /// A state change of an instance it owns (`to: None`: the instance is gone).
    fn notice<O: Observer>(&mut self, _n: &Notice, _ctx: &mut Ctx<'_, O>) {}

    /// The platform lost, stopped or failed an instance it owns (outages, random failures).
    fn platform_notice<O: Observer>(&mut self, _n: &PlatformNotice, _ctx: &mut Ctx<'_, O>) {}

    /// A call it asked to retry ([`Ctx::retry_later`]) is due; `attempts` were made so far.
    fn retry<O: Observer>(&mut self, _call: RetryCall, _attempts: u32, _ctx: &mut Ctx<'_, O>) {}

    /// After one of its events, once the platform notices it posted (through
    /// [`Ctx::fail_instance`] or [`Ctx::begin_zone_outage`]) were handed on to their owners.
    fn after_posts<O: Observer>(&mut self, _ctx: &mut Ctx<'_, O>) {}

    /// After every event of the run, whoever handled it.
    fn after_event<O: Observer>(&mut self, _ctx: &mut Ctx<'_, O>) {}
}

/// A notice or a retry for an owner the world has no actor for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no actor is named {0:?}: nothing can receive its notices or retries")]
pub struct UnknownOwner(pub Owner);

/// A call waiting to be retried.
#[derive(Clone, Debug)]
pub enum RetryCall {
    Run(Demand),
    /// A TerminateInstances, naming the instance as the first call did (by handle, usually).
    Terminate(InstanceRef),
    /// Any other call (scripts, renewals), retried as it was.
    Plain(Request),
}

impl RetryCall {
    fn action(&self) -> Action {
        match self {
            RetryCall::Run(_) => Action::RunInstances,
            RetryCall::Terminate(_) => Action::TerminateInstances,
            RetryCall::Plain(r) => r.action(),
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct PendingRetry {
    pub(super) who: Owner,
    /// Attempts already made.
    pub(super) attempts: u32,
    pub(super) call: RetryCall,
}

/// The clients' retries: one policy and one random stream (`clients:retry`) for every caller,
/// and the calls waiting (an [`Event::Retry`] names a slot).
pub(super) struct Retries {
    policy: RetryPolicy,
    rng: RandomStream,
    slots: Vec<Option<PendingRetry>>,
    free: Vec<u32>,
}

impl Retries {
    pub(super) fn new(policy: RetryPolicy, rng: RandomStream) -> Self {
        Retries {
            policy,
            rng,
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// The call waiting in `slot`, if any (the slot is free again).
    pub(super) fn take(&mut self, slot: u32) -> Option<PendingRetry> {
        let p = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        Some(p)
    }
}

/// What each workload wants now (ends of its wanted lifetimes), kept only for workloads an
/// autoscaler tracks: the workload publishes, the autoscaler reads.
#[derive(Default)]
pub(super) struct DemandBoard {
    wanted: Vec<Option<BinaryHeap<Reverse<SimTime>>>>,
}

/// What an actor may use while it handles something: the control plane's door (`call`), its
/// own events, the clients' shared retries and prepaid pool, the clock. Named by the actor's
/// [`Owner`] (the fault injector, the platform's own actor, has none and makes no calls).
pub struct Ctx<'a, O: Observer> {
    pub(super) who: Option<Owner>,
    pub(super) cloud: &'a mut Cloud,
    pub(super) sched: &'a mut Scheduler<Event>,
    pub(super) obs: &'a mut O,
    pub(super) retries: &'a mut Retries,
    pub(super) board: &'a mut DemandBoard,
    pub(super) pool: &'a mut Option<Pool>,
    pub(super) demand_log: &'a mut Option<Vec<(u32, Demand)>>,
    pub(super) error: &'a mut Option<anyhow::Error>,
    pub(super) posts: &'a mut Vec<PlatformNotice>,
}

impl<O: Observer> Ctx<'_, O> {
    /// Simulated time now.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.sched.now()
    }

    /// The actor this context acts for.
    pub fn who(&self) -> Option<Owner> {
        self.who
    }

    /// The cloud, to read (the fleet, the catalogue, what is RUNNING); changes go through
    /// [`Ctx::call`].
    #[inline]
    pub fn cloud(&self) -> &Cloud {
        self.cloud
    }

    /// Schedules one of the actor's events at `t`.
    #[inline]
    pub fn schedule_at(&mut self, t: SimTime, ev: Event) -> EventId {
        self.sched.schedule_at(t, ev)
    }

    /// Schedules one of the actor's events `d` from now.
    pub fn schedule_in(&mut self, d: SimDuration, ev: Event) -> EventId {
        self.sched.schedule_in(d, ev)
    }

    /// Cancels one of the actor's events.
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.sched.cancel(id)
    }

    /// A call through the control plane's one door (rate limits, quotas, stock), as the
    /// actor's owner.
    #[inline(always)]
    pub fn call(&mut self, req: Request) -> Result<Response, ApiError> {
        self.call_attempt(req, 1)
    }

    /// [`Ctx::call`], as try number `attempt` (from 1) of the actor's call.
    #[inline(always)]
    pub fn call_attempt(&mut self, req: Request, attempt: u32) -> Result<Response, ApiError> {
        match self.who {
            Some(who) => self
                .cloud
                .call_attempt(who, req, attempt, self.sched, self.obs),
            None => Err(ApiError::new(
                ErrorCode::InvalidParameter,
                "the platform's own actor makes no API calls".to_string(),
            )),
        }
    }

    /// A call that, refused with a retryable error, is tried again later
    /// ([`Ctx::retry_later`]).
    pub fn call_or_retry(&mut self, req: Request, attempt: u32) -> Result<Response, ApiError> {
        let res = self.call_attempt(req.clone(), attempt);
        if let Err(e) = &res {
            self.retry_later(attempt, e.code, RetryCall::Plain(req));
        }
        res
    }

    /// Schedules a retry of a refused call if the error is retryable and attempts remain
    /// (exponential backoff, with jitter if the policy has it); counts a give-up otherwise.
    /// Returns whether a retry was scheduled; the actor gets it back in [`Actor::retry`].
    pub fn retry_later(&mut self, attempts: u32, code: ErrorCode, call: RetryCall) -> bool {
        let Some(who) = self.who else {
            return false;
        };
        if !code.retryable() {
            return false;
        }
        let r = &mut *self.retries;
        if attempts >= r.policy.max_attempts {
            self.obs
                .give_up(self.sched.now(), call.action(), code, attempts);
            return false;
        }
        let p = &r.policy;
        let backoff = p
            .base_delay
            .ms()
            .saturating_mul(1u64 << (attempts - 1).min(40))
            .min(p.max_delay.ms());
        let wait = if p.jitter {
            (backoff as f64 * r.rng.uniform()).round() as u64
        } else {
            backoff
        };
        let pending = PendingRetry {
            who,
            attempts,
            call,
        };
        let slot = match r.free.pop() {
            Some(i) => {
                r.slots[i as usize] = Some(pending);
                i
            }
            None => {
                r.slots.push(Some(pending));
                (r.slots.len() - 1) as u32
            }
        };
        self.sched
            .schedule_in(SimDuration(wait.max(1)), Event::Retry(slot));
        true
    }

    /// The current spot market price of a type in a zone (prices are public; CVM's
    /// InquiryPriceRunInstances is not modelled).
    pub fn spot_price(&mut self, z: ZoneIdx, t: TypeIdx) -> u64 {
        let now = self.sched.now();
        self.cloud.spot_market_price(z, t, now)
    }

    /// The prepaid base the workloads share (`compare` strategies), if the run has one.
    pub fn pool(&mut self) -> Option<&mut Pool> {
        self.pool.as_mut()
    }

    /// Logs a drawn request (kept when the world's demand log is on).
    #[inline]
    pub fn log_demand(&mut self, w: u32, demand: &Demand) {
        if let Some(log) = self.demand_log.as_mut() {
            log.push((w, demand.clone()));
        }
    }

    /// Ends the run with `e` (the first error stands).
    pub fn fail(&mut self, e: anyhow::Error) {
        self.error.get_or_insert(e);
    }

    /// Keeps workload `w`'s wanted lifetimes from now on, for an autoscaler that tracks it.
    pub fn track_demand(&mut self, w: u32) {
        let wanted = &mut self.board.wanted;
        if wanted.len() <= w as usize {
            wanted.resize_with(w as usize + 1, || None);
        }
        wanted[w as usize].get_or_insert_with(BinaryHeap::new);
    }

    /// Publishes that workload `w` wants instances until `ends` (if anyone tracks it).
    #[inline]
    pub fn want(&mut self, w: u32, ends: impl Iterator<Item = SimTime>) {
        if let Some(Some(heap)) = self.board.wanted.get_mut(w as usize) {
            heap.extend(ends.map(Reverse));
        }
    }

    /// Instances workload `w` wants now (0 if nobody tracks it).
    pub fn wanted_now(&mut self, w: u32) -> u64 {
        let now = self.sched.now();
        let Some(Some(heap)) = self.board.wanted.get_mut(w as usize) else {
            return 0;
        };
        while heap.peek().is_some_and(|Reverse(t)| *t <= now) {
            heap.pop();
        }
        heap.len() as u64
    }

    // ---- the platform's own acts (the fault injector) -------------------------------------

    /// A zone outage begins: its instances are lost or stopped; what happened to each is
    /// posted to its owner.
    pub fn begin_zone_outage(&mut self, z: ZoneIdx, mode: OutageMode) {
        let notices = self.cloud.begin_zone_outage(z, mode, self.sched, self.obs);
        self.posts.extend(notices);
    }

    /// A zone outage ends.
    pub fn end_zone_outage(&mut self, z: ZoneIdx) {
        self.cloud.end_zone_outage(z);
    }

    /// An instance fails (it is lost); its owner is told. Whether it did.
    pub fn fail_instance(&mut self, id: InstanceId) -> bool {
        match self.cloud.fail_instance(id, self.sched, self.obs) {
            Some(n) => {
                self.posts.push(n);
                true
            }
            None => false,
        }
    }

    /// Narrates a platform event for `--trace` (`{zone}` is replaced by the zone's name).
    pub fn narrate(&mut self, z: ZoneIdx, what: &str) {
        let now = self.sched.now();
        let name = &self.cloud.catalog.zone(z).name;
        self.obs.platform(now, name, &what.replace("{zone}", name));
    }
}
