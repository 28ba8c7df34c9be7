//! The simulation loop: pop the earliest event, advance the clock to it, hand it to the model.
//! The model schedules further events through the same [`Scheduler`] it is handed.

use super::queue::{EventId, EventQueue, PendingEvents};
use super::time::{SimDuration, SimTime};

/// Whatever reacts to events. The engine knows nothing else about it.
pub trait Model {
    type Event;
    fn handle(&mut self, event: Self::Event, sched: &mut Scheduler<Self::Event>);

    /// Called with a guess at the event after the one about to be handled, so a model can ask
    /// the CPU to fetch the memory that event will touch while it handles this one. A hint
    /// only: it must not change state. The default does nothing.
    #[inline]
    fn prefetch(&self, _next: &Self::Event) {}
}

/// Clock, pending events and the horizon of one run.
pub struct Scheduler<E> {
    queue: EventQueue<E>,
    now: SimTime,
    end: SimTime,
    processed: u64,
}

impl<E> Scheduler<E> {
    /// A scheduler whose run stops before any event at or after `end`.
    pub fn new(end: SimTime) -> Self {
        Scheduler {
            queue: EventQueue::new(),
            now: SimTime::ZERO,
            end,
            processed: 0,
        }
    }

    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn end(&self) -> SimTime {
        self.end
    }
    /// Events handled so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }
    /// Live events still pending.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Schedules `event` at `time`; a time in the past is treated as now.
    #[inline]
    pub fn schedule_at(&mut self, time: SimTime, event: E) -> EventId {
        self.queue.push(time.max(self.now), event)
    }

    #[inline]
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.queue.push(self.now + delay, event)
    }

    /// Cancels a pending event (it must not have fired yet).
    #[inline]
    pub fn cancel(&mut self, id: EventId) {
        self.queue.cancel(id)
    }

    /// Cancels `old` and schedules `event` at `time` instead.
    pub fn reschedule(&mut self, old: EventId, time: SimTime, event: E) -> EventId {
        self.cancel(old);
        self.schedule_at(time, event)
    }

    /// Runs until the horizon: every event strictly before `end` is handled. Afterwards the
    /// clock reads `end`.
    pub fn run<M: Model<Event = E>>(&mut self, model: &mut M) -> u64 {
        self.run_until(self.end, model)
    }

    /// Runs every event strictly before `until` (capped at the horizon), then sets the clock to
    /// `until`. Calling it repeatedly with growing times steps a run without changing it.
    pub fn run_until<M: Model<Event = E>>(&mut self, until: SimTime, model: &mut M) -> u64 {
        let until = until.min(self.end);
        let start = self.processed;
        while let Some((t, _, ev)) = self.queue.pop_before(until) {
            self.now = t;
            self.processed += 1;
            if let Some(next) = self.queue.peek_hint() {
                model.prefetch(next);
            }
            model.handle(ev, self);
        }
        self.now = self.now.max(until);
        self.processed - start
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
        fn handle(&mut self, ev: u32, s: &mut Scheduler<u32>) {
            self.seen.push((s.now().ms(), ev));
            if ev < 3 {
                s.schedule_in(SimDuration(10), ev + 1);
            }
        }
    }

    #[test]
    fn runs_in_time_order_and_stops_at_horizon() {
        let mut s = Scheduler::new(SimTime(25));
        s.schedule_at(SimTime(0), 0);
        s.schedule_at(SimTime(5), 10);
        let mut m = Ticker { seen: vec![] };
        let n = s.run(&mut m);
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
        a.run(&mut ma);
        for t in (0..=100).step_by(7) {
            b.run_until(SimTime(t), &mut mb);
        }
        b.run(&mut mb);
        assert_eq!(ma.seen, mb.seen);
    }

    #[test]
    fn reschedule_moves_an_event() {
        let mut s = Scheduler::new(SimTime(1000));
        let id = s.schedule_at(SimTime(500), 7);
        s.reschedule(id, SimTime(50), 3);
        let mut m = Ticker { seen: vec![] };
        s.run(&mut m);
        assert_eq!(m.seen[0], (50, 3));
        assert!(!m.seen.iter().any(|&(_, e)| e == 7));
    }
}
