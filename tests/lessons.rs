//! The teaching scenarios in `scenarios/lessons/`: each runs through the CLI with `--trace`,
//! and what its README paragraph (and its own comment block) claims is checked here, exactly.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

const SEC: u64 = 1000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;

/// The lessons, with their sampling interval (for the run-folder invariants).
const LESSONS: [(&str, u64); 7] = [
    ("01-instance-lifecycle.toml", DAY),
    ("02-quota-wall.toml", 30 * MIN),
    ("03-rate-limit-and-backoff.toml", MIN),
    ("04-prepaid-vs-postpaid.toml", DAY),
    ("05-launch-failed.toml", 10 * MIN),
    ("06-spot-reclaim.toml", 30 * MIN),
    ("07-change-charge-type.toml", DAY),
];

fn lesson_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/lessons")
        .join(file)
}

/// One line of the narration.
#[derive(Clone, Debug)]
struct Line {
    ms: u64,
    /// The instance id, or empty for a call (or another non-instance line).
    id: String,
    what: String,
}

/// A lesson run with `--trace`: its folder, the narration and the parsed lines.
struct Run {
    _dir: TestDir,
    out: PathBuf,
    text: String,
    lines: Vec<Line>,
}

impl Run {
    /// The lines about one instance, as (time, what).
    fn of(&self, id: &str) -> Vec<(u64, &str)> {
        self.lines
            .iter()
            .filter(|l| l.id == id)
            .map(|l| (l.ms, l.what.as_str()))
            .collect()
    }

    /// The call lines (`who calls Action: outcome`).
    fn calls(&self) -> Vec<&Line> {
        self.lines
            .iter()
            .filter(|l| l.id.is_empty() && l.what.contains(" calls "))
            .collect()
    }

    /// Instance ids in order of their `created as` line.
    fn created(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.what.starts_with("created as "))
            .map(|l| l.id.as_str())
            .collect()
    }

    /// The states an instance went through, from its trace lines: `PENDING`, `RUNNING`, …,
    /// `released`.
    fn states(&self, id: &str) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for (t, what) in self.of(id) {
            if let Some(rest) = what.strip_prefix("created as ") {
                out.push((t, rest.split(' ').next().unwrap_or_default().to_string()));
            } else if let Some((_, to)) = what.split_once(" -> ") {
                let to: String = to
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_lowercase())
                    .collect();
                out.push((t, to));
            }
        }
        out
    }
}

/// Runs a lesson into a folder of its own; `tag` keeps two tests running the same lesson at
/// once apart.
fn run_lesson(file: &str, tag: &str) -> Run {
    run_lesson_with(file, tag, &[])
}

/// `run_lesson` with `--set PATH=VALUE` for each of `sets` (a lesson's "Try:" suggestions).
fn run_lesson_with(file: &str, tag: &str, sets: &[&str]) -> Run {
    let dir = fresh_dir(&format!("lesson-{tag}-{}", file.trim_end_matches(".toml")));
    let out = dir.join("out");
    let mut args: Vec<std::ffi::OsString> = vec![
        "run".into(),
        lesson_path(file).into(),
        "--out".into(),
        out.clone().into(),
        "--trace".into(),
    ];
    for s in sets {
        args.push("--set".into());
        args.push(s.into());
    }
    let o = run_cli(args);
    assert_ok(&o);
    let text = stdout(&o);
    let lines = parse_trace(&text);
    Run {
        _dir: dir,
        out,
        text,
        lines,
    }
}

/// `d<day> hh:mm:ss` or `d<day> hh:mm:ss.mmm` → milliseconds.
fn parse_clock(s: &str) -> u64 {
    let num = |x: &str| -> u64 { x.parse().unwrap_or_else(|_| panic!("bad clock `{s}`")) };
    let (day, rest) = s
        .strip_prefix('d')
        .and_then(|s| s.split_once(' '))
        .unwrap_or_else(|| panic!("bad clock `{s}`"));
    let (hms, ms) = match rest.split_once('.') {
        Some((a, b)) => (a, num(b)),
        None => (rest, 0),
    };
    let p: Vec<u64> = hms.split(':').map(num).collect();
    assert_eq!(p.len(), 3, "bad clock `{s}`");
    num(day) * DAY + p[0] * HOUR + p[1] * MIN + p[2] * SEC + ms
}

