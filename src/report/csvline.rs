//! Building CSV lines for the per-instance stream by hand, straight into the output buffer.
//! `instances.csv` gets a row per instance ever created (millions in a long run, 418 MB on
//! bench-100k), so a row must cost a few hundred instructions: general formatting (`format!`,
//! or a number formatter plus a copy per field into a line, then the line into a `BufWriter`)
//! costs several times that.
//!
//! The buffer is always fully initialised and written at a position, so appending never
//! zeroes or resizes anything: fields known at compile time are constant-size copies the
//! compiler inlines (a variable-size copy is a `memcpy` call). Numbers below 10^8 (all times
//! and amounts of a normal run) are turned into eight ASCII digits at once in a 64-bit
//! register and stored with one 8-byte write, leading zeros shifted out; the bytes past the
//! number are overwritten by whatever comes next.

use crate::cloud::Money;
use crate::engine::SimTime;

/// `"00"`, `"01"`, …, `"99"`.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Most decimal digits of a `u64`.
const U64_DIGITS: usize = 20;

/// 10^i, for counting digits.
const POW10: [u64; U64_DIGITS] = {
    let mut t = [1u64; U64_DIGITS];
    let mut i = 1;
    while i < U64_DIGITS {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Numbers below this are written by [`ascii8`].
const FAST_LIMIT: u64 = 100_000_000;

/// The eight decimal digits of `x` < 10^8, zero-padded, as ASCII bytes in little-endian order
/// (the first digit in the lowest byte), computed in SIMD-within-a-register fashion: split
/// into two 4-digit lanes of 32 bits, each into two 2-digit lanes of 16 bits, each into two
/// digits of 8 bits. Every division is a multiply and a shift exact for its range (checked
/// exhaustively by the tests), and no lane overflows into the next.
#[inline]
fn ascii8(x: u64) -> u64 {
    debug_assert!(x < FAST_LIMIT);
    let merged = (x / 10_000) | ((x % 10_000) << 32);
    let hundreds_hi = ((merged * 10_486) >> 20) & 0x0000_007F_0000_007F; // lane / 100
    let hundreds_lo = merged - 100 * hundreds_hi; // lane % 100
    let pairs = (hundreds_lo << 16) + hundreds_hi;
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F; // lane / 10
    let digits = tens + ((pairs - 10 * tens) << 8); // and lane % 10 above it
    digits + 0x3030_3030_3030_3030
}

/// Fills `out` with the last `out.len()` decimal digits of `x`, zero-padded.
#[inline]
fn fill_digits(out: &mut [u8], mut x: u64) {
    let mut i = out.len();
    while i >= 2 {
        let p = (x % 100) as usize * 2;
        x /= 100;
        out[i - 2..i].copy_from_slice(&DIGIT_PAIRS[p..p + 2]);
        i -= 2;
    }
    if i == 1 {
        out[0] = b'0' + (x % 10) as u8;
    }
}

/// Decimal digits of `x` (1 for 0): log2 in one instruction, scaled by log10(2) ≈ 1233/4096,
/// corrected by one comparison (std's `ilog10` is a chain of comparisons).
#[inline]
fn digit_count(x: u64) -> usize {
    let bits = 64 - (x | 1).leading_zeros() as usize; // 1..=64
    let t = (bits * 1233) >> 12; // 0..=19: floor(log10 x), or one less
    // `x | 1` counts 0 as one digit and changes no other comparison (10^t is 1 or even).
    t + usize::from((x | 1) >= POW10[t])
}

/// A short string (at most 16 bytes) stored so that it is appended with a constant-size copy.
#[derive(Clone, Copy, Debug)]
pub struct ShortStr {
    bytes: [u8; 16],
    len: u8,
}

impl ShortStr {
    /// `None` if `s` is longer than 16 bytes.
    pub fn new(s: &str) -> Option<ShortStr> {
        let len = s.len();
        let mut bytes = [0u8; 16];
        bytes.get_mut(..len)?.copy_from_slice(s.as_bytes());
        Some(ShortStr {
            bytes,
            len: len as u8,
        })
    }
}

/// An output buffer that CSV fields are appended to. Every append makes room for itself
/// (growing the buffer if need be), so no sequence of calls can overrun it.
pub struct CsvLine {
    /// Always initialised to its full length; `buf[..pos]` is the text so far.
    buf: Vec<u8>,
    pos: usize,
}

impl Default for CsvLine {
    fn default() -> Self {
        CsvLine::with_capacity(256)
    }
}

impl CsvLine {
    /// A buffer holding `capacity` bytes before it has to grow.
    pub fn with_capacity(capacity: usize) -> Self {
        CsvLine {
            buf: vec![0; capacity.max(64)],
            pos: 0,
        }
    }
    /// The text so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.pos]
    }
    pub fn len(&self) -> usize {
        self.pos
    }
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
    pub fn clear(&mut self) {
        self.pos = 0;
    }
    /// Makes `n` bytes writable at the position; returns the position.
    #[inline]
    fn room(&mut self, n: usize) -> usize {
        if self.buf.len() - self.pos < n {
            self.grow(n);
        }
        self.pos
    }
    #[cold]
    fn grow(&mut self, n: usize) {
        let want = (self.pos + n).max(self.buf.len() * 2);
        self.buf.resize(want, 0);
    }
    #[inline]
    pub fn bytes(&mut self, s: &[u8]) -> &mut Self {
        let at = self.room(s.len());
        self.buf[at..at + s.len()].copy_from_slice(s);
        self.pos = at + s.len();
        self
    }
    #[inline]
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
    /// Bytes known at compile time (`N` constant: an inline copy, no `memcpy` call).
    #[inline]
    pub fn lit<const N: usize>(&mut self, s: &[u8; N]) -> &mut Self {
        let at = self.room(N);
        self.buf[at..at + N].copy_from_slice(s);
        self.pos = at + N;
        self
    }
    #[inline]
    pub fn short(&mut self, s: &ShortStr) -> &mut Self {
        let at = self.room(16);
        self.buf[at..at + 16].copy_from_slice(&s.bytes);
        self.pos = at + s.len as usize;
        self
    }
    /// Appends a copy of `range` of the text so far.
    #[inline]
    pub fn copy_within(&mut self, range: std::ops::Range<usize>) -> &mut Self {
        let n = range.len();
        let at = self.room(n);
        self.buf.copy_within(range, at);
        self.pos = at + n;
        self
    }
    #[inline]
    pub fn comma(&mut self) -> &mut Self {
        self.lit(b",")
    }
    #[inline]
    pub fn u64(&mut self, x: u64) -> &mut Self {
        let at = self.room(U64_DIGITS);
        let n = digit_count(x);
        if x < FAST_LIMIT {
            // Leading zeros are the low bytes: shift them out and store all eight bytes.
            let digits = ascii8(x) >> (8 * (8 - n));
            self.buf[at..at + 8].copy_from_slice(&digits.to_le_bytes());
        } else {
            fill_digits(&mut self.buf[at..at + n], x);
        }
        self.pos = at + n;
        self
    }
    /// `x` as exactly `N` digits, zero-padded (`x` < 10^N, `N` ≤ 8).
    #[inline]
    fn padded<const N: usize>(&mut self, x: u64) {
        const { assert!(N <= 8) };
        debug_assert!(x < 10u64.pow(N as u32));
        let at = self.room(8);
        let digits = ascii8(x) >> (8 * (8 - N));
        self.buf[at..at + 8].copy_from_slice(&digits.to_le_bytes());
        self.pos = at + N;
    }
    /// `v` / 10^F, a point and `v` % 10^F in exactly F digits (1 ≤ F ≤ 7): a decimal with F
    /// places, from its integer count of 10^-F. Below 10^8, one [`ascii8`] gives all digits
    /// and the point is spliced into the register, one 16-byte store for the whole field.
    #[inline]
    fn fixed<const F: usize>(&mut self, v: u64) {
        const { assert!(F >= 1 && F <= 7) };
        let unit = 10u64.pow(F as u32);
        if v < FAST_LIMIT {
            let n = digit_count(v).max(F + 1); // digits written, ≤ 8
            let k = n - F; // digits before the point, ≥ 1
            let digits = ascii8(v) >> (8 * (8 - n)); // the n digits in the low bytes
            let int_part = u128::from(digits & ((1u64 << (8 * k)) - 1));
            let frac_part = u128::from(digits >> (8 * k));
            let text = int_part | (u128::from(b'.') << (8 * k)) | (frac_part << (8 * (k + 1)));
            let at = self.room(16);
            self.buf[at..at + 16].copy_from_slice(&text.to_le_bytes());
            self.pos = at + n + 1;
        } else if v < FAST_LIMIT * FAST_LIMIT {
            // Two registers: the high digits as they are, then the low eight with the point
            // spliced in before their last F (times past 10^8 ms, about a day, land here).
            let (hi, lo) = (v / FAST_LIMIT, v % FAST_LIMIT);
            let nh = digit_count(hi);
            let hd = ascii8(hi) >> (8 * (8 - nh));
            let at = self.room(8 + 16);
            self.buf[at..at + 8].copy_from_slice(&hd.to_le_bytes());
            let k = 8 - F; // low digits before the point, ≥ 1
            let ld = ascii8(lo);
            let int_part = u128::from(ld & ((1u64 << (8 * k)) - 1));
            let frac_part = u128::from(ld >> (8 * k));
            let text = int_part | (u128::from(b'.') << (8 * k)) | (frac_part << (8 * (k + 1)));
            self.buf[at + nh..at + nh + 16].copy_from_slice(&text.to_le_bytes());
            self.pos = at + nh + 9;
        } else {
            self.u64(v / unit).lit(b".").padded::<F>(v % unit);
        }
    }
    /// Seconds with three decimals.
    #[inline]
    pub fn secs(&mut self, t: SimTime) -> &mut Self {
        self.fixed::<3>(t.ms());
        self
    }
    #[inline]
    pub fn opt_secs(&mut self, t: Option<SimTime>) -> &mut Self {
        if let Some(t) = t {
            self.secs(t);
        }
        self
    }
    /// Six decimals, like `Money`'s Display.
    #[inline]
    pub fn money(&mut self, m: Money) -> &mut Self {
        let micros = m.micros();
        if micros < 0 {
            self.lit(b"-");
        }
        match u64::try_from(micros.unsigned_abs()) {
            Ok(a) => self.fixed::<6>(a),
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

    fn text(l: &CsvLine) -> String {
        String::from_utf8(l.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn matches_display() {
        let mut l = CsvLine::default();
        let u = 360_000_000i128; // units per micro-CNY
        let mut amounts = vec![0i128, 1, 999_999, 1_000_000, 123_456_789, -5, -1_234_567];
        amounts.extend([u64::MAX as i128, -(u64::MAX as i128), i128::MAX / u - 1]);
        for m in amounts {
            l.clear();
            let money = Money::from_micros(m);
            l.money(money);
            assert_eq!(text(&l), money.to_string());
        }
        // Amounts that are not whole micro-units round like Display.
        for x in [
            1i128,
            u / 2 - 1,
            u / 2,
            u / 2 + 1,
            -(u / 2),
            -(u / 2) - 1,
            i128::MAX / 2,
        ] {
            l.clear();
            l.money(Money(x));
            assert_eq!(text(&l), Money(x).to_string(), "{x}");
        }
        for ms in [0u64, 7, 1_000, 3_725_123, 99_999, u64::MAX] {
            l.clear();
            l.secs(SimTime(ms));
            assert_eq!(text(&l), crate::report::recorder::secs(SimTime(ms)));
        }
    }

    #[test]
    fn integers_match_to_string() {
        let mut l = CsvLine::default();
        let mut xs = vec![0u64, 1, 9, 10, 99, 100, 101, u64::MAX, u64::MAX - 1];
        for p in 1..20 {
            let t = 10u64.pow(p);
            xs.extend([t - 1, t, t + 1]);
        }
        for x in xs {
            l.clear();
            l.str("a").u64(x).comma();
            assert_eq!(text(&l), format!("a{x},"));
        }
    }

    #[test]
    fn short_strings_append_exactly() {
        let mut l = CsvLine::default();
        for s in ["", "a", "RUNNING,", "LAUNCH_FAILED,", "0123456789abcdef"] {
            l.clear();
            l.str("x").short(&ShortStr::new(s).unwrap()).lit(b"!");
            assert_eq!(text(&l), format!("x{s}!"));
        }
        assert!(ShortStr::new("0123456789abcdefg").is_none());
    }

    fn ascii8_ok(x: u64) -> bool {
        ascii8(x).to_le_bytes() == *format!("{x:08}").as_bytes()
    }

    /// The lanes of `ascii8` never carry into each other, so checking every 4-digit value in
    /// each half (the other half at its extremes) covers every number below 10^8.
    #[test]
    fn eight_digits_at_once_are_exact() {
        for v in 0..10_000u64 {
            for other in [0, 1, 5_000, 9_999] {
                assert!(ascii8_ok(v * 10_000 + other), "{v} {other}");
                assert!(ascii8_ok(other * 10_000 + v), "{other} {v}");
            }
        }
        for x in (0..FAST_LIMIT).step_by(9_973) {
            assert!(ascii8_ok(x), "{x}");
        }
        assert!(ascii8_ok(FAST_LIMIT - 1));
    }

    /// Each value as seconds (ms) and as plus and minus micro-CNY, against their Display.
    fn times_and_amounts_match_display(values: Vec<u64>) {
        let mut l = CsvLine::default();
        for v in values {
            l.clear();
            l.secs(SimTime(v)).comma();
            l.money(Money::from_micros(v as i128)).comma();
            l.money(Money::from_micros(-(v as i128)));
            let want = format!(
                "{},{},{}",
                crate::report::recorder::secs(SimTime(v)),
                Money::from_micros(v as i128),
                Money::from_micros(-(v as i128))
            );
            assert_eq!(text(&l), want, "{v}");
        }
    }

    /// The one-register path of `fixed` (values below 10^8) and its edges.
    #[test]
    fn decimals_below_10_to_the_8_match_display() {
        let mut values: Vec<u64> = (0..FAST_LIMIT).step_by(997).collect();
        for p in 0..=8 {
            let t = 10u64.pow(p);
            values.extend([t - 1, t, t + 1]);
        }
        times_and_amounts_match_display(values);
    }

    /// The two-register path of `fixed` (10^8 to 10^16) and its edges, against Display.
    #[test]
    fn decimals_up_to_10_to_the_16_match_display() {
        let mut values: Vec<u64> = (0..2_000u64)
            .map(|i| FAST_LIMIT + i * 4_999_999_937)
            .collect();
        for p in 8..=16 {
            let t = 10u64.pow(p);
            values.extend([t - 1, t, t + 1, t + 999, t + 1_000_000]);
        }
        values.extend([2_592_000_000, 2_591_999_999, 86_400_000, 99_999_999_999_999]);
        times_and_amounts_match_display(values);
    }

    proptest::proptest! {
        #[test]
        fn numbers_match_their_display(x in proptest::num::u64::ANY, m in proptest::num::i64::ANY, shift in 0u32..64) {
            let mut l = CsvLine::default();
            l.u64(x);
            proptest::prop_assert_eq!(text(&l), x.to_string());
            l.clear();
            l.secs(SimTime(x));
            proptest::prop_assert_eq!(text(&l), crate::report::recorder::secs(SimTime(x)));
            let money = Money((m as i128) << shift);
            l.clear();
            l.money(money);
            proptest::prop_assert_eq!(text(&l), money.to_string());
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
