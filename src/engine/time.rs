//! Integer virtual time. Milliseconds in a `u64` keep ties exact and bills to the second exact;
//! a float clock would make two runs disagree in the last bit and break byte-identical outputs.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of simulated time, in whole milliseconds since the start of the run.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct SimTime(pub u64);

/// A span of simulated time, in whole milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct SimDuration(pub u64);

pub const MS_PER_SECOND: u64 = 1_000;
pub const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn from_secs(s: u64) -> Self {
        SimTime(s * MS_PER_SECOND)
    }
    pub fn ms(self) -> u64 {
        self.0
    }
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / MS_PER_SECOND as f64
    }
    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
    /// Readable clock for narration: `d2 03:14:07` (day counted from 0), with `.250` when the
    /// instant is not on a whole second.
    ///
    /// ```
    /// use fleetsim::engine::SimTime;
    /// assert_eq!(SimTime(((2 * 24 + 3) * 3600 + 14 * 60 + 7) * 1000).clock(), "d2 03:14:07");
    /// assert_eq!(SimTime(250).clock(), "d0 00:00:00.250");
    /// ```
    pub fn clock(self) -> String {
        let ms = self.0 % MS_PER_SECOND;
        let s = self.0 / MS_PER_SECOND;
        let (d, h, m, sec) = (s / 86_400, (s / 3_600) % 24, (s / 60) % 60, s % 60);
        if ms == 0 {
            format!("d{d} {h:02}:{m:02}:{sec:02}")
        } else {
            format!("d{d} {h:02}:{m:02}:{sec:02}.{ms:03}")
        }
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub fn from_secs(s: u64) -> Self {
        SimDuration(s * MS_PER_SECOND)
    }
    pub fn from_hours(h: u64) -> Self {
        SimDuration(h * MS_PER_HOUR)
    }
    pub fn from_days(d: u64) -> Self {
        SimDuration(d * MS_PER_DAY)
    }
    pub fn ms(self) -> u64 {
        self.0
    }
    pub fn secs_f64(self) -> f64 {
        self.0 as f64 / MS_PER_SECOND as f64
    }
    pub fn hours_f64(self) -> f64 {
        self.0 as f64 / MS_PER_HOUR as f64
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}
impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, o: SimTime) -> SimDuration {
        self.since(o)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.clock())
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(*self))
    }
}

/// Shortest exact spelling of a duration in the scenario syntax (`90s`, `1h30m`, `250ms`).
///
/// ```
/// use fleetsim::engine::{SimDuration, format_duration};
/// assert_eq!(format_duration(SimDuration(5_400_000)), "1h30m");
/// assert_eq!(format_duration(SimDuration(90_250)), "1m30s250ms");
/// assert_eq!(format_duration(SimDuration(0)), "0s");
/// ```
pub fn format_duration(d: SimDuration) -> String {
    if d.0 == 0 {
        return "0s".into();
    }
    let mut rest = d.0;
    let mut out = String::new();
    for (unit, size) in [
        ("d", MS_PER_DAY),
        ("h", MS_PER_HOUR),
        ("m", MS_PER_MINUTE),
        ("s", MS_PER_SECOND),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{}", rest / size, unit));
            rest %= size;
        }
    }
    out
}

/// Parses the scenario's duration syntax: one or more `<number><unit>` parts, units `ms`, `s`,
/// `m`, `h`, `d`, `w`; e.g. `"30d"`, `"6h"`, `"90s"`, `"1h30m"`, `"1.5h"`. The result must be a
/// whole number of milliseconds.
///
/// ```
/// use fleetsim::engine::{SimDuration, parse_duration};
/// assert_eq!(parse_duration("1h30m"), Ok(SimDuration(5_400_000)));
/// assert_eq!(parse_duration("1.5h"), Ok(SimDuration(5_400_000)));
/// assert_eq!(parse_duration("2w"), Ok(SimDuration::from_days(14)));
/// assert!(parse_duration("0.5ms").is_err()); // not a whole millisecond
/// ```
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. \"90s\", \"6h\" or \"30d\"".into());
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "`{text}` is not a duration: expected a number at `{}` (write e.g. \"90s\", \"6h\", \"1h30m\")",
                &s[start..]
            ));
        }
        let num: f64 = s[start..i]
            .parse()
            .map_err(|_| format!("`{text}` is not a duration: bad number `{}`", &s[start..i]))?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let size = match unit {
            "ms" => 1,
            "s" => MS_PER_SECOND,
            "m" | "min" => MS_PER_MINUTE,
            "h" => MS_PER_HOUR,
            "d" => MS_PER_DAY,
            "w" => 7 * MS_PER_DAY,
            "" => {
                return Err(format!(
                    "`{text}` has no unit; add one of ms, s, m, h, d, w (e.g. \"{num}s\")"
                ));
            }
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}`; use ms, s, m, h, d or w"
                ));
            }
        };
        total += num * size as f64;
    }
    if !total.is_finite() || total > 1e15 {
        return Err(format!("`{text}` is too long a duration"));
    }
    let rounded = total.round();
    if (rounded - total).abs() > 1e-6 {
        return Err(format!("`{text}` is not a whole number of milliseconds"));
    }
    Ok(SimDuration(rounded as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("90s").unwrap(), SimDuration(90_000));
        assert_eq!(parse_duration("6h").unwrap(), SimDuration(6 * MS_PER_HOUR));
        assert_eq!(parse_duration("30d").unwrap(), SimDuration(30 * MS_PER_DAY));
        assert_eq!(
            parse_duration("1h30m").unwrap(),
            SimDuration(90 * MS_PER_MINUTE)
        );
        assert_eq!(
            parse_duration("1.5h").unwrap(),
            SimDuration(90 * MS_PER_MINUTE)
        );
        assert_eq!(parse_duration("250ms").unwrap(), SimDuration(250));
        assert_eq!(parse_duration("2w").unwrap(), SimDuration(14 * MS_PER_DAY));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "h", "10", "10x", "-5s", "1.0001ms", "s10"] {
            assert!(parse_duration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn format_round_trips() {
        for ms in [0, 1, 999, 1000, 90_000, 3_725_000, 5 * MS_PER_DAY + 7] {
            let d = SimDuration(ms);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
    }

    #[test]
    fn clock_reads_like_a_wall_clock() {
        let t = SimTime(2 * MS_PER_DAY + 3 * MS_PER_HOUR + 14 * MS_PER_MINUTE + 7_000);
        assert_eq!(t.clock(), "d2 03:14:07");
        assert_eq!(SimTime(1_250).clock(), "d0 00:00:01.250");
    }
}
