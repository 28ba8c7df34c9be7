//! The pending-event set. Two implementations share one trait so the benchmark in
//! `benches/event_queue.rs` can compare them on the same workload; the simulator uses the faster
//! one through the [`EventQueue`] alias.
//!
//! Both break ties between events at the same instant by insertion order (first scheduled, first
//! handled), which is what makes runs deterministic. Both cancel lazily: a cancelled id is
//! remembered and its entry is skipped when it reaches the front, so cancelling is O(1) and needs
//! no position tracking inside the heap.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::time::SimTime;

/// Handle of a scheduled event, used to cancel it. Ids are unique within one queue.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct EventId(pub u64);

/// What a pending-event set must offer the simulation loop.
pub trait PendingEvents<E> {
    /// Schedules `event` at `time`. `time` must not be earlier than the last popped time.
    fn push(&mut self, time: SimTime, event: E) -> EventId;
    /// Removes and returns the earliest live event; ties leave in insertion order.
    fn pop(&mut self) -> Option<(SimTime, EventId, E)>;
    /// Cancels a pending event. Cancelling an id that has already been popped or cancelled is a
    /// logic error of the caller (it is ignored in release builds).
    fn cancel(&mut self, id: EventId);
    /// Number of live (not cancelled) pending events.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The queue the simulator uses: the radix heap, which the benchmark found fastest
/// (see README, Performance).
pub type EventQueue<E> = RadixEventQueue<E>;

/// Sequence numbers are already well spread; hashing them again would only cost time.
#[derive(Default)]
pub struct SeqHasher(u64);
impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
type SeqSet = HashSet<u64, BuildHasherDefault<SeqHasher>>;

struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

/// A radix heap over millisecond times. Simulated time never goes backwards, so every key pushed
/// is at least the last key popped; the heap files each entry in the bucket named by the highest
/// bit in which its key differs from that last key. Push is O(1); each entry moves down at most
/// 64 times over its life. Entries with equal keys always sit in the same bucket in push order,
/// and buckets are redistributed stably, so ties leave first-in first-out.
pub struct RadixEventQueue<E> {
    last: u64,
    /// Keys equal to `last`, in push order.
    front: VecDeque<Entry<E>>,
    /// `buckets[i]` holds keys whose highest differing bit from `last` is bit `i`.
    buckets: Vec<Vec<Entry<E>>>,
    /// Bit `i` set when `buckets[i]` is non-empty.
    nonempty: u64,
    next_seq: u64,
    cancelled: SeqSet,
    live: usize,
}

impl<E> Default for RadixEventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> RadixEventQueue<E> {
    pub fn new() -> Self {
        RadixEventQueue {
            last: 0,
            front: VecDeque::new(),
            buckets: (0..64).map(|_| Vec::new()).collect(),
            nonempty: 0,
            next_seq: 0,
            cancelled: SeqSet::default(),
            live: 0,
        }
    }

    #[inline]
    fn file(&mut self, e: Entry<E>) {
        let diff = e.time ^ self.last;
        if diff == 0 {
            self.front.push_back(e);
        } else {
            let b = 63 - diff.leading_zeros() as usize;
            self.nonempty |= 1 << b;
            self.buckets[b].push(e);
        }
    }

    /// Moves the lowest non-empty bucket down so that `front` holds the earliest key.
    fn refill_front(&mut self) -> bool {
        if !self.front.is_empty() {
            return true;
        }
        if self.nonempty == 0 {
            return false;
        }
        let b = self.nonempty.trailing_zeros() as usize;
        self.nonempty &= !(1 << b);
        let mut bucket = std::mem::take(&mut self.buckets[b]);
        self.last = bucket.iter().map(|e| e.time).min().unwrap_or(self.last);
        for e in bucket.drain(..) {
            self.file(e);
        }
        // Keep the bucket's allocation for reuse.
        self.buckets[b] = bucket;
        true
    }

    /// Lowers `last` to `to` and refiles everything. Only needed when a peek (or skipping
    /// cancelled entries) moved `last` past the clock and the caller then schedules between the
    /// two, e.g. when a run is stepped; never on the hot path. Entries with equal keys share a
    /// bucket in push order, and buckets are refiled in ascending order, so ties stay FIFO.
    fn rewind(&mut self, to: u64) {
        let mut all: Vec<Entry<E>> = self.front.drain(..).collect();
        for b in 0..64 {
            if self.nonempty & (1 << b) != 0 {
                all.append(&mut self.buckets[b]);
            }
        }
        self.nonempty = 0;
        self.last = to;
        // Stable sort by key keeps push order among equal keys.
        all.sort_by_key(|e| e.time);
        for e in all {
            self.file(e);
        }
    }

    /// Time of the earliest live event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        loop {
            if !self.refill_front() {
                return None;
            }
            let head = self.front.front()?;
            if !self.cancelled.is_empty() && self.cancelled.remove(&head.seq) {
                self.front.pop_front();
                continue;
            }
            return Some(SimTime(head.time));
        }
    }
}

