//! Controllers and faults (issue 5): zone placement policies, zone fallback, the
//! target-tracking autoscaler, zone outages and random instance failures. Each does what the
//! README says, through the one door of the control plane.

mod common;

use std::collections::BTreeMap;

use common::*;
use fleetsim::cloud::api::RunInstances;
use fleetsim::cloud::spot_market::{SpotMarket, SpotModel};
use fleetsim::cloud::{
    Action, ChargeType, ErrorCode, InstanceState, Owner, Request, Response, TypeIdx, ZoneIdx,
};
use fleetsim::engine::{RngStreams, Scheduler, SimTime};
use fleetsim::run::{RunOptions, build_world, run};
use fleetsim::scenario::Scenario;
use fleetsim::world::{Event, World};

const MIN: u64 = 60_000;
const HOUR: u64 = 3_600_000;

fn built(text: &str) -> (Scenario, World, Scheduler<Event>) {
    let scn = scenario(text);
    let (world, sched) = build_world(&scn, scn.seed);
    (scn, world, sched)
}

/// Instances alive per zone (catalogue order), optionally only in one state.
fn per_zone(world: &World, state: Option<InstanceState>) -> Vec<u64> {
    let mut n = vec![0; world.cloud.catalog.zones.len()];
    for (_, i) in world.cloud.fleet().iter() {
        if state.is_none_or(|s| i.state == s) {
            n[i.zone.0 as usize] += 1;
        }
    }
    n
}

fn zone(world: &World, name: &str) -> ZoneIdx {
    world.cloud.catalog.zone_index(name).expect("zone")
}

/// Calls made so far per (action, outcome).
fn calls(world: &World) -> BTreeMap<(Action, Option<ErrorCode>), u64> {
    let mut m = BTreeMap::new();
    for (&(_, a, c), cell) in &world.rec.api_log {
        *m.entry((a, c)).or_default() += cell.calls;
    }
    m
}

fn run_request(
    world: &mut World,
    sched: &mut Scheduler<Event>,
    z: ZoneIdx,
) -> Result<Response, ErrorCode> {
    let req = Request::RunInstances(RunInstances {
        zone: z,
        itype: TypeIdx(0),
        charge: ChargeType::PostpaidByHour,
        count: 1,
        min_count: None,
        dry_run: false,
        period_months: 1,
        renew_flag: Default::default(),
        max_price: None,
        client_token: None,
        attach: None,
    });
    world
        .cloud
        .call(Owner::Script, req, sched, &mut world.rec)
        .map_err(|e| e.code)
}

// ---- placement policies ----------------------------------------------------------------------

fn placement_scenario(placement: &str, extra_zone: &str, charge: &str, market: &str) -> String {
    format!(
        r#"
name = "placement"
seed = 5
duration = "1d"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
{market}
[zones.ap-guangzhou-3]
{extra_zone}
[zones.ap-guangzhou-4]
[zones.ap-guangzhou-6]
[api]
preset = "unlimited"

[[workloads]]
name = "w"
charge_type = "{charge}"
arrival = {{ process = "poisson", rate_per_hour = 12 }}
lifetime = {{ dist = "fixed", value = "30d" }}
types = {{ "S5.MEDIUM4" = 1 }}
zones = {{ ap-guangzhou-3 = 5, ap-guangzhou-4 = 1, ap-guangzhou-6 = 1 }}
placement = "{placement}"
"#
    )
}

#[test]
fn spread_keeps_per_zone_counts_within_one() {
    let (_, mut world, mut sched) =
        built(&placement_scenario("spread", "", "POSTPAID_BY_HOUR", ""));
    // After every hour, whatever the weights (5:1:1), the zones differ by at most one.
    for h in 1..=24 {
        sched.run_until(SimTime(h * HOUR), &mut world).unwrap();
        let n = per_zone(&world, None);
        let (lo, hi) = (n.iter().min().unwrap(), n.iter().max().unwrap());
        assert!(hi - lo <= 1, "at {h}h: {n:?}");
    }
    assert!(world.cloud.fleet().len() > 200);
    // The weighted draw of the same demand is lopsided: the check above is not vacuous.
    let (_, mut w2, mut s2) = built(&placement_scenario("weighted", "", "POSTPAID_BY_HOUR", ""));
    s2.run(&mut w2).unwrap();
    let n = per_zone(&w2, None);
    assert!(n[0] > 2 * n[1], "{n:?}");
}

