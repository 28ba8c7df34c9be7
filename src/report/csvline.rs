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
    use crate::cloud::InstanceId;

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

    /// The id text (computed in 64-bit arithmetic since the fast path) matches the exact
    /// 128-bit computation.
    fn id_ok(serial: u64) -> bool {
        let id = InstanceId(serial);
        id.to_string_buf() == id.to_string_buf_exact()
            && id.to_string().as_bytes() == id.to_string_buf_exact()
    }

    #[test]
    fn id_text_fast_path_matches_the_exact_one_at_the_edges() {
        const SPACE: u64 = 2_821_109_907_456; // 36^8
        let mut serials = vec![0, 1, 2, 35, 36, 1295, 1296, (1 << 21) - 1, 1 << 21];
        for k in [1u64, 2, 1_000, u64::MAX / SPACE] {
            serials.extend([k * SPACE - 1, k * SPACE, k * SPACE + 1]);
        }
        // The serials spelled with the extreme digits in each half.
        for text in [
            "ins-00000000",
            "ins-zzzzzzzz",
            "ins-0000zzzz",
            "ins-zzzz0000",
            "ins-000z0000",
            "ins-0000000z",
        ] {
            let s = InstanceId::parse(text).map(|i| i.0).unwrap_or(0);
            assert_eq!(InstanceId(s).to_string(), text);
            serials.extend([s, s.wrapping_sub(1), s + 1]);
        }
        serials.extend([u64::MAX, u64::MAX - 1, 1 << 63]);
        for s in serials {
            assert!(id_ok(s), "serial {s}");
        }
    }

    #[test]
    fn id_text_fast_path_matches_the_exact_one_for_consecutive_serials() {
        for s in 0..100_000u64 {
            assert!(id_ok(s), "serial {s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn id_text_fast_path_matches_the_exact_one(s in proptest::num::u64::ANY) {
            proptest::prop_assert!(id_ok(s));
        }
    }
}
