//! Simulated time as `serve` runs it, and its spelling on the wire.

use std::time::Instant;

use crate::engine::{SimDuration, SimTime, parse_duration};

/// The wall-clock instant simulated time 0 stands for in CVM's timestamps (`CreatedTime`,
/// `ExpiredTime`): 2026-01-01T00:00:00Z, in Unix seconds.
pub const DEFAULT_EPOCH: i64 = 1_767_225_600;

/// How simulated time moves while clients call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockMode {
    /// Only `POST /fleetsim/advance` moves it: runs are reproducible call for call.
    Manual,
    /// N simulated seconds per wall second.
    Speedup(f64),
    /// Simulated time is wall time since the server started.
    Realtime,
}

impl ClockMode {
    /// `manual`, `realtime` or `speedup=N` (N > 0).
    pub fn parse(s: &str) -> Result<ClockMode, String> {
        match s {
            "manual" => Ok(ClockMode::Manual),
            "realtime" => Ok(ClockMode::Realtime),
            _ => {
                let n = s.strip_prefix("speedup=").ok_or_else(|| {
                    format!("--clock `{s}`: write `manual`, `realtime` or `speedup=N`")
                })?;
                match n.parse::<f64>() {
                    Ok(x) if x.is_finite() && x > 0.0 => Ok(ClockMode::Speedup(x)),
                    _ => Err(format!(
                        "--clock `{s}`: the speedup must be a positive number, e.g. speedup=60"
                    )),
                }
            }
        }
    }

    /// Simulated time per wall second (`None`: manual).
    fn rate(self) -> Option<f64> {
        match self {
            ClockMode::Manual => None,
            ClockMode::Speedup(n) => Some(n),
            ClockMode::Realtime => Some(1.0),
        }
    }
}

impl std::fmt::Display for ClockMode {
    /// As `--clock` takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClockMode::Manual => f.write_str("manual"),
            ClockMode::Speedup(n) => write!(f, "speedup={n}"),
            ClockMode::Realtime => f.write_str("realtime"),
        }
    }
}

/// Where simulated time should be now.
pub struct Clock {
    mode: ClockMode,
    started: Instant,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        Clock {
            mode,
            started: Instant::now(),
        }
    }
    pub fn mode(&self) -> ClockMode {
        self.mode
    }
    /// The simulated time the wall clock asks for (`None` in manual mode).
    pub fn target(&self) -> Option<SimTime> {
        let rate = self.mode.rate()?;
        let ms = self.started.elapsed().as_secs_f64() * 1000.0 * rate;
        Some(SimTime(ms.min(u64::MAX as f64 / 2.0) as u64))
    }
}

/// An `advance` body: `{"By": "10m"}` or `{"To": "3d12h"}`.
pub fn advance_target(now: SimTime, body: &serde_json::Value) -> Result<SimTime, String> {
    let field = |name: &str| -> Result<Option<SimDuration>, String> {
        match body.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => parse_duration(s)
                .map(Some)
                .map_err(|e| format!("{name}: {e}")),
            Some(other) => Err(format!(
                "{name} must be a duration string such as \"10m\", not {other}"
            )),
        }
    };
    if !body.is_object() {
        return Err(
            "the body must be a JSON object: {\"By\": \"10m\"} or {\"To\": \"3d12h\"}".into(),
        );
    }
    match (field("By")?, field("To")?) {
        (Some(by), None) => Ok(now + by),
        (None, Some(to)) => {
            let to = SimTime::ZERO + to;
            if to < now {
                Err(format!(
                    "To {} is before the current simulated time {}",
                    crate::engine::format_duration(to.since(SimTime::ZERO)),
                    crate::engine::format_duration(now.since(SimTime::ZERO))
                ))
            } else {
                Ok(to)
            }
        }
        _ => Err("give exactly one of By and To, e.g. {\"By\": \"10m\"}".into()),
    }
}

/// Unix seconds as CVM writes timestamps: `2020-03-10T02:43:51Z`.
pub fn iso8601(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A simulated time as a CVM timestamp, `epoch` being simulated time 0.
pub fn sim_iso8601(epoch: i64, t: SimTime) -> String {
    iso8601(epoch + (t.ms() / 1000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_cvms_spelling() {
        // CVM's own example (DescribeInstances' CreatedTime) and the Unix epoch.
        assert_eq!(iso8601(1_583_808_231), "2020-03-10T02:43:51Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(DEFAULT_EPOCH), "2026-01-01T00:00:00Z");
        // A leap day.
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            sim_iso8601(DEFAULT_EPOCH, SimTime(86_400_000 + 61_999)),
            "2026-01-02T00:01:01Z"
        );
    }

    #[test]
    fn clock_modes_parse() {
        assert_eq!(ClockMode::parse("manual"), Ok(ClockMode::Manual));
        assert_eq!(ClockMode::parse("realtime"), Ok(ClockMode::Realtime));
        assert_eq!(ClockMode::parse("speedup=60"), Ok(ClockMode::Speedup(60.0)));
        for bad in [
            "speedup=0",
            "speedup=-1",
            "speedup=x",
            "fast",
            "speedup=inf",
        ] {
            assert!(ClockMode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn advance_bodies() {
        let now = SimTime(60_000);
        let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            advance_target(now, &v(r#"{"By":"10m"}"#)),
            Ok(SimTime(660_000))
        );
        assert_eq!(
            advance_target(now, &v(r#"{"To":"3d12h"}"#)),
            Ok(SimTime(84 * 3_600_000))
        );
        for bad in [
            r#"{}"#,
            r#"{"By":"10m","To":"1h"}"#,
            r#"{"By":5}"#,
            r#"{"To":"30s"}"#,
            "[]",
            r#"{"By":"ten"}"#,
        ] {
            assert!(advance_target(now, &v(bad)).is_err(), "{bad}");
        }
    }
}
