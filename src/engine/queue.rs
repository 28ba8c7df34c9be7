//! The pending-event set. Two implementations share one trait so the benchmark in
//! `benches/event_queue.rs` can compare them on the same workload; the simulator uses the faster
//! one through the [`EventQueue`] alias.
//!
//! Both break ties between events at the same instant by insertion order (first scheduled, first
//! handled), which is what makes runs deterministic. Both cancel lazily: a cancelled id is
//! remembered (in a `CancelSet`, mostly one bit per recent id) and its entry is skipped when it
//! reaches the front, so cancelling is O(1) and needs no position tracking inside the heap.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::time::SimTime;

/// Handle of a scheduled event, used to cancel it. Ids are unique within one queue.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct EventId(pub u64);

/// What a pending-event set must offer the simulation loop.
///
/// ```
/// use fleetsim::engine::{EventQueue, PendingEvents, SimTime};
/// let mut q = EventQueue::new();
/// q.push(SimTime(10), "b");
/// let cancelled = q.push(SimTime(5), "x");
/// q.push(SimTime(10), "c");
/// q.push(SimTime(5), "a");
/// assert!(q.cancel(cancelled));
/// // Earliest first; ties leave in insertion order; a cancelled event never leaves.
/// let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, _, e)| e)).collect();
/// assert_eq!(order, ["a", "b", "c"]);
/// ```
pub trait PendingEvents<E> {
    /// Schedules `event` at `time`. `time` must not be earlier than the last popped time.
    fn push(&mut self, time: SimTime, event: E) -> EventId;
    /// Removes and returns the earliest live event; ties leave in insertion order.
    fn pop(&mut self) -> Option<(SimTime, EventId, E)>;
    /// Like [`pop`](Self::pop), but only if the earliest live event is strictly before `until`;
    /// otherwise nothing is removed (apart from cancelled entries) and it returns `None`.
    fn pop_before(&mut self, until: SimTime) -> Option<(SimTime, EventId, E)>;
    /// Cancels a pending event and returns true. Cancelling an id that has already been popped
    /// or cancelled (or was never issued) is a logic error of the caller: debug builds panic on
    /// it; release builds return false for an id already cancelled or never issued, and do not
    /// detect one already popped (that check would cost time on every event): it returns true
    /// and the count of pending events ends one too low.
    fn cancel(&mut self, id: EventId) -> bool;
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

/// The sequence numbers of cancelled events whose entries are still in a queue (tombstones).
///
/// Checked once per pop, so it must be cheap for the common answer "not cancelled". Sequence
/// numbers are issued consecutively, so the recent ones are kept as bits of a ring indexed by
/// `seq % window`, covering the last `window` numbers issued; a cancelled number that leaves the
/// window before its entry surfaces moves to a hash set, which is only consulted for entries that
/// old (and only while it is non-empty). The window doubles as the queue grows, to about four
/// times the number of live events, so in a steady state nearly every check is one bit test.
struct CancelSet {
    /// Bit `seq % window` is set when `seq`, one of the last `window` numbers issued, is cancelled.
    bits: Vec<u64>,
    /// Cancelled numbers older than the window.
    old: SeqSet,
    /// Tombstones in `bits` and `old` together.
    count: usize,
}

impl CancelSet {
    const MIN_WORDS: usize = 16;

    fn new() -> Self {
        CancelSet {
            bits: vec![0; Self::MIN_WORDS],
            old: SeqSet::default(),
            count: 0,
        }
    }

