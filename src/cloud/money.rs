//! Exact money. Prices are integers in micro-CNY per hour and time is integer milliseconds, so
//! a charge `price × ms × percent` is an exact integer; a [`Money`] counts those products.
//! Sums of bills never drift and hourly settlements add up to the total to the last unit.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount of money: one unit is 1e-6 CNY × 1 ms / 1 h / 100.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Money(pub i128);

/// Units in one micro-CNY.
const UNITS_PER_MICRO: i128 = 3_600_000 * 100;
/// Units in one CNY.
pub const UNITS_PER_CNY: i128 = UNITS_PER_MICRO * 1_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    /// `micro` millionths of a currency unit.
    pub fn from_micros(micro: i128) -> Money {
        Money(micro * UNITS_PER_MICRO)
    }

    /// The charge of running `ms` milliseconds at `hourly_micro` per hour, scaled by
    /// `percent` / 100 (tiered prices).
    pub fn for_time(hourly_micro: u64, ms: u64, percent: u32) -> Money {
        Money(hourly_micro as i128 * ms as i128 * percent as i128)
    }

    /// The amount in currency units, for output.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / UNITS_PER_CNY as f64
    }

    /// Rounded to whole micro-units, the precision written to CSV files.
    pub fn micros(self) -> i128 {
        let u = UNITS_PER_MICRO;
        if self.0 >= 0 {
            (self.0 + u / 2) / u
        } else {
            -((-self.0 + u / 2) / u)
        }
    }

    /// Fixed six decimals, exact from the integer (no float rounding in outputs).
    pub fn to_decimal(self) -> String {
        self.to_string()
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}
impl Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}
impl std::ops::Mul<i128> for Money {
    type Output = Money;
    fn mul(self, k: i128) -> Money {
        Money(self.0 * k)
    }
}
impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}
impl AddAssign for Money {
    fn add_assign(&mut self, o: Money) {
        self.0 += o.0;
    }
}
impl SubAssign for Money {
    fn sub_assign(&mut self, o: Money) {
        self.0 -= o.0;
    }
}
impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}
impl fmt::Display for Money {
    /// Six decimals, written without allocating.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.micros();
        let sign = if m < 0 { "-" } else { "" };
        let m = m.unsigned_abs();
        // 64-bit arithmetic when it fits (always, for sane amounts): much faster than 128.
        match u64::try_from(m) {
            Ok(m) => write!(f, "{sign}{}.{:06}", m / 1_000_000, m % 1_000_000),
            Err(_) => write!(f, "{sign}{}.{:06}", m / 1_000_000, m % 1_000_000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_at_a_price_is_the_price() {
        let m = Money::for_time(320_000, 3_600_000, 100);
        assert_eq!(m, Money::from_micros(320_000));
        assert_eq!(m.to_decimal(), "0.320000");
    }

    #[test]
    fn seconds_are_exact() {
        // 3,725 s at 0.32/h = 0.331111... CNY
        let m = Money::for_time(320_000, 3_725_000, 100);
        assert_eq!(m.to_decimal(), "0.331111");
        let parts: Money = (0..3725)
            .map(|_| Money::for_time(320_000, 1_000, 100))
            .sum();
        assert_eq!(parts, m);
    }

    #[test]
    fn negative_amounts_round_symmetrically() {
        assert_eq!(Money::from_micros(-1_500_000).to_decimal(), "-1.500000");
    }
}