#[test]
fn least_quota_used_fills_zones_evenly_against_quotas() {
    let text = r#"
name = "lqu"
seed = 9
duration = "1d"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
quota = { postpaid = 40 }
[zones.ap-guangzhou-4]
quota = { postpaid = 100, used_outside = { postpaid = 30 } }
[zones.ap-guangzhou-6]
quota = { postpaid = 200 }

[[workloads]]
name = "w"
arrival = { process = "poisson", rate_per_hour = 10 }
lifetime = { dist = "fixed", value = "30d" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1, ap-guangzhou-6 = 1 }
placement = "least_quota_used"
quota_refresh = "5m"
"#;
    let (_, mut world, mut sched) = built(text);
    let z: Vec<ZoneIdx> = ["ap-guangzhou-3", "ap-guangzhou-4", "ap-guangzhou-6"]
        .iter()
        .map(|n| zone(&world, n))
        .collect();
    for h in 1..=24 {
        sched.run_until(SimTime(h * HOUR), &mut world).unwrap();
        let q = world.cloud.quotas();
        let frac: Vec<f64> = z
            .iter()
            .map(|&zi| {
                q.used(zi, ChargeType::PostpaidByHour) as f64
                    / q.total(zi, ChargeType::PostpaidByHour).unwrap() as f64
            })
            .collect();
        let (lo, hi) = (
            frac.iter().copied().fold(f64::INFINITY, f64::min),
            frac.iter().copied().fold(0.0, f64::max),
        );
        // Each launch goes to the least used zone: fractions stay within one instance of the
        // smallest quota (1/40) once the zone that started 30% used has been caught up with.
        if lo >= 0.3 {
            assert!(hi - lo <= 1.0 / 40.0 + 1e-9, "at {h}h: {frac:?}");
        }
    }
    let q = world.cloud.quotas();
    let used: Vec<u32> = z
        .iter()
        .map(|&zi| q.used(zi, ChargeType::PostpaidByHour))
        .collect();
    assert!(used[0] > 30 && used[2] > 2 * used[0], "{used:?}");
    // The quotas were read through the API, at most once per refresh period, never refused.
    let c = calls(&world);
    let quota_calls = c
        .get(&(Action::DescribeAccountQuota, None))
        .copied()
        .unwrap_or(0);
    assert!(
        quota_calls > 100 && quota_calls <= 24 * 12 + 1,
        "{quota_calls}"
    );
    assert_eq!(world.workloads[0].workload.refused, 0);
}

#[test]
fn cheapest_goes_where_the_spot_market_is_lowest_and_ties_go_by_name() {
    let market =
        "[cloud.spot_market]\nmin = 0.03\nmax = 0.2\nmean = 0.1\nvolatility = 0.03\nstep = \"1h\"";
    let text = placement_scenario("cheapest", "", "SPOTPAID", market);
    let (scn, mut world, mut sched) = built(&text);
    sched.run(&mut world).unwrap();
    assert!(world.cloud.fleet().len() > 200);
    // The market's path depends only on its streams: an independent copy gives the prices.
    let SpotModel::Random { .. } = scn.spot_model else {
        panic!("the market is random");
    };
    let mut m = SpotMarket::new(
        &scn.catalog,
        scn.spot_model.clone(),
        scn.spot_step,
        &RngStreams::new(scn.seed),
    );
    let t = TypeIdx(0);
    let mut zones_used = std::collections::BTreeSet::new();
    for (_, i) in world.cloud.fleet().iter() {
        let prices: Vec<u64> = (0..3)
            .map(|z| m.price_at(ZoneIdx(z), t, i.created))
            .collect();
        let best = prices.iter().min().unwrap();
        let first_best = prices.iter().position(|p| p == best).unwrap();
        assert_eq!(
            i.zone.0 as usize, first_best,
            "{} at {:?}: {prices:?}",
            i.id, i.created
        );
        zones_used.insert(i.zone);
    }
    assert!(zones_used.len() >= 2, "the cheapest zone moves over a day");

    // Postpaid prices are the same everywhere: every request goes to the first zone by name.
    let (_, mut world, mut sched) =
        built(&placement_scenario("cheapest", "", "POSTPAID_BY_HOUR", ""));
    sched.run(&mut world).unwrap();
    let n = per_zone(&world, None);
    assert!(n[0] > 200 && n[1] == 0 && n[2] == 0, "{n:?}");
}

#[test]
fn policies_that_read_the_fleet_leave_the_demand_draw_alone() {
    let market = "[cloud.spot_market]\nvolatility = 0.03";
    let logs: Vec<_> = ["weighted", "spread", "least_quota_used", "cheapest"]
        .iter()
        .map(|p| {
            let (_, mut world, mut sched) = built(&placement_scenario(p, "", "SPOTPAID", market));
            world.demand_log = Some(Vec::new());
            sched.run(&mut world).unwrap();
            (p, world.demand_log.take().unwrap(), per_zone(&world, None))
        })
        .collect();
    for (p, log, _) in &logs[1..] {
        assert_eq!(log, &logs[0].1, "{p} drew other requests than weighted");
    }
    assert!(logs[0].1.len() > 200);
    // ...while placing them differently.
    assert_ne!(logs[0].2, logs[1].2);
}

// ---- zone fallback ---------------------------------------------------------------------------

