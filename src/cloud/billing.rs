//! What an instance costs. Cost is integrated over state intervals (DESIGN.md principle 4): each
//! state change closes the interval that was accruing and opens the next, so no instance is ever
//! woken just to be billed.

use crate::engine::{SimDuration, SimTime};

use super::catalog::{Catalog, ChargeType};
use super::instance::{Instance, StoppedMode};
use super::money::Money;
use super::state::InstanceState;

/// The billing rules that CVM.md marks as documented figures or assumptions; all are scenario
/// settings.
#[derive(Clone, Debug)]
pub struct BillingRules {
    /// Postpaid price tiers: (accumulated billed hours at which the tier starts, percent of the
    /// tier-1 price). Documented: 0 h 100%, 96 h 50%, 360 h 34%.
    pub postpaid_tiers: Vec<(u64, u32)>,
    /// Prepaid discount ladder: (period in months, percent of `months × monthly price`).
    /// ASSUMPTION: the documented periods with a ladder resembling other clouds' commitments.
    pub prepaid_discounts: Vec<(u32, u32)>,
}

impl Default for BillingRules {
    fn default() -> Self {
        BillingRules {
            postpaid_tiers: vec![(0, 100), (96, 50), (360, 34)],
            prepaid_discounts: vec![
                (1, 100),
                (2, 100),
                (3, 100),
                (4, 100),
                (5, 100),
                (6, 100),
                (7, 100),
                (8, 100),
                (9, 100),
                (10, 100),
                (11, 100),
                (12, 87),
                (24, 72),
                (36, 60),
                (48, 55),
                (60, 50),
            ],
        }
    }
}

/// One closed billing interval of one instance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accrual {
    pub start: SimTime,
    pub end: SimTime,
    pub amount: Money,
}

impl BillingRules {
    /// Documented prepaid periods.
    pub fn valid_period(&self, months: u32) -> bool {
        self.prepaid_discounts.iter().any(|&(m, _)| m == months)
    }

    /// Up-front price of a prepaid period, micro-CNY.
    pub fn prepaid_price(&self, monthly_micro: u64, months: u32) -> Money {
        let pct = self
            .prepaid_discounts
            .iter()
            .find(|&&(m, _)| m == months)
            .map(|&(_, p)| p)
            .unwrap_or(100);
        Money::from_micros(monthly_micro as i128 * months as i128 * pct as i128 / 100)
    }

    /// Hourly rate (micro-CNY) the instance accrues while in `state`, and whether the postpaid
    /// tiers apply to it.
    pub fn hourly_rate(&self, cat: &Catalog, inst: &Instance, state: InstanceState) -> (u64, bool) {
        use InstanceState as S;
        let billed_state = matches!(
            state,
            S::Running | S::Stopping | S::Starting | S::Rebooting | S::Stopped
        );
        if !billed_state {
            return (0, false);
        }
        let price = cat.price(inst.itype);
        match inst.charge {
            ChargeType::Prepaid => (0, false),
            ChargeType::PostpaidByHour => {
                if state == S::Stopped && inst.stopped_mode == StoppedMode::StopCharging {
                    (cat.disk_gib_hourly * cat.disk_gib as u64, false)
                } else {
                    (price.postpaid_hourly, price.tiered)
                }
            }
            ChargeType::Spotpaid => (cat.spot_hourly(inst.itype), false),
        }
    }

    /// Closes the open interval at `now` for an instance whose state over the interval was
    /// `inst.state`; the next interval starts at `now`. Returns what the interval cost.
    pub fn accrue(&self, cat: &Catalog, inst: &mut Instance, now: SimTime) -> Accrual {
        let start = inst.billing.since;
        let ms = now.since(start).ms();
        let (rate, tiered) = self.hourly_rate(cat, inst, inst.state);
        let amount = if rate == 0 || ms == 0 {
            Money::ZERO
        } else if tiered {
            self.tiered_charge(rate, inst.billing.tier_ms, ms)
        } else {
            Money::for_time(rate, ms, 100)
        };
        if tiered {
            inst.billing.tier_ms += ms;
        }
        inst.billing.charged += amount;
        inst.billing.since = now;
        Accrual {
            start,
            end: now,
            amount,
        }
    }

    /// Charge of `ms` milliseconds at tier-1 price `rate`, starting after `already_ms` billed
    /// milliseconds, split exactly at the tier boundaries.
    pub fn tiered_charge(&self, rate: u64, already_ms: u64, ms: u64) -> Money {
        let mut total = Money::ZERO;
        let mut pos = already_ms;
        let end = already_ms + ms;
        for (i, &(from_h, pct)) in self.postpaid_tiers.iter().enumerate() {
            let lo = SimDuration::from_hours(from_h).ms();
            let hi = self
                .postpaid_tiers
                .get(i + 1)
                .map(|&(h, _)| SimDuration::from_hours(h).ms())
                .unwrap_or(u64::MAX);
            let a = pos.max(lo);
            let b = end.min(hi);
            if b > a {
                total += Money::for_time(rate, b - a, pct);
                pos = b;
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_split_at_96_hours() {
        let r = BillingRules::default();
        // 100 h at 1.00/h: 96 h full + 4 h at 50%
        let m = r.tiered_charge(1_000_000, 0, SimDuration::from_hours(100).ms());
        assert_eq!(m, Money::from_micros(98_000_000));
        // the same 100 h billed in two pieces costs the same
        let a = r.tiered_charge(1_000_000, 0, SimDuration::from_hours(95).ms());
        let b = r.tiered_charge(
            1_000_000,
            SimDuration::from_hours(95).ms(),
            SimDuration::from_hours(5).ms(),
        );
        assert_eq!(a + b, m);
        // beyond 360 h: 34%
        let c = r.tiered_charge(
            1_000_000,
            SimDuration::from_hours(400).ms(),
            SimDuration::from_hours(1).ms(),
        );
        assert_eq!(c, Money::from_micros(340_000));
    }

    #[test]
    fn prepaid_ladder() {
        let r = BillingRules::default();
        assert_eq!(
            r.prepaid_price(100_000_000, 1),
            Money::from_micros(100_000_000)
        );
        assert_eq!(
            r.prepaid_price(100_000_000, 12),
            Money::from_micros(1_044_000_000)
        );
        assert!(r.valid_period(36) && !r.valid_period(13));
    }
}
