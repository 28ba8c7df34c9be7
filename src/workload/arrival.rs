//! Arrival processes: when a workload's requests come, and how many instances each asks for.
//!
//! The rate of requests at time `t` (from the start of the run) is
//!
//! ```text
//! λ(t) = base × profile(hour of the week of t) × growth(t) × burst(t)
//! ```
//!
//! - `base` is `rate_per_hour`;
//! - `profile` is `daily[hour of day] × weekly[day of week]` (1 when not given), or
//!   `hourly_rates[hour of week] / base` — the run starts at hour 0 of day 0 of the week;
//! - `growth` is 1, a step (`factor` from `at` on) or a compound ramp
//!   `(1 + per_month)^(t / 30 days)`;
//! - `burst` is `factor` while a two-state Markov chain (exponential sojourns of means
//!   `on_mean` and `off_mean`, started in its stationary law) is on, 1 while it is off. The chain
//!   runs on its own stream (`workload:<name>:modulation`), so its path never depends on the
//!   arrivals.
//!
//! Sampling is exact: thinning (Lewis–Shedler) in its piecewise form (Ogata). Time is cut into
//! segments at hour boundaries (where the profile changes), at a step and at the chain's
//! switches; on each segment the dominating rate is the largest rate the segment reaches.
//! Candidates of the dominating (piecewise-constant) Poisson process are drawn by inversion, a
//! candidate beyond the segment's end carrying its unused exponential budget over to the next
//! segment, and each is kept with probability `λ(t) / bound`. Only the ramp makes `λ` vary
//! inside a segment, by at most `(1 + per_month)^(1/720)` in an hour, so almost every candidate
//! is kept: the cost is O(1) per arrival plus O(1) per hour boundary and chain switch.
//!
//! A homogeneous Poisson process (no profile, growth or burst) keeps the original sampler
//! (exponential gaps rounded to the millisecond), so its sample path is unchanged.

use crate::engine::time::{MS_PER_DAY, MS_PER_HOUR};
use crate::engine::{RandomStream, RngStreams, SimTime};

/// Hours in a week: the length of a profile.
pub const HOURS_PER_WEEK: usize = 168;
/// The month of a growth ramp: 30 days, in milliseconds.
pub const MS_PER_MONTH: f64 = 30.0 * MS_PER_DAY as f64;
const HOUR: f64 = MS_PER_HOUR as f64;
/// Where a process with (almost) no arrivals stops looking, in ms (about 31,700 years).
const FAR: f64 = 1e15;

/// Growth of the rate over the run.
#[derive(Clone, Debug, PartialEq)]
pub enum Growth {
    /// The rate is multiplied by `factor` from `at` (ms) on.
    Step { at: f64, factor: f64 },
    /// The rate is multiplied by `(1 + per_month)^(t / 30 days)`.
    Ramp { per_month: f64 },
}

impl Growth {
    /// The multiplier at `t` (ms).
    pub fn factor(&self, t: f64) -> f64 {
        match *self {
            Growth::Step { at, factor } => {
                if t >= at {
                    factor
                } else {
                    1.0
                }
            }
            Growth::Ramp { per_month } => ((1.0 + per_month).ln() * t / MS_PER_MONTH).exp(),
        }
    }

    /// The largest multiplier on the segment `[a, b)`, which never straddles a step.
    fn bound(&self, a: f64, b: f64) -> f64 {
        match self {
            Growth::Step { .. } => self.factor(a),
            // monotone: the larger end
            Growth::Ramp { .. } => self.factor(a).max(self.factor(b)),
        }
    }
}

/// On/off bursts: the rate is multiplied by `factor` while on.
#[derive(Clone, Debug, PartialEq)]
pub struct Burst {
    /// Mean sojourns, ms.
    pub on_mean: f64,
    pub off_mean: f64,
    pub factor: f64,
}

impl Burst {
    /// Long-run fraction of time on.
    pub fn on_fraction(&self) -> f64 {
        self.on_mean / (self.on_mean + self.off_mean)
    }
}

/// Instances asked for by one request (RunInstances' InstanceCount).
#[derive(Clone, Debug, PartialEq)]
pub enum Batch {
    Fixed(u32),
    /// Whole numbers `min..=max`, equally likely.
    Uniform {
        min: u32,
        max: u32,
    },
    /// `P(k) ∝ p (1-p)^(k-1)` on `1..=cap` (a geometric law conditioned on `k <= cap`).
    Geometric {
        p: f64,
        cap: u32,
    },
    /// `values[i]` with probability proportional to its weight (cumulative weights given).
    Empirical {
        values: Vec<u32>,
        cumulative: Vec<f64>,
    },
}

