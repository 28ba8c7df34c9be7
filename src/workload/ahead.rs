//! Requests drawn ahead, on a helper thread. A workload's requests are a function of its own
//! random streams alone (what the control plane answers never changes them: common random
//! numbers), so a second core can draw them while the first simulates. The helper runs the
//! same [`Drawer`] code on the same streams in the same order, so the requests, and every
//! output, are the ones the workload would have drawn itself.
//!
//! Each fed workload keeps one block of requests in hand and one asked for; the helper draws a
//! block when asked, up to the run's horizon, and then hands the drawer back, so that a run
//! taken past its horizon (a stepped session) goes on drawing in place.

use std::sync::mpsc::{Receiver, Sender, channel};

use super::{Demand, Drawer, Workload};
use crate::engine::SimTime;

/// Requests per block: large enough that handing a block over costs nothing per request,
/// small enough that the first block is drawn in well under a millisecond.
const BLOCK: usize = 1024;

/// A workload is drawn ahead only if it expects at least this many requests over the run:
/// below that, drawing in place costs less than a block's trip between threads.
const MIN_REQUESTS: f64 = 20_000.0;

/// One request, and the time of the one after it.
type Drawn = (Demand, SimTime);

enum Block {
    Drawn(Vec<Drawn>),
    /// The horizon is reached: the drawer comes back.
    Done(Box<Drawer>),
}

/// The receiving end of a workload drawn ahead.
pub(super) struct Feed {
    /// Which of the helper's workloads this is.
    index: usize,
    asks: Sender<usize>,
    blocks: Receiver<Block>,
    current: std::vec::IntoIter<Drawn>,
    /// The time of the next request, once the one before it has been drawn.
    next: Option<SimTime>,
}

impl Feed {
    pub(super) fn next_arrival(&mut self) -> SimTime {
        self.next
            .take()
            .expect("next_arrival comes once at the start and once after each draw")
    }

    /// The request at `now`; or, past the helper's horizon, the drawer to draw it in place.
    pub(super) fn draw(&mut self, now: SimTime) -> Result<Demand, Box<Drawer>> {
        loop {
            if let Some((demand, next)) = self.current.next() {
                debug_assert_eq!(demand.requested, now, "requests come at the times drawn");
                // The helper wrote the block from another core: start moving the next request
                // here now, an arrival ahead (its first read was a cache miss, 2% of
                // bench-100k's samples).
                if let Some(after) = self.current.as_slice().first() {
                    crate::engine::prefetch::prefetch(after);
                }
                self.next = Some(next);
                return Ok(demand);
            }
            match self.blocks.recv() {
                Ok(Block::Drawn(block)) => {
                    self.current = block.into_iter();
                    // Keep one block asked for ahead (the helper may be gone past the horizon).
                    let _ = self.asks.send(self.index);
                }
                Ok(Block::Done(drawer)) => return Err(drawer),
                // The helper stops only when every feed is gone, or if it panicked.
                Err(_) => panic!("the thread drawing requests ahead stopped"),
            }
        }
    }
}

/// What the helper keeps for one workload.
struct Ahead {
    spec: super::WorkloadSpec,
    drawer: Option<Box<Drawer>>,
    /// The time of the next request to draw.
    at: SimTime,
    blocks: Sender<Block>,
}

/// Moves the drawing of every workload that expects many requests before `horizon` to one
/// helper thread (none if no workload does). Called before the run starts, or between events.
/// If the thread cannot be started, every workload goes on drawing in place.
pub fn draw_ahead<'a>(workloads: impl Iterator<Item = &'a mut Workload>, horizon: SimTime) {
    let busy: Vec<&mut Workload> = workloads
        .filter(|w| {
            matches!(w.source, super::Source::Here(_))
                && w.spec.rate_per_ms * horizon.ms() as f64 >= MIN_REQUESTS
        })
        .collect();
    if busy.is_empty() {
        return;
    }
    let (asks, asked) = channel::<usize>();
    let (hand, handed) = channel::<Vec<Ahead>>();
    let started = std::thread::Builder::new()
        .name("draw-ahead".into())
        .spawn(move || {
            if let Ok(workloads) = handed.recv() {
                serve(workloads, asked, horizon);
            }
        });
    if started.is_err() {
        return;
    }
    let mut helper: Vec<Ahead> = Vec::with_capacity(busy.len());
    for w in busy {
        let super::Source::Here(d) = &mut w.source else {
            unreachable!("only workloads drawing in place were kept")
        };
        // The next request's time, drawn here if the workload has not started yet (its start
        // asks for it before any request).
        let (first, next) = match d.upcoming {
            Some(t) => (t, None),
            None => {
                let t = d.next_arrival(&w.spec, SimTime::ZERO);
                (t, Some(t))
            }
        };
        let (tx, rx) = channel();
        let index = helper.len();
        let feed = super::Source::Ahead(Feed {
            index,
            asks: asks.clone(),
            blocks: rx,
            current: Vec::new().into_iter(),
            next,
        });
        let super::Source::Here(drawer) = std::mem::replace(&mut w.source, feed) else {
            unreachable!("matched above")
        };
        helper.push(Ahead {
            spec: w.spec.clone(),
            drawer: Some(drawer),
            at: first,
            blocks: tx,
        });
        // Two blocks asked for at once: one to start with, one ahead.
        let _ = asks.send(index);
        let _ = asks.send(index);
    }
    let _ = hand.send(helper);
}

/// The helper: draws a block for each ask, until every feed is gone.
fn serve(mut workloads: Vec<Ahead>, asked: Receiver<usize>, horizon: SimTime) {
    while let Ok(i) = asked.recv() {
        let w = &mut workloads[i];
        let Some(drawer) = w.drawer.as_mut() else {
            continue;
        };
        let mut block = Vec::with_capacity(BLOCK);
        let mut done = false;
        while block.len() < BLOCK {
            let demand = drawer.draw(&w.spec, w.at);
            let next = drawer.next_arrival(&w.spec, w.at);
            block.push((demand, next));
            w.at = next;
            if next >= horizon {
                done = true;
                break;
            }
        }
        // A feed that is gone (its run ended) wants nothing more.
        let _ = w.blocks.send(Block::Drawn(block));
        if done && let Some(d) = w.drawer.take() {
            let _ = w.blocks.send(Block::Done(d));
        }
    }
}
