//! Helpers shared by the integration tests: running the binary, fresh folders, and reading and
//! checking a run folder (`summary.json`, `instances.csv`, `timeseries.csv`).
//!
//! Every test binary includes this module but uses only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `fleetsim` binary built for these tests.
pub fn fleetsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fleetsim"))
}

/// Runs `fleetsim` with `args` and returns its output (never panics on a failed exit).
pub fn run_cli<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    fleetsim()
        .args(args)
        .output()
        .expect("cannot start fleetsim")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a successful exit, showing stderr otherwise.
pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "fleetsim failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// A fresh, empty folder for one test, unique to this process (other `cargo test` runs may share
/// the target folder), removed when dropped unless the test is failing (to look at it).
pub struct TestDir(PathBuf);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn fresh_dir(name: &str) -> TestDir {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fleetsim-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("cannot create a test folder");
    TestDir(d)
}

/// Writes `text` to `dir/file` and returns the path.
pub fn write_file(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, text).expect("cannot write a test file");
    p
}

/// Parses a scenario held in a string; panics with the error on a bad one.
pub fn scenario(text: &str) -> fleetsim::scenario::Scenario {
    fleetsim::scenario::parse_scenario(text, "inline.toml")
        .unwrap_or_else(|e| panic!("test scenario is invalid: {e}"))
}

/// `summary.json` of a run folder.
pub fn read_summary(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json is not JSON")
}

/// `summary.json` without the two wall-clock fields, which legitimately differ between runs.
pub fn summary_without_timing(dir: &Path) -> Value {
    let mut v = read_summary(dir);
    let obj = v.as_object_mut().expect("summary.json is an object");
    assert!(obj.remove("wall_seconds").is_some(), "no wall_seconds");
    assert!(
        obj.remove("events_per_second").is_some(),
        "no events_per_second"
    );
    v
}

pub fn u(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("summary.{key} missing or not an unsigned integer: {v}"))
}

pub fn f(v: &Value, key: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("summary.{key} missing or not a number: {v}"))
}

/// Parses the files' time format (seconds with exactly three decimals) into milliseconds.
pub fn parse_secs(s: &str) -> u64 {
    let (whole, frac) = s
        .split_once('.')
        .unwrap_or_else(|| panic!("time `{s}` has no `.mmm` part"));
    assert!(
        frac.len() == 3 && frac.bytes().all(|b| b.is_ascii_digit()),
        "time `{s}` does not have exactly 3 decimals"
    );
    assert!(
        !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()),
        "time `{s}` is malformed"
    );
    whole.parse::<u64>().unwrap() * 1000 + frac.parse::<u64>().unwrap()
}

fn parse_opt_secs(s: &str) -> Option<u64> {
    if s.is_empty() {
        None
    } else {
        Some(parse_secs(s))
    }
}

/// One row of `instances.csv`.
#[derive(Clone, Debug)]
pub struct InstanceRow {
    pub id: String,
    pub zone: String,
    pub itype: String,
    pub vcpus: u64,
    pub memory_gib: u64,
    pub charge: String,
    pub owner: String,
    pub created_ms: u64,
    pub running_ms: Option<u64>,
    pub released_ms: Option<u64>,
    pub final_state: String,
    /// The cost column as written (six decimals).
    pub cost_text: String,
    pub cost: f64,
    /// `charge_history`: (ms, charge type) from creation on; empty if it never changed.
    pub history: Vec<(u64, String)>,
}

impl InstanceRow {
    /// The charge types over the instance's life: (type, from ms, to ms), the last one to its
    /// release (or `u64::MAX` while alive).
    pub fn charge_spans(&self) -> Vec<(&str, u64, u64)> {
        let end = self.released_ms.unwrap_or(u64::MAX);
        if self.history.is_empty() {
            return vec![(self.charge.as_str(), self.created_ms, end)];
        }
        let mut out = Vec::new();
        for (i, (from, charge)) in self.history.iter().enumerate() {
            let to = self.history.get(i + 1).map_or(end, |h| h.0);
            out.push((charge.as_str(), *from, to));
        }
        out
    }
}