impl Batch {
    /// Draws a size (at most one uniform, none for `Fixed`).
    pub fn sample(&self, r: &mut RandomStream) -> u32 {
        match self {
            Batch::Fixed(k) => *k,
            Batch::Uniform { min, max } => min + r.below((max - min + 1) as u64) as u32,
            Batch::Geometric { p, cap } => {
                if *p >= 1.0 {
                    return 1;
                }
                // Inversion of the truncated CDF (1 - q^k) / (1 - q^cap).
                let ln_q = (-p).ln_1p();
                let mass = -(*cap as f64 * ln_q).exp_m1();
                let k = ((-r.uniform() * mass).ln_1p() / ln_q).ceil();
                (k.max(1.0) as u32).min(*cap)
            }
            Batch::Empirical { values, cumulative } => values[r.pick_cumulative(cumulative)],
        }
    }

    /// The law's mean.
    pub fn mean(&self) -> f64 {
        match self {
            Batch::Fixed(k) => *k as f64,
            Batch::Uniform { min, max } => (*min + *max) as f64 / 2.0,
            Batch::Geometric { p, cap } => {
                let q = 1.0 - p;
                let (mut mass, mut sum, mut pk) = (0.0, 0.0, *p);
                for k in 1..=*cap {
                    mass += pk;
                    sum += k as f64 * pk;
                    pk *= q;
                }
                sum / mass
            }
            Batch::Empirical { values, cumulative } => {
                let mut prev = 0.0;
                let mut sum = 0.0;
                for (v, c) in values.iter().zip(cumulative) {
                    sum += *v as f64 * (c - prev);
                    prev = *c;
                }
                sum / prev
            }
        }
    }
}

/// A workload's arrival process beyond its base rate (which stays in
/// [`WorkloadSpec::rate_per_ms`](super::WorkloadSpec)).
#[derive(Clone, Debug, PartialEq)]
pub struct ArrivalSpec {
    /// Multiplier of the base rate for each hour of the week (168), or empty for 1 throughout.
    pub week: Vec<f64>,
    pub growth: Option<Growth>,
    pub burst: Option<Burst>,
    /// Instances per request; `None` = the workload's fixed `instances_per_request`.
    pub batch: Option<Batch>,
    /// End of the run, ms: the process does not look for arrivals beyond it.
    pub horizon: f64,
}

impl Default for ArrivalSpec {
    fn default() -> Self {
        ArrivalSpec {
            week: Vec::new(),
            growth: None,
            burst: None,
            batch: None,
            horizon: FAR,
        }
    }
}

impl ArrivalSpec {
    /// A constant rate: the plain Poisson sampler applies.
    pub fn is_homogeneous(&self) -> bool {
        self.week.is_empty() && self.growth.is_none() && self.burst.is_none()
    }

    /// The profile's multiplier at `t` (ms): hour of the week times growth, bursts left out.
    pub fn multiplier(&self, t: f64) -> f64 {
        let hour = if self.week.is_empty() {
            1.0
        } else {
            self.week[((t / HOUR) as u64 % HOURS_PER_WEEK as u64) as usize]
        };
        hour * self.growth.as_ref().map_or(1.0, |g| g.factor(t))
    }

    /// Segments must end at hour boundaries (a profile, or a ramp to bound hour by hour).
    fn hourly(&self) -> bool {
        !self.week.is_empty() || matches!(self.growth, Some(Growth::Ramp { .. }))
    }
}

/// The modulating on/off chain of bursts.
#[derive(Clone, Debug)]
struct Chain {
    on: bool,
    /// When the chain next changes state, ms.
    next_switch: f64,
    on_mean: f64,
    off_mean: f64,
    rng: RandomStream,
}

impl Chain {
    fn new(b: &Burst, mut rng: RandomStream) -> Self {
        // Started in its stationary law, so the process is stationary from time 0.
        let on = rng.uniform() < b.on_fraction();
        let mean = if on { b.on_mean } else { b.off_mean };
        let next_switch = -mean * rng.uniform().ln();
        Chain {
            on,
            next_switch,
            on_mean: b.on_mean,
            off_mean: b.off_mean,
            rng,
        }
    }

    /// Moves the chain to its state at `t`.
    fn advance_to(&mut self, t: f64) {
        while self.next_switch <= t {
            self.on = !self.on;
            let mean = if self.on { self.on_mean } else { self.off_mean };
            self.next_switch += -mean * self.rng.uniform().ln();
        }
    }
}

