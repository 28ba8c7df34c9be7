//! API rate limits. CVM documents the limits but not the window algorithm, so both a fixed
//! window and a token bucket are offered (a scenario setting). Token counts are integers scaled
//! by the window length, so refills are exact and a run is reproducible to the call.

use crate::engine::{SimDuration, SimTime};

use super::api::Action;

/// At most `calls` per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub calls: u32,
    pub per: SimDuration,
}

impl Limit {
    pub fn per_minute(calls: u32) -> Self {
        Limit {
            calls,
            per: SimDuration::from_secs(60),
        }
    }
    pub fn per_second(calls: u32) -> Self {
        Limit {
            calls,
            per: SimDuration::from_secs(1),
        }
    }
}

/// How a limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WindowKind {
    /// Windows aligned on multiples of the period since the start; at most `calls` per window.
    #[default]
    Fixed,
    /// A bucket of `calls` tokens refilled continuously at `calls / per`; a call takes one.
    TokenBucket,
}

/// The limits in force: an optional total over all actions and one per action.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimits {
    pub window: WindowKind,
    pub total: Option<Limit>,
    pub per_action: Vec<(Action, Limit)>,
    /// Limit for actions not listed in `per_action`.
    pub default_action: Option<Limit>,
}

impl RateLimits {
    /// No throttling at all.
    pub fn unlimited() -> Self {
        RateLimits {
            window: WindowKind::Fixed,
            total: None,
            per_action: vec![],
            default_action: None,
        }
    }

    /// The 2018 API overview, the seed's figure: 1,000 calls per minute in total and 100 per
    /// minute for any single action.
    pub fn per_minute_2018() -> Self {
        RateLimits {
            window: WindowKind::Fixed,
            total: Some(Limit::per_minute(1000)),
            per_action: vec![],
            default_action: Some(Limit::per_minute(100)),
        }
    }

    /// Today's documented limits: per second, per action (40/s DescribeInstances,
    /// DescribeInstancesStatus and DescribeZoneInstanceConfigInfos, 20/s DescribeAccountQuota,
    /// DescribeZones and DescribeRegions, 10/s for mutating calls and the rest, the InquiryPrice*
    /// actions among them: InquiryPriceRunInstances documents 10/s; each action's API page gives
    /// its "默认接口请求频率限制").
    pub fn per_second_current() -> Self {
        RateLimits {
            window: WindowKind::Fixed,
            total: None,
            per_action: vec![
                (Action::DescribeInstances, Limit::per_second(40)),
                (Action::DescribeInstancesStatus, Limit::per_second(40)),
                (Action::DescribeAccountQuota, Limit::per_second(20)),
                (Action::DescribeZones, Limit::per_second(20)),
                (Action::DescribeRegions, Limit::per_second(20)),
                (
                    Action::DescribeZoneInstanceConfigInfos,
                    Limit::per_second(40),
                ),
            ],
            default_action: Some(Limit::per_second(10)),
        }
    }

    pub fn limit_for(&self, a: Action) -> Option<Limit> {
        self.per_action
            .iter()
            .find(|(x, _)| *x == a)
            .map(|&(_, l)| l)
            .or(self.default_action)
    }
}

/// The counting state of one limit.
#[derive(Clone, Copy, Debug)]
struct Counter {
    limit: Limit,
    /// Fixed window: index of the current window, calls in it, and where it ends (the clock
    /// only moves forward, so the window changes only once that is reached: one comparison
    /// per call instead of a division).
    window: u64,
    used: u32,
    window_end: u64,
    /// Token bucket: tokens × period-ms, and when it was last refilled.
    tokens: u128,
    refilled: SimTime,
}

impl Counter {
    fn new(limit: Limit) -> Self {
        Counter {
            limit,
            window: 0,
            used: 0,
            window_end: limit.per.ms().max(1),
            tokens: limit.calls as u128 * limit.per.ms().max(1) as u128,
            refilled: SimTime::ZERO,
        }
    }

    fn would_admit(&mut self, now: SimTime, kind: WindowKind) -> bool {
        let per = self.limit.per.ms().max(1);
        match kind {
            WindowKind::Fixed => {
                if now.ms() >= self.window_end || now.ms() < self.window_end - per {
                    let w = now.ms() / per;
                    if w != self.window {
                        self.window = w;
                        self.used = 0;
                    }
                    self.window_end = w.saturating_add(1).saturating_mul(per);
                }
                self.used < self.limit.calls
            }
            WindowKind::TokenBucket => {
                let cap = self.limit.calls as u128 * per as u128;
                let add = now.since(self.refilled).ms() as u128 * self.limit.calls as u128;
                self.tokens = (self.tokens + add).min(cap);
                self.refilled = now;
                self.tokens >= per as u128
            }
        }
    }