/// One row of `timeseries.csv`.
#[derive(Clone, Debug)]
pub struct SampleRow {
    pub time_ms: u64,
    pub zone: String,
    pub charge: String,
    pub state: String,
    pub instances: u64,
    pub vcpus: u64,
    pub memory_gib: u64,
}

pub const INSTANCES_HEADER: &str = "instance_id,zone,instance_type,vcpus,memory_gib,charge_type,owner,created_s,running_s,released_s,final_state,charged,refunded,cost,charge_history,spot_reclaimed,cost_disk,cost_network";
pub const TIMESERIES_HEADER: &str = "time_s,zone,charge_type,state,instances,vcpus,memory_gib";

pub const STATES: [&str; 9] = [
    "PENDING",
    "LAUNCH_FAILED",
    "RUNNING",
    "STOPPED",
    "STARTING",
    "STOPPING",
    "REBOOTING",
    "SHUTDOWN",
    "TERMINATING",
];
pub const CHARGES: [&str; 3] = ["PREPAID", "POSTPAID_BY_HOUR", "SPOTPAID"];

fn header_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().next().unwrap_or_default().to_string()
}

pub fn read_instances(dir: &Path) -> Vec<InstanceRow> {
    let path = dir.join("instances.csv");
    assert_eq!(header_line(&path), INSTANCES_HEADER, "instances.csv header");
    let mut r = csv::Reader::from_path(&path).expect("instances.csv");
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.expect("instances.csv: bad record");
        assert_eq!(rec.len(), 18, "instances.csv row {rec:?}");
        let cost_text = rec[13].to_string();
        rows.push(InstanceRow {
            id: rec[0].to_string(),
            zone: rec[1].to_string(),
            itype: rec[2].to_string(),
            vcpus: rec[3].parse().expect("vcpus"),
            memory_gib: rec[4].parse().expect("memory_gib"),
            charge: rec[5].to_string(),
            owner: rec[6].to_string(),
            created_ms: parse_secs(&rec[7]),
            running_ms: parse_opt_secs(&rec[8]),
            released_ms: parse_opt_secs(&rec[9]),
            final_state: rec[10].to_string(),
            cost: cost_text.parse().expect("cost"),
            cost_text,
            history: parse_charge_history(&rec[14]),
        });
    }
    rows
}

/// `TYPE@seconds;TYPE@seconds` (the first at creation, in time order, each a change), or empty.
fn parse_charge_history(text: &str) -> Vec<(u64, String)> {
    if text.is_empty() {
        return Vec::new();
    }
    let h: Vec<(u64, String)> = text
        .split(';')
        .map(|part| {
            let (charge, at) = part
                .split_once('@')
                .unwrap_or_else(|| panic!("charge_history `{text}`"));
            assert!(CHARGES.contains(&charge), "charge_history `{text}`");
            (parse_secs(at), charge.to_string())
        })
        .collect();
    assert!(
        h.len() >= 2,
        "a charge history has its start and a change: `{text}`"
    );
    assert!(
        h.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 != w[1].1),
        "charge_history `{text}`: out of order or not a change"
    );
    h
}

pub fn read_timeseries(dir: &Path) -> Vec<SampleRow> {
    let path = dir.join("timeseries.csv");
    assert_eq!(
        header_line(&path),
        TIMESERIES_HEADER,
        "timeseries.csv header"
    );
    let mut r = csv::Reader::from_path(&path).expect("timeseries.csv");
    r.records()
        .map(|rec| {
            let rec = rec.expect("timeseries.csv: bad record");
            assert_eq!(rec.len(), 7, "timeseries.csv row {rec:?}");
            SampleRow {
                time_ms: parse_secs(&rec[0]),
                zone: rec[1].to_string(),
                charge: rec[2].to_string(),
                state: rec[3].to_string(),
                instances: rec[4].parse().expect("instances"),
                vcpus: rec[5].parse().expect("vcpus"),
                memory_gib: rec[6].parse().expect("memory_gib"),
            }
        })
        .collect()
}