    /// Width of the ring in sequence numbers (a power of two).
    #[inline]
    fn window(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    /// Called as `seq` is issued (it becomes the newest number): the ring slot it takes over may
    /// still hold the tombstone of `seq - window`, which then moves to `old`.
    #[inline]
    fn issue(&mut self, seq: u64) {
        if self.count == 0 {
            return;
        }
        let w = self.window();
        let i = (seq & (w - 1)) as usize;
        let m = 1u64 << (i & 63);
        let word = &mut self.bits[i >> 6];
        if *word & m != 0 {
            *word &= !m;
            self.old.insert(seq - w);
        }
    }

    /// Records `seq` (already issued, `next_seq` is the next to be) as cancelled; false if it was.
    fn insert(&mut self, seq: u64, next_seq: u64) -> bool {
        let w = self.window();
        let fresh = if next_seq - seq <= w {
            let i = (seq & (w - 1)) as usize;
            let m = 1u64 << (i & 63);
            let word = &mut self.bits[i >> 6];
            let fresh = *word & m == 0;
            *word |= m;
            fresh
        } else {
            self.old.insert(seq)
        };
        self.count += fresh as usize;
        fresh
    }

    /// If `seq` is cancelled, forgets it and returns true.
    #[inline]
    fn take(&mut self, seq: u64, next_seq: u64) -> bool {
        if self.count == 0 {
            return false;
        }
        let w = self.window();
        let hit = if next_seq - seq <= w {
            let i = (seq & (w - 1)) as usize;
            let m = 1u64 << (i & 63);
            let word = &mut self.bits[i >> 6];
            let hit = *word & m != 0;
            *word &= !m;
            hit
        } else {
            !self.old.is_empty() && self.old.remove(&seq)
        };
        self.count -= hit as usize;
        hit
    }

    /// Widens the ring so that it covers at least `4 * live` numbers.
    #[inline]
    fn fit(&mut self, live: usize, next_seq: u64) {
        if (live as u64) * 4 > self.window() {
            self.grow(next_seq);
        }
    }

    #[cold]
    fn grow(&mut self, next_seq: u64) {
        let w = self.window();
        let mut bits = vec![0u64; self.bits.len() * 2];
        if self.count > 0 {
            for (wi, &word) in self.bits.iter().enumerate() {
                let mut word = word;
                while word != 0 {
                    let i = (wi * 64) as u64 + word.trailing_zeros() as u64;
                    word &= word - 1;
                    // The one number in [next_seq - w, next_seq) that sits in slot i.
                    let seq = (next_seq - 1) - ((next_seq - 1).wrapping_sub(i) & (w - 1));
                    let j = (seq & (2 * w - 1)) as usize;
                    bits[j >> 6] |= 1 << (j & 63);
                }
            }
            // Older tombstones that the wider window now covers must move into it, since only
            // numbers outside the window are looked up in `old`.
            self.old.retain(|&seq| {
                if next_seq - seq <= 2 * w {
                    let j = (seq & (2 * w - 1)) as usize;
                    bits[j >> 6] |= 1 << (j & 63);
                    false
                } else {
                    true
                }
            });
        }
        self.bits = bits;
    }
}

/// The sequence numbers of live events: issued, and neither popped nor cancelled. Kept in debug
/// builds only, to catch the cancelling of an event that has already fired: a release build
/// saves the cost of a check per event (a bit per pop, and a hash lookup for events pending
/// long: a sizeable share of a large run). Sequence numbers are issued consecutively,
/// so the recent ones are kept as bits of a ring indexed by `seq % window`, covering the last
/// `window` numbers issued; a live number that leaves the window (an event scheduled far ahead)
/// moves to a hash set, which is only consulted for numbers that old. The window doubles as the
/// queue grows, to about four times the number of live events, so nearly every check is one
/// bit test and clear.
#[cfg(debug_assertions)]
struct LiveSet {
    /// Bit `seq % window` is set when `seq`, one of the last `window` numbers issued, is live.
    bits: Vec<u64>,
    /// Live numbers older than the window.
    old: SeqSet,
}

#[cfg(debug_assertions)]
impl LiveSet {
    const MIN_WORDS: usize = 16;

    fn new() -> Self {
        LiveSet {
            bits: vec![0; Self::MIN_WORDS],
            old: SeqSet::default(),
        }
    }