fn parse_trace(text: &str) -> Vec<Line> {
    text.lines()
        .take_while(|l| !l.starts_with("fleetsim: "))
        .map(|l| {
            let (clock, rest) = l
                .split_once("  ")
                .unwrap_or_else(|| panic!("trace line without two spaces: {l}"));
            let ms = parse_clock(clock);
            match rest.split_once("  ") {
                Some((id, what)) => {
                    assert!(is_instance_id(id), "bad instance id in: {l}");
                    Line {
                        ms,
                        id: id.to_string(),
                        what: what.to_string(),
                    }
                }
                None => Line {
                    ms,
                    id: String::new(),
                    what: rest.to_string(),
                },
            }
        })
        .collect()
}

/// Money as written in the files and the trace (six decimals) → micro-CNY, exactly.
fn micros(text: &str) -> i64 {
    let (whole, frac) = text
        .split_once('.')
        .unwrap_or_else(|| panic!("amount `{text}` without decimals"));
    assert_eq!(frac.len(), 6, "amount `{text}`");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    let w: i64 = whole.trim_start_matches('-').parse().expect("amount");
    let f: i64 = frac.parse().expect("amount");
    sign * (w * 1_000_000 + f)
}

/// `instances.csv` with the money columns, keyed by id.
#[derive(Debug)]
struct Bill {
    itype: String,
    charge: String,
    created_ms: u64,
    released_ms: Option<u64>,
    charged: i64,
    refunded: i64,
    cost: i64,
    history: String,
    reclaimed: bool,
}

fn bills(out: &Path) -> BTreeMap<String, Bill> {
    let mut r = csv::Reader::from_path(out.join("instances.csv")).expect("instances.csv");
    let mut m = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("instances.csv record");
        m.insert(
            rec[0].to_string(),
            Bill {
                itype: rec[2].to_string(),
                charge: rec[5].to_string(),
                created_ms: parse_secs(&rec[7]),
                released_ms: (!rec[9].is_empty()).then(|| parse_secs(&rec[9])),
                charged: micros(&rec[11]),
                refunded: micros(&rec[12]),
                cost: micros(&rec[13]),
                history: rec[14].to_string(),
                reclaimed: &rec[15] == "1",
            },
        );
    }
    m
}

/// `api.csv` summed over time buckets: (action, outcome) → (calls, retries, give_ups).
fn api_totals(out: &Path) -> BTreeMap<(String, String), (u64, u64, u64)> {
    let mut r = csv::Reader::from_path(out.join("api.csv")).expect("api.csv");
    let mut m: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("api.csv record");
        let e = m
            .entry((rec[1].to_string(), rec[2].to_string()))
            .or_default();
        e.0 += rec[3].parse::<u64>().expect("calls");
        e.1 += rec[4].parse::<u64>().expect("retries");
        e.2 += rec[5].parse::<u64>().expect("give_ups");
    }
    m
}

fn errors_by_code(s: &serde_json::Value) -> BTreeMap<String, u64> {
    s["api_errors_by_code"]
        .as_object()
        .expect("api_errors_by_code")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect()
}

fn cost_micros(s: &serde_json::Value) -> i64 {
    (f(s, "cost_total") * 1e6).round() as i64
}

/// Every lesson starts with its comment block, validates, keeps its narration classroom-sized
/// (tens to a few hundred lines) and writes a consistent run folder.
#[test]
fn every_lesson_is_short_commented_and_consistent() {
    let mut found: Vec<String> = std::fs::read_dir(lesson_path(""))
        .expect("scenarios/lessons")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    found.sort();
    let listed: Vec<String> = LESSONS.iter().map(|l| l.0.to_string()).collect();
    assert_eq!(found, listed, "every lesson file is tested");
    for (i, (file, sample_ms)) in LESSONS.iter().enumerate() {
        let text = std::fs::read_to_string(lesson_path(file)).expect("lesson file");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("# Lesson {}: ", i + 1)),
            "{file} starts with `{first}`"
        );
        let comments = text.lines().take_while(|l| l.starts_with('#')).count();
        assert!(
            comments >= 10,
            "{file}: a comment block of {comments} lines"
        );
        assert!(
            text.contains(&format!("fleetsim run scenarios/lessons/{file} --trace")),
            "{file} says how to run it"
        );
        let o = run_cli(["validate".as_ref(), lesson_path(file).as_os_str()]);
        assert_ok(&o);

        let run = run_lesson(file, "all");
        let n = run.lines.len();
        assert!((10..=300).contains(&n), "{file}: {n} trace lines");
        assert!(
            run.lines.windows(2).all(|w| w[0].ms <= w[1].ms),
            "{file}: narration out of time order"
        );
        check_run_folder(&run.out, *sample_ms);
        // One narrated line per API call.
        let s = read_summary(&run.out);
        let calls = run.calls().len() as u64;
        assert_eq!(calls, u(&s, "api_calls_total"), "{file}");
    }
}

