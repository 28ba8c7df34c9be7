//! The simulated world: the cloud, the actors that call it, and the observer watching it. It
//! is the engine's [`Model`]; its events are the cloud's own plus the actors'.
//!
//! The world only dispatches: each event goes to the actor it names, each notice about an
//! instance to the actor named by the instance's [`Owner`], each retry to the actor that asked
//! for it. The actors (one file each below `world/`) act through an [`actor::Ctx`] and never
//! see each other or the world.

use crate::cloud::api::{Notice, Observer, PlatformNotice};
use crate::cloud::{ActorIdx, ApiError, Cloud, CloudEvent, Owner, Request, Response};
use crate::engine::RandomStream;
use crate::engine::{Model, Scheduler, SimTime};
use crate::report::recorder::Recorder;
use crate::workload::autoscale::{Autoscaler, AutoscalerSpec};
use crate::workload::faults::{FailureProcess, FaultSpec};
use crate::workload::pool::Pool;
use crate::workload::script::ScriptAction;
use crate::workload::trace::TraceReplay;
use crate::workload::{Demand, RetryPolicy, Workload};

pub mod actor;
pub mod autoscaler;
pub mod external;
pub mod faults;
pub mod holder;
pub mod pool;
pub mod scripts;
pub mod trace_client;
pub mod workload_client;

use actor::{Actor, Ctx, DemandBoard, Retries, UnknownOwner};
use autoscaler::AutoscalerEvent;
use external::ExternalClient;
use faults::{FaultEvent, Platform};
use pool::{PoolBuyer, PoolEvent};
use scripts::Scripts;
use trace_client::{TraceClient, TraceEvent};
use workload_client::{ClientEvent, WorkloadClient};

/// Everything that can happen in a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    Cloud(CloudEvent),
    /// A workload's next request arrives.
    Arrival(ActorIdx),
    /// A workload is done with an instance (held by its fleet handle, so the end finds it
    /// without an id lookup; a stale handle means the instance is already gone).
    End(ActorIdx, crate::cloud::InstanceKey),
    /// A trace replay's VM is done with an instance (as `End`).
    TraceEnd(ActorIdx, crate::cloud::InstanceKey),
    /// Time to sample the fleet.
    Sample,
    /// A client retries a call (index into the world's pending retries).
    Retry(u32),
    /// A scripted action (index into the scenario's actions).
    Script(u32),
    /// A trace replay's next RunInstances is due (index into the world's traces).
    Trace(ActorIdx),
    /// An autoscaler evaluates (index into the scenario's autoscalers).
    Autoscale(ActorIdx),
    /// A step of the fault plan (zone outage begins or ends, failures start or stop).
    Fault(u32),
    /// A random-failure process strikes (index into the failure processes).
    Failure(u32),
}

/// The index of the `i`th workload, trace replay or autoscaler as its owner and its events
/// carry it. The scenario loader keeps each section within [`crate::cloud::MAX_ACTORS`]; a
/// world given more is a bug in the code that built it.
fn actor_idx(i: usize) -> ActorIdx {
    ActorIdx::try_from(i)
        .expect("at most MAX_ACTORS workloads, traces and autoscalers each (checked on load)")
}

impl From<CloudEvent> for Event {
    fn from(e: CloudEvent) -> Self {
        Event::Cloud(e)
    }
}

/// Called on every Sample event with the world as it is (writes `timeseries.csv`).
pub type Sampler<O = Recorder> = Box<dyn FnMut(SimTime, &O, &Cloud) -> anyhow::Result<()>>;

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

/// The context of the actor named `who` (`None`: the platform), borrowing the world's parts
/// that are not actors.
macro_rules! ctx {
    ($w:expr, $who:expr, $sched:expr) => {
        Ctx {
            who: $who,
            cloud: &mut $w.cloud,
            sched: $sched,
            obs: &mut $w.rec,
            retries: &mut $w.retries,
            board: &mut $w.board,
            pool: &mut $w.pool,
            demand_log: &mut $w.demand_log,
            error: &mut $w.error,
            posts: &mut $w.posts,
        }
    };
}

