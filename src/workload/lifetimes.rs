//! Lifetime distributions beyond the closed forms of [`Dist`]: observed durations read from a
//! file, and quantile lists. Both become an empirical law sampled by inverse transform (one
//! uniform per draw), so a lifetime costs the same to draw whatever its source.

use std::path::Path;

use crate::engine::{Dist, SimDuration, parse_duration};

/// Reads observed durations: one per line, in seconds (`1800`, `12.5`) or with a unit
/// (`"30m"`). Blank lines and lines starting with `#` are skipped, and so is a first line that
/// is not a duration (a CSV header). Only the first comma-separated column is read. Returns
/// the durations in milliseconds, sorted.
pub fn read_durations(path: &Path) -> Result<Vec<f64>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let cell = line
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if cell.is_empty() || cell.starts_with('#') {
            continue;
        }
        let header = first;
        first = false;
        let ms = match cell.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => (s * 1000.0).round(),
            Ok(s) => {
                return Err(format!(
                    "{}:{}: `{s}` is not a duration of 0 seconds or more",
                    path.display(),
                    i + 1
                ));
            }
            Err(_) => match parse_duration(cell) {
                Ok(d) => d.ms() as f64,
                Err(_) if header => continue,
                Err(_) => {
                    return Err(format!(
                        "{}:{}: `{cell}` is not a duration (seconds, or with a unit such as \
                         \"30m\")",
                        path.display(),
                        i + 1
                    ));
                }
            },
        };
        out.push(ms);
    }
    if out.is_empty() {
        return Err(format!("`{}` holds no durations", path.display()));
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// A quantile list `[[p, value], ...]` as a distribution: `p` must rise strictly from 0 to 1 and
/// the values must not fall. On a mistake: the index of the offending point and the message.
pub fn quantile_dist(points: &[(f64, SimDuration)]) -> Result<Dist, (Option<usize>, String)> {
    if points.len() < 2 {
        return Err((
            None,
            "needs at least two points, [0, min] and [1, max]".into(),
        ));
    }
    for (i, &(p, v)) in points.iter().enumerate() {
        if !(0.0..=1.0).contains(&p) {
            return Err((Some(i), format!("p must be within 0 and 1, got {p}")));
        }
        if i > 0 {
            let (q, w) = points[i - 1];
            if p <= q {
                return Err((
                    Some(i),
                    format!("p must rise from one point to the next ({q}, then {p})"),
                ));
            }
            if v < w {
                return Err((
                    Some(i),
                    format!("values must not fall as p rises ({w}, then {v})"),
                ));
            }
        }
    }
    if points[0].0 != 0.0 {
        return Err((
            Some(0),
            format!(
                "the first point must be at p = 0 (the smallest value), got {}",
                points[0].0
            ),
        ));
    }
    let last = points.len() - 1;
    if points[last].0 != 1.0 {
        return Err((
            Some(last),
            format!(
                "the last point must be at p = 1 (the largest value), got {}",
                points[last].0
            ),
        ));
    }
    Ok(Dist::Quantiles {
        points: points.iter().map(|&(p, v)| (p, v.ms() as f64)).collect(),
    })
}
