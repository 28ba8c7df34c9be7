//! The hand-written reference for fleetsim's speed: the obvious Rust program for the fleet model
//! of `scenarios/bench-reference.toml`, with no framework, no control plane, no billing and no
//! output files. `benches/compare-reference.sh` runs it against fleetsim and prints the ratios.
//!
//! The model, as fleetsim runs it: Poisson requests of one instance; a zone out of 4 and a type
//! out of 3, uniformly; PENDING lasts U(30 s, 90 s); the lifetime is lognormal with mean 6 h and
//! sigma 1 and counts from creation (a lifetime that ends while the instance is still PENDING
//! ends it as soon as it is RUNNING); TERMINATING lasts U(5 s, 20 s), then the instance is
//! released. No launch failures, no quota, no rate limit. Times are whole milliseconds, as in
//! fleetsim.
//!
//! The program is a `BinaryHeap` of four kinds of events (arrival, boot done, lifetime end,
//! terminate done) over a slab of instance records with a free list. It prints what fleetsim's
//! `summary.json` says about the same run (instances created, time-average and peak number
//! alive, events), and the model's exact expectations with their standard deviations, so the two
//! programs can be checked against the model and against each other.
//!
//! Usage: `cargo run --release --example reference -- --rate-per-hour 5000 --hours 240 --seed 1`

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

const ZONES: usize = 4;
const TYPES: usize = 3;
/// Mean lifetime, seconds.
const LIFETIME_MEAN_S: f64 = 6.0 * 3600.0;
const LIFETIME_SIGMA: f64 = 1.0;
const PENDING_S: (f64, f64) = (30.0, 90.0);
const TERMINATING_S: (f64, f64) = (5.0, 20.0);

/// `ln X ~ Normal(mu, sigma)` with mean `LIFETIME_MEAN_S`: mu = ln(mean) - sigma²/2.
fn lifetime_mu() -> f64 {
    LIFETIME_MEAN_S.ln() - LIFETIME_SIGMA * LIFETIME_SIGMA / 2.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Arrival,
    BootDone,
    LifetimeEnd,
    TerminateDone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Terminating,
}

#[derive(Clone, Copy, Debug)]
struct Instance {
    created_ms: u64,
    zone: u8,
    itype: u8,
    state: State,
    /// The lifetime ended while PENDING: terminate once RUNNING.
    end_when_running: bool,
}

/// What one run reports (the figures fleetsim's `summary.json` has under the same names).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub instances_created: u64,
    pub instances_released: u64,
    pub mean_instances_alive: f64,
    pub peak_instances_alive: u64,
    pub events_processed: u64,
    /// Instances alive at the end, per zone and type.
    pub alive_at_end: [[u64; TYPES]; ZONES],
    /// Sum over released instances of their time alive, ms (a check on the bookkeeping).
    pub released_alive_ms: u128,
}

fn ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round() as u64
}