    fn consume(&mut self, kind: WindowKind) {
        match kind {
            WindowKind::Fixed => self.used += 1,
            WindowKind::TokenBucket => self.tokens -= self.limit.per.ms().max(1) as u128,
        }
    }
}

/// Admits or throttles calls. A throttled call consumes nothing.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    kind: WindowKind,
    total: Option<Counter>,
    per_action: Vec<Option<Counter>>,
}

impl RateLimiter {
    pub fn new(limits: &RateLimits) -> Self {
        RateLimiter {
            kind: limits.window,
            total: limits.total.map(Counter::new),
            per_action: Action::ALL
                .iter()
                .map(|&a| limits.limit_for(a).map(Counter::new))
                .collect(),
        }
    }

    /// Whether a call of `action` at `now` passes; if it does, it is counted.
    pub fn admit(&mut self, now: SimTime, action: Action) -> bool {
        let kind = self.kind;
        let ok_total = self.total.as_mut().is_none_or(|c| c.would_admit(now, kind));
        let ok_action = self.per_action[action.index()]
            .as_mut()
            .is_none_or(|c| c.would_admit(now, kind));
        if ok_total && ok_action {
            if let Some(c) = self.total.as_mut() {
                c.consume(kind);
            }
            if let Some(c) = self.per_action[action.index()].as_mut() {
                c.consume(kind);
            }
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_throttled(l: &RateLimits, times_ms: impl Iterator<Item = u64>, a: Action) -> usize {
        let mut r = RateLimiter::new(l);
        times_ms.filter(|&t| !r.admit(SimTime(t), a)).count()
    }

    #[test]
    fn fixed_window_150_calls_in_a_minute_throttles_50() {
        let l = RateLimits::per_minute_2018();
        // 150 RunInstances spread over one minute (every 400 ms)
        let n = count_throttled(&l, (0..150).map(|i| i * 400), Action::RunInstances);
        assert_eq!(n, 50);
    }

    #[test]
    fn fixed_window_resets_at_the_minute() {
        let l = RateLimits::per_minute_2018();
        // 100 calls at 59 s, 100 more at 60 s: all pass (two windows)
        let times = (0..100).map(|_| 59_000).chain((0..100).map(|_| 60_000));
        assert_eq!(count_throttled(&l, times, Action::StopInstances), 0);
    }

    #[test]
    fn total_limit_applies_across_actions() {
        let l = RateLimits::per_minute_2018();
        let mut r = RateLimiter::new(&l);
        let mut passed = 0;
        for i in 0..1200u64 {
            let a = Action::ALL[(i % Action::ALL.len() as u64) as usize];
            if r.admit(SimTime(i), a) {
                passed += 1;
            }
        }
        // every action at ≤100 each would allow more than 1,000; the total caps it at 1,000
        assert_eq!(passed, 1000);
    }

    #[test]
    fn token_bucket_matches_its_formula() {
        // 10 calls per second, bucket of 10: a burst of 25 at t=0 passes 10; then one call
        // every 50 ms for 2 s: tokens refill at 1 per 100 ms, so half of those 40 pass.
        let l = RateLimits {
            window: WindowKind::TokenBucket,
            total: None,
            per_action: vec![],
            default_action: Some(Limit::per_second(10)),
        };
        let mut r = RateLimiter::new(&l);
        let burst = (0..25)
            .filter(|_| r.admit(SimTime(0), Action::RunInstances))
            .count();
        assert_eq!(burst, 10);
        let later = (1..=40)
            .filter(|i| r.admit(SimTime(i * 50), Action::RunInstances))
            .count();
        // passed = floor(elapsed × rate) = floor(2000 ms × 10/s) = 20
        assert_eq!(later, 20);
    }

    #[test]
    fn throttled_calls_consume_nothing() {
        let l = RateLimits {
            window: WindowKind::Fixed,
            total: Some(Limit::per_minute(5)),
            per_action: vec![(Action::RunInstances, Limit::per_minute(2))],
            default_action: None,
        };
        let mut r = RateLimiter::new(&l);
        let run: Vec<bool> = (0..4)
            .map(|_| r.admit(SimTime(0), Action::RunInstances))
            .collect();
        assert_eq!(run, vec![true, true, false, false]);
        // the two refused RunInstances did not eat the total: 3 more of another action pass
        let other = (0..4)
            .filter(|_| r.admit(SimTime(0), Action::StopInstances))
            .count();
        assert_eq!(other, 3);
    }
}