fn fallback_scenario(on: bool) -> String {
    format!(
        r#"
name = "fallback"
seed = 2
duration = "2h"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
stock = {{ "S5.MEDIUM4" = 3 }}
[zones.ap-guangzhou-4]
quota = {{ postpaid = 4 }}
[zones.ap-guangzhou-6]
not_offered = ["S5.MEDIUM4"]
[zones.ap-guangzhou-7]
quota = {{ postpaid = 6 }}
[api]
preset = "unlimited"
retry = {{ max_attempts = 1 }}

[[workloads]]
name = "w"
arrival = {{ process = "poisson", rate_per_hour = 12 }}
lifetime = {{ dist = "fixed", value = "30d" }}
types = {{ "S5.MEDIUM4" = 1 }}
zones = {{ ap-guangzhou-3 = 1, ap-guangzhou-4 = 1, ap-guangzhou-6 = 1, ap-guangzhou-7 = 1 }}
zone_fallback = {on}
"#
    )
}

#[test]
fn zone_fallback_refuses_nothing_while_any_zone_has_room() {
    // Room: 3 (stock) + 4 (quota) + 0 (not offered) + 6 (quota) = 13 instances.
    let (_, mut world, mut sched) = built(&fallback_scenario(true));
    let mut last_asked = 0;
    for m in 1..=120 {
        sched.run_until(SimTime(m * MIN), &mut world).unwrap();
        let w = &world.workloads[0].workload;
        let alive = world.cloud.fleet().len() as u64;
        assert_eq!(alive, w.asked.min(13), "at {m} min");
        assert_eq!(w.refused, w.asked.saturating_sub(13), "at {m} min");
        last_asked = w.asked;
    }
    assert!(last_asked > 16, "the run overflows the room ({last_asked})");
    assert_eq!(per_zone(&world, None), vec![3, 4, 0, 6]);
    let c = calls(&world);
    for code in [
        ErrorCode::SoldOutType,
        ErrorCode::InstanceQuota,
        ErrorCode::TypeUnavailable,
    ] {
        assert!(
            c.contains_key(&(Action::RunInstances, Some(code))),
            "{code} {c:?}"
        );
    }
    // Each request tried every zone at most once: at most 4 calls per request.
    let run_calls: u64 = c
        .iter()
        .filter(|((a, _), _)| *a == Action::RunInstances)
        .map(|(_, n)| n)
        .sum();
    assert!(
        run_calls <= 4 * world.workloads[0].workload.requests,
        "{run_calls}"
    );

    // Without fallback the same demand is refused although other zones have room.
    let (_, mut world, mut sched) = built(&fallback_scenario(false));
    sched.run(&mut world).unwrap();
    let w = &world.workloads[0].workload;
    assert_eq!(w.asked, last_asked, "same demand");
    assert!(w.refused > last_asked - 13, "{} refused", w.refused);
}

// ---- autoscaler ------------------------------------------------------------------------------