/// A standard normal draw (Box–Muller, one of the pair used).
fn standard_normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn uniform(rng: &mut SmallRng, (lo, hi): (f64, f64)) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Simulates `[0, hours]` from an empty fleet with requests arriving at `rate_per_hour`.
pub fn simulate(rate_per_hour: f64, hours: f64, seed: u64) -> Outcome {
    let mut rng = SmallRng::seed_from_u64(seed);
    let end_ms = ms(hours * 3600.0);
    let mean_gap_s = 3600.0 / rate_per_hour;
    let mu = lifetime_mu();

    // Min-heap on (time, sequence): equal times leave in the order they were scheduled.
    let mut heap: BinaryHeap<Reverse<(u64, u64, Kind, u32)>> = BinaryHeap::new();
    let mut seq: u64 = 0;
    let mut push = |heap: &mut BinaryHeap<_>, at: u64, kind: Kind, slot: u32| {
        heap.push(Reverse((at, seq, kind, slot)));
        seq += 1;
    };

    let mut slab: Vec<Instance> = Vec::new();
    let mut free: Vec<u32> = Vec::new();
    let mut alive: u64 = 0;
    let mut alive_by: [[u64; TYPES]; ZONES] = [[0; TYPES]; ZONES];
    let mut area: u128 = 0; // Σ alive × ms
    let mut last_ms: u64 = 0;
    let mut out = Outcome {
        instances_created: 0,
        instances_released: 0,
        mean_instances_alive: 0.0,
        peak_instances_alive: 0,
        events_processed: 0,
        alive_at_end: [[0; TYPES]; ZONES],
        released_alive_ms: 0,
    };

    // Arrival times are kept exact in seconds and rounded when scheduled.
    let mut next_arrival_s = -mean_gap_s * (1.0 - rng.random::<f64>()).ln();
    push(&mut heap, ms(next_arrival_s), Kind::Arrival, 0);

    while let Some(Reverse((now, _, kind, slot))) = heap.pop() {
        if now > end_ms {
            break;
        }
        out.events_processed += 1;
        match kind {
            Kind::Arrival => {
                let zone = rng.random_range(0..ZONES as u8);
                let itype = rng.random_range(0..TYPES as u8);
                let pending = ms(uniform(&mut rng, PENDING_S));
                let lifetime = ms((mu + LIFETIME_SIGMA * standard_normal(&mut rng)).exp());
                let record = Instance {
                    created_ms: now,
                    zone,
                    itype,
                    state: State::Pending,
                    end_when_running: false,
                };
                let slot = match free.pop() {
                    Some(s) => {
                        slab[s as usize] = record;
                        s
                    }
                    None => {
                        slab.push(record);
                        (slab.len() - 1) as u32
                    }
                };
                area += alive as u128 * (now - last_ms) as u128;
                last_ms = now;
                alive += 1;
                alive_by[zone as usize][itype as usize] += 1;
                out.peak_instances_alive = out.peak_instances_alive.max(alive);
                out.instances_created += 1;
                push(&mut heap, now + pending, Kind::BootDone, slot);
                push(&mut heap, now + lifetime, Kind::LifetimeEnd, slot);

                next_arrival_s += -mean_gap_s * (1.0 - rng.random::<f64>()).ln();
                push(&mut heap, ms(next_arrival_s), Kind::Arrival, 0);
            }
            Kind::BootDone => {
                let inst = &mut slab[slot as usize];
                inst.state = State::Running;
                if inst.end_when_running {
                    inst.state = State::Terminating;
                    let d = ms(uniform(&mut rng, TERMINATING_S));
                    push(&mut heap, now + d, Kind::TerminateDone, slot);
                }
            }
            Kind::LifetimeEnd => {
                let inst = &mut slab[slot as usize];
                if inst.state == State::Pending {
                    inst.end_when_running = true;
                } else {
                    inst.state = State::Terminating;
                    let d = ms(uniform(&mut rng, TERMINATING_S));
                    push(&mut heap, now + d, Kind::TerminateDone, slot);
                }
            }
            Kind::TerminateDone => {
                let inst = slab[slot as usize];
                debug_assert_eq!(inst.state, State::Terminating);
                area += alive as u128 * (now - last_ms) as u128;
                last_ms = now;
                alive -= 1;
                alive_by[inst.zone as usize][inst.itype as usize] -= 1;
                out.instances_released += 1;
                out.released_alive_ms += (now - inst.created_ms) as u128;
                free.push(slot);
            }
        }
    }
    area += alive as u128 * (end_ms - last_ms) as u128;
    out.mean_instances_alive = if end_ms == 0 {
        0.0
    } else {
        area as f64 / end_ms as f64
    };
    out.alive_at_end = alive_by;
    out
}

/// The model's expectations for a run of `hours` from an empty fleet at `rate_per_hour`.
#[derive(Clone, Copy, Debug)]
pub struct Expected {
    /// λH.
    pub instances_created: f64,
    /// √(λH): the count is Poisson.
    pub sd_instances_created: f64,
    /// E[time-average alive over [0, H]].
    pub mean_instances_alive: f64,
    /// Its standard deviation.
    pub sd_mean_instances_alive: f64,
    /// λ·E[T]: the steady state.
    pub steady_alive: f64,
}

/// Exact moments of the time-average number alive, from the marked-Poisson form of the fleet.
///
/// With arrivals at rate λ and times alive T = max(lifetime, PENDING) + TERMINATING, the integral
/// of the number alive over [0, H] is Σ_i min(T_i, H − a_i) over the arrivals a_i, a compound
/// Poisson sum, so E = λ ∫₀ᴴ E[min(T, s)] ds and Var = λ ∫₀ᴴ E[min(T, s)²] ds exactly. The inner
/// integrals have closed forms in t = T (g1, g2 below); the expectation over T is a quadrature
/// over the lognormal (Simpson in the standard normal variable) and midpoints over the two
/// uniforms.
pub fn expected(rate_per_hour: f64, hours: f64) -> Expected {
    let lambda = rate_per_hour / 3600.0; // per second
    let h = hours * 3600.0;
    let g1 = |t: f64| {
        if t < h {
            h * t - t * t / 2.0
        } else {
            h * h / 2.0
        }
    };
    let g2 = |t: f64| {
        if t < h {
            h * t * t - 2.0 * t * t * t / 3.0
        } else {
            h * h * h / 3.0
        }
    };
    let mu = lifetime_mu();
    let (np, nz, nn) = (32usize, 16usize, 4000usize); // nn even (Simpson)
    let (zlo, zhi) = (-9.0f64, 9.0f64);
    let dz = (zhi - zlo) / nn as f64;
    let (mut e1, mut e2, mut et) = (0.0f64, 0.0f64, 0.0f64);
    for k in 0..=nn {
        let z = zlo + k as f64 * dz;
        let w_simpson = if k == 0 || k == nn {
            1.0
        } else if k % 2 == 1 {
            4.0
        } else {
            2.0
        };
        let w = w_simpson * dz / 3.0 * (-z * z / 2.0).exp() / (std::f64::consts::TAU).sqrt();
        let life = (mu + LIFETIME_SIGMA * z).exp();
        let (mut s1, mut s2, mut st) = (0.0, 0.0, 0.0);
        for i in 0..np {
            let p = PENDING_S.0 + (PENDING_S.1 - PENDING_S.0) * (i as f64 + 0.5) / np as f64;
            for j in 0..nz {
                let q = TERMINATING_S.0
                    + (TERMINATING_S.1 - TERMINATING_S.0) * (j as f64 + 0.5) / nz as f64;
                let t = life.max(p) + q;
                s1 += g1(t);
                s2 += g2(t);
                st += t;
            }
        }
        let n = (np * nz) as f64;
        e1 += w * s1 / n;
        e2 += w * s2 / n;
        et += w * st / n;
    }
    Expected {
        instances_created: lambda * h,
        sd_instances_created: (lambda * h).sqrt(),
        mean_instances_alive: lambda * e1 / h,
        sd_mean_instances_alive: (lambda * e2).sqrt() / h,
        steady_alive: lambda * et,
    }
}