    /// Width of the ring in sequence numbers (a power of two).
    #[inline]
    fn window(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    /// Marks `seq`, being issued (it becomes the newest number), live. The ring slot it takes
    /// over may still hold `seq - window`, which then moves to `old`.
    #[inline]
    fn issue(&mut self, seq: u64) {
        let w = self.window();
        let i = (seq & (w - 1)) as usize;
        let m = 1u64 << (i & 63);
        let word = &mut self.bits[i >> 6];
        if *word & m != 0 {
            self.old.insert(seq - w);
        }
        *word |= m;
    }

    /// If `seq` (already issued, `next_seq` is the next to be) is live, makes it not live and
    /// returns true.
    #[inline]
    fn take(&mut self, seq: u64, next_seq: u64) -> bool {
        let w = self.window();
        if next_seq - seq <= w {
            let i = (seq & (w - 1)) as usize;
            let m = 1u64 << (i & 63);
            let word = &mut self.bits[i >> 6];
            let hit = *word & m != 0;
            *word &= !m;
            hit
        } else {
            !self.old.is_empty() && self.old.remove(&seq)
        }
    }

    /// Widens the ring so that it covers at least `4 * live` numbers.
    #[inline]
    fn fit(&mut self, live: usize, next_seq: u64) {
        if (live as u64) * 4 > self.window() {
            self.grow(next_seq);
        }
    }

    #[cold]
    fn grow(&mut self, next_seq: u64) {
        let w = self.window();
        let mut bits = vec![0u64; self.bits.len() * 2];
        for (wi, &word) in self.bits.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let i = (wi * 64) as u64 + word.trailing_zeros() as u64;
                word &= word - 1;
                // The one number in [next_seq - w, next_seq) that sits in slot i.
                let seq = (next_seq - 1) - ((next_seq - 1).wrapping_sub(i) & (w - 1));
                let j = (seq & (2 * w - 1)) as usize;
                bits[j >> 6] |= 1 << (j & 63);
            }
        }
        // Older live numbers that the wider window now covers must move into it, since only
        // numbers outside the window are looked up in `old`.
        self.old.retain(|&seq| {
            if next_seq - seq <= 2 * w {
                let j = (seq & (2 * w - 1)) as usize;
                bits[j >> 6] |= 1 << (j & 63);
                false
            } else {
                true
            }
        });
        self.bits = bits;
    }
}

struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

/// An entry of the `early` heap: the earliest (key, push order) is the greatest, so the
/// max-heap pops it first.
struct Early<E>(Entry<E>);

impl<E> PartialEq for Early<E> {
    fn eq(&self, o: &Self) -> bool {
        self.0.seq == o.0.seq
    }
}
impl<E> Eq for Early<E> {}
impl<E> PartialOrd for Early<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Early<E> {
    fn cmp(&self, o: &Self) -> Ordering {
        (o.0.time, o.0.seq).cmp(&(self.0.time, self.0.seq))
    }
}

/// Entries per chunk of a bucket. A bucket is a list of fixed-size chunks rather than one
/// vector that doubles: the queue's memory then follows its entries (plus one part-filled
/// chunk per bucket and a few spares), and each chunk a redistribution empties is reused at
/// once by the buckets it fills. With doubling vectors, `bench-1m`'s peak was 18 MB higher for
/// a million pending events (README, Performance: memory per live instance).
const CHUNK: usize = 512;
/// Emptied chunks kept for reuse; beyond them a chunk is freed, so a burst of events (a trace
/// replay's 5-minute timestamps) leaves nothing large behind.
const SPARE_CHUNKS: usize = 64;

/// One bucket of the radix heap: full chunks in push order, then the chunk being filled.
struct Bucket<E> {
    full: Vec<Vec<Entry<E>>>,
    /// Filled up to its capacity: a chunk (kept when the bucket empties), or no allocation
    /// before the bucket's first entry.
    tail: Vec<Entry<E>>,
}

impl<E> Default for Bucket<E> {
    fn default() -> Self {
        Bucket {
            full: Vec::new(),
            tail: Vec::new(),
        }
    }
}

/// The tail of `bucket` is full (or absent): it joins the full chunks and a spare chunk, or a
/// new one, takes its place.
#[cold]
fn new_tail<E>(bucket: &mut Bucket<E>, spare: &mut Vec<Vec<Entry<E>>>) {
    let fresh = spare.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK));
    let full = std::mem::replace(&mut bucket.tail, fresh);
    if full.capacity() > 0 {
        bucket.full.push(full);
    }
}

/// Keeps an emptied chunk for reuse if it is chunk-sized and the spares are not full.
fn recycle<E>(spare: &mut Vec<Vec<Entry<E>>>, mut chunk: Vec<Entry<E>>) {
    if (CHUNK..=2 * CHUNK).contains(&chunk.capacity()) && spare.len() < SPARE_CHUNKS {
        chunk.clear();
        spare.push(chunk);
    }
}

/// Bits per radix digit.
const DIGIT_BITS: u32 = 4;
/// Buckets per level (values of one digit).
const RADIX: usize = 1 << DIGIT_BITS;
/// Levels needed to cover a `u64` key.
const LEVELS: usize = 64 / DIGIT_BITS as usize;
const BUCKETS: usize = LEVELS * RADIX;
/// A bucket holding at most this many entries is refilled relative to its minimum (one scan in
/// cache, and the minimum goes straight to the front); a larger one relative to its lower bound,
/// a plain radix-sort step with no scan.
const SMALL_BUCKET: usize = 32;