const STEP_SIGNAL: &str = r#"
name = "steps"
seed = 1
duration = "6h"
sample_interval = "1m"
instance_types = ["S5.LARGE8"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
[zones.ap-guangzhou-4]

[[autoscalers]]
name = "web"
zones = ["ap-guangzhou-3", "ap-guangzhou-4"]
instance_type = "S5.LARGE8"
signal = { profile = "table", points = [{ at = "0h", value = 50 }, { at = "2h", value = 245 }, { at = "4h", value = 80 }] }
target_per_instance = 10
min = 2
max = 40
interval = "1m"
scale_out_cooldown = "5m"
scale_in_cooldown = "10m"
"#;

#[test]
fn autoscaler_tracks_a_step_signal() {
    let (_, mut world, mut sched) = built(STEP_SIGNAL);
    let mut check = |t_min: u64, running: u64, alive: u64| {
        sched.run_until(SimTime(t_min * MIN), &mut world).unwrap();
        let r: u64 = per_zone(&world, Some(InstanceState::Running)).iter().sum();
        assert_eq!(
            (r, world.cloud.fleet().len() as u64),
            (running, alive),
            "at {t_min} min"
        );
        let z = per_zone(&world, None);
        assert!(z[0].abs_diff(z[1]) <= 1, "zones balanced: {z:?}");
        world.autoscalers()[0].history.clone()
    };
    check(10, 5, 5); // ceil(50/10)
    check(130, 25, 25); // ceil(245/10)
    let h = check(250, 8, 8); // ceil(80/10)
    let deltas: Vec<(u64, i64)> = h.iter().map(|a| (a.time.ms() / MIN, a.delta)).collect();
    assert_eq!(deltas, vec![(0, 5), (120, 20), (240, -17)]);
    for (_, i) in world.cloud.fleet().iter() {
        assert_eq!(i.owner, Owner::Autoscaler(0));
        // Newest first: the survivors are the oldest (the first 5, then 3 of the 20).
        assert!(i.created.ms() <= 120 * MIN, "{:?}", i.created);
    }
}

fn diurnal(out_cd: &str, in_cd: &str) -> String {
    format!(
        r#"
name = "diurnal"
seed = 4
duration = "2d"
instance_types = ["S5.LARGE8"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
[[autoscalers]]
name = "web"
zone = "ap-guangzhou-3"
instance_type = "S5.LARGE8"
signal = {{ profile = "diurnal", base = 300, amplitude = 0.9, period = "3h", peak = "1h" }}
target_per_instance = 10
min = 1
max = 100
interval = "1m"
scale_out_cooldown = "{out_cd}"
scale_in_cooldown = "{in_cd}"
"#
    )
}

#[test]
fn autoscaler_follows_a_curve_within_its_cooldown_lags() {
    let (out_cd, in_cd) = (7 * MIN, 13 * MIN);
    let (scn, mut world, mut sched) = built(&diurnal("7m", "13m"));
    let spec = scn.autoscalers[0].clone();
    let desired = |t: u64| -> u64 {
        let s = spec.signal.profile_at(SimTime(t)).unwrap();
        ((s / 10.0 - 1e-9).ceil() as u64).clamp(1, 100)
    };
    // How long the fleet may lag the curve: a cooldown, an evaluation period, a boot (PENDING
    // up to 90 s) or a termination (up to 20 s).
    let lag = out_cd.max(in_cd) + MIN + 90_000;
    for k in 1..=(2 * 24 * 60) {
        let t = k * MIN + 30_000;
        sched.run_until(SimTime(t), &mut world).unwrap();
        let alive = world.cloud.fleet().len() as u64;
        let window = (t.saturating_sub(lag)..=t).step_by(10_000).map(desired);
        let (lo, hi) = window.fold((u64::MAX, 0), |(a, b), d| (a.min(d), b.max(d)));
        assert!(
            lo <= alive && alive <= hi + 1,
            "at {} min: {alive} alive, the curve wanted {lo}..={hi}",
            t / MIN
        );
    }
    let h = &world.autoscalers()[0].history;
    assert!(h.len() > 40, "{} actions", h.len());
    let mut last_out: Option<SimTime> = None;
    let mut last_any: Option<SimTime> = None;
    for a in h {
        if a.delta > 0 {
            if let Some(t) = last_out {
                assert!(
                    a.time.since(t).ms() >= out_cd,
                    "scale-outs at {t:?} and {:?}",
                    a.time
                );
            }
            last_out = Some(a.time);
        } else if let Some(t) = last_any {
            assert!(
                a.time.since(t).ms() >= in_cd,
                "scale-in at {:?} after {t:?}",
                a.time
            );
        }
        last_any = Some(a.time);
    }
    // Everything went through the API.
    let c = calls(&world);
    let runs = c.get(&(Action::RunInstances, None)).copied().unwrap_or(0);
    let terms = c
        .get(&(Action::TerminateInstances, None))
        .copied()
        .unwrap_or(0);
    let outs = h.iter().filter(|a| a.delta > 0).count() as u64;
    assert_eq!((runs, terms), (outs, h.len() as u64 - outs));
}

#[test]
fn autoscaler_respects_quota_and_the_per_call_cap() {
    let text = r#"
name = "big"
seed = 4
duration = "1h"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
quota = { postpaid = 130 }
[zones.ap-guangzhou-4]
[[autoscalers]]
name = "web"
zones = ["ap-guangzhou-3", "ap-guangzhou-4"]
instance_type = "S5.MEDIUM4"
signal = { profile = "table", points = [{ at = "0s", value = 500 }] }
target_per_instance = 1
max = 500
"#;
    let (_, mut world, mut sched) = built(text);
    sched.run_until(SimTime(30_000), &mut world).unwrap();
    // 250 per zone wanted; 130 fit in the first (a partial delivery with MinCount 1), the rest
    // goes to the second, in calls of at most 100 instances: 100+100+30 in the first,
    // 100+100+50 then 20 more in the second.
    assert_eq!(per_zone(&world, None), vec![130, 370]);
    let c = calls(&world);
    assert_eq!(c.get(&(Action::RunInstances, None)), Some(&7));
    sched.run(&mut world).unwrap();
    assert_eq!(world.cloud.fleet().len(), 500);
}

#[test]
fn autoscaler_follows_the_instances_a_workload_wants() {
    let text = r#"
name = "wanted"
seed = 6
duration = "5h"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
quota = { postpaid = 20 }
[[workloads]]
name = "sessions"
arrival = { process = "poisson", rate_per_hour = 120 }
lifetime = { dist = "exponential", mean = "30m" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
[[autoscalers]]
name = "backend"
zone = "ap-guangzhou-3"
instance_type = "S5.MEDIUM4"
signal = { workload = "sessions" }
target_per_instance = 8
min = 1
max = 30
"#;
    let (_, mut world, mut sched) = built(text);
    world.demand_log = Some(Vec::new());
    let mut seen = std::collections::BTreeSet::new();
    for m in 1..=300u64 {
        let t = m * MIN;
        sched.run_until(SimTime(t + 1), &mut world).unwrap();
        // What the workload wants at t, from its requests: lifetimes not yet over. It wants
        // them whether the control plane served them or not (its quota of 20 is shared).
        let wanted = world
            .demand_log
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|(_, d)| {
                d.lifetimes
                    .iter()
                    .map(move |l| (d.requested, d.requested + *l))
            })
            .filter(|&(a, b)| a.ms() <= t && b.ms() > t)
            .count() as u64;
        let want = wanted.div_ceil(8).clamp(1, 30) as u32;
        assert_eq!(
            world.autoscalers()[0].desired,
            want,
            "at {m} min ({wanted} wanted)"
        );
        seen.insert(want);
    }
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(
        world.workloads[0].workload.refused > 0,
        "the workload hit the shared quota"
    );
}

#[test]
fn autoscaler_moves_to_another_zone_during_an_outage() {
    for mode in ["lost", "stopped"] {
        let text = format!(
            r#"
name = "as-outage"
seed = 3
duration = "3h"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
[zones.ap-guangzhou-4]
[[autoscalers]]
name = "web"
zones = ["ap-guangzhou-3", "ap-guangzhou-4"]
instance_type = "S5.MEDIUM4"
signal = {{ profile = "table", points = [{{ at = "0s", value = 10 }}] }}
target_per_instance = 1
max = 10
[[faults]]
kind = "zone_outage"
zone = "ap-guangzhou-3"
at = "1h"
duration = "1h"
instances = "{mode}"
"#
        );
        let (_, mut world, mut sched) = built(&text);
        sched.run_until(SimTime(HOUR), &mut world).unwrap();
        assert_eq!(per_zone(&world, Some(InstanceState::Running)), vec![5, 5]);
        // Lost (or stopped, then terminated as unhealthy) and replaced in the other zone at the
        // next evaluations.
        sched
            .run_until(SimTime(HOUR + 5 * MIN), &mut world)
            .unwrap();
        assert_eq!(per_zone(&world, None), vec![0, 10], "{mode}");
        assert_eq!(world.autoscalers()[0].in_service(), 10);
        let c = calls(&world);
        assert!(c.contains_key(&(Action::RunInstances, Some(ErrorCode::ZoneSoldOut))));
        // Once the zone is back nothing is moved: the fleet already has what it wants.
        sched.run(&mut world).unwrap();
        assert_eq!(per_zone(&world, None), vec![0, 10], "{mode}");
    }
}

// ---- faults ----------------------------------------------------------------------------------

const OUTAGE: &str = r#"
name = "outage"
seed = 8
duration = "6h"
sample_interval = "30m"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
[zones.ap-guangzhou-4]
[[workloads]]
name = "w"
arrival = { process = "poisson", rate_per_hour = 40 }
lifetime = { dist = "exponential", mean = "3h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }
placement = "round_robin"

[[faults]]
kind = "zone_outage"
zone = "ap-guangzhou-3"
at = "1h"
duration = "1h"
instances = "lost"

[[faults]]
kind = "zone_outage"
zone = "ap-guangzhou-4"
at = "3h"
duration = "1h"
instances = "stopped"
"#;

#[test]
fn zone_outage_loses_exactly_the_zones_instances_and_refuses_the_zone_until_it_ends() {
    let (_, mut world, mut sched) = built(OUTAGE);
    let (a, b) = (
        zone(&world, "ap-guangzhou-3"),
        zone(&world, "ap-guangzhou-4"),
    );
    sched.run_until(SimTime(HOUR), &mut world).unwrap();
    let before: Vec<_> = world
        .cloud
        .fleet()
        .iter()
        .map(|(_, i)| (i.id, i.zone))
        .collect();
    let in_a = before.iter().filter(|(_, z)| *z == a).count();
    assert!(in_a > 10, "{in_a}");
    let released_before = world.rec.released;
    // The outage begins at 1h: exactly the zone's instances are released, then and there.
    sched.run_until(SimTime(HOUR + 1), &mut world).unwrap();
    assert_eq!(per_zone(&world, None)[a.0 as usize], 0);
    for (id, z) in &before {
        let alive = world.cloud.fleet().key_of(*id).is_some();
        assert_eq!(alive, *z == b, "{id} in {z:?}");
    }
    assert_eq!(world.rec.released - released_before, in_a as u64);
    // During the outage nothing is placed in the zone: the documented code.
    sched
        .run_until(SimTime(HOUR + 30 * MIN), &mut world)
        .unwrap();
    assert_eq!(
        run_request(&mut world, &mut sched, a),
        Err(ErrorCode::ZoneSoldOut)
    );
    assert_eq!(
        ErrorCode::ZoneSoldOut.as_str(),
        "ResourceInsufficient.AvailabilityZoneSoldOut"
    );
    assert!(matches!(
        run_request(&mut world, &mut sched, b),
        Ok(Response::Launched { .. })
    ));
    sched.run_until(SimTime(2 * HOUR - 1), &mut world).unwrap();
    assert_eq!(per_zone(&world, None)[a.0 as usize], 0);
    let refused = calls(&world)
        .get(&(Action::RunInstances, Some(ErrorCode::ZoneSoldOut)))
        .copied()
        .unwrap_or(0);
    assert!(
        refused > 5,
        "the workload's half of the requests was refused: {refused}"
    );
    // After it (it ends at 2h), the zone takes instances again.
    sched.run_until(SimTime(2 * HOUR + 1), &mut world).unwrap();
    assert!(matches!(
        run_request(&mut world, &mut sched, a),
        Ok(Response::Launched { .. })
    ));
    sched.run_until(SimTime(3 * HOUR), &mut world).unwrap();
    assert!(per_zone(&world, None)[a.0 as usize] > 10);

    // The second outage stops ap-guangzhou-4's instances: every RUNNING one is STOPPED at 3h.
    let running_b = per_zone(&world, Some(InstanceState::Running))[b.0 as usize];
    sched.run_until(SimTime(3 * HOUR + 1), &mut world).unwrap();
    assert_eq!(
        per_zone(&world, Some(InstanceState::Running))[b.0 as usize],
        0
    );
    assert!(per_zone(&world, Some(InstanceState::Stopped))[b.0 as usize] >= running_b);
    // StartInstances needs capacity in the zone: refused until the outage ends (at 4h).
    let start = |w: &mut World, s: &mut Scheduler<Event>| {
        let ids: Vec<_> = w
            .cloud
            .fleet()
            .iter()
            .filter(|(_, i)| i.zone == b && i.state == InstanceState::Stopped && !i.busy())
            .map(|(_, i)| i.id.into())
            .take(5)
            .collect();
        assert_eq!(ids.len(), 5);
        w.cloud
            .call(
                Owner::Script,
                Request::StartInstances { ids: ids.into() },
                s,
                &mut w.rec,
            )
            .map_err(|e| e.code)
    };
    sched
        .run_until(SimTime(3 * HOUR + 10 * MIN), &mut world)
        .unwrap();
    // StartInstances lists no capacity code: accepted, the starts fail when they complete
    assert_eq!(start(&mut world, &mut sched), Ok(Response::Accepted));
    sched
        .run_until(SimTime(3 * HOUR + 12 * MIN), &mut world)
        .unwrap();
    let failed = world
        .cloud
        .fleet()
        .iter()
        .filter(|(_, i)| {
            i.zone == b
                && i.state == InstanceState::Stopped
                && i.latest_operation.as_str() == Some("StartInstances")
                && i.latest_operation_state
                    == Some(fleetsim::cloud::instance::OperationState::Failed)
        })
        .count();
    assert_eq!(failed, 5);
    sched.run_until(SimTime(4 * HOUR + 1), &mut world).unwrap();
    assert_eq!(start(&mut world, &mut sched), Ok(Response::Accepted));
}

#[test]
fn zone_outage_run_folder_is_consistent_and_clients_recover() {
    let base = fresh_dir("controllers-outage");
    let out = base.join("run");
    let scn = fleetsim::scenario::load_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/zone-outage.toml"
    )))
    .expect("the shipped scenario loads");
    run(
        &scn,
        RunOptions {
            out: Some(out.clone()),
            seed: None,
            trace: None,
            write_files: true,
        },
    )
    .expect("run");
    // Bills, counts, samples and Little's law hold through losses, stops and replacements.
    let folder = check_run_folder(&out, 30 * MIN);
    let outage = (2 * 24 + 6) * HOUR;
    let lost: Vec<_> = folder
        .instances
        .iter()
        .filter(|r| r.zone == "ap-guangzhou-3" && r.released_ms == Some(outage))
        .collect();
    assert!(lost.len() > 20, "{}", lost.len());
    assert!(
        !folder.instances.iter().any(|r| r.zone == "ap-guangzhou-3"
            && r.created_ms >= outage
            && r.created_ms < outage + 6 * HOUR),
        "nothing placed in the zone while it is down"
    );
    // The zone is empty at every sample of the outage, and filled again after it.
    for s in &folder.samples {
        if s.zone == "ap-guangzhou-3" && s.time_ms > outage && s.time_ms < outage + 6 * HOUR {
            panic!("instances in the dead zone: {s:?}");
        }
    }
    assert!(
        folder.samples.iter().any(|s| s.zone == "ap-guangzhou-3"
            && s.time_ms == outage + 7 * HOUR
            && s.instances > 5)
    );
    // web (workload0) replaced what it lost within the same instant, elsewhere.
    let replaced = folder
        .instances
        .iter()
        .filter(|r| r.owner == "workload0" && r.created_ms == outage && r.zone != "ap-guangzhou-3")
        .count();
    let web_lost = lost.iter().filter(|r| r.owner == "workload0").count();
    assert!(
        replaced >= web_lost * 9 / 10 && web_lost > 5,
        "{replaced} / {web_lost}"
    );
}

