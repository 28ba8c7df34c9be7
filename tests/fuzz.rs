//! A fuzzing harness without an external fuzzer: a seeded generator mutates the shipped
//! scenarios (`scenarios/`, `scenarios/lessons/`) and a small trace CSV, and feeds the results
//! to the scenario loader (`validate`), to short runs and to `fit`, through the library and, for
//! a smaller share, through the CLI binary. It asserts:
//!
//! * no panic, anywhere;
//! * every rejection is an `Err` (or a non-zero exit) with a non-empty message;
//! * no output is left behind: runs write into a folder of their own, which after a failed
//!   run holds neither a result folder nor a staging folder.
//!
//! `FLEETSIM_FUZZ_CASES` sets the number of scenario cases (default 3000, 10 to 30 s in a
//! debug build with the CSV and CLI cases; they scale with it); `FLEETSIM_FUZZ_SEED` the seed.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;
use fleetsim::run::{RunOptions, run};
use fleetsim::workload::fit::{FitOptions, azure2017_columns, fit};
use toml::Value;

/// xorshift64*: small, seeded, the same everywhere.
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.next().is_multiple_of(one_in)
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn shipped_scenarios() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("lessons")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("scenarios folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
            .collect();
        files.sort();
        for p in files {
            let text = std::fs::read_to_string(&p).expect("scenario");
            out.push((p.file_name().unwrap().to_string_lossy().into_owned(), text));
        }
    }
    assert!(out.len() >= 10, "only {} shipped scenarios", out.len());
    out
}