/// A radix heap over millisecond times with 4-bit digits. Simulated time never goes backwards,
/// so every key pushed is at least `last`, a lower bound of all pending keys; the heap files each
/// entry by the highest 4-bit digit in which its key differs from `last` (the level) and the
/// value of its own digit there. Buckets in (level, digit) order hold ascending, disjoint key
/// ranges, so the lowest non-empty bucket holds the earliest key. Push is O(1); each entry moves
/// down at most 16 times over its life (a level per move), and a level-0 bucket holds one key
/// only, so it goes to the front whole. Entries with equal keys always sit in the same bucket in
/// push order, and buckets are redistributed stably, so ties leave first-in first-out.
pub struct RadixEventQueue<E> {
    /// All pending keys in `front` and the buckets are at least `last`.
    last: u64,
    /// Entries pushed with a key below `last`, a binary heap on (key, push order); they all
    /// leave before anything else. The radix heap refills its front as soon as it empties, so
    /// the next event is always known (for [`peek_hint`](Self::peek_hint)) and `last` is
    /// usually ahead of the clock; what the current event schedules before that next key lands
    /// here (usually a handful; hundreds when a trace replay launches a batch just before a
    /// long quiet gap) instead of forcing the radix heap to be rebuilt below a lower `last`.
    early: BinaryHeap<Early<E>>,
    /// Keys equal to `last`, in push order.
    front: VecDeque<Entry<E>>,
    /// `buckets[16 * level + digit]` holds keys whose highest 4-bit digit differing from `last`
    /// is digit `level`, where their own digit is `digit`.
    buckets: Box<[Bucket<E>; BUCKETS]>,
    /// Emptied chunks, for the next bucket that needs one.
    spare: Vec<Vec<Entry<E>>>,
    /// Bit `b % 64` of word `b / 64` set when `buckets[b]` is non-empty.
    nonempty: [u64; BUCKETS / 64],
    next_seq: u64,
    cancelled: CancelSet,
    live: usize,
    #[cfg(debug_assertions)]
    pending: LiveSet,
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
            early: BinaryHeap::new(),
            front: VecDeque::new(),
            buckets: Box::new(std::array::from_fn(|_| Bucket::default())),
            spare: Vec::new(),
            nonempty: [0; BUCKETS / 64],
            next_seq: 0,
            cancelled: CancelSet::new(),
            live: 0,
            #[cfg(debug_assertions)]
            pending: LiveSet::new(),
        }
    }

    #[inline]
    fn file(&mut self, e: Entry<E>) {
        let diff = e.time ^ self.last;
        if diff == 0 {
            self.front.push_back(e);
        } else {
            let shift = (63 - diff.leading_zeros()) & !(DIGIT_BITS - 1);
            let level = (shift / DIGIT_BITS) as usize;
            let b = (level * RADIX + ((e.time >> shift) as usize & (RADIX - 1))) & (BUCKETS - 1);
            self.nonempty[b >> 6] |= 1 << (b & 63);
            let bucket = &mut self.buckets[b];
            if bucket.tail.len() == bucket.tail.capacity() {
                new_tail(bucket, &mut self.spare);
            }
            bucket.tail.push(e);
        }
    }

    /// Index of the lowest non-empty bucket.
    #[inline]
    fn first_bucket(&self) -> Option<usize> {
        self.nonempty
            .iter()
            .position(|&w| w != 0)
            .map(|i| i * 64 + self.nonempty[i].trailing_zeros() as usize)
    }

    /// Moves buckets down until `front` holds the earliest key; false when nothing is pending.
    #[inline]
    fn refill_front(&mut self) -> bool {
        if !self.front.is_empty() {
            return true;
        }
        self.refill_slow()
    }

    fn refill_slow(&mut self) -> bool {
        if self.front.capacity() > 2 * CHUNK {
            // A burst on one key grew the front; now that it is empty, let it go.
            self.front = VecDeque::new();
        }
        while self.front.is_empty() {
            let Some(b) = self.first_bucket() else {
                return false;
            };
            self.nonempty[b >> 6] &= !(1 << (b & 63));
            let level = b / RADIX;
            if !self.buckets[b].full.is_empty() {
                self.refill_from_chunks(b, level);
                continue;
            }
            // The usual bucket: one chunk.
            let mut tail = std::mem::take(&mut self.buckets[b].tail);
            if level == 0 {
                // A level-0 bucket holds a single key: its chunk becomes the front as it
                // stands (no entry moved), and the bucket keeps the empty front's allocation
                // for its next entries.
                self.last = tail[0].time;
                let old = Vec::from(std::mem::replace(&mut self.front, VecDeque::from(tail)));
                if (CHUNK..=2 * CHUNK).contains(&old.capacity()) {
                    self.buckets[b].tail = old;
                }
                continue;
            }
            // Any new `last` between the bucket's lower bound and its minimum keeps every other
            // bucket where it is (they all hold keys above this bucket's range).
            self.last = if tail.len() <= SMALL_BUCKET {
                tail.iter().map(|e| e.time).min().unwrap_or(self.last)
            } else {
                let shift = level as u32 * DIGIT_BITS;
                (tail[0].time >> shift) << shift
            };
            // Entries move to lower levels only, never back into this bucket, which keeps its
            // chunk for its next entries.
            for e in tail.drain(..) {
                self.file(e);
            }
            self.buckets[b].tail = tail;
        }
        true
    }

    /// [`Self::refill_slow`] for a bucket of more than one chunk: each full chunk emptied is at
    /// once a spare for the buckets being filled (or, at level 0, the chunks go to the front in
    /// order), and the bucket keeps its last one for its next entries.
    #[cold]
    fn refill_from_chunks(&mut self, b: usize, level: usize) {
        let Bucket { mut full, mut tail } = std::mem::take(&mut self.buckets[b]);
        let first = full[0][0].time;
        if level == 0 {
            self.last = first;
            for mut chunk in full.drain(..) {
                self.front.extend(chunk.drain(..));
                recycle(&mut self.spare, chunk);
            }
            self.front.extend(tail.drain(..));
        } else {
            let shift = level as u32 * DIGIT_BITS;
            self.last = (first >> shift) << shift;
            for mut chunk in full.drain(..) {
                for e in chunk.drain(..) {
                    self.file(e);
                }
                recycle(&mut self.spare, chunk);
            }
            for e in tail.drain(..) {
                self.file(e);
            }
        }
        self.buckets[b] = Bucket { full, tail };
    }

    /// The next event to pop, without moving anything: the earliest early entry, else the head
    /// of the front (refilled as soon as it empties, so this is `None` only when nothing is
    /// pending). It may be a cancelled event, so it is only good for hints such as prefetching
    /// what the next event will touch.
    pub fn peek_hint(&self) -> Option<&E> {
        self.early
            .peek()
            .map(|e| &e.0)
            .or_else(|| self.front.front())
            .map(|e| &e.event)
    }

    /// The earliest entry, removed (cancelled ones included), refilling the front at once if
    /// that emptied it, so the next key is known before the caller handles this one.
    #[inline]
    fn take_head(&mut self, until: u64) -> Option<Entry<E>> {
        if let Some(e) = self.early.peek() {
            if e.0.time >= until {
                return None;
            }
            return self.early.pop().map(|e| e.0);
        }
        if !self.refill_front() || self.front.front()?.time >= until {
            return None;
        }
        let e = self.front.pop_front();
        if self.front.is_empty() {
            self.refill_slow();
        }
        e
    }

    /// Time of the earliest live event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        while let Some(Early(head)) = self.early.peek() {
            if self.cancelled.take(head.seq, self.next_seq) {
                self.early.pop();
                continue;
            }
            return Some(SimTime(head.time));
        }
        loop {
            if !self.refill_front() {
                return None;
            }
            let head = self.front.front()?;
            if self.cancelled.take(head.seq, self.next_seq) {
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
        self.cancelled.issue(seq);
        #[cfg(debug_assertions)]
        self.pending.issue(seq);
        self.next_seq += 1;
        self.live += 1;
        self.cancelled.fit(self.live, self.next_seq);
        #[cfg(debug_assertions)]
        self.pending.fit(self.live, self.next_seq);
        let e = Entry {
            time: time.0,
            seq,
            event,
        };
        if time.0 < self.last {
            self.early.push(Early(e));
        } else {
            self.file(e);
        }
        EventId(seq)
    }

    #[inline]
    fn pop(&mut self) -> Option<(SimTime, EventId, E)> {
        self.pop_before(SimTime(u64::MAX))
    }

    #[inline]
    fn pop_before(&mut self, until: SimTime) -> Option<(SimTime, EventId, E)> {
        // Every pending key is at least the head's, so a late head means nothing is due.
        while let Some(e) = self.take_head(until.0) {
            if self.cancelled.take(e.seq, self.next_seq) {
                continue;
            }
            self.live -= 1;
            #[cfg(debug_assertions)]
            self.pending.take(e.seq, self.next_seq);
            return Some((SimTime(e.time), EventId(e.seq), e.event));
        }
        None
    }

    fn cancel(&mut self, id: EventId) -> bool {
        #[cfg(debug_assertions)]
        assert!(
            id.0 < self.next_seq && self.pending.take(id.0, self.next_seq),
            "cancelling {id:?}, which is not pending (already handled or cancelled)"
        );
        let fresh = id.0 < self.next_seq && self.cancelled.insert(id.0, self.next_seq);
        self.live -= fresh as usize;
        fresh
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
    cancelled: CancelSet,
    live: usize,
    #[cfg(debug_assertions)]
    pending: LiveSet,
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
            cancelled: CancelSet::new(),
            live: 0,
            #[cfg(debug_assertions)]
            pending: LiveSet::new(),
        }
    }
}