/// The state of one workload's non-homogeneous arrival process.
#[derive(Clone, Debug)]
pub struct ArrivalProcess {
    /// The last point of the process (ms, not rounded).
    t: f64,
    /// Unit-exponential budget left when the last candidate ran past its segment's end.
    carry: Option<f64>,
    chain: Option<Chain>,
}

impl ArrivalProcess {
    /// The process of workload `name`; bursts draw from `workload:<name>:modulation`.
    pub fn new(spec: &ArrivalSpec, streams: &RngStreams, name: &str) -> Self {
        ArrivalProcess {
            t: 0.0,
            carry: None,
            chain: spec
                .burst
                .as_ref()
                .map(|b| Chain::new(b, streams.stream(&format!("workload:{name}:modulation")))),
        }
    }

    /// The next arrival after the last one (or after `now`, if that is later), rounded to the
    /// millisecond; at or after the horizon when there is none before it.
    pub fn next(
        &mut self,
        now: SimTime,
        base_per_ms: f64,
        spec: &ArrivalSpec,
        rng: &mut RandomStream,
    ) -> SimTime {
        let mut t = self.t;
        let caller = now.ms() as f64;
        if caller > t + 0.5 {
            t = caller;
            self.carry = None;
        }
        let end = spec.horizon.min(FAR);
        loop {
            if t >= end {
                self.t = t;
                return SimTime(end.ceil() as u64);
            }
            // The segment [t, b): everything but the ramp is constant on it.
            let mut b = end;
            if spec.hourly() {
                b = b.min(((t / HOUR).floor() + 1.0) * HOUR);
            }
            if let Some(Growth::Step { at, .. }) = spec.growth
                && at > t
            {
                b = b.min(at);
            }
            let mut burst = 1.0;
            if let Some(c) = self.chain.as_mut() {
                c.advance_to(t);
                b = b.min(c.next_switch);
                if c.on {
                    burst = spec.burst.as_ref().map_or(1.0, |x| x.factor);
                }
            }
            let hour = if spec.week.is_empty() {
                1.0
            } else {
                spec.week[((t / HOUR) as u64 % HOURS_PER_WEEK as u64) as usize]
            };
            let growth = spec.growth.as_ref().map_or(1.0, |g| g.bound(t, b));
            let bound = base_per_ms * hour * burst * growth;
            if bound.is_nan() || bound <= 0.0 {
                // No arrivals in this segment.
                t = b;
                continue;
            }
            let e = self.carry.take().unwrap_or_else(|| -rng.uniform().ln());
            let gap = e / bound;
            if t + gap >= b {
                self.carry = Some((e - bound * (b - t)).max(0.0));
                t = b;
                continue;
            }
            t += gap;
            let keep = match &spec.growth {
                Some(g @ Growth::Ramp { .. }) => {
                    let rate = base_per_ms * hour * burst * g.factor(t);
                    rng.uniform() * bound <= rate
                }
                _ => true,
            };
            if keep {
                self.t = t;
                return SimTime(t.round() as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(spec: &ArrivalSpec, per_hour: f64, seed: u64) -> Vec<f64> {
        let streams = RngStreams::new(seed);
        let mut p = ArrivalProcess::new(spec, &streams, "t");
        let mut rng = streams.stream("a");
        let mut out = Vec::new();
        let mut now = SimTime::ZERO;
        loop {
            now = p.next(now, per_hour / HOUR, spec, &mut rng);
            if now.ms() as f64 >= spec.horizon {
                return out;
            }
            out.push(now.ms() as f64);
        }
    }

    #[test]
    fn zero_hours_have_no_arrivals_and_times_rise() {
        let mut week = vec![0.0; HOURS_PER_WEEK];
        week[3] = 1.0;
        let spec = ArrivalSpec {
            week,
            horizon: 3.0 * 7.0 * 24.0 * HOUR,
            ..Default::default()
        };
        let ts = count(&spec, 100.0, 1);
        assert!(ts.len() > 200);
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
        for t in ts {
            assert_eq!(((t / HOUR) as usize) % HOURS_PER_WEEK, 3, "{t}");
        }
    }

    #[test]
    fn geometric_batches_stay_within_the_cap() {
        let b = Batch::Geometric { p: 0.02, cap: 100 };
        let mut r = RngStreams::new(3).stream("b");
        for _ in 0..10_000 {
            let k = b.sample(&mut r);
            assert!((1..=100).contains(&k));
        }
        assert!((Batch::Geometric { p: 1.0, cap: 100 }.mean() - 1.0).abs() < 1e-12);
    }
}
