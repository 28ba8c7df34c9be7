//! Pending-event set benchmark: the classic "hold" model.
//!
//! A queue is preloaded with a fixed number of pending events (1M, and 10k in a second group)
//! whose times are exponential with mean `MEAN_MS`. Each measured step then pops the earliest
//! event (advancing `now` to its time) and pushes a new one at `now + Exp(MEAN_MS)`, so the
//! pending set stays the same size. Every `CANCEL_EVERY`th step also cancels one random
//! still-pending event and schedules a replacement (a timer reset), again keeping the size
//! constant; those steps cost one cancel and one push more and count as one pair all the same.
//!
//! Cancel targets are taken from a ring of the last `RING` pushes. A slot whose time is strictly
//! after `now` is certainly still pending (pops leave in time order), and a slot is cleared once
//! cancelled, so no id is ever cancelled twice or after it was popped: the lazy-cancel queues are
//! never handed an id they must not see, and `priority_queue::PriorityQueue::remove` always
//! finds its item.
//!
//! All implementations run exactly the same operation sequence (same seed, same FIFO tie-break,
//! same ids); `main` checks this by comparing a checksum of the popped sequence before timing.
//!
//! Throughput is reported in push+pop pairs (one per step): `BATCH` pairs per criterion
//! iteration, the preload is done once per benchmark outside the timed region, and the state is
//! carried over between iterations (steady state). Run with `cargo bench --bench event_queue`.
//!
//! On a shared machine, `EVENT_QUEUE_CPU_TIME=1 cargo bench --bench event_queue` times each batch
//! by the benchmark thread's own time on a CPU (Linux `/proc/thread-self/schedstat`) instead of
//! wall time, so other processes competing for the cores inflate the times much less.

use std::cmp::Reverse;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use fleetsim::engine::queue::{EventId, HeapEventQueue, PendingEvents, RadixEventQueue, SeqHasher};
use fleetsim::engine::time::SimTime;
use priority_queue::PriorityQueue;

/// Mean of the exponential delays, in milliseconds.
const MEAN_MS: f64 = 1e6;
/// Push+pop pairs per criterion iteration.
const BATCH: u64 = 100_000;
/// One step in `CANCEL_EVERY` also cancels (and replaces) a pending event.
const CANCEL_EVERY: u64 = 10;
/// Ring of recent pushes that cancel targets are drawn from (power of two).
const RING: usize = 256;
/// Quantiles in the table exponential delays are drawn from (power of two; the table stays in L1
/// so that drawing a delay costs the measurement next to nothing).
const DELAY_TABLE: usize = 1 << 12;
const SEED: u64 = 0x5EED_F1EE_7517_0001;

/// Quantiles of the exponential truncated to one period `MEAN_MS * ln 2`, with one more entry (the
/// period itself) so that neighbours can be interpolated.
fn exp_table() -> Box<[u64]> {
    (0..=DELAY_TABLE)
        .map(|i| {
            let u = i as f64 / DELAY_TABLE as f64;
            (-MEAN_MS * (1.0 - u / 2.0).ln()).round() as u64
        })
        .collect()
}

/// An Exp(MEAN_MS) draw, in whole milliseconds, from 64 random bits and no logarithm. The number
/// of whole periods `MEAN_MS * ln 2` in an exponential is geometric with ratio 1/2 (the trailing
/// zeros of random bits, low 40 bits) and independent of the remainder, an exponential truncated
/// to one period: read from the quantile table (top 12 bits) and interpolated linearly (the 12
/// bits below).
#[inline]
fn exp_draw(table: &[u64], r: u64) -> u64 {
    let period = table[DELAY_TABLE];
    let periods = (r | (1 << 40)).trailing_zeros() as u64;
    let i = (r >> 52) as usize;
    let (lo, hi) = (table[i], table[i + 1]);
    let frac = (r >> 40) & 0xFFF;
    periods * period + lo + (((hi - lo) * frac) >> 12)
}