/// Runs `$body` with `$a` the actor named by the owner `$who`; an owner without an actor is an
/// [`UnknownOwner`] error.
macro_rules! owner_actor {
    ($w:expr, $who:expr, |$a:ident| $body:expr) => {{
        let who: Owner = $who;
        match who {
            Owner::Workload(i) => match $w.workloads.get_mut(i as usize) {
                Some($a) => Ok($body),
                None => Err(UnknownOwner(who)),
            },
            Owner::Trace(i) => match $w.traces.get_mut(i as usize) {
                Some($a) => Ok($body),
                None => Err(UnknownOwner(who)),
            },
            Owner::Autoscaler(i) => match $w.autoscalers.get_mut(i as usize) {
                Some($a) => Ok($body),
                None => Err(UnknownOwner(who)),
            },
            Owner::Script => {
                let $a = &mut $w.scripts;
                Ok($body)
            }
            Owner::Pool => {
                let $a = &mut $w.pool_buyer;
                Ok($body)
            }
            Owner::External => {
                let $a = &mut $w.external;
                Ok($body)
            }
        }
    }};
}

/// Hands event `$ev` to the actor `$a` (named `$who`).
macro_rules! act {
    ($w:expr, $a:expr, $who:expr, $ev:expr, $sched:expr) => {{
        let mut c = ctx!($w, $who, $sched);
        $a.handle($ev, &mut c)
    }};
}

/// The world, watched by the observer `O` (the [`Recorder`] in a normal run).
pub struct World<O: Observer = Recorder> {
    pub cloud: Cloud,
    pub rec: O,
    /// The workloads' clients (`Owner::Workload(index)`).
    pub workloads: Vec<WorkloadClient>,
    /// Trace replays (`[[traces]]`, `Owner::Trace(index)`).
    pub traces: Vec<TraceClient>,
    /// The scripted actions (`Owner::Script`).
    scripts: Scripts,
    /// The autoscalers (`Owner::Autoscaler(index)`).
    autoscalers: Vec<Autoscaler>,
    /// The fault injector (the platform: no owner).
    platform: Platform,
    /// The buyer of the prepaid pool (`Owner::Pool`).
    pool_buyer: PoolBuyer,
    /// A client outside the scenario (`Owner::External`).
    external: ExternalClient,
    /// A prepaid base shared by workloads (`compare` strategies).
    pub pool: Option<Pool>,
    /// Every request drawn, in order (kept when set to `Some`, for common-random-number checks).
    pub demand_log: Option<Vec<(u32, Demand)>>,
    /// Called on every Sample event, with the world as it is.
    pub sampler: Option<Sampler<O>>,
    pub sample_interval: crate::engine::SimDuration,
    pub occupancy: Occupancy,
    pub error: Option<anyhow::Error>,
    /// The clients' retries (one policy, one random stream).
    retries: Retries,
    /// What tracked workloads want now, for autoscalers.
    board: DemandBoard,
    /// The owners' notices being handed on (a buffer kept between events, so neither side
    /// allocates per event).
    notices: Vec<Notice>,
    /// What the platform did to instances, to hand on to their owners.
    posts: Vec<PlatformNotice>,
}

impl<O: Observer> World<O> {
    pub fn new(
        cloud: Cloud,
        workloads: Vec<Workload>,
        rec: O,
        retry: RetryPolicy,
        retry_rng: RandomStream,
    ) -> Self {
        let zones = cloud.catalog.zones.len();
        World {
            workloads: workloads
                .into_iter()
                .enumerate()
                .map(|(i, w)| WorkloadClient::new(actor_idx(i), w, zones))
                .collect(),
            cloud,
            rec,
            traces: Vec::new(),
            scripts: Scripts::default(),
            autoscalers: Vec::new(),
            platform: Platform::default(),
            pool_buyer: PoolBuyer,
            external: ExternalClient,
            pool: None,
            demand_log: None,
            sampler: None,
            sample_interval: crate::engine::SimDuration::from_hours(1),
            occupancy: Occupancy::default(),
            error: None,
            retries: Retries::new(retry, retry_rng),
            board: DemandBoard::default(),
            notices: Vec::new(),
            posts: Vec::new(),
        }
    }

    /// Installs the scripted actions, each with its own random stream `script:<index>`.
    pub fn set_scripts(&mut self, scripts: Vec<ScriptAction>, streams: &crate::engine::RngStreams) {
        self.scripts = Scripts::new(scripts, streams);
    }

    /// Adds a trace replay (`Owner::Trace` of the next index).
    pub fn add_trace(&mut self, replay: TraceReplay) {
        let i = actor_idx(self.traces.len());
        self.traces.push(TraceClient::new(i, replay));
    }