/// `ins-` followed by exactly eight characters of `[0-9a-z]`.
pub fn is_instance_id(s: &str) -> bool {
    s.len() == 12
        && s.starts_with("ins-")
        && s[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// vCPUs and memory of a type by the CVM naming rule (`S5.2XLARGE16` → 8, 16), written out
/// independently of the crate.
pub fn type_shape(name: &str) -> (u64, u64) {
    let (_, rest) = name.split_once('.').expect("type has a `.`");
    let cut = rest
        .rfind(|c: char| !c.is_ascii_digit())
        .expect("type has a size")
        + 1;
    let (size, mem) = rest.split_at(cut);
    let vcpus = match size {
        "SMALL" => 1,
        "MEDIUM" => 2,
        "LARGE" | "XLARGE" => 4,
        s => {
            4 * s
                .trim_end_matches("XLARGE")
                .parse::<u64>()
                .expect("nXLARGE")
        }
    };
    (vcpus, mem.parse().expect("memory"))
}

/// Largest weighted number of intervals `[start, end)` open at once. With `ends_first`, an end
/// and a start at the same instant do not overlap; otherwise they do.
pub fn max_overlap(intervals: impl IntoIterator<Item = (u64, u64, u64)>, ends_first: bool) -> u64 {
    let mut ev: Vec<(u64, i8, u64)> = Vec::new();
    for (s, e, w) in intervals {
        ev.push((s, 1, w));
        ev.push((e, -1, w));
    }
    ev.sort_by_key(|&(t, d, _)| (t, if ends_first { d } else { -d }));
    let (mut cur, mut best) = (0i64, 0i64);
    for (_, d, w) in ev {
        cur += d as i64 * w as i64;
        best = best.max(cur);
    }
    best as u64
}

/// Everything read from a run folder, after [`check_run_folder`] has checked it.
pub struct RunFolder {
    pub summary: Value,
    pub instances: Vec<InstanceRow>,
    pub samples: Vec<SampleRow>,
}

/// Reads a run folder and checks the invariants every run must satisfy, whatever the scenario:
///
/// * created = terminated + alive at end; one `instances.csv` row per created instance, ids
///   unique and CVM-shaped; RELEASED rows = terminated, the others = alive at end;
/// * times ordered (created ≤ running ≤ released ≤ duration) and present exactly when they
///   should be; vCPUs and memory match the type name;
/// * every cost ≥ 0, and the cost column sums to `cost_total` and per charge type to
///   `cost_by_charge_type` (rows are rounded to 1e-6 each);
/// * instances that never ran and are not PENDING are exactly the launch failures;
/// * `mean_instances_alive` is exactly the time-average from the rows' lifetimes (sample-path
///   Little's law), and `peak_instances_alive` is at least the mean and every sampled total;
/// * `timeseries.csv`: times on the sampling grid (multiples of `sample_interval_ms`, or the
///   horizon), in order; one row per (time, zone, charge, state); positive counts; counts per
///   (zone, charge) at each sample agree with the rows' lifetimes; at the horizon the total is
///   `instances_alive_at_end`.
pub fn check_run_folder(dir: &Path, sample_interval_ms: u64) -> RunFolder {
    let s = read_summary(dir);
    for key in [
        "scenario",
        "seed",
        "duration_s",
        "currency",
        "events_processed",
        "instances_created",
        "instances_terminated",
        "instances_launch_failed",
        "instances_alive_at_end",
        "requests_refused",
        "api_calls_total",
        "api_calls_throttled",
        "api_errors_by_code",
        "cost_total",
        "cost_by_charge_type",
        "mean_instances_alive",
        "peak_instances_alive",
        "wall_seconds",
        "events_per_second",
    ] {
        assert!(s.get(key).is_some(), "summary.json has no `{key}`: {s}");
    }
    let created = u(&s, "instances_created");
    let terminated = u(&s, "instances_terminated");
    let alive = u(&s, "instances_alive_at_end");
    let horizon = (f(&s, "duration_s") * 1000.0).round() as u64;
    assert_eq!(
        created,
        terminated + alive,
        "created != terminated + alive at end"
    );
    assert!(u(&s, "events_processed") > 0);

    let rows = read_instances(dir);
    assert_eq!(
        rows.len() as u64,
        created,
        "instances.csv rows != instances_created"
    );
    let mut ids = HashSet::new();
    let mut shapes: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut released = 0u64;
    let mut never_ran = 0u64;
    let mut sum = 0.0;
    // Rows whose charge type changed split their cost between types in ways instances.csv does
    // not show: the per-type check then reads costs.csv, which books each part under its type.
    let mut changed = 0usize;
    let mut by_charge: BTreeMap<&str, f64> = BTreeMap::new();
    let mut area: u128 = 0;
    for r in &rows {
        assert!(is_instance_id(&r.id), "bad instance id `{}`", r.id);
        assert!(ids.insert(r.id.as_str()), "duplicate instance id {}", r.id);
        assert!(CHARGES.contains(&r.charge.as_str()), "{r:?}");
        assert!(
            ["workload", "trace", "autoscaler"]
                .iter()
                .any(|p| r.owner.starts_with(p))
                || r.owner == "script"
                || r.owner == "pool",
            "{r:?}"
        );
        let shape = type_shape(&r.itype);
        assert_eq!((r.vcpus, r.memory_gib), shape, "shape of {r:?}");
        assert_eq!(
            *shapes.entry(r.itype.as_str()).or_insert(shape),
            shape,
            "{r:?}"
        );
        assert!(r.created_ms < horizon, "created after the horizon: {r:?}");
        if let Some(run) = r.running_ms {
            assert!(run >= r.created_ms, "running before created: {r:?}");
            assert!(run < horizon, "running at or after the horizon: {r:?}");
        } else if r.final_state != "PENDING" {
            never_ran += 1;
        }
        if r.final_state == "RELEASED" {
            released += 1;
            let rel = r
                .released_ms
                .unwrap_or_else(|| panic!("no released_s: {r:?}"));
            assert!(rel >= r.created_ms, "released before created: {r:?}");
            if let Some(run) = r.running_ms {
                assert!(rel >= run, "released before running: {r:?}");
            }
            assert!(rel < horizon, "released at or after the horizon: {r:?}");
        } else {
            assert!(
                STATES.contains(&r.final_state.as_str()),
                "unknown final_state: {r:?}"
            );
            assert!(r.released_ms.is_none(), "alive but released_s: {r:?}");
        }
        if r.final_state == "PENDING" {
            assert!(r.running_ms.is_none(), "PENDING but ran: {r:?}");
        }
        if r.final_state == "RUNNING" {
            assert!(r.running_ms.is_some(), "RUNNING but no running_s: {r:?}");
        }
        assert!(r.cost >= 0.0, "negative cost: {r:?}");
        let (_, decimals) = r.cost_text.split_once('.').expect("cost has decimals");
        assert_eq!(decimals.len(), 6, "cost not written with 6 decimals: {r:?}");
        sum += r.cost;
        if r.history.is_empty() {
            *by_charge.entry(r.charge.as_str()).or_default() += r.cost;
        } else {
            assert_eq!(
                r.history[0].0, r.created_ms,
                "charge_history starts at creation: {r:?}"
            );
            assert_eq!(
                r.history.last().map(|h| h.1.as_str()),
                Some(r.charge.as_str()),
                "{r:?}"
            );
            changed += 1;
        }
        area += (r.released_ms.unwrap_or(horizon) - r.created_ms) as u128;
    }
    assert_eq!(
        released, terminated,
        "RELEASED rows != instances_terminated"
    );
    assert_eq!(
        never_ran,
        u(&s, "instances_launch_failed"),
        "rows that never ran (and are not PENDING) != instances_launch_failed"
    );

    // Costs: each row is rounded to 1e-6, so the sum may drift by at most 5e-7 per row.
    let total = f(&s, "cost_total");
    let tol = 1e-6 * (rows.len() as f64 + 1.0) + 1e-9 * total.abs();
    assert!(
        (sum - total).abs() <= tol,
        "Σ cost column = {sum}, summary cost_total = {total}"
    );
    let per = s["cost_by_charge_type"]
        .as_object()
        .expect("cost_by_charge_type");
    let (costs_by_charge, tol_hourly) = if changed > 0 {
        let mut m: BTreeMap<String, f64> = BTreeMap::new();
        let mut n = 0;
        let mut r = csv::Reader::from_path(dir.join("costs.csv")).expect("costs.csv");
        for rec in r.records() {
            let rec = rec.expect("costs.csv record");
            *m.entry(rec[2].to_string()).or_default() += rec[3].parse::<f64>().expect("cost");
            n += 1;
        }
        (m, 1e-6 * (n as f64 + 1.0) + 1e-9 * total.abs())
    } else {
        (BTreeMap::new(), 0.0)
    };
    let mut per_sum = 0.0;
    for (k, v) in per {
        assert!(CHARGES.contains(&k.as_str()), "unknown charge type {k}");
        let v = v.as_f64().expect("cost is a number");
        assert!(v >= 0.0);
        per_sum += v;
        let rows_sum = by_charge.get(k.as_str()).copied().unwrap_or(0.0);
        if changed == 0 {
            assert!(
                (rows_sum - v).abs() <= tol,
                "{k}: Σ rows = {rows_sum}, summary = {v}"
            );
        } else {
            let hourly = costs_by_charge.get(k.as_str()).copied().unwrap_or(0.0);
            assert!(
                (hourly - v).abs() <= tol_hourly,
                "{k}: Σ costs.csv = {hourly}, summary = {v}"
            );
            assert!(
                rows_sum <= v + tol,
                "{k}: Σ rows that never changed type = {rows_sum} > summary = {v}"
            );
        }
    }
    assert!(
        (per_sum - total).abs() <= 1e-6 + 1e-9 * total,
        "Σ cost_by_charge_type = {per_sum}, cost_total = {total}"
    );

    // Sample-path Little's law: the time-average number in the fleet is Σ time in fleet / T.
    let mean = f(&s, "mean_instances_alive");
    let want = area as f64 / horizon as f64;
    assert!(
        (mean - want).abs() <= 1e-9 * want.max(1.0),
        "mean_instances_alive = {mean}, Σ(time in fleet)/T from instances.csv = {want}"
    );
    let peak = u(&s, "peak_instances_alive");
    assert!(peak as f64 >= mean, "peak {peak} < mean {mean}");
    // The peak is observed after each event; several events may share an instant, so it lies
    // between the overlap counted with releases first and with creations first.
    let spans = || {
        rows.iter()
            .map(|r| (r.created_ms, r.released_ms.unwrap_or(u64::MAX), 1))
    };
    let (low, high) = (max_overlap(spans(), true), max_overlap(spans(), false));
    assert!(
        low <= peak && peak <= high,
        "peak_instances_alive = {peak}, but instances.csv has {low}..={high} at once at most"
    );

    let samples = read_timeseries(dir);
    check_samples(&samples, &rows, horizon, sample_interval_ms, alive, peak);
    RunFolder {
        summary: s,
        instances: rows,
        samples,
    }
}

fn check_samples(
    samples: &[SampleRow],
    rows: &[InstanceRow],
    horizon: u64,
    interval: u64,
    alive: u64,
    peak: u64,
) {
    let mut seen = HashSet::new();
    let mut last_t = 0;
    let mut totals: BTreeMap<u64, u64> = BTreeMap::new();
    for r in samples {
        assert!(
            r.time_ms.is_multiple_of(interval) || r.time_ms == horizon,
            "sample off the grid: {r:?}"
        );
        assert!(r.time_ms <= horizon, "sample after the horizon: {r:?}");
        assert!(r.time_ms >= last_t, "samples out of order at {r:?}");
        last_t = r.time_ms;
        assert!(
            seen.insert((r.time_ms, r.zone.clone(), r.charge.clone(), r.state.clone())),
            "two rows for one (time, zone, charge, state): {r:?}"
        );
        assert!(STATES.contains(&r.state.as_str()), "{r:?}");
        assert!(CHARGES.contains(&r.charge.as_str()), "{r:?}");
        assert!(r.instances > 0, "zero row written: {r:?}");
        assert!(
            r.vcpus >= r.instances && r.memory_gib >= r.instances,
            "{r:?}"
        );
        *totals.entry(r.time_ms).or_default() += r.instances;
    }
    let at_end = totals.get(&horizon).copied().unwrap_or(0);
    assert_eq!(
        at_end, alive,
        "instances in timeseries.csv at the horizon != instances_alive_at_end"
    );
    if alive > 0 {
        assert_eq!(last_t, horizon, "no sample at the horizon");
    }
    for (&t, &n) in &totals {
        assert!(n <= peak, "sample at {t} ms holds {n} > peak {peak}");
    }

    // Per (zone, charge) instances, vCPUs and memory at every sample time, from
    // instances.csv. An instance created or released exactly at a sample instant may or may not
    // be counted (events at one instant are ordered by scheduling), hence bounds: created < t <
    // released for [lo], created <= t <= released for [hi].
    let times: Vec<u64> = (0..=horizon / interval)
        .map(|k| k * interval)
        .chain((!horizon.is_multiple_of(interval)).then_some(horizon))
        .collect();
    let n = times.len();
    type Diff = Vec<[i64; 3]>;
    let mut lo: HashMap<(&str, &str), Diff> = HashMap::new();
    let mut hi: HashMap<(&str, &str), Diff> = HashMap::new();
    // A change of charge type at a sample instant is bounded the same way.
    for (r, (charge, start, end)) in rows
        .iter()
        .flat_map(|r| r.charge_spans().into_iter().map(move |span| (r, span)))
    {
        let key = (r.zone.as_str(), charge);
        let w = [1, r.vcpus as i64, r.memory_gib as i64];
        for (map, a, b) in [
            (
                &mut lo,
                times.partition_point(|&t| t <= start),
                times.partition_point(|&t| t < end),
            ),
            (
                &mut hi,
                times.partition_point(|&t| t < start),
                times.partition_point(|&t| t <= end),
            ),
        ] {
            let d = map.entry(key).or_insert_with(|| vec![[0; 3]; n + 1]);
            if a < b {
                for k in 0..3 {
                    d[a][k] += w[k];
                    d[b][k] -= w[k];
                }
            }
        }
    }
    let mut cells: HashMap<(u64, &str, &str), [i64; 3]> = HashMap::new();
    for r in samples {
        let c = cells
            .entry((r.time_ms, r.zone.as_str(), r.charge.as_str()))
            .or_default();
        c[0] += r.instances as i64;
        c[1] += r.vcpus as i64;
        c[2] += r.memory_gib as i64;
    }
    let keys: HashSet<(&str, &str)> = lo
        .keys()
        .copied()
        .chain(cells.keys().map(|&(_, z, c)| (z, c)))
        .collect();
    let empty: Diff = vec![[0; 3]; n + 1];
    for key in keys {
        let (mut cl, mut ch) = ([0i64; 3], [0i64; 3]);
        let dl = lo.get(&key).unwrap_or(&empty);
        let dh = hi.get(&key).unwrap_or(&empty);
        for (i, &t) in times.iter().enumerate() {
            let got = cells.get(&(t, key.0, key.1)).copied().unwrap_or_default();
            for (k, what) in ["instances", "vcpus", "memory_gib"].iter().enumerate() {
                cl[k] += dl[i][k];
                ch[k] += dh[i][k];
                assert!(
                    cl[k] <= got[k] && got[k] <= ch[k],
                    "timeseries.csv at {t} ms, {key:?}: {} {what}; instances.csv says {}..={}",
                    got[k],
                    cl[k],
                    ch[k]
                );
            }
        }
    }
}