/// SplitMix64: tiny, fast and good enough to drive a benchmark workload.
struct SplitMix64(u64);
impl SplitMix64 {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// What the benchmark needs from a queue, with plain integers so each implementation is driven
/// identically. Ids are the queue's own.
trait BenchQueue {
    fn push(&mut self, time: u64, payload: u64) -> u64;
    fn pop(&mut self) -> Option<(u64, u64)>;
    fn cancel(&mut self, id: u64);
    fn len(&self) -> usize;
}

/// Adapter for the project's own queues.
struct Project<Q>(Q);
impl<Q: PendingEvents<u64>> BenchQueue for Project<Q> {
    #[inline]
    fn push(&mut self, time: u64, payload: u64) -> u64 {
        self.0.push(SimTime(time), payload).0
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, u64)> {
        self.0.pop().map(|(t, _, e)| (t.0, e))
    }
    #[inline]
    fn cancel(&mut self, id: u64) {
        self.0.cancel(EventId(id));
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Item of the `priority_queue` variant: hashed and compared by id only, so `remove(&id)` works
/// and the payload comes back with the pop.
struct Keyed {
    id: u64,
    payload: u64,
}
impl PartialEq for Keyed {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}
impl Eq for Keyed {}
impl Hash for Keyed {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h)
    }
}
impl std::borrow::Borrow<u64> for Keyed {
    fn borrow(&self) -> &u64 {
        &self.id
    }
}

/// `priority_queue::PriorityQueue` keyed by event id with priority `Reverse((time, id))`: ids
/// grow with every push, so ties leave first-in first-out like the project's queues. Cancelling
/// is a real removal (no tombstones).
struct Pq<S> {
    q: PriorityQueue<Keyed, Reverse<(u64, u64)>, S>,
    next_id: u64,
}
impl<S: std::hash::BuildHasher + Default> Pq<S> {
    fn new() -> Self {
        Pq {
            q: PriorityQueue::with_default_hasher(),
            next_id: 0,
        }
    }
}
impl<S: std::hash::BuildHasher> BenchQueue for Pq<S> {
    #[inline]
    fn push(&mut self, time: u64, payload: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.q.push(Keyed { id, payload }, Reverse((time, id)));
        id
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, u64)> {
        self.q.pop().map(|(k, Reverse((t, _)))| (t, k.payload))
    }
    #[inline]
    fn cancel(&mut self, id: u64) {
        let removed = self.q.remove(&id);
        debug_assert!(removed.is_some(), "cancel target {id} not pending");
    }
    fn len(&self) -> usize {
        self.q.len()
    }
}

/// The hold-model state, carried across criterion iterations.
struct Hold<Q> {
    q: Q,
    rng: SplitMix64,
    /// See [`exp_table`].
    delays: Box<[u64]>,
    now: u64,
    /// `(id, time)` of recent pushes; time 0 marks a free or already cancelled slot.
    ring: Box<[(u64, u64)]>,
    ring_pos: usize,
    step: u64,
    next_payload: u64,
    cancels: u64,
    cancel_misses: u64,
    checksum: u64,
}

impl<Q: BenchQueue> Hold<Q> {
    fn new(mut q: Q, pending: usize) -> Self {
        let delays = exp_table();
        let mut rng = SplitMix64(SEED);
        for p in 0..pending as u64 {
            let t = exp_draw(&delays, rng.next_u64());
            q.push(t, p);
        }
        assert_eq!(q.len(), pending);
        Hold {
            q,
            rng,
            delays,
            now: 0,
            ring: vec![(0, 0); RING].into_boxed_slice(),
            ring_pos: 0,
            step: 0,
            next_payload: pending as u64,
            cancels: 0,
            cancel_misses: 0,
            checksum: 0,
        }
    }

    #[inline]
    fn delay(&mut self) -> u64 {
        exp_draw(&self.delays, self.rng.next_u64())
    }

    #[inline]
    fn schedule(&mut self, slot: usize) {
        let t = self.now + self.delay();
        let payload = self.next_payload;
        self.next_payload += 1;
        let id = self.q.push(t, payload);
        self.ring[slot] = (id, t);
    }

    /// Runs `n` hold steps.
    fn run(&mut self, n: u64) {
        for _ in 0..n {
            let (t, payload) = self.q.pop().expect("queue ran dry");
            debug_assert!(t >= self.now);
            self.now = t;
            self.checksum = self.checksum.rotate_left(7) ^ t ^ payload.wrapping_mul(0x2545_F491);

            let slot = self.ring_pos;
            self.ring_pos = (slot + 1) & (RING - 1);
            self.schedule(slot);

            self.step += 1;
            if self.step.is_multiple_of(CANCEL_EVERY) {
                let k = (self.rng.next_u64() as usize) & (RING - 1);
                let (id, t) = self.ring[k];
                if t > self.now {
                    self.q.cancel(id);
                    self.cancels += 1;
                    // Replacement keeps the pending set at its size; it takes the freed slot.
                    self.schedule(k);
                } else {
                    self.cancel_misses += 1;
                }
            }
        }
    }
}

/// Nanoseconds the calling thread has spent on a CPU, if the kernel tells.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A stopwatch reading wall time, or on-CPU time when `EVENT_QUEUE_CPU_TIME` is set (and the
/// platform offers it).
#[derive(Clone, Copy)]
enum Clock {
    Wall,
    Cpu,
}

impl Clock {
    fn from_env() -> Clock {
        let want = std::env::var_os("EVENT_QUEUE_CPU_TIME").is_some_and(|v| v != "0");
        if want && thread_cpu_ns().is_some() {
            Clock::Cpu
        } else {
            if want {
                eprintln!("EVENT_QUEUE_CPU_TIME: no per-thread CPU time here, timing wall time");
            }
            Clock::Wall
        }
    }