    /// Installs the autoscalers and the fault plan (before [`World::start`]). Failure process
    /// `i` of `faults` draws from the stream `faults:<i>`.
    pub fn set_controllers(
        &mut self,
        autoscalers: Vec<AutoscalerSpec>,
        faults: &[FaultSpec],
        streams: &crate::engine::RngStreams,
    ) {
        self.autoscalers = autoscalers.into_iter().map(Autoscaler::new).collect();
        self.platform = Platform::new(faults, streams);
    }

    /// The autoscalers, as they stand.
    pub fn autoscalers(&self) -> &[Autoscaler] {
        &self.autoscalers
    }

    /// The random-failure processes, as they stand (failures so far, exposure).
    pub fn failure_processes(&self) -> &[FailureProcess] {
        self.platform.processes()
    }

    /// The scripted actions, as they stand.
    pub fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    /// Starts every actor (scripts, workloads, traces, autoscalers, the fault plan, in this
    /// order) and schedules the first sample.
    pub fn start(&mut self, sched: &mut Scheduler<Event>) {
        self.scripts
            .start(&mut ctx!(self, Some(Owner::Script), sched));
        for (i, a) in self.workloads.iter_mut().enumerate() {
            a.start(&mut ctx!(self, Some(Owner::Workload(actor_idx(i))), sched));
        }
        for (i, a) in self.traces.iter_mut().enumerate() {
            a.start(&mut ctx!(self, Some(Owner::Trace(actor_idx(i))), sched));
        }
        for (i, a) in self.autoscalers.iter_mut().enumerate() {
            a.start(&mut ctx!(
                self,
                Some(Owner::Autoscaler(actor_idx(i))),
                sched
            ));
        }
        self.platform.start(&mut ctx!(self, None, sched));
        sched.schedule_at(SimTime::ZERO, Event::Sample);
    }

    /// Buys the prepaid pool at the start of the run (see [`PoolBuyer`]).
    pub fn buy_pool(&mut self, sched: &mut Scheduler<Event>) {
        act!(
            self,
            self.pool_buyer,
            Some(Owner::Pool),
            PoolEvent::Buy,
            sched
        );
    }

    /// A call from a client outside the scenario (`Owner::External`), made now through the
    /// same door as every other (rate limits, quotas, stock), answered with the control
    /// plane's own response; the world then settles as after any event.
    pub fn external_call(
        &mut self,
        request: Request,
        sched: &mut Scheduler<Event>,
    ) -> Result<Response, ApiError> {
        let result = act!(self, self.external, Some(Owner::External), request, sched);
        self.settle(sched);
        result
    }

    /// Drives an actor the world does not hold (a test's, a client of a library user) as
    /// `who`, with this world's context; the world then settles as after any event. Notices
    /// about instances it launches go to the world's actor of the same owner.
    pub fn act<A: Actor>(
        &mut self,
        actor: &mut A,
        who: Option<Owner>,
        ev: A::Event,
        sched: &mut Scheduler<Event>,
    ) -> A::Reply {
        let reply = act!(self, actor, who, ev, sched);
        self.settle(sched);
        reply
    }

    /// Hands a notice to the actor its owner names.
    pub fn notify(&mut self, n: &Notice, sched: &mut Scheduler<Event>) -> Result<(), UnknownOwner> {
        let c = &mut ctx!(self, Some(n.owner), sched);
        owner_actor!(self, n.owner, |a| Actor::notice(a, n, c))
    }

    /// Hands what the platform did to instances on to their owners.
    fn hand_on_posts(&mut self, sched: &mut Scheduler<Event>) {
        let mut posts = std::mem::take(&mut self.posts);
        for n in posts.drain(..) {
            let c = &mut ctx!(self, Some(n.owner), sched);
            if let Err(e) = owner_actor!(self, n.owner, |a| Actor::platform_notice(a, &n, c)) {
                c.fail(e.into());
            }
        }
        self.posts = posts;
    }

    /// An event of the fault injector: its posts are handed on, then it finishes.
    fn platform_event(&mut self, ev: FaultEvent, sched: &mut Scheduler<Event>) {
        act!(self, self.platform, None, ev, sched);
        self.hand_on_posts(sched);
        self.platform.after_posts(&mut ctx!(self, None, sched));
    }

    /// A retry is due: the call goes back to the actor that asked for it.
    fn retry(&mut self, slot: u32, sched: &mut Scheduler<Event>) {
        let Some(p) = self.retries.take(slot) else {
            return;
        };
        let c = &mut ctx!(self, Some(p.who), sched);
        if let Err(e) = owner_actor!(self, p.who, |a| Actor::retry(a, p.call, p.attempts, c)) {
            c.fail(e.into());
        }
    }

