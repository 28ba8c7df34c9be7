//! Target-tracking autoscalers (`[[autoscalers]]`). Every `interval` an autoscaler reads its
//! signal, wants `desired = ceil(signal / target_per_instance)` instances (clamped to
//! `min..=max`), and moves its fleet toward it through the API like any client: RunInstances to
//! scale out, TerminateInstances to scale in, so rate limits, quotas, stock and error codes
//! apply to it as to everyone.
//!
//! It is level-triggered: it keeps no queue of pending work. A call refused (throttled, no
//! quota, no stock) is simply made again at a later evaluation if it is still needed.
//!
//! What it knows of its instances it learns as their owner: the ids RunInstances returned, and
//! the state-change notices of its own instances (RUNNING, STOPPED, LAUNCH_FAILED, TERMINATING,
//! released). It reads nothing else of the fleet.
//!
//! Rules:
//! * **in service** = its instances launched and not known to be leaving or unhealthy (PENDING
//!   and RUNNING count, as in a cloud autoscaling group);
//! * instances stopped or failed by the platform (a `[[faults]]` zone outage, a failed launch)
//!   are **unhealthy**: terminated at the next evaluation and replaced as needed;
//! * **scale out** when desired > in service and at least `scale_out_cooldown` has passed since
//!   the last scale-out: new instances go to the zones with the fewest of its instances in
//!   service (ties: the zones' order in the scenario), in calls of at most 100 (MinCount 1, so a
//!   partial delivery is taken); a zone that refuses for quota or stock is skipped for the rest
//!   of the evaluation and its share goes to the other zones;
//! * **scale in** when desired < in service and at least `scale_in_cooldown` has passed since
//!   the last scaling action of either kind: it terminates RUNNING instances (PENDING ones
//!   cannot take TerminateInstances) from the zone with the most instances in service,
//!   `newest_first` (default) or `oldest_first`, in calls of at most 100.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cloud::{ChargeType, InstanceId, InstanceState, TypeIdx, ZoneIdx};
use crate::engine::{SimDuration, SimTime};

/// Which instances a scale-in removes first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleInOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// What an autoscaler tracks.
#[derive(Clone, Debug, PartialEq)]
pub enum Signal {
    /// Instances workload `w` wants now (requests whose lifetimes have not ended).
    Workload(u32),
    /// `base × (1 + amplitude × cos(2π (t − peak) / period))`.
    Diurnal {
        base: f64,
        amplitude: f64,
        period_ms: u64,
        peak_ms: u64,
    },
    /// A table of `(time ms, value)` from time 0, held (`step`) or interpolated (`linear`)
    /// between points, repeated every `period_ms` if given (otherwise the last value holds).
    Table {
        points: Vec<(u64, f64)>,
        linear: bool,
        period_ms: Option<u64>,
    },
}

impl Signal {
    /// The value of a deterministic profile at `t`; `None` for a workload's signal, which only
    /// the world can read.
    pub fn profile_at(&self, t: SimTime) -> Option<f64> {
        match self {
            Signal::Workload(_) => None,
            Signal::Diurnal {
                base,
                amplitude,
                period_ms,
                peak_ms,
            } => {
                let p = *period_ms as f64;
                let phase = (t.ms() as f64 - *peak_ms as f64) / p;
                Some(base * (1.0 + amplitude * (std::f64::consts::TAU * phase).cos()))
            }
            Signal::Table {
                points,
                linear,
                period_ms,
            } => {
                let x = match period_ms {
                    Some(p) => t.ms() % p,
                    None => t.ms(),
                };
                // The last point at or before x (the first point is at 0).
                let i = points.partition_point(|&(at, _)| at <= x).max(1) - 1;
                let (a, va) = points[i];
                if !*linear {
                    return Some(va);
                }
                let next = match points.get(i + 1) {
                    Some(&n) => Some(n),
                    // Repeating: interpolate toward the first point of the next period.
                    None => period_ms.map(|p| (p, points[0].1)),
                };
                Some(match next {
                    Some((b, vb)) if b > a => va + (vb - va) * (x - a) as f64 / (b - a) as f64,
                    _ => va,
                })
            }
        }
    }
}

/// An autoscaler, resolved to catalogue indices.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscalerSpec {
    pub name: String,
    pub zones: Vec<ZoneIdx>,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    /// SPOTPAID bid, micro-CNY per hour.
    pub max_price: Option<u64>,
    pub signal: Signal,
    pub target_per_instance: f64,
    pub min: u32,
    pub max: u32,
    pub interval: SimDuration,
    pub scale_out_cooldown: SimDuration,
    pub scale_in_cooldown: SimDuration,
    pub scale_in: ScaleInOrder,
}

/// What the autoscaler knows of one of its instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Launched, not yet RUNNING.
    Booting,
    Running,
    /// Stopped or failed by the platform: to be terminated.
    Unhealthy,
    /// Terminating (its own scale-in, or the platform's).
    Leaving,
}

