//! A run driven in steps (`fleetsim serve`'s manual clock): advanced to given times, called
//! into by an external client, finished on request.

mod common;

use std::path::Path;

use common::*;
use fleetsim::cloud::{ChargeType, Owner, Request, Response, RunInstances};
use fleetsim::engine::{SimDuration, SimTime};
use fleetsim::run::{RunOptions, Session};

fn opts(out: &Path) -> RunOptions {
    RunOptions {
        out: Some(out.to_path_buf()),
        write_files: true,
        ..Default::default()
    }
}

/// Every file of two run folders, byte for byte, but the wall-clock fields of summary.json.
fn assert_same_folder(a: &Path, b: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(a)
        .expect("run folder")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    let mut other: Vec<_> = std::fs::read_dir(b)
        .expect("run folder")
        .map(|e| e.expect("entry").file_name())
        .collect();
    other.sort();
    assert_eq!(names, other, "the same files");
    assert!(names.len() >= 5, "a full run folder: {names:?}");
    for n in names {
        let x = std::fs::read(a.join(&n)).expect("file");
        let y = std::fs::read(b.join(&n)).expect("file");
        if n == "summary.json" {
            assert_eq!(
                summary_without_timing(a),
                summary_without_timing(b),
                "summary.json"
            );
        } else {
            assert!(x == y, "{} differs", n.to_string_lossy());
        }
    }
}

#[test]
fn a_run_advanced_in_steps_writes_what_a_run_writes() {
    for file in [
        "scenarios/zone-outage.toml",
        "scenarios/diurnal-autoscaler.toml",
        "scenarios/lessons/03-rate-limit-and-backoff.toml",
    ] {
        let scn = fleetsim::scenario::load_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .expect("shipped scenario");
        let dir = fresh_dir(&format!("stepped-{}", scn.name));
        let whole = dir.as_ref().join("whole");
        fleetsim::run::run(&scn, opts(&whole)).expect("run");

        let stepped = dir.as_ref().join("stepped");
        let mut s = Session::open(&scn, opts(&stepped)).expect("open");
        assert_eq!(s.now(), SimTime::ZERO);
        let horizon = s.horizon();
        // Uneven steps, a repeated time, a step back (no effect) and one past the horizon.
        let mut t = SimTime::ZERO;
        for (k, ms) in [0u64, 1, 59_999, 3_600_000, 3_600_000, 7_777_777]
            .into_iter()
            .cycle()
            .enumerate()
        {
            if t >= horizon || k > 10_000 {
                break;
            }
            t += SimDuration(ms);
            s.advance_to(t).expect("advance");
            assert_eq!(
                s.now(),
                t.min(horizon),
                "the clock holds where it was advanced to"
            );
            s.advance_to(SimTime::ZERO).expect("advance");
            assert_eq!(s.now(), t.min(horizon), "no step back");
        }
        s.advance_to(horizon + SimDuration(1)).expect("advance");
        assert_eq!(s.now(), horizon);
        s.finish().expect("finish");
        assert_same_folder(&whole, &stepped);
    }
}

#[test]
fn an_external_call_goes_through_the_control_plane_at_the_time_advanced_to() {
    let scn = scenario(
        r#"
name = "ext"
duration = "4h"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
quota = { postpaid = 3 }
[api]
preset = "unlimited"
[[workloads]]
name = "idle"
arrival = { process = "poisson", rate_per_hour = 0.000001 }
lifetime = { dist = "fixed", value = "1h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
"#,
    );
    let dir = fresh_dir("stepped-external");
    let out = dir.as_ref().join("run");
    let mut s = Session::open(&scn, opts(&out)).expect("open");
    s.advance_to(SimTime::ZERO + SimDuration::from_hours(1))
        .expect("advance");
    let zone = scn.catalog.zone_index("ap-guangzhou-3").expect("zone");
    let itype = scn.catalog.type_index("S5.MEDIUM4").expect("type");
    let run = |count| {
        Request::RunInstances(RunInstances {
            zone,
            itype,
            charge: ChargeType::PostpaidByHour,
            count,
            min_count: None,
            dry_run: false,
            period_months: 1,
            renew_flag: Default::default(),
            max_price: None,
            client_token: None,
            attach: None,
        })
    };
    let ids = match s.call(run(2)) {
        Ok(Response::Launched { ids, keys }) => {
            assert_eq!(keys.len(), 2, "handles come with the answer");
            ids
        }
        other => panic!("expected a launch, got {other:?}"),
    };
    // The quota wall is the control plane's own: 2 used of 3.
    let refused = s.call(run(2)).expect_err("over quota");
    assert_eq!(refused.code.as_str(), "LimitExceeded.InstanceQuota");
    let inst = s
        .world()
        .cloud
        .fleet()
        .iter()
        .find(|(_, i)| i.id == ids[0])
        .map(|(_, i)| i.clone())
        .expect("launched");
    assert_eq!(inst.owner, Owner::External);
    assert_eq!(inst.created, SimTime::ZERO + SimDuration::from_hours(1));
    s.finish().expect("finish");
    let rows = read_instances(&out);
    let ext: Vec<_> = rows.iter().filter(|r| r.owner == "external").collect();
    assert_eq!(
        ext.len(),
        2,
        "its instances are in instances.csv under its own caller"
    );
    assert_eq!(ext[0].created_ms, 3_600_000);
    let api = std::fs::read_to_string(out.join("api.csv")).expect("api.csv");
    assert!(
        api.contains("3600.000,RunInstances,LimitExceeded.InstanceQuota,1,0,0"),
        "{api}"
    );
}