    /// After an event or an external call: owners react to their notices, failure hazards
    /// follow the RUNNING count, the occupancy integral moves on.
    fn settle(&mut self, sched: &mut Scheduler<Event>) {
        self.dispatch_notices(sched);
        if !self.platform.processes().is_empty() {
            self.platform.after_event(&mut ctx!(self, None, sched));
        }
        let alive = self.cloud.fleet().len() as u64;
        if alive != self.occupancy.current {
            self.occupancy.advance(sched.now(), alive);
        }
    }

    /// Lets owners react to what happened to their instances (one context for all the
    /// notices of an event, named afresh for each).
    fn dispatch_notices(&mut self, sched: &mut Scheduler<Event>) {
        if !self.cloud.has_notices() {
            return;
        }
        let mut notices = std::mem::take(&mut self.notices);
        let mut c = ctx!(self, None, sched);
        while c.cloud.has_notices() {
            c.cloud.take_notices(&mut notices);
            for n in notices.drain(..) {
                c.who = Some(n.owner);
                if let Err(e) = owner_actor!(self, n.owner, |a| Actor::notice(a, &n, &mut c)) {
                    c.fail(e.into());
                }
            }
        }
        self.notices = notices;
    }
}

impl<O: Observer> Model for World<O> {
    type Event = Event;
    type Error = anyhow::Error;

    /// A workload's end, and the control plane's own events, touch an instance record that
    /// has usually left the cache since it was last used (ends come hours later).
    #[inline]
    fn prefetch(&self, next: &Event) {
        let key = match *next {
            Event::End(_, key) | Event::TraceEnd(_, key) => key,
            Event::Cloud(
                CloudEvent::Complete(key)
                | CloudEvent::Expire(key)
                | CloudEvent::BinExpire(key)
                | CloudEvent::Reclaim(key),
            ) => key,
            _ => return,
        };
        self.cloud.fleet().prefetch(key);
    }

    fn handle(&mut self, ev: Event, sched: &mut Scheduler<Event>) -> anyhow::Result<()> {
        match ev {
            Event::Cloud(e) => self.cloud.handle(e, sched, &mut self.rec),
            Event::Arrival(w) => {
                if let Some(a) = self.workloads.get_mut(w as usize) {
                    act!(
                        self,
                        a,
                        Some(Owner::Workload(w)),
                        ClientEvent::Arrival,
                        sched
                    );
                }
            }
            Event::End(w, key) => {
                if let Some(a) = self.workloads.get_mut(w as usize) {
                    act!(
                        self,
                        a,
                        Some(Owner::Workload(w)),
                        ClientEvent::End(key),
                        sched
                    );
                }
            }
            Event::TraceEnd(t, key) => {
                if let Some(a) = self.traces.get_mut(t as usize) {
                    act!(self, a, Some(Owner::Trace(t)), TraceEvent::End(key), sched);
                }
            }
            Event::Trace(t) => {
                if let Some(a) = self.traces.get_mut(t as usize) {
                    act!(self, a, Some(Owner::Trace(t)), TraceEvent::Due, sched);
                }
            }
            Event::Retry(slot) => self.retry(slot, sched),
            Event::Script(i) => act!(self, self.scripts, Some(Owner::Script), i, sched),
            Event::Autoscale(i) => {
                if let Some(a) = self.autoscalers.get_mut(i as usize) {
                    let who = Some(Owner::Autoscaler(i));
                    act!(self, a, who, AutoscalerEvent::Evaluate, sched);
                }
            }
            Event::Fault(k) => self.platform_event(FaultEvent::Step(k), sched),
            Event::Failure(p) => self.platform_event(FaultEvent::Strike(p), sched),
            // A sample counts everything due at its instant, whatever order the events were
            // queued in: while anything else is due now, it steps behind it.
            Event::Sample if sched.next_time() == Some(sched.now()) => {
                sched.schedule_at(sched.now(), Event::Sample);
            }
            Event::Sample => {
                if let Some(f) = self.sampler.as_mut() {
                    f(sched.now(), &self.rec, &self.cloud)?;
                }
                sched.schedule_in(self.sample_interval, Event::Sample);
            }
        }
        self.settle(sched);
        // A bad trace row (or an unreadable trace) ends the run here, not at the horizon.
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