/// Lesson 1: the postpaid instance passes through PENDING, RUNNING, STOPPING, STOPPED,
/// STARTING, RUNNING, REBOOTING, RUNNING, STOPPING, STOPPED, RUNNING (as SA2.MEDIUM4),
/// TERMINATING and is released, at the stated times, for 7.10 CNY; the prepaid one goes
/// PENDING, RUNNING, SHUTDOWN (d30), RUNNING (renewed d32, paid until d60), SHUTDOWN (d60),
/// TERMINATING (d61), released, for 600 CNY.
#[test]
fn lesson_1_instance_lifecycle() {
    let run = run_lesson("01-instance-lifecycle.toml", "claims");
    let b = bills(&run.out);
    let ids = run.created();
    assert_eq!(ids.len(), 2, "{}", run.text);
    let (post, pre) = (ids[0], ids[1]);
    assert_eq!(b[post].charge, "POSTPAID_BY_HOUR");
    assert_eq!(b[pre].charge, "PREPAID");

    let st = run.states(post);
    let names: Vec<&str> = st.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(
        names,
        [
            "PENDING",
            "RUNNING",
            "STOPPING",
            "STOPPED",
            "STARTING",
            "RUNNING",
            "REBOOTING",
            "RUNNING",
            "STOPPING",
            "STOPPED",
            "RUNNING",
            "TERMINATING",
            "released"
        ],
        "{}",
        run.text
    );
    let times: Vec<u64> = st.iter().map(|s| s.0).collect();
    let fixed = [
        (0, 0),
        (1, MIN),
        (2, HOUR),
        (3, HOUR + 30 * SEC),
        (4, 2 * HOUR + 30 * SEC),
        (5, 2 * HOUR + MIN),
        (6, 3 * HOUR),
        (7, 3 * HOUR + MIN),
        (8, 4 * HOUR),
        (9, 4 * HOUR + 30 * SEC),
        (11, 8 * HOUR + MIN),
        (12, 8 * HOUR + MIN + 30 * SEC),
    ];
    for (i, t) in fixed {
        assert_eq!(times[i], t, "state {} of {post}: {st:?}", names[i]);
    }
    // The type change takes 1 to 3 minutes (drawn at random).
    let reset = times[10] - times[9];
    assert!((MIN..=3 * MIN).contains(&reset), "reset took {reset} ms");
    let of = run.of(post);
    assert!(
        of.iter().any(|l| l
            .1
            .starts_with("STOPPED -> RUNNING as SA2.MEDIUM4, reset from S5.MEDIUM4")),
        "{of:?}"
    );
    assert!(
        of.iter()
            .any(|l| l.1 == "STOPPED -> STARTING (the 1h in STOPPED cost 0.100000 CNY)"),
        "{of:?}"
    );
    assert_eq!(b[post].itype, "SA2.MEDIUM4");
    // 7 h × 1.00 + 1 h of disk × 50 GiB × 0.002 = 7.10 CNY.
    assert_eq!(b[post].cost, 7_100_000);
    assert_eq!(
        of.last().unwrap().1,
        "TERMINATING -> released; bill 7.100000 CNY"
    );

    let st = run.states(pre);
    assert_eq!(
        st.iter().map(|s| (s.0, s.1.as_str())).collect::<Vec<_>>(),
        [
            (0, "PENDING"),
            (MIN, "RUNNING"),
            (30 * DAY, "SHUTDOWN"),
            (32 * DAY, "RUNNING"),
            (60 * DAY, "SHUTDOWN"),
            (61 * DAY, "TERMINATING"),
            (61 * DAY + 30 * SEC, "released"),
        ],
        "{}",
        run.text
    );
    let of = run.of(pre);
    assert!(
        of[0]
            .1
            .ends_with("; paid 261.000000 CNY up front, covering until d30 00:00:00"),
        "{of:?}"
    );
    assert!(
        of.contains(&(
            32 * DAY,
            "charged 261.000000 CNY (RenewInstances), covering until d60 00:00:00"
        )),
        "{of:?}"
    );
    assert!(of.contains(&(
        32 * DAY,
        "SHUTDOWN -> RUNNING: restored from the recycle bin"
    )));
    assert_eq!(
        (b[pre].charged, b[pre].refunded, b[pre].cost),
        (522_000_000, 0, 522_000_000)
    );

    let s = read_summary(&run.out);
    assert_eq!(cost_micros(&s), 529_100_000);
    assert_eq!(u(&s, "api_calls_total"), 9);
    assert!(errors_by_code(&s).is_empty());
}