impl<E> PendingEvents<E> for RadixEventQueue<E> {
    #[inline]
    fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.live += 1;
        if time.0 < self.last {
            self.rewind(time.0);
        }
        self.file(Entry {
            time: time.0,
            seq,
            event,
        });
        EventId(seq)
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, EventId, E)> {
        loop {
            if !self.refill_front() {
                return None;
            }
            let e = self.front.pop_front()?;
            if !self.cancelled.is_empty() && self.cancelled.remove(&e.seq) {
                continue;
            }
            self.live -= 1;
            return Some((SimTime(e.time), EventId(e.seq), e.event));
        }
    }

    fn cancel(&mut self, id: EventId) {
        debug_assert!(id.0 < self.next_seq, "cancelling an id never issued");
        if self.cancelled.insert(id.0) {
            self.live -= 1;
        }
    }

    fn len(&self) -> usize {
        self.live
    }
}

/// A binary heap of `(time, seq)` with lazy cancellation: the textbook choice, kept for the
/// benchmark comparison.
pub struct HeapEventQueue<E> {
    heap: BinaryHeap<HeapEntry<E>>,
    next_seq: u64,
    cancelled: SeqSet,
    live: usize,
}

struct HeapEntry<E>(Entry<E>);
impl<E> PartialEq for HeapEntry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.0.seq == o.0.seq
    }
}
impl<E> Eq for HeapEntry<E> {}
impl<E> PartialOrd for HeapEntry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for HeapEntry<E> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) on top.
        (o.0.time, o.0.seq).cmp(&(self.0.time, self.0.seq))
    }
}

impl<E> Default for HeapEventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> HeapEventQueue<E> {
    pub fn new() -> Self {
        HeapEventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            cancelled: SeqSet::default(),
            live: 0,
        }
    }
}

impl<E> PendingEvents<E> for HeapEventQueue<E> {
    fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.live += 1;
        self.heap.push(HeapEntry(Entry {
            time: time.0,
            seq,
            event,
        }));
        EventId(seq)
    }

    fn pop(&mut self) -> Option<(SimTime, EventId, E)> {
        while let Some(HeapEntry(e)) = self.heap.pop() {
            if !self.cancelled.is_empty() && self.cancelled.remove(&e.seq) {
                continue;
            }
            self.live -= 1;
            return Some((SimTime(e.time), EventId(e.seq), e.event));
        }
        None
    }

    fn cancel(&mut self, id: EventId) {
        if self.cancelled.insert(id.0) {
            self.live -= 1;
        }
    }

    fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain<Q: PendingEvents<u32>>(q: &mut Q) -> Vec<(u64, u32)> {
        let mut out = vec![];
        while let Some((t, _, e)) = q.pop() {
            out.push((t.0, e));
        }
        out
    }

    #[test]
    fn ties_leave_in_insertion_order() {
        let mut q = RadixEventQueue::new();
        for i in 0..10u32 {
            q.push(SimTime(5), i);
        }
        q.push(SimTime(1), 100);
        let got = drain(&mut q);
        assert_eq!(got[0], (1, 100));
        assert_eq!(
            got[1..].iter().map(|x| x.1).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn cancelled_events_never_fire() {
        let mut q = RadixEventQueue::new();
        let a = q.push(SimTime(10), 1);
        q.push(SimTime(20), 2);
        q.cancel(a);
        assert_eq!(q.len(), 1);
        assert_eq!(drain(&mut q), vec![(20, 2)]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u64),
        Pop,
        Cancel(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..50).prop_map(Op::Push),
            3 => Just(Op::Pop),
            1 => (0usize..1000).prop_map(Op::Cancel),
        ]
    }

    proptest! {
        /// Both queues agree with a sorted reference on any mix of pushes (never into the past),
        /// pops and cancellations of pending events.
        #[test]
        fn matches_reference(ops in proptest::collection::vec(op(), 1..400)) {
            let mut radix = RadixEventQueue::new();
            let mut heap = HeapEventQueue::new();
            // reference: (time, seq, payload) pending, sorted on demand
            let mut pending: Vec<(u64, u64, u32)> = vec![];
            let mut now = 0u64;
            let mut next = 0u32;
            for o in ops {
                match o {
                    Op::Push(dt) => {
                        let t = now + dt;
                        let id = radix.push(SimTime(t), next);
                        let id2 = heap.push(SimTime(t), next);
                        prop_assert_eq!(id, id2);
                        pending.push((t, id.0, next));
                        next += 1;
                    }
                    Op::Pop => {
                        pending.sort();
                        let want = if pending.is_empty() { None } else { Some(pending.remove(0)) };
                        let a = radix.pop().map(|(t, id, e)| (t.0, id.0, e));
                        let b = heap.pop().map(|(t, id, e)| (t.0, id.0, e));
                        prop_assert_eq!(a, want);
                        prop_assert_eq!(b, want);
                        if let Some((t, _, _)) = want { now = t; }
                    }
                    Op::Cancel(k) => {
                        if !pending.is_empty() {
                            let (_, seq, _) = pending.remove(k % pending.len());
                            radix.cancel(EventId(seq));
                            heap.cancel(EventId(seq));
                        }
                    }
                }
                prop_assert_eq!(radix.len(), pending.len());
                prop_assert_eq!(heap.len(), pending.len());
            }
        }
    }
}