fn failures(rate: &str, replace: bool) -> String {
    format!(
        r#"
name = "failures"
seed = 12
duration = "20d"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
[zones.ap-guangzhou-4]
[api]
preset = "unlimited"
[[workloads]]
name = "w"
arrival = {{ process = "poisson", rate_per_hour = 30 }}
lifetime = {{ dist = "exponential", mean = "10h" }}
types = {{ "S5.MEDIUM4" = 1 }}
zones = {{ ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }}
replace_failed = {replace}
[[faults]]
kind = "instance_failures"
{rate}
"#
    )
}

#[test]
fn random_failures_match_rate_times_instance_time() {
    let (_, mut world, mut sched) = built(&failures("rate_per_instance_per_day = 0.3", true));
    sched.run(&mut world).unwrap();
    let p = &world.failure_processes()[0];
    let exposure_days = p.exposure_ms as f64 / (24 * HOUR) as f64;
    // ~300 RUNNING instances for 20 days: ~6000 instance-days, ~1800 failures expected.
    assert!(exposure_days > 5000.0, "{exposure_days}");
    let expected = 0.3 * exposure_days;
    let got = p.failures as f64;
    assert!(
        (got - expected).abs() <= 4.0 * expected.sqrt(),
        "{got} failures, {expected:.1} expected"
    );
    // Every failure was replaced: created = asked + failures (no launch failures, no refusals).
    let w = &world.workloads[0].workload;
    assert_eq!(w.refused, 0);
    assert_eq!(world.rec.created, w.asked + p.failures);

    // The same with `mtbf`: 0.3 per day is an MTBF of 80 h; same streams, same run.
    let (_, mut w2, mut s2) = built(&failures("mtbf = \"80h\"", true));
    s2.run(&mut w2).unwrap();
    assert_eq!(w2.failure_processes()[0].failures, p.failures);
    // Without replacement, no extra instances.
    let (_, mut w3, mut s3) = built(&failures("rate_per_instance_per_day = 0.3", false));
    s3.run(&mut w3).unwrap();
    assert_eq!(w3.rec.created, w3.workloads[0].workload.asked);
    assert!(w3.failure_processes()[0].failures > 1000);
}