impl<E> PendingEvents<E> for HeapEventQueue<E> {
    fn push(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.cancelled.issue(seq);
        #[cfg(debug_assertions)]
        self.pending.issue(seq);
        self.next_seq += 1;
        self.live += 1;
        self.cancelled.fit(self.live, self.next_seq);
        #[cfg(debug_assertions)]
        self.pending.fit(self.live, self.next_seq);
        self.heap.push(HeapEntry(Entry {
            time: time.0,
            seq,
            event,
        }));
        EventId(seq)
    }

    fn pop(&mut self) -> Option<(SimTime, EventId, E)> {
        while let Some(HeapEntry(e)) = self.heap.pop() {
            if self.cancelled.take(e.seq, self.next_seq) {
                continue;
            }
            self.live -= 1;
            #[cfg(debug_assertions)]
            self.pending.take(e.seq, self.next_seq);
            return Some((SimTime(e.time), EventId(e.seq), e.event));
        }
        None
    }

    fn pop_before(&mut self, until: SimTime) -> Option<(SimTime, EventId, E)> {
        loop {
            let head = self.heap.peek()?;
            if self.cancelled.take(head.0.seq, self.next_seq) {
                self.heap.pop();
                continue;
            }
            if head.0.time >= until.0 {
                return None;
            }
            let HeapEntry(e) = self.heap.pop()?;
            self.live -= 1;
            #[cfg(debug_assertions)]
            self.pending.take(e.seq, self.next_seq);
            return Some((SimTime(e.time), EventId(e.seq), e.event));
        }
    }

