//! Exact money. Prices are integers in micro-CNY per hour and time is integer milliseconds, so
//! a charge `price × ms × percent` is an exact integer; a [`Money`] counts those products.
//! Sums of bills never drift and hourly settlements add up to the total to the last unit.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// An amount of money: one unit is 1e-6 CNY × 1 ms / 1 h / 100.
///
/// Aligned to 8 bytes, not the 16 of an `i128`: every instance record holds several amounts,
/// and 16-byte alignment padded each record by tens of bytes (a million live instances hold
/// them all); a misaligned 128-bit load costs nothing measurable on x86_64.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
#[repr(C, packed(8))]
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

    /// Rounded to whole micro-units (halves away from zero), the precision written to CSV
    /// files.
    ///
    /// `instances.csv` rounds three amounts per row, millions of rows: a 128-bit division is
    /// a library call (`__divti3`), while a 64-bit division by a constant is a multiply and a
    /// shift. Amounts up to about 51,000 CNY fit in 64 bits, so the exact 128-bit path is
    /// only the fallback; both give the same result for every value.
    #[inline]
    pub fn micros(self) -> i128 {
        const U: u64 = UNITS_PER_MICRO as u64;
        let a = self.0.unsigned_abs();
        let q = match u64::try_from(a) {
            Ok(a) if a <= u64::MAX - U / 2 => ((a + U / 2) / U) as u128,
            _ => (a + (U / 2) as u128) / U as u128,
        };
        // q ≤ 2^127 / U, so it fits in an i128 with either sign.
        let q = q as i128;
        if self.0 >= 0 { q } else { -q }
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

    /// The definition `micros` had before its 64-bit fast path: the oracle for it.
    fn micros_exact(m: Money) -> i128 {
        let u = UNITS_PER_MICRO;
        if m.0 >= 0 {
            (m.0 + u / 2) / u
        } else {
            -((-m.0 + u / 2) / u)
        }
    }

    #[test]
    fn micros_fast_path_matches_the_exact_division_at_the_edges() {
        let u = UNITS_PER_MICRO;
        let big = u64::MAX as i128;
        let mut edges = vec![0, 1, u / 2 - 1, u / 2, u / 2 + 1, u - 1, u, u + 1];
        for k in [1i128, 7, 1_000_000, 123_456_789_012] {
            edges.extend([
                k * u - u / 2 - 1,
                k * u - u / 2,
                k * u + u / 2 - 1,
                k * u + u / 2,
            ]);
        }
        // Around the end of the 64-bit path, where the rounding offset would overflow.
        for d in -3..=3 {
            edges.extend([big + d, big - u / 2 + d, (big / u) * u + u / 2 + d]);
        }
        edges.extend([i128::MAX - u, i128::MAX / 2]);
        for x in edges {
            for m in [Money(x), Money(-x)] {
                assert_eq!(m.micros(), micros_exact(m), "{}", { m.0 });
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn micros_fast_path_matches_the_exact_division(x in proptest::num::i64::ANY, shift in 0u32..64) {
            // Values of every magnitude, in and beyond the 64-bit range.
            let m = Money((x as i128) << shift);
            proptest::prop_assert_eq!(m.micros(), micros_exact(m));
        }
    }
}