#[test]
fn failures_in_a_window_and_a_zone_only() {
    let text = failures(
        "rate_per_instance_per_day = 2\nzone = \"ap-guangzhou-4\"\nat = \"5d\"\nduration = \"2d\"",
        false,
    );
    let (_, mut world, mut sched) = built(&text);
    let b = zone(&world, "ap-guangzhou-4");
    sched.run_until(SimTime(5 * 24 * HOUR), &mut world).unwrap();
    assert_eq!(world.failure_processes()[0].failures, 0);
    assert_eq!(world.failure_processes()[0].exposure_ms, 0);
    // The exposure is the zone's RUNNING instance-time: compare with samples every minute.
    let mut sampled = 0u128;
    for m in 0..(2 * 24 * 60) {
        sampled +=
            per_zone(&world, Some(InstanceState::Running))[b.0 as usize] as u128 * MIN as u128;
        sched
            .run_until(SimTime(5 * 24 * HOUR + (m + 1) * MIN), &mut world)
            .unwrap();
    }
    // The window closes at 7d (its last stretch is counted then).
    sched
        .run_until(SimTime(7 * 24 * HOUR + 1), &mut world)
        .unwrap();
    let p = &world.failure_processes()[0];
    let (f, e) = (p.failures, p.exposure_ms);
    assert!(
        (e as f64 - sampled as f64).abs() < 0.01 * sampled as f64,
        "exposure {e} vs sampled {sampled}"
    );
    let expected = 2.0 * e as f64 / (24 * HOUR) as f64;
    assert!(
        (f as f64 - expected).abs() <= 4.0 * expected.sqrt(),
        "{f} vs {expected}"
    );
    sched.run(&mut world).unwrap();
    let p = &world.failure_processes()[0];
    assert_eq!(
        (p.failures, p.exposure_ms),
        (f, e),
        "nothing after the window"
    );
}

