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
    // At most 12 S5.MEDIUM4 ever alive at once in ap-guangzhou-4, and the 12 are reached (a
    // failed launch gives its capacity back when it fails, though it stays listed until the
    // platform removes it: only instances that ran count).
    let rows = read_instances(&out);
    let intervals = rows
        .iter()
        .filter(|r| r.zone == "ap-guangzhou-4" && r.itype == "S5.MEDIUM4")
        .filter(|r| r.running_ms.is_some())
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

/// `scenarios/capacity-growth.toml`: where and when the quota wall is hit, as its comments and
/// the README say. The 90 days are needed (the wall comes with growth), so the trace is read as
/// it streams (about 2 million lines) and only the refusals are kept.
#[test]
fn capacity_growth_hits_the_wall_where_and_when_it_says() {
    use std::io::BufRead;
    let dir = fresh_dir("shipped-capacity-growth");
    let out = dir.join("out");
    let mut child = fleetsim()
        .arg("run")
        .arg(shipped("capacity-growth.toml"))
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--trace"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start fleetsim");
    // (code, zone, who) → weeks (1-based) with a refusal.
    let mut refusals: BTreeMap<(String, String, String), BTreeSet<u64>> = BTreeMap::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.expect("utf-8 trace");
        let Some(p) = line.find("refused with LimitExceeded.") else {
            continue;
        };
        let day: u64 = line[1..line.find(' ').unwrap()].parse().expect("day");
        let code = line[p + 13..].split(':').next().unwrap().to_string();
        let zone = line
            .split(" in ap-")
            .nth(1)
            .map(|z| format!("ap-{}", z.split(':').next().unwrap()))
            .expect("the refusal names its zone");
        let who = line
            .split("  ")
            .nth(1)
            .unwrap()
            .split(" calls")
            .next()
            .unwrap();
        refusals
            .entry((code, zone, who.to_string()))
            .or_default()
            .insert(day / 7 + 1);
    }
    assert!(child.wait().expect("fleetsim").success());
    let weeks = |code: &str, zone: &str| -> BTreeSet<u64> {
        refusals
            .iter()
            .filter(|((c, z, _), _)| c == code && z == zone)
            .flat_map(|(_, w)| w.iter().copied())
            .collect()
    };
    // Guangzhou-3 first touches its 900 in the sixth week and hits it most weeks after.
    let gz3 = weeks("LimitExceeded.InstanceQuota", "ap-guangzhou-3");
    assert_eq!(gz3.first(), Some(&6), "{refusals:?}");
    assert!(gz3.range(6..=13).count() >= 6, "{gz3:?}");
    // Guangzhou-4 follows later, and is at its wall in each of the last three weeks.
    let gz4 = weeks("LimitExceeded.InstanceQuota", "ap-guangzhou-4");
    assert!(gz4.first().is_some_and(|&w| w >= 8), "{gz4:?}");
    assert!((11..=13).all(|w| gz4.contains(&w)), "{gz4:?}");
    // Shanghai-2 keeps headroom for postpaid; only the spot analytics hit its spot quota.
    assert!(weeks("LimitExceeded.InstanceQuota", "ap-shanghai-2").is_empty());
    assert!(!weeks("LimitExceeded.SpotQuota", "ap-shanghai-2").is_empty());
    for (code, zone, who) in refusals.keys() {
        if code == "LimitExceeded.SpotQuota" {
            assert_eq!(
                (zone.as_str(), who.as_str()),
                ("ap-shanghai-2", "workload #2")
            );
        }
    }
    // The README's "from week 6" is visible in api.csv too.
    let api = std::fs::read_to_string(out.join("api.csv")).expect("api.csv");
    let first = api
        .lines()
        .filter(|l| l.contains(",LimitExceeded.InstanceQuota,"))
        .map(|l| l.split(',').next().unwrap().parse::<f64>().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!((35.0 * 86400.0..42.0 * 86400.0).contains(&first), "{first}");
}

/// `scenarios/zone-outage.toml`, the parts `tests/controllers.rs` does not already pin: the
/// refusals come only while a zone is down, and on day 4 ap-guangzhou-4's instances are
/// stopped, not lost; web replaces its own at once in another zone, batch does not.
#[test]
fn zone_outage_stops_on_day_4_and_refuses_only_during_outages() {
    let dir = fresh_dir("shipped-zone-outage");
    let out = dir.join("out");
    let o = run_cli([
        "run".as_ref(),
        shipped("zone-outage.toml").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
        "--trace".as_ref(),
    ]);
    assert_ok(&o);
    const H: f64 = 3600.0;
    let outages = [(54.0 * H, 60.0 * H), (96.0 * H, 98.0 * H)];
    let api = std::fs::read_to_string(out.join("api.csv")).expect("api.csv");
    let mut sold_out = [0u64; 2];
    for l in api
        .lines()
        .filter(|l| l.contains("AvailabilityZoneSoldOut"))
    {
        let f: Vec<&str> = l.split(',').collect();
        let t: f64 = f[0].parse().unwrap();
        let k = outages
            .iter()
            .position(|&(a, b)| t >= a && t < b)
            .unwrap_or_else(|| panic!("refused outside an outage: {l}"));
        sold_out[k] += f[3].parse::<u64>().unwrap();
    }
    assert!(sold_out.iter().all(|&n| n > 0), "{sold_out:?}");

    let owner: BTreeMap<String, String> = read_instances(&out)
        .into_iter()
        .map(|r| (r.id, r.owner))
        .collect();
    let mut fleet = Fleet::default();
    let mut before = None;
    let (mut stopped, mut ended, mut relaunched) = (BTreeSet::new(), BTreeSet::new(), 0);
    for (clock, id, what) in trace_lines(&stdout(&o)) {
        if clock == "d4 00:00:00" {
            before.get_or_insert_with(|| fleet.in_state(Some("ap-guangzhou-4"), "RUNNING"));
            if what.starts_with("STOPPING -> STOPPED") {
                stopped.insert(id.clone());
            }
            if what.starts_with("STOPPED -> TERMINATING") {
                ended.insert(id.clone());
            }
            if what.starts_with("created as PENDING") {
                assert!(!what.ends_with("ap-guangzhou-4)"), "{what}");
                assert_eq!(owner[&id], "workload0");
                relaunched += 1;
            }
        }
        if !id.is_empty() {
            fleet.apply(&id, &what);
        }
    }
    let before = before.expect("a d4 line");
    assert!(before.len() > 20, "{}", before.len());
    assert_eq!(
        stopped, before,
        "every RUNNING instance of the zone is stopped, none lost"
    );
    let web: BTreeSet<String> = stopped
        .iter()
        .filter(|id| owner[*id] == "workload0")
        .cloned()
        .collect();
    assert!(!web.is_empty() && web.len() < stopped.len());
    assert_eq!(
        ended, web,
        "web ends its stopped instances, batch keeps them"
    );
    assert_eq!(
        relaunched,
        web.len(),
        "and relaunches each elsewhere at once"
    );
}
