//! Every scenario shipped in `scenarios/` reads without error, and the embedded default is
//! `scenarios/quickstart.toml` itself.

use std::path::Path;

#[test]
fn every_shipped_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = 0;
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("scenarios/") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            // The Azure replay reads the shared data set, which only exists beside the repository.
            if p.ends_with("azure-replay.toml")
                && !Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../shared/data/azure2017")
                    .exists()
            {
                continue;
            }
            if let Err(e) = fleetsim::scenario::load_file(&p) {
                panic!("{}: {e}", p.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 8, "only {seen} scenarios found");
}

#[test]
fn the_embedded_default_is_the_quickstart_file() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    assert_eq!(
        std::fs::read_to_string(file).expect("quickstart.toml"),
        fleetsim::scenario::QUICKSTART
    );
}

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;

fn shipped(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file)
}

/// One `--trace` line: its clock (`d10 00:00:00`), the instance id (empty for other lines) and
/// what it says.
fn trace_lines(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let (clock, rest) = l.split_once("  ")?;
            match rest.split_once("  ") {
                Some((id, what)) if id.starts_with("ins-") && id.len() == 12 => {
                    Some((clock.into(), id.into(), what.into()))
                }
                _ => Some((clock.into(), String::new(), rest.into())),
            }
        })
        .collect()
}

/// What the trace says about each instance so far: zone and state (`released` at the end).
#[derive(Default)]
struct Fleet(BTreeMap<String, (String, String)>);

impl Fleet {
    fn apply(&mut self, id: &str, what: &str) {
        if let Some(rest) = what.strip_prefix("created as PENDING (") {
            let zone = rest.trim_end_matches(')').rsplit(", ").next().unwrap();
            self.0.insert(id.into(), (zone.into(), "PENDING".into()));
        } else if let Some((_, to)) = what.split_once(" -> ") {
            let to: String = to
                .chars()
                .take_while(|c| c.is_ascii_alphabetic() || *c == '_')
                .collect();
            self.0.get_mut(id).expect("created first").1 = to;
        }
    }
    fn in_state(&self, zone: Option<&str>, state: &str) -> BTreeSet<String> {
        self.0
            .iter()
            .filter(|(_, (z, s))| s == state && zone.is_none_or(|zone| z == zone))
            .map(|(id, _)| id.clone())
            .collect()
    }
    fn alive(&self) -> usize {
        self.0.values().filter(|(_, s)| s != "released").count()
    }
}

/// `scenarios/what-if.toml` does what its comments say, call by call, and its deliberate
/// mistake (one unknown id) terminates nothing.
#[test]
fn what_if_does_what_its_comments_say() {
    let dir = fresh_dir("shipped-what-if");
    let out = dir.join("out");
    let o = run_cli([
        "run".as_ref(),
        shipped("what-if.toml").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
        "--trace".as_ref(),
    ]);
    assert_ok(&o);
    let lines = trace_lines(&stdout(&o));
    let mut fleet = Fleet::default();
    let (mut running_d10, mut stopped) = (None, BTreeSet::new());
    let (mut stopped_d12, mut reset_ok, mut reset_throttled) = (None, Vec::new(), 0);
    let mut resized = BTreeSet::new();
    let (mut alive_d15, mut pages) = (None, Vec::new());
    let (mut d16_calls, mut d16_changes) = (Vec::new(), 0);
    for (clock, id, what) in &lines {
        if clock == "d10 00:00:00" && running_d10.is_none() {
            running_d10 = Some(fleet.in_state(Some("ap-guangzhou-3"), "RUNNING"));
        }
        if clock == "d12 00:00:00" && stopped_d12.is_none() {
            let s = fleet.in_state(None, "STOPPED");
            stopped_d12 = Some(&s & &stopped);
        }
        if clock == "d15 00:00:00" && alive_d15.is_none() {
            alive_d15 = Some(fleet.alive());
        }
        if !id.is_empty() {
            if clock == "d10 00:00:00" && what.starts_with("RUNNING -> STOPPING") {
                stopped.insert(id.clone());
            }
            if what.starts_with("STOPPED -> RUNNING as S5.LARGE8") {
                resized.insert(id.clone());
            }
            if clock == "d16 00:00:00" {
                d16_changes += 1;
            }
            fleet.apply(id, what);
            continue;
        }
        if clock == "d12 00:00:00" {
            if let Some(r) = what.strip_prefix("script calls ResetInstancesType: ok (") {
                reset_ok.push(r.split(' ').next().unwrap().to_string());
            } else if what
                .starts_with("script calls ResetInstancesType: refused with RequestLimitExceeded")
            {
                reset_throttled += 1;
            }
        }
        if clock == "d15 00:00:00" && what.starts_with("script calls DescribeInstances: ok, ") {
            pages.push(what.clone());
        }
        if clock == "d16 00:00:00" && what.starts_with("script calls") {
            d16_calls.push(what.clone());
        }
    }
    // d10: half (rounded) of the RUNNING postpaid instances of ap-guangzhou-3 are stopped.
    let running = running_d10.expect("a d10 line");
    assert!(running.len() > 100, "{} running", running.len());
    assert_eq!(stopped.len(), (running.len() as f64 * 0.5).round() as usize);
    assert!(stopped.is_subset(&running));
    // d12: those still stopped are resized, one id per call; the per-action limit of 100 calls
    // a minute lets the first 100 through and throttles the rest.
    let still = stopped_d12.expect("a d12 line");
    assert!(still.len() > 100 && still.len() <= stopped.len());
    assert_eq!(reset_ok.len(), 100);
    assert_eq!(reset_throttled, still.len() - 100);
    let ok: BTreeSet<String> = reset_ok.into_iter().collect();
    assert!(ok.is_subset(&still));
    assert_eq!(
        resized, ok,
        "every reset instance starts again as S5.LARGE8"
    );
    // d15: everything alive is listed, 100 per page.
    let alive = alive_d15.expect("a d15 line");
    assert_eq!(pages.len(), alive.div_ceil(100), "{pages:?}");
    for (k, p) in pages.iter().enumerate() {
        let n = (alive - 100 * k).min(100);
        assert!(
            p.contains(&format!(
                "{n} of {alive} listed (Offset {}, Limit 100)",
                100 * k
            )),
            "{p}"
        );
    }
    // d16: the unknown id terminates nothing and gets CVM's error.
    assert_eq!(d16_changes, 0, "no instance changes state at the d16 call");
    assert_eq!(d16_calls.len(), 1, "{d16_calls:?}");
    assert!(
        d16_calls[0].starts_with(
            "script calls TerminateInstances: refused with InvalidInstanceId.NotFound"
        ),
        "{}",
        d16_calls[0]
    );
    let api = std::fs::read_to_string(out.join("api.csv")).expect("api.csv");
    assert!(
        api.lines()
            .any(|l| l == "1382400.000,TerminateInstances,InvalidInstanceId.NotFound,1,0,0"),
        "api.csv has no d16 NotFound row"
    );
    let s = read_summary(&out);
    assert_eq!(s["api_errors_by_code"]["InvalidInstanceId.NotFound"], 1);
    assert_eq!(
        u(&s, "instances_alive_at_end") as usize,
        fleet.alive(),
        "the summary and the trace agree"
    );
}