    /// Runs `f` and returns how long it took on this clock.
    fn time(self, f: impl FnOnce()) -> Duration {
        match self {
            Clock::Wall => {
                let start = Instant::now();
                f();
                start.elapsed()
            }
            Clock::Cpu => {
                let start = thread_cpu_ns().unwrap_or(0);
                f();
                Duration::from_nanos(thread_cpu_ns().unwrap_or(0).saturating_sub(start))
            }
        }
    }
}

/// Registers one implementation in `group`. The preload happens on the first call, untimed.
fn bench_hold<Q: BenchQueue>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    clock: Clock,
    name: &str,
    pending: usize,
    make: fn() -> Q,
) {
    let mut state: Option<Hold<Q>> = None;
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let hold = state.get_or_insert_with(|| Hold::new(make(), pending));
            let elapsed = clock.time(|| {
                for _ in 0..iters {
                    hold.run(BATCH);
                }
            });
            black_box(hold.checksum);
            elapsed
        })
    });
    if let Some(h) = &state {
        assert_eq!(h.q.len(), pending, "{name}: pending set drifted");
    }
}

type Radix = Project<RadixEventQueue<u64>>;
type Heap = Project<HeapEventQueue<u64>>;
type PqSip = Pq<std::collections::hash_map::RandomState>;
type PqSeq = Pq<BuildHasherDefault<SeqHasher>>;

fn radix() -> Radix {
    Project(RadixEventQueue::new())
}
fn heap() -> Heap {
    Project(HeapEventQueue::new())
}

/// The delays are exponential with the intended mean, and every implementation pops exactly the
/// same sequence on the same workload.
fn check_same_workload() {
    let table = exp_table();
    let mut rng = SplitMix64(SEED);
    let n = 1_000_000;
    let mean = (0..n)
        .map(|_| exp_draw(&table, rng.next_u64()) as f64)
        .sum::<f64>()
        / n as f64;
    assert!((mean / MEAN_MS - 1.0).abs() < 0.01, "delay mean {mean}");

    fn run<Q: BenchQueue>(q: Q) -> (u64, u64, u64) {
        let mut h = Hold::new(q, 10_000);
        h.run(300_000);
        assert_eq!(h.q.len(), 10_000);
        (h.checksum, h.cancels, h.cancel_misses)
    }
    let want = run(radix());
    assert_eq!(run(heap()), want, "heap differs from radix");
    assert_eq!(run(PqSip::new()), want, "priority_queue differs from radix");
    assert_eq!(run(PqSeq::new()), want, "priority_queue differs from radix");
    eprintln!(
        "workload check: all queues agree ({} cancels, {} skipped targets in 300k steps at 10k pending)",
        want.1, want.2
    );
}

fn hold_group(c: &mut Criterion, clock: Clock, group_name: &str, pending: usize) {
    let mut g = c.benchmark_group(group_name);
    // Flat: the same number of batches in every sample, so the slow queues at 1M pending fit
    // their ten samples in the measurement time too.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(BATCH));
    bench_hold(&mut g, clock, "radix", pending, radix);
    bench_hold(&mut g, clock, "binary_heap", pending, heap);
    bench_hold(&mut g, clock, "priority_queue", pending, PqSip::new);
    bench_hold(&mut g, clock, "priority_queue_seqhash", pending, PqSeq::new);
    g.finish();
}

fn main() {
    check_same_workload();
    // No plots: the plotters backend needs system fonts, which this machine (and CI) lack, and
    // panics without them once there is a previous run to compare with.
    let mut c = Criterion::default().without_plots().configure_from_args();
    let clock = Clock::from_env();
    hold_group(&mut c, clock, "hold_1M_pending", 1_000_000);
    hold_group(&mut c, clock, "hold_10k_pending", 10_000);
    c.final_summary();
}
