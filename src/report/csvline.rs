//! Building CSV lines for the per-instance stream by hand: one reusable byte buffer and itoa
//! for integers. `instances.csv` gets a row per instance ever created (millions in a long run),
//! and `format!` machinery was a tenth of the run time.

use crate::cloud::Money;
use crate::engine::SimTime;

#[derive(Default)]
pub struct CsvLine {
    pub buf: Vec<u8>,
    int: itoa::Buffer,
}

impl CsvLine {
    pub fn clear(&mut self) {
        self.buf.clear();
    }
    #[inline]
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    #[inline]
    pub fn comma(&mut self) -> &mut Self {
        self.buf.push(b',');
        self
    }
    #[inline]
    pub fn u64(&mut self, x: u64) -> &mut Self {
        let s = self.int.format(x);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    /// `x` as exactly `width` digits, zero-padded.
    fn padded(&mut self, x: u64, width: usize) {
        let s = self.int.format(x);
        for _ in s.len()..width {
            self.buf.push(b'0');
        }
        self.buf.extend_from_slice(s.as_bytes());
    }
    /// Seconds with three decimals.
    #[inline]
    pub fn secs(&mut self, t: SimTime) -> &mut Self {
        self.u64(t.ms() / 1000);
        self.buf.push(b'.');
        self.padded(t.ms() % 1000, 3);
        self
    }
    pub fn opt_secs(&mut self, t: Option<SimTime>) -> &mut Self {
        if let Some(t) = t {
            self.secs(t);
        }
        self
    }
    /// Six decimals, like `Money`'s Display.
    pub fn money(&mut self, m: Money) -> &mut Self {
        let micros = m.micros();
        if micros < 0 {
            self.buf.push(b'-');
        }
        let a = micros.unsigned_abs();
        match u64::try_from(a) {
            Ok(a) => {
                self.u64(a / 1_000_000);
                self.buf.push(b'.');
                self.padded(a % 1_000_000, 6);
            }
            Err(_) => {
                let text = Money(m.0.abs()).to_string();
                self.str(&text);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_display() {
        let mut l = CsvLine::default();
        for m in [0i128, 1, 999_999, 1_000_000, 123_456_789, -5, -1_234_567] {
            l.clear();
            let money = Money::from_micros(m);
            l.money(money);
            assert_eq!(String::from_utf8(l.buf.clone()).unwrap(), money.to_string());
        }
        for ms in [0u64, 7, 1_000, 3_725_123] {
            l.clear();
            l.secs(SimTime(ms));
            assert_eq!(
                String::from_utf8(l.buf.clone()).unwrap(),
                crate::report::recorder::secs(SimTime(ms))
            );
        }
    }
}