#[derive(Clone, Copy, Debug)]
struct Member {
    zone: ZoneIdx,
    health: Health,
}

/// One scaling action that went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleAction {
    pub time: SimTime,
    /// Instances launched (> 0) or terminated (< 0) by scaling (not counting the replacement
    /// of unhealthy instances' termination).
    pub delta: i64,
    /// What the autoscaler wanted then.
    pub desired: u32,
}

/// A running autoscaler.
pub struct Autoscaler {
    pub spec: AutoscalerSpec,
    /// Its instances by id (ids are serial, so this is creation order).
    members: BTreeMap<InstanceId, Member>,
    pub last_scale_out: Option<SimTime>,
    pub last_action: Option<SimTime>,
    /// Every scaling action that went through, in time order.
    pub history: Vec<ScaleAction>,
    /// Desired count at the last evaluation.
    pub desired: u32,
}

impl Autoscaler {
    pub fn new(spec: AutoscalerSpec) -> Self {
        Autoscaler {
            spec,
            members: BTreeMap::new(),
            last_scale_out: None,
            last_action: None,
            history: Vec::new(),
            desired: 0,
        }
    }

    /// `ceil(signal / target_per_instance)` within `min..=max`. A signal a hair above a
    /// multiple of the target (floating-point noise) does not ask for one more instance.
    pub fn desired_for(&self, signal: f64) -> u32 {
        let s = &self.spec;
        let x = (signal.max(0.0) / s.target_per_instance - 1e-9).ceil();
        let n = if x.is_finite() { x.max(0.0) } else { 0.0 };
        (n.min(u32::MAX as f64) as u32).clamp(s.min, s.max)
    }

    /// Instances in service: booting or RUNNING.
    pub fn in_service(&self) -> u32 {
        self.members
            .values()
            .filter(|m| matches!(m.health, Health::Booting | Health::Running))
            .count() as u32
    }

    /// Its instances alive, in any state it knows.
    pub fn members(&self) -> usize {
        self.members.len()
    }

    pub fn health(&self, id: InstanceId) -> Option<Health> {
        self.members.get(&id).map(|m| m.health)
    }

    /// Unhealthy instances, to be terminated.
    pub fn unhealthy(&self) -> Vec<InstanceId> {
        self.members
            .iter()
            .filter(|(_, m)| m.health == Health::Unhealthy)
            .map(|(id, _)| *id)
            .collect()
    }

    /// RunInstances returned these ids in `zone`.
    pub fn launched(&mut self, zone: ZoneIdx, ids: &[InstanceId]) {
        for &id in ids {
            self.members.insert(
                id,
                Member {
                    zone,
                    health: Health::Booting,
                },
            );
        }
    }

    /// TerminateInstances accepted these ids.
    pub fn leaving(&mut self, ids: &[InstanceId]) {
        for id in ids {
            if let Some(m) = self.members.get_mut(id) {
                m.health = Health::Leaving;
            }
        }
    }

    /// A state-change notice of one of its instances (`None`: released).
    pub fn notice(&mut self, id: InstanceId, to: Option<InstanceState>) {
        let Some(to) = to else {
            self.members.remove(&id);
            return;
        };
        let Some(m) = self.members.get_mut(&id) else {
            return;
        };
        if m.health == Health::Leaving {
            return;
        }
        match to {
            InstanceState::Running => m.health = Health::Running,
            InstanceState::Stopped | InstanceState::LaunchFailed => m.health = Health::Unhealthy,
            InstanceState::Terminating | InstanceState::Shutdown => m.health = Health::Leaving,
            _ => {}
        }
    }

    fn per_zone_in_service(&self) -> Vec<u32> {
        let mut n = vec![0u32; self.spec.zones.len()];
        for m in self.members.values() {
            if matches!(m.health, Health::Booting | Health::Running)
                && let Some(i) = self.spec.zones.iter().position(|&z| z == m.zone)
            {
                n[i] += 1;
            }
        }
        n
    }

    /// Where `n` new instances go: one at a time to the open zone with the fewest in service
    /// (counting those just allocated), ties to the zone listed first. `open[i]` says whether
    /// `spec.zones[i]` may take any. Returns (zone, count) for every zone given some, in the
    /// zones' order.
    pub fn allocate(&self, n: u32, open: &[bool]) -> Vec<(ZoneIdx, u32)> {
        let mut have = self.per_zone_in_service();
        let mut add = vec![0u32; have.len()];
        for _ in 0..n {
            let best = (0..have.len())
                .filter(|&i| open.get(i).copied().unwrap_or(false))
                .min_by_key(|&i| (have[i], i));
            let Some(i) = best else {
                break;
            };
            have[i] += 1;
            add[i] += 1;
        }
        self.spec
            .zones
            .iter()
            .zip(add)
            .filter(|&(_, k)| k > 0)
            .map(|(&z, k)| (z, k))
            .collect()
    }