/// Lesson 2: some RunInstances calls are refused with LimitExceeded.InstanceQuota ("5 used of
/// 5"), the DescribeAccountQuota at d0 02:15:00 reports 5 used of 5, quota.csv reaches
/// used = total = 5 and never goes beyond; with seed 2, 39 RunInstances calls, 22 accepted and
/// 17 refused (not retried).
#[test]
fn lesson_2_quota_wall() {
    let run = run_lesson("02-quota-wall.toml", "claims");
    let calls = run.calls();
    let refused: Vec<&&Line> = calls
        .iter()
        .filter(|l| l.what.contains("calls RunInstances: refused"))
        .collect();
    assert_eq!(refused.len(), 17);
    for l in &refused {
        assert!(
            l.what.contains(
                "refused with LimitExceeded.InstanceQuota: the zone's postpaid instance quota is \
                 used up (POSTPAID_BY_HOUR instance quota in ap-guangzhou-3: 5 used of 5, 1 asked)"
            ),
            "{l:?}"
        );
    }
    assert_eq!(
        refused[0].ms,
        2 * HOUR + 11 * MIN + 52_137,
        "the first refusal"
    );
    let ok = calls
        .iter()
        .filter(|l| l.what.contains("calls RunInstances: ok, 1 launched"))
        .count();
    assert_eq!(ok, 22);
    let describe: Vec<&&Line> = calls
        .iter()
        .filter(|l| l.what.contains("DescribeAccountQuota"))
        .collect();
    assert_eq!(describe.len(), 1);
    assert_eq!(describe[0].ms, 2 * HOUR + 15 * MIN);
    assert!(
        describe[0]
            .what
            .contains("ap-guangzhou-3 PREPAID 0 used (no limit), POSTPAID_BY_HOUR 5 used of 5"),
        "{:?}",
        describe[0]
    );

    let s = read_summary(&run.out);
    assert_eq!(u(&s, "requests_refused"), 17);
    assert_eq!(u(&s, "instances_created"), 22);
    assert_eq!(
        errors_by_code(&s),
        BTreeMap::from([("LimitExceeded.InstanceQuota".to_string(), 17)])
    );
    assert_eq!(u(&s, "api_give_ups"), 0, "quota errors are not retried");
    let api = api_totals(&run.out);
    let q = api[&(
        "RunInstances".to_string(),
        "LimitExceeded.InstanceQuota".to_string(),
    )];
    assert_eq!(q, (17, 0, 0));

    // quota.csv: the postpaid quota of the zone, console purchase included.
    let mut r = csv::Reader::from_path(run.out.join("quota.csv")).expect("quota.csv");
    let mut full = 0;
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.expect("quota.csv record");
        if &rec[2] != "POSTPAID_BY_HOUR" {
            continue;
        }
        rows += 1;
        assert_eq!(&rec[1], "ap-guangzhou-3");
        let used: u64 = rec[4].parse().expect("used");
        assert_eq!(&rec[5], "5", "total");
        assert!((1..=5).contains(&used), "used {used}");
        if used == 5 {
            full += 1;
        }
    }
    assert_eq!(rows, 17, "a sample every 30 minutes over 8 hours");
    assert!(full > 0, "quota.csv never reaches used = total");
}