fn usage() -> ! {
    eprintln!("usage: reference --rate-per-hour R --hours H [--seed S]");
    std::process::exit(2)
}

fn main() {
    let mut rate = None;
    let mut hours = None;
    let mut seed = 1u64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--rate-per-hour" => rate = value.parse::<f64>().ok(),
            "--hours" => hours = value.parse::<f64>().ok(),
            "--seed" => seed = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let (Some(rate), Some(hours)) = (rate, hours) else {
        usage()
    };
    if !(rate > 0.0 && hours > 0.0) {
        usage()
    }
    let start = Instant::now();
    let out = simulate(rate, hours, seed);
    let wall = start.elapsed().as_secs_f64();
    let exp = expected(rate, hours);
    println!("instances_created={}", out.instances_created);
    println!("instances_released={}", out.instances_released);
    println!("mean_instances_alive={:.3}", out.mean_instances_alive);
    println!("peak_instances_alive={}", out.peak_instances_alive);
    println!("events_processed={}", out.events_processed);
    println!("wall_seconds={wall:.6}");
    println!("expected_instances_created={:.3}", exp.instances_created);
    println!("sd_instances_created={:.3}", exp.sd_instances_created);
    println!(
        "expected_mean_instances_alive={:.3}",
        exp.mean_instances_alive
    );
    println!("sd_mean_instances_alive={:.3}", exp.sd_mean_instances_alive);
    println!("steady_state_alive={:.3}", exp.steady_alive);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far past every lifetime the time average tends to the steady state λ·E[T], and E[T] is
    /// known in closed form: E[lifetime] = 6 h (P(lifetime < 90 s) ≈ 3e-7 changes nothing at
    /// this precision) plus the mean of TERMINATING, 12.5 s.
    #[test]
    fn expectation_matches_closed_form_in_the_long_run() {
        let e = expected(1000.0, 1e7);
        let steady = 1000.0 / 3600.0 * (LIFETIME_MEAN_S + 12.5);
        assert!((e.steady_alive / steady - 1.0).abs() < 1e-6, "{e:?}");
        assert!(
            (e.mean_instances_alive / steady - 1.0).abs() < 1e-4,
            "{e:?}"
        );
        assert_eq!(e.instances_created, 1000.0 * 1e7);
    }

    /// A small run agrees with the model within four standard deviations, on both figures, and
    /// its bookkeeping adds up.
    #[test]
    fn small_run_matches_the_model() {
        let (rate, hours) = (500.0, 72.0);
        let out = simulate(rate, hours, 7);
        let e = expected(rate, hours);
        let z_created =
            (out.instances_created as f64 - e.instances_created) / e.sd_instances_created;
        let z_alive =
            (out.mean_instances_alive - e.mean_instances_alive) / e.sd_mean_instances_alive;
        assert!(
            z_created.abs() < 4.0,
            "created z = {z_created}: {out:?} {e:?}"
        );
        assert!(
            z_alive.abs() < 4.0,
            "mean alive z = {z_alive}: {out:?} {e:?}"
        );
        let alive_at_end: u64 = out.alive_at_end.iter().flatten().sum();
        assert_eq!(out.instances_created, out.instances_released + alive_at_end);
        // Every zone and type is used.
        assert!(out.alive_at_end.iter().flatten().all(|&n| n > 0), "{out:?}");
        // A released instance was seen at its arrival, boot, lifetime end and release; one
        // still alive at least at its arrival.
        assert!(out.events_processed >= 4 * out.instances_released + alive_at_end);
        // A released instance lived at least its PENDING and TERMINATING.
        assert!(out.released_alive_ms >= out.instances_released as u128 * 35_000);
    }
}
