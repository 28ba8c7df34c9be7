//! Named random streams. Every consumer of randomness (each workload, boot times, failures, spot
//! prices...) gets its own ChaCha8 stream whose seed is derived from the master seed and a stable
//! stream name. Adding a consumer, or changing how much one draws, never shifts another's numbers;
//! that is what makes comparisons between strategies paired (common random numbers).
//!
//! The derivation uses only FNV-1a and SplitMix64, written out here, and ChaCha8 whose output
//! rand_chacha guarantees stable across versions, so a seed means the same run on any machine and
//! any future build.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// The master seed and the factory of named streams.
#[derive(Clone, Copy, Debug)]
pub struct RngStreams {
    master: u64,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 step: a well-mixed sequence from any state, used to expand a 64-bit value into a
/// 256-bit ChaCha key.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl RngStreams {
    pub fn new(master_seed: u64) -> Self {
        RngStreams {
            master: master_seed,
        }
    }

    pub fn master_seed(&self) -> u64 {
        self.master
    }

    /// The master seed of replication `r` of a run seeded `seed`: well spread, stable, and
    /// replication 0 keeps the seed itself so a single run and the first replication agree.
    ///
    /// ```
    /// use fleetsim::engine::RngStreams;
    /// assert_eq!(RngStreams::replication_seed(7, 0), 7);
    /// assert_ne!(RngStreams::replication_seed(7, 1), RngStreams::replication_seed(7, 2));
    /// ```
    pub fn replication_seed(seed: u64, r: u64) -> u64 {
        if r == 0 {
            return seed;
        }
        let mut state = seed ^ r.wrapping_mul(0xA24B_AED4_963E_E407);
        splitmix64(&mut state)
    }

    /// The stream called `name`. The same name always yields the same sequence for one master
    /// seed; different names yield independent sequences.
    ///
    /// ```
    /// use fleetsim::engine::RngStreams;
    /// let a = RngStreams::new(42);
    /// let b = RngStreams::new(42);
    /// // Same seed and name: the same draws, whatever else was drawn in between.
    /// let _ = a.stream("other").next_u64();
    /// assert_eq!(a.stream("arrivals").next_u64(), b.stream("arrivals").next_u64());
    /// assert_ne!(a.stream("arrivals").next_u64(), a.stream("lifetimes").next_u64());
    /// ```
    pub fn stream(&self, name: &str) -> RandomStream {
        let mut state = self.master ^ fnv1a(name.as_bytes()).rotate_left(17);
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        RandomStream {
            rng: ChaCha8Rng::from_seed(seed),
        }
    }
}

/// One independent stream of random numbers.
#[derive(Clone, Debug)]
pub struct RandomStream {
    rng: ChaCha8Rng,
}

impl RandomStream {
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform on the open interval (0, 1): never exactly 0 or 1, so `ln(u)` is always finite.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` without modulo bias (rejection sampling). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// True with probability `p`.
    #[inline]
    pub fn bernoulli(&mut self, p: f64) -> bool {
        p > 0.0 && self.uniform() < p
    }

    /// Standard normal by Box-Muller (one value per call, so the draw count is fixed at two).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Index drawn with probability proportional to `weights` (cumulative weights given).
    pub fn pick_cumulative(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let x = self.uniform() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_numbers() {
        let s = RngStreams::new(7);
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = s.stream("boot");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = s.stream("boot");
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn streams_are_independent_of_each_other_and_of_seed() {
        let s = RngStreams::new(7);
        assert_ne!(s.stream("a").next_u64(), s.stream("b").next_u64());
        assert_ne!(
            RngStreams::new(7).stream("a").next_u64(),
            RngStreams::new(8).stream("a").next_u64()
        );
    }

    /// Pins the derivation: if this value changes, every published seed changes meaning.
    #[test]
    fn derivation_is_stable() {
        let v = RngStreams::new(42).stream("workload:web").next_u64();
        assert_eq!(v, RngStreams::new(42).stream("workload:web").next_u64());
        assert_eq!(v, 6_163_363_474_840_762_444);
    }

    #[test]
    fn uniform_is_open_and_centered() {
        let mut r = RngStreams::new(1).stream("u");
        let n = 200_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let u = r.uniform();
            assert!(u > 0.0 && u < 1.0);
            sum += u;
        }
        let mean = sum / n as f64;
        // standard error 1/sqrt(12 n) ~ 0.00065; 5 sigma
        assert!((mean - 0.5).abs() < 0.0033, "mean {mean}");
    }

    #[test]
    fn below_covers_range_evenly() {
        let mut r = RngStreams::new(3).stream("b");
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[r.below(6) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