/// Lesson 3: 20 RunInstances at d0 00:00:10 against 5 per second; the first 5 are accepted,
/// all 15 second attempts are throttled again, the third attempts fill seconds 11 and 12 (10
/// accepted) and 5 clients give up: 15 launched, 50 calls, 35 throttled, 30 retries, 5 give-ups.
#[test]
fn lesson_3_rate_limit_and_backoff() {
    let run = run_lesson("03-rate-limit-and-backoff.toml", "claims");
    let calls = run.calls();
    assert!(
        calls
            .iter()
            .all(|l| l.what.starts_with("script calls RunInstances: "))
    );
    let ok: Vec<u64> = calls
        .iter()
        .filter(|l| l.what.contains(": ok, 1 launched"))
        .map(|l| l.ms)
        .collect();
    let throttled: Vec<u64> = calls
        .iter()
        .filter(|l| {
            l.what.contains(
                ": refused with RequestLimitExceeded: over the rate limit, nothing was done",
            )
        })
        .map(|l| l.ms)
        .collect();
    assert_eq!(ok.len() + throttled.len(), calls.len());
    // Second 10: the first 5 calls of the burst, then only refusals.
    assert_eq!(ok.iter().filter(|&&t| t == 10 * SEC).count(), 5);
    assert!(ok.iter().all(|&t| t == 10 * SEC || t >= 11 * SEC), "{ok:?}");
    assert_eq!(throttled.iter().filter(|&&t| t == 10 * SEC).count(), 15);
    assert!(
        throttled.iter().all(|&t| (10 * SEC..11 * SEC).contains(&t)),
        "every refusal falls in the full window of second 10: {throttled:?}"
    );
    // Never more than 5 accepted in one second, and nothing after second 12.
    for sec in 10..13 {
        let n = ok.iter().filter(|&&t| t / SEC == sec).count();
        assert!(n <= 5, "{n} accepted in second {sec}");
    }
    assert!(ok.iter().all(|&t| t < 13 * SEC));
    assert_eq!(ok.len(), 15);
    assert_eq!(throttled.len(), 35);

    let s = read_summary(&run.out);
    assert_eq!(u(&s, "api_calls_total"), 50);
    assert_eq!(u(&s, "api_calls_throttled"), 35);
    assert_eq!(u(&s, "api_give_ups"), 5);
    assert_eq!(u(&s, "instances_created"), 15);
    // Every client either got its instance or gave up.
    assert_eq!(u(&s, "instances_created") + u(&s, "api_give_ups"), 20);
    let api = api_totals(&run.out);
    assert_eq!(
        api,
        BTreeMap::from([
            (("RunInstances".to_string(), "OK".to_string()), (15, 10, 0)),
            (
                (
                    "RunInstances".to_string(),
                    "RequestLimitExceeded".to_string()
                ),
                (35, 20, 5)
            ),
        ])
    );
}