/// Every path (keys and array indices) to a value in `v`.
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    match v {
        Value::Table(t) => {
            for (k, x) in t {
                prefix.push(PathStep::Key(k.clone()));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                out.push(prefix.clone());
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// The container holding the last step of `path`, and that step.
fn parent_mut<'a>(root: &'a mut Value, path: &[PathStep]) -> Option<&'a mut Value> {
    let mut v = root;
    for s in &path[..path.len() - 1] {
        v = match (s, v) {
            (PathStep::Key(k), Value::Table(t)) => t.get_mut(k)?,
            (PathStep::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

fn get_mut<'a>(parent: &'a mut Value, step: &PathStep) -> Option<&'a mut Value> {
    match (step, parent) {
        (PathStep::Key(k), Value::Table(t)) => t.get_mut(k),
        (PathStep::Index(i), Value::Array(a)) => a.get_mut(*i),
        _ => None,
    }
}

const NUMBERS: &[f64] = &[
    0.0,
    -1.0,
    -0.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e308,
    1e-308,
    4294967296.0,
    1e19,
];
const INTS: &[i64] = &[0, -1, 1, i64::MAX, i64::MIN, 4_294_967_296, 65_536];
const STRINGS: &[&str] = &[
    "",
    "0s",
    "-1h",
    "1e400d",
    "NaN",
    "99999999999d",
    "ap-guangzhou-99",
    "S5.MEDIUM0",
    "x",
    "1/0s",
    "0/1m",
    "\u{0}",
];

/// One value-level mutation of `doc`; returns what was done.
fn mutate_value(doc: &mut Value, g: &mut Gen) -> String {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    if all.is_empty() {
        return "nothing to mutate".into();
    }
    let path = all[g.below(all.len())].clone();
    let last = path.last().cloned().expect("non-empty path");
    let Some(parent) = parent_mut(doc, &path) else {
        return "stale path".into();
    };
    let what = g.below(8);
    let desc = format!("{path:?}");
    if what == 0 {
        // delete
        match (&last, parent) {
            (PathStep::Key(k), Value::Table(t)) => {
                t.remove(k);
            }
            (PathStep::Index(i), Value::Array(a)) => {
                a.remove(*i);
            }
            _ => {}
        }
        return format!("delete {desc}");
    }
    if what == 1 {
        // duplicate into an array, or copy under another key
        match (&last, parent) {
            (PathStep::Index(i), Value::Array(a)) => {
                let x = a[*i].clone();
                a.push(x);
            }
            (PathStep::Key(k), Value::Table(t)) => {
                if let Some(x) = t.get(k).cloned() {
                    let keys: Vec<String> = t.keys().cloned().collect();
                    let other = keys[g.below(keys.len())].clone();
                    t.insert(other, x);
                }
            }
            _ => {}
        }
        return format!("duplicate {desc}");
    }
    let Some(v) = get_mut(parent, &last) else {
        return "stale".into();
    };
    let new = match (what, &*v) {
        (2, Value::String(s)) => {
            let cut = g.below(s.len() + 1);
            Value::String(s.chars().take(cut).collect())
        }
        (2 | 3, Value::Integer(_)) => Value::Integer(INTS[g.below(INTS.len())]),
        (2 | 3, Value::Float(_)) => Value::Float(NUMBERS[g.below(NUMBERS.len())]),
        (3, Value::String(s)) => {
            // a number inside the text ("16h" -> "0h"), or a hostile string
            let digits: String = s.chars().filter(|c| !c.is_ascii_digit()).collect();
            if g.chance(2) {
                Value::String(format!("{}{digits}", INTS[g.below(INTS.len())]))
            } else {
                Value::String(STRINGS[g.below(STRINGS.len())].into())
            }
        }
        // type swaps
        (4, Value::String(_)) => Value::Integer(INTS[g.below(INTS.len())]),
        (4, Value::Integer(_) | Value::Float(_)) => Value::String("12".into()),
        (4, Value::Table(_)) => Value::Array(vec![]),
        (4, Value::Array(_)) => Value::String("[]".into()),
        (4, Value::Boolean(b)) => Value::Integer(*b as i64),
        (5, _) => Value::Float(NUMBERS[g.below(NUMBERS.len())]),
        (6, _) => Value::Boolean(true),
        (_, Value::Array(a)) if !a.is_empty() => Value::Array(vec![]),
        (_, Value::Table(_)) => Value::Table(Default::default()),
        _ => Value::Integer(INTS[g.below(INTS.len())]),
    };
    *v = new;
    format!("change {desc} (kind {what})")
}

/// A text-level mutation: a line duplicated or deleted, or the text cut short.
fn mutate_text(text: &str, g: &mut Gen) -> (String, String) {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return (text.to_string(), "empty".into());
    }
    let i = g.below(lines.len());
    match g.below(3) {
        0 => {
            let mut v = lines.clone();
            v.insert(i, lines[i]);
            (v.join("\n"), format!("duplicate line {}", i + 1))
        }
        1 => {
            let mut v = lines.clone();
            v.remove(i);
            (v.join("\n"), format!("delete line {}", i + 1))
        }
        _ => {
            let mut cut = g.below(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            (text[..cut].to_string(), format!("cut at byte {cut}"))
        }
    }
}

/// Rough count of events a run of `scn` makes, to skip mutants that would take seconds (a
/// rate or sample interval pushed to an extreme is a valid scenario, just a slow one).
fn cheap(scn: &fleetsim::scenario::Scenario) -> bool {
    let d = scn.duration.ms() as f64;
    let samples = d / scn.sample_interval.ms().max(1) as f64;
    let spot = d / scn.spot_step.ms().max(1) as f64;
    let arrivals: f64 = scn
        .workloads
        .iter()
        .map(|w| w.rate_per_ms * d * 10.0 * w.per_request.max(1) as f64)
        .sum();
    let faults = scn.faults.len() as f64 * 1000.0;
    let autoscale = scn.autoscalers.len() as f64 * 2000.0;
    d <= 86_400_000.0 && samples + spot + arrivals + faults + autoscale < 20_000.0
}

/// What a run folder's parent must hold after a failed run: nothing.
fn assert_nothing_left(dir: &Path, case: &str) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{case}: a failed run left {left:?} behind");
}

static LAST_PANIC: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn last_panic() -> String {
    LAST_PANIC.lock().map(|l| l.clone()).unwrap_or_default()
}

#[derive(Default)]
struct Tally {
    cases: u64,
    loaded: u64,
    rejected: u64,
    ran: u64,
    run_failed: u64,
    cli: u64,
    csv: u64,
    panics: Vec<String>,
    run_secs: f64,
    cli_secs: f64,
}

/// Loads (validates) `text` as a scenario file in `dir`, then runs it shortly if it loads and
/// is cheap; every failure must carry a message and leave nothing behind.
fn scenario_case(dir: &Path, case: &str, text: &str, t: &mut Tally) {
    let file = dir.join("s.toml");
    std::fs::write(&file, text).expect("write scenario");
    t.cases += 1;
    let loaded = catch_unwind(AssertUnwindSafe(|| fleetsim::scenario::load_file(&file)));
    let scn = match loaded {
        Err(_) => {
            t.panics
                .push(format!("{case}: load panicked: {}", last_panic()));
            return;
        }
        Ok(Err(e)) => {
            t.rejected += 1;
            assert!(!e.to_string().trim().is_empty(), "{case}: empty message");
            return;
        }
        Ok(Ok(s)) => s,
    };
    t.loaded += 1;
    let _ = catch_unwind(AssertUnwindSafe(|| fleetsim::cli::validate_report(&scn))).map_err(|_| {
        t.panics.push(format!(
            "{case}: validate report panicked: {}",
            last_panic()
        ))
    });
    if !cheap(&scn) {
        return;
    }
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).expect("runs dir");
    let out = runs.join("out");
    // One run in four writes its folder (charts and all, the slow part); the others check
    // the simulation alone.
    let write_files = t.ran.is_multiple_of(4);
    let t0 = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| {
        run(
            &scn,
            RunOptions {
                out: Some(out.clone()),
                seed: None,
                trace: None,
                write_files,
            },
        )
    }));
    t.ran += 1;
    t.run_secs += t0.elapsed().as_secs_f64();
    match r {
        Err(_) => t
            .panics
            .push(format!("{case}: run panicked: {}", last_panic())),
        Ok(Err(e)) => {
            t.run_failed += 1;
            assert!(!format!("{e:#}").trim().is_empty(), "{case}: empty message");
            assert_nothing_left(&runs, case);
        }
        Ok(Ok(_)) => {
            assert!(
                !write_files || out.join("summary.json").exists(),
                "{case}: no summary"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&runs);
}

/// Through the binary: `validate`, then `run --set duration=…` into a folder of its own.
fn cli_case(dir: &Path, case: &str, text: &str, t: &mut Tally) {
    let file = dir.join("c.toml");
    std::fs::write(&file, text).expect("write scenario");
    t.cli += 1;
    let o = run_cli(["validate".as_ref(), file.as_os_str()]);
    let err = stderr(&o);
    assert!(
        !err.contains("panicked"),
        "{case}: validate panicked: {err}"
    );
    if !o.status.success() {
        assert!(!err.trim().is_empty(), "{case}: validate failed silently");
        return;
    }
    // Only run what the library found cheap.
    match fleetsim::scenario::load_file(&file) {
        Ok(s) if cheap(&s) => {}
        _ => return,
    }
    let runs = dir.join("cli-runs");
    std::fs::create_dir_all(&runs).expect("runs dir");
    let out = runs.join("out");
    let o = run_cli([
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{case}: run panicked: {err}");
    if !o.status.success() {
        assert!(!err.trim().is_empty(), "{case}: run failed silently");
        assert_nothing_left(&runs, case);
    }
    let _ = std::fs::remove_dir_all(&runs);
}

const TRACE_HEAD: &str = "vm_id,batch,create_s,lifetime_s,vcpus,memory_gb";

/// A small valid trace: 40 VMs in 20 batches over two hours.
fn base_trace() -> Vec<String> {
    let mut rows = vec![TRACE_HEAD.to_string()];
    for i in 0..40u64 {
        let life = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}", 300 * (1 + i % 5))
        };
        rows.push(format!(
            "{i},{},{},{life},{},{}",
            i / 2,
            1_800_000 + 180 * (i / 2),
            [1, 2, 4][i as usize % 3],
            [1.75, 3.5, 8.0][i as usize % 3]
        ));
    }
    rows
}

const CSV_FIELDS: &[&str] = &[
    "", "0", "-1", "NaN", "inf", "1e308", "-1e308", "x", "1,2", "\"", "1e19", "0.0001",
];

fn mutate_csv(g: &mut Gen) -> (String, String) {
    let eol = if g.chance(2) { "\r\n" } else { "\n" };
    let mut rows = base_trace();
    let mut desc = Vec::new();
    for _ in 0..1 + g.below(3) {
        let r = g.below(rows.len());
        match g.below(5) {
            0 => {
                rows.remove(r);
                desc.push(format!("delete row {r}"));
            }
            1 => {
                let x = rows[r].clone();
                rows.insert(r, x);
                desc.push(format!("duplicate row {r}"));
            }
            2 => {
                let cut = g.below(rows[r].len() + 1);
                rows[r].truncate(cut);
                desc.push(format!("cut row {r} at {cut}"));
            }
            _ => {
                let mut f: Vec<String> = rows[r].split(',').map(String::from).collect();
                let k = g.below(f.len());
                f[k] = CSV_FIELDS[g.below(CSV_FIELDS.len())].to_string();
                rows[r] = f.join(",");
                desc.push(format!("row {r} field {k} = {:?}", rows[r]));
            }
        }
    }
    let mut text = rows.join(eol);
    text.push_str(eol);
    (text, desc.join("; "))
}

const TRACE_SCENARIO: &str = r#"name = "fuzz-trace"
duration = "6h"
sample_interval = "1h"
instance_types = ["S5.SMALL2", "S5.MEDIUM4", "S5.LARGE8", "S5.2XLARGE16"]
[zones.ap-guangzhou-3]
[[traces]]
name = "t"
file = "t.csv"
time_offset = 1799850
columns = { created = "create_s", lifetime = "lifetime_s", vcpus = "vcpus", memory = "memory_gb" }
"#;

/// A mutated trace, replayed by a short run and fitted.
fn csv_case(dir: &Path, case: &str, csv: &str, t: &mut Tally) {
    std::fs::write(dir.join("t.csv"), csv).expect("write trace");
    t.csv += 1;
    scenario_case(dir, case, TRACE_SCENARIO, t);
    let types: Vec<String> = ["S5.SMALL2", "S5.MEDIUM4", "S5.LARGE8", "S5.2XLARGE16"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = catch_unwind(AssertUnwindSafe(|| {
        let opts = FitOptions::new(&dir.join("t.csv"), azure2017_columns(), &types)?;
        fit(&opts).map(|f| f.to_toml())
    }));
    match r {
        Err(_) => t
            .panics
            .push(format!("{case}: fit panicked: {}", last_panic())),
        Ok(Err(e)) => assert!(!format!("{e:#}").trim().is_empty(), "{case}: empty message"),
        Ok(Ok(text)) => {
            assert!(text.contains("[[workloads]]"), "{case}: {text}");
        }
    }
}

#[test]
fn mutated_inputs_never_panic_and_fail_cleanly() {
    let cases = env_u64("FLEETSIM_FUZZ_CASES", 3000);
    let seed = env_u64("FLEETSIM_FUZZ_SEED", 20_261_202);
    let mut g = Gen(seed | 1);
    let corpus = shipped_scenarios();
    let dir = fresh_dir("fuzz");
    let started = Instant::now();
    let mut t = Tally::default();
    // Panics are counted with where they happened, not printed one by one.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut l) = LAST_PANIC.lock() {
            *l = info.to_string();
        }
    }));
    for i in 0..cases {
        let (name, text) = &corpus[g.below(corpus.len())];
        let mut doc: Value = match toml::from_str(text) {
            Ok(v) => v,
            Err(e) => panic!("{name}: shipped scenario does not parse: {e}"),
        };
        // Short runs: half an hour of simulated time unless a mutation says otherwise.
        if let Value::Table(tb) = &mut doc {
            tb.insert("duration".into(), Value::String("30m".into()));
            tb.insert("sample_interval".into(), Value::String("10m".into()));
        }
        let mut steps = Vec::new();
        for _ in 0..1 + g.below(2) {
            steps.push(mutate_value(&mut doc, &mut g));
        }
        let mut mutated = toml::to_string(&doc).unwrap_or_default();
        if g.chance(6) {
            let (m, d) = mutate_text(&mutated, &mut g);
            mutated = m;
            steps.push(d);
        }
        let case = format!("case {i} ({name}: {})", steps.join("; "));
        scenario_case(&dir, &case, &mutated, &mut t);
        if i % 30 == 0 {
            let t0 = Instant::now();
            cli_case(&dir, &case, &mutated, &mut t);
            t.cli_secs += t0.elapsed().as_secs_f64();
        }
        if i % 5 == 0 {
            let (csv, d) = mutate_csv(&mut g);
            csv_case(&dir, &format!("csv case {i} ({d})"), &csv, &mut t);
        }
    }
    std::panic::set_hook(hook);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "fuzz: {} scenario cases ({} loaded, {} rejected), {} runs ({} failed cleanly), \
         {} trace CSVs, {} through the CLI, {} panics, in {secs:.1} s (runs {:.1} s, CLI {:.1} s)",
        t.cases,
        t.loaded,
        t.rejected,
        t.ran,
        t.run_failed,
        t.csv,
        t.cli,
        t.panics.len(),
        t.run_secs,
        t.cli_secs
    );
    assert!(
        t.panics.is_empty(),
        "{} panics, first ones:\n{}",
        t.panics.len(),
        t.panics
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        t.loaded > 0 && t.rejected > 0 && t.ran > 0,
        "the mutations are too mild or too wild"
    );
}
