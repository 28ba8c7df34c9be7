//! The simulation loop: pop the earliest event, advance the clock to it, hand it to the model.
//! The model schedules further events through the same [`Scheduler`] it is handed.
//!
//! The contract between the two: time never goes backwards (an event scheduled before the
//! clock stops the run with a [`ScheduleError`]), an event is cancelled at most once and only
//! while pending (checked by [`Scheduler::cancel`]), and a model that meets an error
//! returns it from [`Model::handle`], which ends the run at once with that error.
//!
//! ```
//! use fleetsim::engine::{Model, ScheduleError, Scheduler, SimDuration, SimTime};
//!
//! #[derive(Debug, PartialEq)]
//! enum Stop {
//!     Engine(ScheduleError),
//!     Broken(u64),
//! }
//! impl From<ScheduleError> for Stop {
//!     fn from(e: ScheduleError) -> Self {
//!         Stop::Engine(e)
//!     }
//! }
//!
//! /// Ticks every 10 ms and gives up on the fifth tick.
//! struct Ticks(u32);
//! impl Model for Ticks {
//!     type Event = ();
//!     type Error = Stop;
//!     fn handle(&mut self, _: (), s: &mut Scheduler<()>) -> Result<(), Stop> {
//!         self.0 += 1;
//!         if self.0 == 5 {
//!             return Err(Stop::Broken(s.now().ms()));
//!         }
//!         s.schedule_in(SimDuration(10), ());
//!         Ok(())
//!     }
//! }
//!
//! let mut s = Scheduler::new(SimTime(1_000));
//! s.schedule_at(SimTime(0), ());
//! let mut m = Ticks(0);
//! assert_eq!(s.run(&mut m), Err(Stop::Broken(40)));
//! assert_eq!(s.now(), SimTime(40)); // stopped at once, not carried to the horizon
//! ```

use super::queue::{EventId, EventQueue, PendingEvents};
use super::time::{SimDuration, SimTime};

/// Whatever reacts to events. The engine knows nothing else about it.
pub trait Model {
    type Event;
    /// What stops a run. It must hold the engine's own [`ScheduleError`] too, since a run
    /// returns either through it.
    type Error: From<ScheduleError>;

    /// Handles one event at `sched.now()`, scheduling or cancelling others through `sched`.
    /// An `Err` ends the run at once: [`Scheduler::run`] returns it and handles nothing more.
    fn handle(
        &mut self,
        event: Self::Event,
        sched: &mut Scheduler<Self::Event>,
    ) -> Result<(), Self::Error>;

    /// Called with a guess at the event after the one about to be handled, so a model can ask
    /// the CPU to fetch the memory that event will touch while it handles this one. A hint
    /// only: it must not change state. The default does nothing.
    #[inline]
    fn prefetch(&self, _next: &Self::Event) {}
}

/// An event was scheduled before the current time: a bug in the model, which would otherwise
/// see effects before their causes. The run stops with it after the handler that did so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an event was scheduled at {} ms, before the clock ({} ms)", .at.ms(), .now.ms())]
pub struct ScheduleError {
    pub now: SimTime,
    pub at: SimTime,
}

/// Clock, pending events and the horizon of one run.
pub struct Scheduler<E> {
    queue: EventQueue<E>,
    now: SimTime,
    end: SimTime,
    processed: u64,
    /// The first event scheduled in the past, reported when the current handler returns.
    past: Option<ScheduleError>,
}

impl<E> Scheduler<E> {
    /// A scheduler whose run stops before any event at or after `end`.
    pub fn new(end: SimTime) -> Self {
        Scheduler {
            queue: EventQueue::new(),
            now: SimTime::ZERO,
            end,
            processed: 0,
            past: None,
        }
    }

    /// The current time: that of the event being handled (or where the last run stopped).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// The horizon: no event at or after it is handled.
    pub fn end(&self) -> SimTime {
        self.end
    }
    /// Brings the horizon to the current time: a run stopped from outside (`fleetsim serve`)
    /// ends where it stands, and nothing later is handled.
    pub fn end_now(&mut self) {
        self.end = self.now;
    }
    /// Events handled so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }
    /// Live events still pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Time of the earliest pending event, if any. A handler that finds it equal to
    /// [`now`](Self::now) knows other events are due at this same instant.
    pub fn next_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// Schedules `event` at `time`, which must not be before [`now`](Self::now). Events at the
    /// same time are handled in the order they were scheduled.
    ///
    /// A time in the past is an error of the model: the event is kept (at `now`, so the id
    /// stays valid) and the run stops with a [`ScheduleError`] as soon as the current handler
    /// returns; a run started afterwards fails with it at once.
    ///
    /// ```
    /// use fleetsim::engine::{Scheduler, SimTime};
    /// let mut s = Scheduler::<u8>::new(SimTime(100));
    /// s.schedule_at(SimTime(7), 1);
    /// assert_eq!(s.pending(), 1);
    /// ```
    #[inline]
    pub fn schedule_at(&mut self, time: SimTime, event: E) -> EventId {
        if time < self.now {
            self.past.get_or_insert(ScheduleError {
                now: self.now,
                at: time,
            });
            return self.queue.push(self.now, event);
        }
        self.queue.push(time, event)
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.queue.push(self.now + delay, event)
    }

