//! The fault injector (`[[faults]]`): the platform's side of a scenario. It decides *when*
//! faults happen; what they do to instances is the control plane's own code
//! (`cloud/api/faults.rs`), so every change is a normal state-change record.
//!
//! * `zone_outage`: at `at` the zone goes down for `duration` (its instances are lost or
//!   stopped, and nothing can be placed there until it is back).
//! * `instance_failures`: every RUNNING instance (of one zone, or all) fails at rate λ. The
//!   simulator runs **one** Poisson process for the whole fleet whose intensity is
//!   λ × (instances RUNNING now), piecewise constant between events, and gives each failure to
//!   a RUNNING instance picked uniformly. It draws an Exp(1) amount of "hazard" and spends it at
//!   λ × N per millisecond; whenever N changes the failure is rescheduled for when the rest will
//!   be spent. This is exact (the superposition of independent per-instance exponential
//!   clocks), costs one event per failure (plus a reschedule when N changes), and draws only
//!   from the process's own stream `faults:<index>`: one uniform per failure for the next gap,
//!   one for the victim.

use crate::cloud::ZoneIdx;
use crate::cloud::api::OutageMode;
use crate::engine::{EventId, RandomStream, SimTime};

/// A fault, resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultSpec {
    ZoneOutage {
        zone: ZoneIdx,
        at: SimTime,
        /// When the zone is back (may be past the end of the run).
        until: SimTime,
        mode: OutageMode,
    },
    InstanceFailures {
        /// λ: failures per RUNNING instance per millisecond.
        per_ms: f64,
        zone: Option<ZoneIdx>,
        from: SimTime,
        until: Option<SimTime>,
    },
}

/// One scheduled step of the fault plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    OutageBegins(ZoneIdx, OutageMode),
    OutageEnds(ZoneIdx),
    /// Failure process `i` starts or stops.
    FailuresOn(u32),
    FailuresOff(u32),
}

/// One random-failure process.
pub struct FailureProcess {
    pub per_ms: f64,
    pub zone: Option<ZoneIdx>,
    active: bool,
    rng: RandomStream,
    /// Hazard left to spend before the next failure.
    remaining: f64,
    last: SimTime,
    /// Instances RUNNING (in the zone) since `last`.
    pub running: u64,
    /// The scheduled failure, if any.
    pub pending: Option<EventId>,
    /// Failures that struck an instance.
    pub failures: u64,
    /// Σ RUNNING instances × ms while active: the exposure, whose λ-multiple is the expected
    /// number of failures.
    pub exposure_ms: u128,
}

impl FailureProcess {
    pub fn new(per_ms: f64, zone: Option<ZoneIdx>, mut rng: RandomStream) -> Self {
        let remaining = -rng.uniform().ln();
        FailureProcess {
            per_ms,
            zone,
            active: false,
            rng,
            remaining,
            last: SimTime::ZERO,
            running: 0,
            pending: None,
            failures: 0,
            exposure_ms: 0,
        }
    }

    /// Spends the hazard of the interval since the last update.
    pub fn advance(&mut self, now: SimTime) {
        if self.active {
            let dt = now.since(self.last).ms();
            self.remaining -= self.per_ms * self.running as f64 * dt as f64;
            self.exposure_ms += self.running as u128 * dt as u128;
        }
        self.last = now;
    }

    pub fn set_active(&mut self, now: SimTime, active: bool) {
        self.advance(now);
        self.active = active;
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// When the next failure is due, at the current intensity (`None`: never, as things are).
    pub fn due(&self, now: SimTime) -> Option<SimTime> {
        if !self.active || self.running == 0 || self.per_ms <= 0.0 {
            return None;
        }
        let ms = (self.remaining.max(0.0) / (self.per_ms * self.running as f64)).ceil();
        if !ms.is_finite() || ms >= (u64::MAX / 2) as f64 {
            return None;
        }
        Some(SimTime(now.ms().saturating_add(ms as u64)))
    }

    /// A failure happened: draw the hazard until the next one, and the victim's rank among the
    /// `n` instances RUNNING (uniform).
    pub fn strike(&mut self, now: SimTime, n: u64) -> Option<u64> {
        self.advance(now);
        self.remaining = -self.rng.uniform().ln();
        (n > 0).then(|| self.rng.below(n))
    }
}

/// The fault plan of a run.
#[derive(Default)]
pub struct FaultInjector {
    /// Steps in scenario order (each has its own event).
    pub steps: Vec<(SimTime, Step)>,
    pub processes: Vec<FailureProcess>,
}

impl FaultInjector {
    /// The plan of `faults`; process `i` draws from the stream `faults:<index in faults>`.
    pub fn new(faults: &[FaultSpec], streams: &crate::engine::RngStreams) -> Self {
        let mut inj = FaultInjector::default();
        for (i, f) in faults.iter().enumerate() {
            match *f {
                FaultSpec::ZoneOutage {
                    zone,
                    at,
                    until,
                    mode,
                } => {
                    inj.steps.push((at, Step::OutageBegins(zone, mode)));
                    inj.steps.push((until, Step::OutageEnds(zone)));
                }
                FaultSpec::InstanceFailures {
                    per_ms,
                    zone,
                    from,
                    until,
                } => {
                    let p = inj.processes.len() as u32;
                    inj.processes.push(FailureProcess::new(
                        per_ms,
                        zone,
                        streams.stream(&format!("faults:{i}")),
                    ));
                    inj.steps.push((from, Step::FailuresOn(p)));
                    if let Some(u) = until {
                        inj.steps.push((u, Step::FailuresOff(p)));
                    }
                }
            }
        }
        inj
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    #[test]
    fn hazard_is_spent_at_the_current_intensity() {
        let s = RngStreams::new(1);
        let mut p = FailureProcess::new(1e-3, None, s.stream("x"));
        let e = p.remaining;
        assert_eq!(p.due(SimTime(0)), None, "inactive");
        p.set_active(SimTime(0), true);
        p.running = 2;
        let d = p.due(SimTime(0)).unwrap();
        assert_eq!(d.ms(), (e / 2e-3).ceil() as u64);
        // Half the time at 2 instances, then 4: the rest goes twice as fast.
        let half = SimTime(d.ms() / 2);
        p.advance(half);
        p.running = 4;
        let d2 = p.due(half).unwrap();
        let want = half.ms() as f64 + (e - 2e-3 * half.ms() as f64) / 4e-3;
        assert!((d2.ms() as f64 - want).abs() <= 1.0, "{d2:?} vs {want}");
        assert_eq!(p.exposure_ms, 2 * half.ms() as u128);
    }
}