/// `scenarios/quota-wall.toml` hits every wall it names: both zones' postpaid quota (30, of
/// which 10 are used in the console in ap-guangzhou-4), a type that sells out (12 S5.MEDIUM4 in
/// ap-guangzhou-4) and the rate limit, with retries.
#[test]
fn quota_wall_hits_every_wall_it_names() {
    let dir = fresh_dir("shipped-quota-wall");
    let out = dir.join("out");
    let o = run_cli([
        "run".as_ref(),
        shipped("quota-wall.toml").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_ok(&o);
    let s = read_summary(&out);
    let codes = &s["api_errors_by_code"];
    for code in [
        "LimitExceeded.InstanceQuota",
        "ResourcesSoldOut.SpecifiedInstanceType",
        "RequestLimitExceeded",
    ] {
        assert!(codes[code].as_u64().unwrap_or(0) > 0, "no {code}: {codes}");
    }
    // The quota is reached in both zones, never passed (quota.csv counts the console's 10).
    let quota = std::fs::read_to_string(out.join("quota.csv")).expect("quota.csv");
    for zone in ["ap-guangzhou-3", "ap-guangzhou-4"] {
        let peak = quota
            .lines()
            .filter(|l| l.contains(&format!(",{zone},POSTPAID_BY_HOUR,instances,")))
            .map(|l| l.split(',').nth(4).unwrap().parse::<u64>().unwrap())
            .max();
        assert_eq!(peak, Some(30), "{zone}");
    }
    // At most 12 S5.MEDIUM4 ever alive at once in ap-guangzhou-4, and the 12 are reached.
    let rows = read_instances(&out);
    let intervals = rows
        .iter()
        .filter(|r| r.zone == "ap-guangzhou-4" && r.itype == "S5.MEDIUM4")
        .map(|r| (r.created_ms, r.released_ms.unwrap_or(u64::MAX), 1));
    assert_eq!(max_overlap(intervals, true), 12);
    // Throttled calls are retried.
    let api = std::fs::read_to_string(out.join("api.csv")).expect("api.csv");
    let retries: u64 = api
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(retries > 0);
}

/// `scenarios/billing-compare.toml`: the mix strategy buys the service prepaid and leaves the
/// batch on spot, as its comment says. Run through `compare` on 3 of the 60 days (the strategy
/// applies the same way at any length).
#[test]
fn billing_compare_mix_puts_the_batch_on_spot() {
    let text = std::fs::read_to_string(shipped("billing-compare.toml")).expect("scenario");
    assert!(text.contains("duration = \"60d\""));
    let dir = fresh_dir("shipped-billing-compare");
    let file = write_file(&dir, "bc.toml", &text.replace("\"60d\"", "\"3d\""));
    let out = dir.join("out");
    let o = run_cli([
        "compare".as_ref(),
        file.as_os_str(),
        "-r".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_ok(&o);
    let csv = std::fs::read_to_string(out.join("compare.csv")).expect("compare.csv");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let mut mix_rows = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let v = |name: &str| f[col(name)].parse::<f64>().unwrap();
        if f[0] == "service-prepaid-batch-spot" {
            mix_rows += 1;
            assert!(v("cost_spot") > 0.0, "{line}");
            assert!(v("cost_prepaid") > 0.0, "{line}");
            assert_eq!(v("cost_postpaid"), 0.0, "{line}");
        }
        if f[0] == "all-postpaid" {
            assert_eq!(v("cost_spot"), 0.0, "{line}");
        }
    }
    assert_eq!(mix_rows, 2);
}