/// Lesson 4: past break-even (600 h > 522 h) the prepaid instance costs 522.00 (600 listed, 87%
/// for a month of S5) against 600.00 postpaid, 78.00 less; before it (240 h) the refund brings
/// the prepaid month down to the postpaid price of the time since purchase: 240.02 against
/// 240.00.
#[test]
fn lesson_4_prepaid_vs_postpaid() {
    let run = run_lesson("04-prepaid-vs-postpaid.toml", "claims");
    let b = bills(&run.out);
    let ids = run.created();
    assert_eq!(ids.len(), 4);
    let [long_post, long_pre, short_post, short_pre] = [ids[0], ids[1], ids[2], ids[3]];
    for (id, charge) in [
        (long_post, "POSTPAID_BY_HOUR"),
        (long_pre, "PREPAID"),
        (short_post, "POSTPAID_BY_HOUR"),
        (short_pre, "PREPAID"),
    ] {
        assert_eq!(b[id].charge, charge);
        assert_eq!(b[id].itype, "S5.LARGE8");
        assert_eq!(b[id].created_ms, 0);
    }
    // Terminated at d25 00:01 and d10 00:01 (the prepaid ones destroyed a minute later).
    assert_eq!(b[long_post].released_ms, Some(25 * DAY + MIN + 30 * SEC));
    assert_eq!(b[long_pre].released_ms, Some(25 * DAY + 2 * MIN + 30 * SEC));
    assert_eq!(b[short_post].released_ms, Some(10 * DAY + MIN + 30 * SEC));
    assert_eq!(
        b[short_pre].released_ms,
        Some(10 * DAY + 2 * MIN + 30 * SEC)
    );

    // Break-even: 522 CNY / 1.00 CNY per hour = 522 h.
    let breakeven_h = 522;
    assert!(600 > breakeven_h && 240 < breakeven_h);
    assert_eq!(b[long_post].cost, 600_000_000);
    assert_eq!(
        (b[long_pre].charged, b[long_pre].refunded, b[long_pre].cost),
        (522_000_000, 0, 522_000_000)
    );
    assert_eq!(b[long_post].cost - b[long_pre].cost, 78_000_000);
    assert_eq!(b[short_post].cost, 240_000_000);
    assert_eq!(
        (
            b[short_pre].charged,
            b[short_pre].refunded,
            b[short_pre].cost
        ),
        (522_000_000, 281_980_000, 240_020_000)
    );

    let of = run.of(short_pre);
    assert!(
        of.contains(&(
            10 * DAY + MIN,
            "refunded 281.980000 CNY: it leaves its paid period early and gets back what it \
             paid minus what it used"
        )),
        "{of:?}"
    );
    for id in [long_pre, short_pre] {
        let names: Vec<String> = run.states(id).into_iter().map(|s| s.1).collect();
        assert_eq!(
            names,
            ["PENDING", "RUNNING", "SHUTDOWN", "TERMINATING", "released"]
        );
    }
    let s = read_summary(&run.out);
    assert_eq!(cost_micros(&s), 1_602_020_000);
}

/// Lesson 5: both launches end in LAUNCH_FAILED at d0 00:01:00, the prepaid one's 261 CNY is
/// refunded at once, TerminateInstances on them is refused with
/// UnsupportedOperation.InstanceStateLaunchFailed (TerminateInstances' SDK list), and the
/// platform removes both at 00:31 (`launch_failed_cleanup = "30m"`); both bills are 0.
#[test]
fn lesson_5_launch_failed() {
    let run = run_lesson("05-launch-failed.toml", "claims");
    let b = bills(&run.out);
    let ids = run.created();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let st: Vec<(u64, String)> = run.states(id);
        assert_eq!(
            st,
            [
                (0, "PENDING".to_string()),
                (MIN, "LAUNCH_FAILED".to_string()),
                (31 * MIN, "released".to_string()),
            ]
        );
        assert_eq!(b[*id].cost, 0);
    }
    let pre = ids[1];
    assert_eq!(b[pre].charge, "PREPAID");
    assert_eq!(
        (b[pre].charged, b[pre].refunded),
        (261_000_000, 261_000_000)
    );
    assert!(
        run.of(pre).contains(&(
            MIN,
            "PENDING -> LAUNCH_FAILED: the launch failed, nothing is billed; refunded \
             261.000000 CNY"
        )),
        "{}",
        run.text
    );
    let term: Vec<&Line> = run
        .calls()
        .into_iter()
        .filter(|l| l.what.contains("TerminateInstances"))
        .collect();
    assert_eq!(term.len(), 1);
    assert_eq!(term[0].ms, 5 * MIN);
    assert!(
        term[0].what.contains(
            "refused with UnsupportedOperation.InstanceStateLaunchFailed: TerminateInstances \
             does not accept an instance that is LAUNCH_FAILED"
        ),
        "{:?}",
        term[0]
    );
    let s = read_summary(&run.out);
    assert_eq!(u(&s, "instances_launch_failed"), 2);
    assert_eq!(cost_micros(&s), 0);
    assert_eq!(
        errors_by_code(&s),
        BTreeMap::from([(
            "UnsupportedOperation.InstanceStateLaunchFailed".to_string(),
            1
        )])
    );
}