    /// Up to `n` RUNNING instances to terminate: one at a time from the zone with the most in
    /// service (ties: the zone listed first), the newest (or oldest) RUNNING one there.
    pub fn victims(&self, n: u32) -> Vec<InstanceId> {
        let mut have = self.per_zone_in_service();
        let mut running: Vec<Vec<InstanceId>> = vec![Vec::new(); have.len()];
        for (id, m) in &self.members {
            if m.health == Health::Running
                && let Some(i) = self.spec.zones.iter().position(|&z| z == m.zone)
            {
                running[i].push(*id);
            }
        }
        // Taken from the back (the newest): oldest first means reversing.
        if self.spec.scale_in == ScaleInOrder::OldestFirst {
            for r in &mut running {
                r.reverse();
            }
        }
        let mut out = Vec::new();
        for _ in 0..n {
            let best = (0..have.len())
                .filter(|&i| !running[i].is_empty())
                .max_by_key(|&i| (have[i], std::cmp::Reverse(i)));
            let Some(i) = best else {
                break;
            };
            if let Some(id) = running[i].pop() {
                out.push(id);
                have[i] -= 1;
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(signal: Signal) -> AutoscalerSpec {
        AutoscalerSpec {
            name: "a".into(),
            zones: vec![ZoneIdx(0), ZoneIdx(1)],
            itype: TypeIdx(0),
            charge: ChargeType::PostpaidByHour,
            max_price: None,
            signal,
            target_per_instance: 10.0,
            min: 1,
            max: 20,
            interval: SimDuration::from_secs(60),
            scale_out_cooldown: SimDuration::from_secs(300),
            scale_in_cooldown: SimDuration::from_secs(300),
            scale_in: ScaleInOrder::NewestFirst,
        }
    }

    #[test]
    fn desired_is_the_clamped_ceiling() {
        let a = Autoscaler::new(spec(Signal::Workload(0)));
        assert_eq!(a.desired_for(0.0), 1);
        assert_eq!(a.desired_for(10.0), 1);
        assert_eq!(a.desired_for(10.0 + 1e-12), 1);
        assert_eq!(a.desired_for(10.5), 2);
        assert_eq!(a.desired_for(1e9), 20);
        assert_eq!(a.desired_for(f64::NAN), 1);
    }

    #[test]
    fn profiles() {
        let d = Signal::Diurnal {
            base: 100.0,
            amplitude: 0.5,
            period_ms: 86_400_000,
            peak_ms: 43_200_000,
        };
        let at = |h: u64| d.profile_at(SimTime(h * 3_600_000)).unwrap();
        assert!((at(12) - 150.0).abs() < 1e-9);
        assert!((at(0) - 50.0).abs() < 1e-9);
        assert!((at(24) - 50.0).abs() < 1e-9);
        assert!((at(6) - 100.0).abs() < 1e-9);
        let t = Signal::Table {
            points: vec![(0, 10.0), (1000, 20.0)],
            linear: true,
            period_ms: Some(2000),
        };
        let v = |ms| t.profile_at(SimTime(ms)).unwrap();
        assert_eq!(v(0), 10.0);
        assert_eq!(v(500), 15.0);
        assert_eq!(v(1000), 20.0);
        assert_eq!(v(1500), 15.0);
        assert_eq!(v(2000), 10.0);
        let s = Signal::Table {
            points: vec![(0, 10.0), (1000, 20.0)],
            linear: false,
            period_ms: None,
        };
        assert_eq!(s.profile_at(SimTime(999)), Some(10.0));
        assert_eq!(s.profile_at(SimTime(5000)), Some(20.0));
    }

    #[test]
    fn allocation_and_victims_balance_zones() {
        let mut a = Autoscaler::new(spec(Signal::Workload(0)));
        assert_eq!(
            a.allocate(5, &[true, true]),
            vec![(ZoneIdx(0), 3), (ZoneIdx(1), 2)]
        );
        assert_eq!(a.allocate(5, &[false, true]), vec![(ZoneIdx(1), 5)]);
        let ids: Vec<InstanceId> = (0..3).map(InstanceId).collect();
        a.launched(ZoneIdx(0), &ids);
        a.launched(ZoneIdx(1), &[InstanceId(3)]);
        for i in 0..4 {
            a.notice(InstanceId(i), Some(InstanceState::Running));
        }
        assert_eq!(a.in_service(), 4);
        assert_eq!(
            a.allocate(2, &[true, true]),
            vec![(ZoneIdx(1), 2)],
            "the emptier zone first"
        );
        // Newest first, from the fuller zone.
        assert_eq!(a.victims(1), vec![InstanceId(2)]);
        assert_eq!(a.victims(2), vec![InstanceId(1), InstanceId(2)]);
        a.notice(InstanceId(1), Some(InstanceState::Stopped));
        assert_eq!(a.unhealthy(), vec![InstanceId(1)]);
        assert_eq!(a.in_service(), 3);
        a.notice(InstanceId(1), None);
        assert_eq!(a.members(), 3);
    }
}