#[test]
fn faults_keep_bills_and_counts_consistent_for_every_charge_type() {
    let text = r#"
name = "faults-mixed"
seed = 21
duration = "3d"
sample_interval = "30m"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]
[cloud]
launch_failure_probability = 0.05
[zones.ap-guangzhou-3]
quota = { postpaid = 60, spot_cores = 200 }
[zones.ap-shanghai-2]
stock = { "S5.LARGE8" = 20 }
[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 20 }
lifetime = { dist = "lognormal", median = "2h", sigma = 1.0 }
types = { "S5.MEDIUM4" = 3, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
placement = "spread"
zone_fallback = true
replace_failed = true
[[workloads]]
name = "batch"
charge_type = "SPOTPAID"
arrival = { process = "poisson", rate_per_hour = 5 }
lifetime = { dist = "exponential", mean = "4h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
instances_per_request = 2
replace_failed = true
[[workloads]]
name = "base"
charge_type = "PREPAID"
arrival = { process = "poisson", rate_per_hour = 1 }
lifetime = { dist = "weibull", shape = 0.8, scale = "20h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-shanghai-2 = 1 }
placement = "least_quota_used"
replace_failed = true
[[faults]]
kind = "zone_outage"
zone = "ap-guangzhou-3"
at = "1d"
duration = "3h"
[[faults]]
kind = "zone_outage"
zone = "ap-shanghai-2"
at = "2d"
duration = "2h"
instances = "stopped"
[[faults]]
kind = "instance_failures"
mtbf = "2d"
"#;
    let base = fresh_dir("controllers-mixed");
    let out = base.join("run");
    run(
        &scenario(text),
        RunOptions {
            out: Some(out.clone()),
            seed: None,
            trace: None,
            write_files: true,
        },
    )
    .expect("run");
    let folder = check_run_folder(&out, 30 * MIN);
    let lost_at_outage = folder
        .instances
        .iter()
        .filter(|r| r.released_ms == Some(24 * HOUR) && r.zone == "ap-guangzhou-3")
        .count();
    assert!(lost_at_outage > 10, "{lost_at_outage}");
    for charge in ["PREPAID", "SPOTPAID", "POSTPAID_BY_HOUR"] {
        assert!(
            folder
                .instances
                .iter()
                .any(|r| r.charge == charge && r.released_ms == Some(24 * HOUR)),
            "a {charge} instance lost at the outage"
        );
    }
}

// ---- scenario mistakes -----------------------------------------------------------------------

#[test]
fn controller_mistakes_name_their_field() {
    let base = r#"
name = "x"
duration = "1d"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
"#;
    let cases = [
        (
            "[[autoscalers]]\nname = \"a\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"S5.MEDIUM4\"\nsignal = { profile = \"diurnal\", base = 10, amplitude = 0.5 }\ntarget_per_instance = 1\nmin = 5\nmax = 3\n",
            "autoscalers[0].min",
        ),
        (
            "[[autoscalers]]\nname = \"a\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"S5.MEDIUM4\"\nsignal = { profile = \"diurnal\", base = 10, amplitude = 0.5, points = [] }\ntarget_per_instance = 1\nmax = 3\n",
            "autoscalers[0].signal.points",
        ),
        (
            "[[autoscalers]]\nname = \"a\"\nzone = \"ap-guangzhou-3\"\ninstance_type = \"S5.MEDIUM4\"\nsignal = { workload = \"nope\" }\ntarget_per_instance = 1\nmax = 3\n",
            "autoscalers[0].signal.workload",
        ),
        (
            "[[autoscalers]]\nname = \"a\"\nzone = \"ap-nowhere-1\"\ninstance_type = \"S5.MEDIUM4\"\nsignal = { profile = \"table\", points = [{ at = \"0s\", value = 1 }] }\ntarget_per_instance = 1\nmax = 3\n",
            "autoscalers[0].zone",
        ),
        (
            "[[faults]]\nkind = \"zone_outage\"\nat = \"1h\"\nduration = \"1h\"\n",
            "faults[0].zone",
        ),
        (
            "[[faults]]\nkind = \"zone_outage\"\nzone = \"ap-guangzhou-3\"\nat = \"1h\"\nduration = \"1h\"\nmtbf = \"3d\"\n",
            "faults[0].mtbf",
        ),
        (
            "[[faults]]\nkind = \"instance_failures\"\nrate_per_instance_per_day = 1\nmtbf = \"3d\"\n",
            "faults[0].mtbf",
        ),
        (
            "[[faults]]\nkind = \"zone_outage\"\nzone = \"ap-guangzhou-3\"\nat = \"1h\"\nduration = \"2h\"\n[[faults]]\nkind = \"zone_outage\"\nzone = \"ap-guangzhou-3\"\nat = \"2h\"\nduration = \"1h\"\n",
            "faults[1].at",
        ),
        (
            "[[workloads]]\nname = \"w\"\narrival = { process = \"poisson\", rate_per_hour = 1 }\nlifetime = { dist = \"fixed\", value = \"1h\" }\ntypes = { \"S5.MEDIUM4\" = 1 }\nzones = { ap-guangzhou-3 = 1 }\nquota_refresh = \"1m\"\n",
            "workloads[0].quota_refresh",
        ),
    ];
    for (extra, field) in cases {
        let text = format!("{base}{extra}");
        let err = fleetsim::scenario::parse_scenario(&text, "x.toml")
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{text}"))
            .to_string();
        assert!(err.contains(&format!("`{field}`")), "{field}: {err}");
        assert!(err.starts_with("x.toml:"), "{err}");
    }
}

#[test]
fn shipped_diurnal_autoscaler_scenario_runs() {
    let scn = fleetsim::scenario::load_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/diurnal-autoscaler.toml"
    )))
    .expect("the shipped scenario loads");
    let (mut world, mut sched) = build_world(&scn, scn.seed);
    let spec = scn.autoscalers[0].clone();
    for h in 1..(7 * 24) {
        sched.run_until(SimTime(h * HOUR), &mut world).unwrap();
        let mine = world
            .cloud
            .fleet()
            .iter()
            .filter(|(_, i)| i.owner == Owner::Autoscaler(0))
            .count() as u32;
        let want =
            world.autoscalers()[0].desired_for(spec.signal.profile_at(SimTime(h * HOUR)).unwrap());
        // Within the 15-minute scale-in cooldown the fleet may be a few instances above.
        assert!(
            mine + 1 >= want && mine <= want + 4,
            "at {h}h: {mine} for {want}"
        );
    }
}