    /// Cancels a pending event and returns true. Cancelling one that has already been handled
    /// or cancelled is an error of the model: debug builds (and so every test) panic on it;
    /// release builds return false for one already cancelled and change nothing, but do not
    /// spot one already handled (see [`PendingEvents::cancel`]).
    ///
    /// ```
    /// use fleetsim::engine::{Scheduler, SimTime};
    /// let mut s = Scheduler::<u8>::new(SimTime(100));
    /// let id = s.schedule_at(SimTime(7), 1);
    /// assert!(s.cancel(id));
    /// assert_eq!(s.pending(), 0);
    /// ```
    #[inline]
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.queue.cancel(id)
    }

    /// Cancels `old` (which must be pending) and schedules `event` at `time` instead.
    pub fn reschedule(&mut self, old: EventId, time: SimTime, event: E) -> EventId {
        self.cancel(old);
        self.schedule_at(time, event)
    }

    /// Runs until the horizon: every event strictly before `end` is handled, and afterwards
    /// the clock reads `end`. Returns the number of events handled, or the first error: the
    /// model's, or a [`ScheduleError`]; the clock then stays at the failing event.
    pub fn run<M: Model<Event = E>>(&mut self, model: &mut M) -> Result<u64, M::Error> {
        self.run_until(self.end, model)
    }

    /// Runs every event strictly before `until` (capped at the horizon), then sets the clock to
    /// `until`. Calling it repeatedly with growing times steps a run without changing it.
    /// Errors as [`run`](Self::run).
    pub fn run_until<M: Model<Event = E>>(
        &mut self,
        until: SimTime,
        model: &mut M,
    ) -> Result<u64, M::Error> {
        if let Some(e) = self.past {
            return Err(e.into());
        }
        let until = until.min(self.end);
        let start = self.processed;
        while let Some((t, _, ev)) = self.queue.pop_before(until) {
            self.now = t;
            self.processed += 1;
            if let Some(next) = self.queue.peek_hint() {
                model.prefetch(next);
            }
            model.handle(ev, self)?;
            if let Some(e) = self.past {
                return Err(e.into());
            }
        }
        self.now = self.now.max(until);
        Ok(self.processed - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model that reschedules itself and records when it ran.
    struct Ticker {
        seen: Vec<(u64, u32)>,
    }
    impl Model for Ticker {
        type Event = u32;
        type Error = ScheduleError;
        fn handle(&mut self, ev: u32, s: &mut Scheduler<u32>) -> Result<(), ScheduleError> {
            self.seen.push((s.now().ms(), ev));
            if ev < 3 {
                s.schedule_in(SimDuration(10), ev + 1);
            }
            if ev == 100 {
                // a bug: an event before the clock
                s.schedule_at(SimTime(s.now().ms() - 1), 0);
            }
            Ok(())
        }
    }

    #[test]
    fn runs_in_time_order_and_stops_at_horizon() {
        let mut s = Scheduler::new(SimTime(25));
        s.schedule_at(SimTime(0), 0);
        s.schedule_at(SimTime(5), 10);
        let mut m = Ticker { seen: vec![] };
        let n = s.run(&mut m).unwrap();
        assert_eq!(m.seen, vec![(0, 0), (5, 10), (10, 1), (20, 2)]);
        assert_eq!(n, 4);
        assert_eq!(s.now(), SimTime(25));
        assert_eq!(s.pending(), 1); // the event at 30 stays
    }

    #[test]
    fn stepping_equals_running() {
        let mut a = Scheduler::new(SimTime(100));
        let mut b = Scheduler::new(SimTime(100));
        for s in [&mut a, &mut b] {
            s.schedule_at(SimTime(3), 0);
            s.schedule_at(SimTime(3), 2);
        }
        let mut ma = Ticker { seen: vec![] };
        let mut mb = Ticker { seen: vec![] };
        a.run(&mut ma).unwrap();
        for t in (0..=100).step_by(7) {
            b.run_until(SimTime(t), &mut mb).unwrap();
        }
        b.run(&mut mb).unwrap();
        assert_eq!(ma.seen, mb.seen);
    }

    #[test]
    fn reschedule_moves_an_event() {
        let mut s = Scheduler::new(SimTime(1000));
        let id = s.schedule_at(SimTime(500), 7);
        s.reschedule(id, SimTime(50), 3);
        let mut m = Ticker { seen: vec![] };
        s.run(&mut m).unwrap();
        assert_eq!(m.seen[0], (50, 3));
        assert!(!m.seen.iter().any(|&(_, e)| e == 7));
    }

    #[test]
    fn scheduling_in_the_past_stops_the_run() {
        let mut s = Scheduler::new(SimTime(1000));
        s.schedule_at(SimTime(50), 100);
        s.schedule_at(SimTime(50), 7);
        s.schedule_at(SimTime(60), 8);
        let mut m = Ticker { seen: vec![] };
        let err = s.run(&mut m).unwrap_err();
        assert_eq!(
            err,
            ScheduleError {
                now: SimTime(50),
                at: SimTime(49)
            }
        );
        assert!(
            err.to_string().contains("49 ms, before the clock (50 ms)"),
            "{err}"
        );
        // Nothing after the faulty handler ran, and the clock stayed there.
        assert_eq!(m.seen, vec![(50, 100)]);
        assert_eq!(s.now(), SimTime(50));
        assert!(s.run(&mut m).is_err());
    }
}