/// Lesson 6: the on-demand launch at 02:00 reclaims the 2 newest spot instances, destroyed at
/// 02:02 after their notice; bills 0.41 (reclaimed: 2 h 1 min settled hour by hour to 0.01,
/// 0.20 + 0.20 + 0.01), 0.80 (surviving spot) and 2.00 (postpaid) each, 6.42 in all;
/// spot_reclaims = 2.
#[test]
fn lesson_6_spot_reclaim() {
    let run = run_lesson("06-spot-reclaim.toml", "claims");
    let b = bills(&run.out);
    let ids = run.created();
    assert_eq!(ids.len(), 6);
    let (spot, post) = ids.split_at(4);
    let launch = run
        .calls()
        .into_iter()
        .find(|l| l.what.contains("4 launched"))
        .expect("the spot launch");
    assert!(launch.what.contains(&spot.join(", ")), "{launch:?}");
    for (i, id) in spot.iter().enumerate() {
        assert_eq!(b[*id].charge, "SPOTPAID");
        let newest = i >= 2;
        assert_eq!(b[*id].reclaimed, newest, "{id}");
        if newest {
            assert_eq!(b[*id].cost, 410_000);
            assert_eq!(b[*id].released_ms, Some(2 * HOUR + 2 * MIN + 30 * SEC));
            assert!(
                run.of(id).iter().any(|l| l.0 == 2 * HOUR + 2 * MIN
                    && l.1.starts_with("RUNNING -> TERMINATING: spot reclaim")),
                "{}",
                run.text
            );
        } else {
            assert_eq!(b[*id].cost, 800_000);
        }
    }
    for id in post {
        assert_eq!(b[*id].charge, "POSTPAID_BY_HOUR");
        assert_eq!(b[*id].created_ms, 2 * HOUR);
        assert_eq!(b[*id].cost, 2_000_000);
    }
    let s = read_summary(&run.out);
    assert_eq!(u(&s, "spot_reclaims"), 2);
    assert_eq!(cost_micros(&s), 6_420_000);
    assert_eq!(u(&s, "requests_refused"), 0);
}

/// Lesson 7: a postpaid instance changed to PREPAID after 48 h and kept to d26 costs 48.00 +
/// 522.00 = 570.00 against its postpaid twin's 624.00; a prepaid one changed to postpaid at d10
/// gets 281.98 back (the ordinary return rule) and costs 288.02; the charge history and the
/// cost per charge type follow the changes.
#[test]
fn lesson_7_change_charge_type() {
    let run = run_lesson("07-change-charge-type.toml", "claims");
    let b = bills(&run.out);
    let ids = run.created();
    assert_eq!(ids.len(), 3);
    let [stays, twin, leaves] = [ids[0], ids[1], ids[2]];

    // "stays": 48 h postpaid, then a month of PREPAID bought at d2 00:01, nothing refunded.
    assert_eq!(b[stays].charge, "PREPAID");
    assert_eq!(
        b[stays].history,
        "POSTPAID_BY_HOUR@0.000;PREPAID@172860.000"
    );
    assert_eq!(
        (b[stays].charged, b[stays].refunded, b[stays].cost),
        (48_000_000 + 522_000_000, 0, 570_000_000)
    );
    assert_eq!(b[stays].released_ms, Some(26 * DAY + 2 * MIN + 30 * SEC));
    // "twin": 624 h postpaid; the change saved 54.00.
    assert_eq!(
        (b[twin].charge.as_str(), b[twin].history.as_str()),
        ("POSTPAID_BY_HOUR", "")
    );
    assert_eq!(b[twin].cost, 624_000_000);
    assert_eq!(b[twin].cost - b[stays].cost, 54_000_000);
    // "leaves": 522 paid, 522 − 240 h 1 min × 1.00 = 281.983333 → 281.98 back, then 48 h.
    assert_eq!(b[leaves].charge, "POSTPAID_BY_HOUR");
    assert_eq!(
        b[leaves].history,
        "PREPAID@0.000;POSTPAID_BY_HOUR@864060.000"
    );
    assert_eq!(
        (b[leaves].charged, b[leaves].refunded, b[leaves].cost),
        (522_000_000 + 48_000_000, 281_980_000, 288_020_000)
    );
    assert_eq!(b[leaves].released_ms, Some(12 * DAY + MIN + 30 * SEC));

    let calls = run.calls();
    let quote = |at: u64| {
        calls
            .iter()
            .find(|l| l.ms == at && l.what.contains("InquiryPriceModifyInstancesChargeType"))
            .map(|l| l.what.clone())
            .unwrap_or_default()
    };
    assert!(quote(2 * DAY + MIN).contains("quoted instance 522.000000 now"));
    assert!(
        quote(10 * DAY + MIN).contains("quoted instance -281.980000 now and 1.000000 per hour")
    );
    let of = run.of(stays);
    assert!(
        of.iter().any(|&(t, w)| t == 2 * DAY + MIN
            && w.starts_with("charged 522.000000 CNY (ModifyInstancesChargeType), covering until d32 00:01:00; now PREPAID")),
        "{of:?}"
    );
    assert!(run.of(leaves).contains(&(
        10 * DAY + MIN,
        "refunded 281.980000 CNY: it leaves its paid period early and gets back what it paid \
         minus what it used"
    )));

    let s = read_summary(&run.out);
    assert_eq!(cost_micros(&s), 1_482_020_000);
    let by = &s["cost_by_charge_type"];
    assert_eq!(f(by, "POSTPAID_BY_HOUR"), 720.0);
    assert_eq!(f(by, "PREPAID"), 762.02);
    assert_eq!(u(&s, "api_calls_total"), 11);
}