    fn cancel(&mut self, id: EventId) -> bool {
        #[cfg(debug_assertions)]
        assert!(
            id.0 < self.next_seq && self.pending.take(id.0, self.next_seq),
            "cancelling {id:?}, which is not pending (already handled or cancelled)"
        );
        let fresh = id.0 < self.next_seq && self.cancelled.insert(id.0, self.next_seq);
        self.live -= fresh as usize;
        fresh
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
        assert!(q.cancel(a));
        assert_eq!(q.len(), 1);
        assert_eq!(drain(&mut q), vec![(20, 2)]);
    }

    /// Cancelling an event that already fired, one already cancelled, or an id never issued
    /// is refused: a debug build (every test run) stops on each; a release build returns false
    /// for the last two and keeps its count of pending events.
    #[test]
    fn cancelling_a_fired_or_cancelled_event_is_caught() {
        fn check<Q: PendingEvents<u32>>(mut q: Q) {
            let a = q.push(SimTime(10), 1);
            let b = q.push(SimTime(20), 2);
            q.push(SimTime(30), 3);
            assert_eq!(q.pop().map(|(_, id, _)| id), Some(a));
            assert!(q.cancel(b));
            let mut refused = vec![b, EventId(99)];
            if cfg!(debug_assertions) {
                refused.push(a);
            }
            for id in refused {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.cancel(id)));
                if cfg!(debug_assertions) {
                    assert!(r.is_err(), "{id:?}: no debug assertion");
                } else {
                    assert_eq!(r.ok(), Some(false), "{id:?}");
                }
            }
            assert_eq!(q.len(), 1);
            assert_eq!(q.pop().map(|(t, _, e)| (t.0, e)), Some((30, 3)));
        }
        check(RadixEventQueue::new());
        check(HeapEventQueue::new());
    }

    /// A deterministic generator for the larger randomized test below.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 11
        }
    }

    /// Both queues against a sorted reference on a long mix with delays from 0 to 2^40 ms (every
    /// level of the radix heap), many ties, peeks (after which a push can land below the radix heap's
    /// bound), and cancellations of events both recent and far older than the cancel window.
    #[test]
    fn long_random_mix_matches_reference() {
        use std::collections::BTreeMap;
        let mut rng = Lcg(42);
        let mut radix = RadixEventQueue::new();
        let mut heap = HeapEventQueue::new();
        let mut pending: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut issued: Vec<(u64, u64)> = vec![];
        let mut now = 0u64;
        for step in 0..200_000u32 {
            let target = if (step / 20_000).is_multiple_of(2) {
                3_000
            } else {
                50
            };
            match rng.next() % 16 {
                0..=6 => {
                    let dt = match rng.next() % 6 {
                        0 => 0,
                        1 => rng.next() % 4,
                        2 => rng.next() % 300,
                        3 => rng.next() % 70_000,
                        4 => rng.next() % 20_000_000,
                        _ => rng.next() % (1 << 40),
                    };
                    let t = now + dt;
                    let id = radix.push(SimTime(t), step);
                    assert_eq!(heap.push(SimTime(t), step), id);
                    pending.insert((t, id.0), step);
                    issued.push((t, id.0));
                }
                7..=12 => {
                    if pending.len() < target && rng.next().is_multiple_of(2) {
                        continue;
                    }
                    let want = pending.pop_first().map(|((t, s), p)| (t, s, p));
                    let a = radix.pop().map(|(t, id, e)| (t.0, id.0, e));
                    let b = heap.pop().map(|(t, id, e)| (t.0, id.0, e));
                    assert_eq!(b, want, "heap, step {step}");
                    assert_eq!(a, want, "radix, step {step}");
                    if let Some((t, _, _)) = want {
                        now = t;
                    }
                }
                13 => {
                    let want = pending.keys().next().map(|&(t, _)| SimTime(t));
                    assert_eq!(radix.peek_time(), want, "peek, step {step}");
                }
                _ => {
                    if issued.is_empty() {
                        continue;
                    }
                    // Mostly recent ids, sometimes any id ever issued.
                    let n = issued.len() as u64;
                    let k = if rng.next().is_multiple_of(4) {
                        rng.next() % n
                    } else {
                        n - 1 - rng.next() % n.min(64)
                    };
                    let (t, s) = issued[k as usize];
                    if pending.remove(&(t, s)).is_some() {
                        radix.cancel(EventId(s));
                        heap.cancel(EventId(s));
                    }
                }
            }
            assert_eq!(radix.len(), pending.len());
            assert_eq!(heap.len(), pending.len());
        }
        let rest: Vec<_> = pending.iter().map(|(&(t, _), &p)| (t, p)).collect();
        assert_eq!(drain(&mut radix), rest);
        assert_eq!(drain(&mut heap), rest);
    }

    /// A burst of events on one key grows the front far beyond a chunk; once it has been
    /// handled, the queue lets that allocation go even if no later key is shared.
    #[test]
    fn a_burst_on_one_key_leaves_no_large_front() {
        let mut q = RadixEventQueue::new();
        for n in 0..20 * CHUNK as u32 {
            q.push(SimTime(5), n);
        }
        q.push(SimTime(1_000), 0);
        for n in 0..20 * CHUNK {
            assert_eq!(q.pop().map(|(t, _, _)| t.0), Some(5));
            if n + 1 < 20 * CHUNK {
                assert!(
                    q.front.capacity() >= 20 * CHUNK - n - 1,
                    "the burst is in the front"
                );
                assert!(q.front.capacity() > 2 * CHUNK);
            }
        }
        assert!(q.front.capacity() <= 2 * CHUNK);
        assert_eq!(q.pop().map(|(t, _, _)| t.0), Some(1_000));
        assert!(q.is_empty());
    }

    /// Buckets of many chunks, at every level including 0 (a thousand events on each of a few
    /// keys just past the front, and on keys far ahead), keep ties first-in first-out through
    /// every redistribution, also with pushes between pops; and the emptied chunks are reused
    /// rather than piling up.
    #[test]
    fn buckets_of_many_chunks_keep_order() {
        use std::collections::BTreeMap;
        let mut q = RadixEventQueue::new();
        let mut want: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        let mut n = 0u32;
        let mut push = |q: &mut RadixEventQueue<u32>, want: &mut BTreeMap<_, _>, t: u64| {
            let id = q.push(SimTime(t), n);
            want.insert((t, id.0), n);
            n += 1;
        };
        for round in 0..3 * CHUNK as u64 {
            for t in [1, 2, 15, 1 << 20, (1 << 20) + 7, 1 << 36, (1 << 36) + 3] {
                push(&mut q, &mut want, t + round % 3);
            }
        }
        let mut popped = 0;
        while let Some((t, id, e)) = q.pop() {
            let ((wt, wid), we) = want.pop_first().unwrap();
            assert_eq!((t.0, id.0, e), (wt, wid, we));
            popped += 1;
            if popped % 97 == 0 && t.0 < 1 << 30 {
                for dt in [0, 1, 5000, 1 << 36] {
                    push(&mut q, &mut want, t.0 + dt);
                }
            }
            assert!(q.spare.len() <= SPARE_CHUNKS);
        }
        assert!(want.is_empty());
        assert!(popped > 7 * 3 * CHUNK);
    }

    /// A cancelled event that stays pending while many newer ones are pushed and popped (its
    /// tombstone leaves the bit window) still never fires; so does one cancelled only then.
    #[test]
    fn old_cancellations_never_fire() {
        let mut q = RadixEventQueue::new();
        let a = q.push(SimTime(1_000_000), 1u32);
        let b = q.push(SimTime(1_000_001), 2);
        let c = q.push(SimTime(1_000_002), 3);
        q.cancel(a);
        for i in 0..100_000u64 {
            q.push(SimTime(i), 0);
            assert_eq!(q.pop().map(|(t, _, e)| (t.0, e)), Some((i, 0)));
        }
        assert!(q.cancel(c));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop().map(|(_, id, e)| (id, e)), Some((b, 2)));
        assert_eq!(q.pop().map(|(_, id, e)| (id, e)), None);
    }

    /// Peeking moves the radix heap's lower bound to the next key; a push between the clock and
    /// that key then waits in the early heap, and ties still leave in insertion order.
    #[test]
    fn push_after_peek_keeps_order() {
        let mut q = RadixEventQueue::new();
        for i in 0..5u32 {
            q.push(SimTime(70_000), i);
        }
        assert_eq!(q.peek_time(), Some(SimTime(70_000)));
        q.push(SimTime(300), 10);
        q.push(SimTime(70_000), 5);
        q.push(SimTime(300), 11);
        assert_eq!(
            drain(&mut q),
            vec![
                (300, 10),
                (300, 11),
                (70_000, 0),
                (70_000, 1),
                (70_000, 2),
                (70_000, 3),
                (70_000, 4),
                (70_000, 5)
            ]
        );
    }

    /// `pop_before` hands out exactly what `peek_time` followed by a guarded `pop` would, on a
    /// mix of horizons (some already passed), ties, cancellations, and (for the radix heap)
    /// peeks after which later pushes land in the early heap.
    #[test]
    fn pop_before_matches_peek_then_pop() {
        fn check<Q: PendingEvents<u32>>(mut q: Q, peek: fn(&mut Q)) {
            let mut reference = RadixEventQueue::new();
            let mut rng = Lcg(7);
            let mut now = 0u64;
            let mut pending: Vec<EventId> = vec![];
            let mut popped = 0;
            for round in 0..5_000u32 {
                for k in 0..(rng.next() % 8) as u32 {
                    let dt = [0, 1, 15, 16, 17, 300, 4_096, 70_000][(rng.next() % 8) as usize];
                    let t = SimTime(now + dt * (rng.next() % 3));
                    let id = q.push(t, round * 8 + k);
                    assert_eq!(reference.push(t, round * 8 + k), id);
                    pending.push(id);
                }
                if rng.next().is_multiple_of(3) && !pending.is_empty() {
                    let id = pending.swap_remove((rng.next() % pending.len() as u64) as usize);
                    q.cancel(id);
                    reference.cancel(id);
                }
                let until = SimTime(now + rng.next() % 400);
                loop {
                    let want = match reference.peek_time() {
                        Some(t) if t < until => reference.pop(),
                        _ => None,
                    };
                    let got = q.pop_before(until);
                    assert_eq!(got, want, "round {round}");
                    let Some((t, id, _)) = got else { break };
                    now = t.0;
                    popped += 1;
                    pending.retain(|&p| p != id);
                }
                assert_eq!(q.len(), reference.len());
                if rng.next().is_multiple_of(4) {
                    peek(&mut q);
                }
                // The clock moves to the horizon, or not quite (pushes below a peeked key).
                now = now.max(until.0.saturating_sub(rng.next() % 50));
            }
            assert!(popped > 5_000, "too few pops to mean anything: {popped}");
        }
        check(RadixEventQueue::new(), |q| {
            q.peek_time();
        });
        check(HeapEventQueue::new(), |_| {});
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

        /// Without cancellations, a hint, when given, is exactly the event the next pop returns.
        #[test]
        fn peek_hint_names_the_next_pop(pushes in proptest::collection::vec((0u64..5_000, 0u8..4), 1..300)) {
            let mut q = RadixEventQueue::new();
            let mut now = 0u64;
            for (k, (dt, pops)) in pushes.into_iter().enumerate() {
                q.push(SimTime(now + dt), k as u32);
                for _ in 0..pops {
                    let hint = q.peek_hint().copied();
                    let Some((t, _, e)) = q.pop() else { break };
                    now = t.0;
                    if let Some(h) = hint {
                        prop_assert_eq!(h, e);
                    }
                }
            }
        }
    }
}
