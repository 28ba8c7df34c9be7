//! A trace replay (`Owner::Trace`): replays the RunInstances of a recorded trace at their
//! times, holds each instance for its recorded lifetime and ends it (see [`Holder`]). A row
//! that cannot be read stops the replay and ends the run with its error.

use crate::cloud::api::{Notice, Observer, PlatformNotice};
use crate::cloud::{ActorIdx, ChargeType, InstanceKey, RenewFlag};
use crate::workload::trace::TraceReplay;

use super::Event;
use super::actor::{Actor, Ctx, RetryCall};
use super::holder::{Held, Holder, Terms};

/// A trace replay's own events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TraceEvent {
    /// Its next calls are due.
    Due,
    /// Its VM is done with the instance at this handle.
    End(InstanceKey),
}

/// A trace replay and the client that makes its calls.
pub struct TraceClient {
    /// Its index in the scenario's traces (`Owner::Trace(index)`).
    index: ActorIdx,
    /// The trace being read, and its counts (requests, instances asked for and refused).
    pub replay: TraceReplay,
    held: Held,
}

impl TraceClient {
    pub fn new(index: ActorIdx, replay: TraceReplay) -> Self {
        TraceClient {
            index,
            replay,
            held: Held::default(),
        }
    }

    /// Reads the trace up to its next call and schedules it; a bad row stops the replay and
    /// becomes the run's error.
    fn schedule_next<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        if let Err(e) = self.replay.fill() {
            self.replay.stop();
            ctx.fail(e);
        }
        if let Some(next) = self.replay.next_time() {
            ctx.schedule_at(next, Event::Trace(self.index));
        }
    }

    /// Makes every call due now, then schedules the next.
    fn step<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        loop {
            if let Err(e) = self.replay.fill() {
                self.replay.stop();
                ctx.fail(e);
                return;
            }
            match self.replay.pop_due(ctx.now()) {
                Some(d) => self.launch(d, 1, ctx),
                None => break,
            }
        }
        self.schedule_next(ctx);
    }
}

impl Holder for TraceClient {
    fn held(&mut self) -> &mut Held {
        &mut self.held
    }

    /// A trace's VMs auto-renew and bid the market price.
    fn terms(&self) -> Terms {
        Terms {
            renew_flag: RenewFlag::NotifyAndAutoRenew,
            max_price: None,
            attach: None,
        }
    }

    fn fallback(&self) -> Option<ChargeType> {
        None
    }

    fn period_months(&self) -> u32 {
        1
    }

    fn refused(&mut self, n: u64) {
        self.replay.refused += n;
    }

    fn end_event(&self, key: InstanceKey) -> Event {
        Event::TraceEnd(self.index, key)
    }
}

impl Actor for TraceClient {
    type Event = TraceEvent;
    type Reply = ();

    fn start<O: Observer>(&mut self, ctx: &mut Ctx<'_, O>) {
        self.schedule_next(ctx);
    }

    fn handle<O: Observer>(&mut self, ev: TraceEvent, ctx: &mut Ctx<'_, O>) {
        match ev {
            TraceEvent::Due => self.step(ctx),
            TraceEvent::End(key) => self.end(key, ctx),
        }
    }

    fn notice<O: Observer>(&mut self, n: &Notice, ctx: &mut Ctx<'_, O>) {
        self.notice_held(n, ctx);
    }

    fn platform_notice<O: Observer>(&mut self, n: &PlatformNotice, _ctx: &mut Ctx<'_, O>) {
        self.platform_held(n);
    }

    fn retry<O: Observer>(&mut self, call: RetryCall, attempts: u32, ctx: &mut Ctx<'_, O>) {
        self.retry_held(call, attempts, ctx);
    }
}