/// Lesson 7's "Try": with no returns allowed, the change to postpaid still refunds (it is not
/// a return), while the return of "stays" is refused and it runs on.
#[test]
fn lesson_7_try_without_returns() {
    let run = run_lesson_with(
        "07-change-charge-type.toml",
        "try",
        &["billing.returns_per_year=0"],
    );
    let b = bills(&run.out);
    let ids = run.created();
    let [stays, leaves] = [ids[0], ids[2]];
    assert_eq!(b[leaves].refunded, 281_980_000);
    assert_eq!(b[stays].released_ms, None);
    assert!(run.calls().iter().any(|l| {
        l.ms == 26 * DAY + MIN
            && l.what
                .contains("TerminateInstances: refused with LimitExceeded.UserReturnQuota")
    }));
    let s = read_summary(&run.out);
    assert_eq!(
        errors_by_code(&s).get("LimitExceeded.UserReturnQuota"),
        Some(&1)
    );
}

/// Lesson 2's "Try": with a quota of 10 nothing is refused, and the same 39 requests arrive.
#[test]
fn lesson_2_try_a_larger_quota() {
    let run = run_lesson_with(
        "02-quota-wall.toml",
        "try",
        &["zones.ap-guangzhou-3.quota.postpaid=10"],
    );
    let calls = run.calls();
    let launches: Vec<&&Line> = calls
        .iter()
        .filter(|l| l.what.contains("calls RunInstances"))
        .collect();
    assert_eq!(launches.len(), 39);
    assert!(launches.iter().all(|l| l.what.contains(": ok, 1 launched")));
    let s = read_summary(&run.out);
    assert_eq!(u(&s, "requests_refused"), 0);
    assert_eq!(u(&s, "instances_created"), 39);
}

/// Lesson 3's "Try": without jitter every retry of a round comes back at the same instant and
/// only 5 get through each time: 5 + 5 + 5 launched at 00:00:10, :11 and :13 (waits of 1 s,
/// then 2 s), 45 calls, 30 throttled, 5 give-ups.
#[test]
fn lesson_3_try_without_jitter() {
    let run = run_lesson_with(
        "03-rate-limit-and-backoff.toml",
        "try",
        &["api.retry.jitter=false"],
    );
    let mut by_second: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
    for l in run.calls() {
        if !l.what.contains("calls RunInstances") {
            continue;
        }
        let e = by_second.entry(l.ms).or_default();
        if l.what.contains(": ok, 1 launched") {
            e.0 += 1;
        } else {
            assert!(
                l.what.contains("refused with RequestLimitExceeded"),
                "{l:?}"
            );
            e.1 += 1;
        }
    }
    assert_eq!(
        by_second,
        BTreeMap::from([(10 * SEC, (5, 15)), (11 * SEC, (5, 10)), (13 * SEC, (5, 5))])
    );
    let s = read_summary(&run.out);
    assert_eq!(u(&s, "instances_created"), 15);
    assert_eq!(u(&s, "api_calls_total"), 45);
    assert_eq!(u(&s, "api_calls_throttled"), 30);
    assert_eq!(u(&s, "api_give_ups"), 5);
}
