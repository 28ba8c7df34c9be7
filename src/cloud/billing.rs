//! What an instance costs. Cost is integrated over state intervals (DESIGN.md principle 4): each
//! state change closes the interval that was accruing and opens the next, so no instance is ever
//! woken just to be billed.

use crate::engine::{SimDuration, SimTime};

use super::catalog::{Catalog, ChargeType};
use super::instance::{Instance, StoppedMode};
use super::money::Money;
use super::spot_market::SpotMarket;
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
    /// Billing on (the default). Off, nothing is charged: only for measuring what billing
    /// costs in run time (`--set billing.enabled=false`).
    pub enabled: bool,
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
            enabled: true,
        }
    }
}

/// A stretch of time billed at one constant rate: `hourly × percent / 100` per hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub start: SimTime,
    pub end: SimTime,
    /// Micro-CNY per hour.
    pub hourly: u64,
    pub percent: u32,
}

impl Piece {
    pub fn amount(&self) -> Money {
        Money::for_time(self.hourly, self.end.since(self.start).ms(), self.percent)
    }
}

/// What one state change charged: the closed interval's constant-rate pieces, plus any charge
/// or refund made at the instant of the change (`amount − Σ pieces`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accrual<'a> {
    pub start: SimTime,
    pub end: SimTime,
    pub amount: Money,
    pub pieces: &'a [Piece],
}

impl Accrual<'_> {
    /// A charge (or, negative, a refund) at one instant.
    pub fn point(time: SimTime, amount: Money) -> Accrual<'static> {
        Accrual {
            start: time,
            end: time,
            amount,
            pieces: &[],
        }
    }

    /// The part of `amount` not spread over pieces: an up-front charge or a refund.
    pub fn instant_part(&self) -> Money {
        self.amount - self.pieces.iter().map(Piece::amount).sum::<Money>()
    }
}

/// How an instance accrues cost in a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateClass {
    Free,
    /// Micro-CNY per hour.
    Flat(u64),
    /// Postpaid tier-1 price per hour; tiers by accumulated billed hours.
    Tiered(u64),
    Spot,
}

impl BillingRules {
    /// Documented prepaid periods.
    pub fn valid_period(&self, months: u32) -> bool {
        self.prepaid_discounts.iter().any(|&(m, _)| m == months)
    }

    /// Up-front price of a prepaid period, micro-CNY.
    pub fn prepaid_price(&self, monthly_micro: u64, months: u32) -> Money {
        if !self.enabled {
            return Money::ZERO;
        }
        let pct = self
            .prepaid_discounts
            .iter()
            .find(|&&(m, _)| m == months)
            .map(|&(_, p)| p)
            .unwrap_or(100);
        Money::from_micros(monthly_micro as i128 * months as i128 * pct as i128 / 100)
    }

    /// How the instance is billed while in `state`: nothing, a flat hourly rate, the postpaid
    /// tiered rate, or the spot market price.
    pub fn rate_class(&self, cat: &Catalog, inst: &Instance, state: InstanceState) -> RateClass {
        use InstanceState as S;
        let billed_state = matches!(
            state,
            S::Running | S::Stopping | S::Starting | S::Rebooting | S::Stopped
        );
        if !billed_state {
            return RateClass::Free;
        }
        let price = cat.price(inst.itype);
        match inst.charge {
            ChargeType::Prepaid => RateClass::Free,
            ChargeType::PostpaidByHour => {
                if state == S::Stopped && inst.stopped_mode == StoppedMode::StopCharging {
                    RateClass::Flat(cat.disk_gib_hourly * cat.disk_gib as u64)
                } else if price.tiered {
                    RateClass::Tiered(price.postpaid_hourly)
                } else {
                    RateClass::Flat(price.postpaid_hourly)
                }
            }
            // Spot instances are not charged while stopped (they cannot be stopped with
            // KEEP_CHARGING semantics on CVM); charged at the market price otherwise.
            ChargeType::Spotpaid if state == S::Stopped => RateClass::Free,
            ChargeType::Spotpaid => RateClass::Spot,
        }
    }

    /// Closes the open interval at `now` (the instance was in `inst.state` throughout) and
    /// opens the next one. The interval's constant-rate pieces are written to `pieces`
    /// (cleared first); returns where the interval started and what it cost.
    pub fn accrue(
        &self,
        cat: &Catalog,
        market: &mut SpotMarket,
        inst: &mut Instance,
        now: SimTime,
        pieces: &mut Vec<Piece>,
    ) -> (SimTime, Money) {
        pieces.clear();
        let start = inst.billing.since;
        let ms = now.since(start).ms();
        if ms > 0 && self.enabled {
            match self.rate_class(cat, inst, inst.state) {
                RateClass::Free => {}
                RateClass::Flat(rate) => pieces.push(Piece {
                    start,
                    end: now,
                    hourly: rate,
                    percent: 100,
                }),
                RateClass::Tiered(rate) => {
                    self.tier_pieces(rate, inst.billing.tier_ms, start, now, pieces);
                    inst.billing.tier_ms += ms;
                }
                RateClass::Spot => {
                    let step = market.step_ms();
                    let mut a = start.ms();
                    // One division: the steps that follow are consecutive.
                    let mut k = a / step;
                    while a < now.ms() {
                        let b = ((k + 1) * step).min(now.ms());
                        pieces.push(Piece {
                            start: SimTime(a),
                            end: SimTime(b),
                            hourly: market.price_in_step(inst.zone, inst.itype, k),
                            percent: 100,
                        });
                        a = b;
                        k += 1;
                    }
                }
            }
        }
        let amount: Money = pieces.iter().map(Piece::amount).sum();
        inst.billing.charged += amount;
        inst.billing.since = now;
        (start, amount)
    }

    /// Splits `[start, end)` at the postpaid tier boundaries, given `already_ms` billed before.
    fn tier_pieces(
        &self,
        rate: u64,
        already_ms: u64,
        start: SimTime,
        end: SimTime,
        out: &mut Vec<Piece>,
    ) {
        let len = end.since(start).ms();
        let mut pos = already_ms;
        let stop = already_ms + len;
        for (i, &(from_h, pct)) in self.postpaid_tiers.iter().enumerate() {
            let lo = SimDuration::from_hours(from_h).ms();
            let hi = self
                .postpaid_tiers
                .get(i + 1)
                .map(|&(h, _)| SimDuration::from_hours(h).ms())
                .unwrap_or(u64::MAX);
            let a = pos.max(lo);
            let b = stop.min(hi);
            if b > a {
                out.push(Piece {
                    start: SimTime(start.ms() + (a - already_ms)),
                    end: SimTime(start.ms() + (b - already_ms)),
                    hourly: rate,
                    percent: pct,
                });
                pos = b;
            }
        }
    }

    /// Charge of `ms` milliseconds at tier-1 price `rate`, starting after `already_ms` billed
    /// milliseconds, split exactly at the tier boundaries.
    pub fn tiered_charge(&self, rate: u64, already_ms: u64, ms: u64) -> Money {
        let mut pieces = Vec::with_capacity(self.postpaid_tiers.len());
        self.tier_pieces(rate, already_ms, SimTime::ZERO, SimTime(ms), &mut pieces);
        pieces.iter().map(Piece::amount).sum()
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
