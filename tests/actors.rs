//! Actors behind one interface (issue 12 item 2): an actor is driven through the `Actor` trait
//! and acts only through its `Ctx`; the world dispatches notices by `Owner`, and an owner with
//! no actor is an error of the run, not a panic.

mod common;

use common::*;
use fleetsim::cloud::api::{Notice, Observer, RunInstances};
use fleetsim::cloud::{
    ChargeType, ErrorCode, InstanceId, InstanceState, Owner, Request, Response, TypeIdx, ZoneIdx,
};
use fleetsim::engine::{Scheduler, SimTime};
use fleetsim::run::build_world;
use fleetsim::world::actor::{Actor, Ctx, UnknownOwner};
use fleetsim::world::external::ExternalClient;
use fleetsim::world::{Event, World};

const HOUR: u64 = 3_600_000;

/// One workload, one zone, nothing random about the control plane.
const SCENARIO: &str = r#"
name = "actors"
seed = 3
duration = "1d"
instance_types = ["S5.MEDIUM4"]
[cloud]
launch_failure_probability = 0.0
[zones.ap-guangzhou-3]
[api]
preset = "unlimited"

[[workloads]]
name = "w"
charge_type = "POSTPAID_BY_HOUR"
arrival = { process = "poisson", rate_per_hour = 2 }
lifetime = { dist = "fixed", value = "2h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
"#;

fn built() -> (World, Scheduler<Event>) {
    let scn = scenario(SCENARIO);
    build_world(&scn, scn.seed)
}

fn run_request(count: u32) -> Request {
    Request::RunInstances(RunInstances {
        zone: ZoneIdx(0),
        itype: TypeIdx(0),
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
}

/// A test's own actor: launches `n` instances when asked, and says who it acted as and when.
#[derive(Default)]
struct Probe {
    seen: Vec<(Option<Owner>, SimTime)>,
}

impl Actor for Probe {
    type Event = u32;
    type Reply = Result<Vec<InstanceId>, ErrorCode>;

    fn handle<O: Observer>(&mut self, n: u32, ctx: &mut Ctx<'_, O>) -> Self::Reply {
        self.seen.push((ctx.who(), ctx.now()));
        match ctx.call(run_request(n)) {
            Ok(Response::Launched { ids, .. }) => Ok(ids.into_vec()),
            Ok(other) => panic!("RunInstances answered {other:?}"),
            Err(e) => Err(e.code),
        }
    }
}

#[test]
fn an_actor_of_its_own_acts_through_its_context() {
    let (mut world, mut sched) = built();
    sched.run_until(SimTime(HOUR), &mut world).expect("runs");
    let calls_before = world.rec.api_calls;
    let mut probe = Probe::default();
    let ids = world
        .act(&mut probe, Some(Owner::External), 3, &mut sched)
        .expect("launched");
    assert_eq!(ids.len(), 3);
    assert_eq!(probe.seen, vec![(Some(Owner::External), SimTime(HOUR))]);
    // The call went through the one door: counted, and its instances are the owner's.
    assert_eq!(world.rec.api_calls, calls_before + 1);
    for id in &ids {
        let key = world.cloud.fleet().key_of(*id).expect("alive");
        let inst = world.cloud.fleet().get(key).expect("alive");
        assert_eq!(inst.owner, Owner::External);
        assert_eq!(inst.state, InstanceState::Pending);
    }
    // The run goes on; the instances boot, and the external owner ignores their notices.
    sched
        .run_until(SimTime(2 * HOUR), &mut world)
        .expect("runs");
    for id in &ids {
        let key = world.cloud.fleet().key_of(*id).expect("alive");
        assert_eq!(
            world.cloud.fleet().get(key).unwrap().state,
            InstanceState::Running
        );
    }
}

#[test]
fn the_platform_makes_no_api_calls() {
    let (mut world, mut sched) = built();
    let mut probe = Probe::default();
    let alive = world.cloud.fleet().len();
    let calls = world.rec.api_calls;
    let r = world.act(&mut probe, None, 1, &mut sched);
    assert_eq!(r, Err(ErrorCode::InvalidParameter));
    assert_eq!(world.cloud.fleet().len(), alive);
    assert_eq!(world.rec.api_calls, calls, "refused before the door");
}

#[test]
fn notices_are_dispatched_by_owner_and_an_unknown_owner_is_an_error() {
    let (mut world, mut sched) = built();
    let mut probe = Probe::default();
    let ids = world
        .act(&mut probe, Some(Owner::External), 1, &mut sched)
        .expect("launched");
    let key = world.cloud.fleet().key_of(ids[0]).expect("alive");
    let mut n = Notice {
        owner: Owner::External,
        id: ids[0],
        key,
        to: Some(InstanceState::Running),
        zone: ZoneIdx(0),
        itype: TypeIdx(0),
        reclaimed: false,
    };
    assert_eq!(world.notify(&n, &mut sched), Ok(()));
    // The scenario has one workload, no trace and no autoscaler.
    n.owner = Owner::Workload(0);
    assert_eq!(world.notify(&n, &mut sched), Ok(()));
    for owner in [Owner::Workload(1), Owner::Trace(0), Owner::Autoscaler(0)] {
        n.owner = owner;
        let e = world.notify(&n, &mut sched).expect_err("no such actor");
        assert_eq!(e, UnknownOwner(owner));
        assert!(e.to_string().contains("no actor is named"), "{e}");
    }
}

#[test]
fn an_instance_of_an_owner_without_an_actor_stops_the_run_with_an_error() {
    let (mut world, mut sched) = built();
    let mut probe = Probe::default();
    // Launched as a workload the scenario does not have: its notices have nowhere to go.
    world
        .act(&mut probe, Some(Owner::Workload(9)), 1, &mut sched)
        .expect("launched");
    let e = sched
        .run_until(SimTime(HOUR), &mut world)
        .expect_err("the run stops");
    assert!(format!("{e:#}").contains("Workload(9)"), "{e:#}");
}

#[test]
fn the_external_client_is_one_more_actor() {
    // Driven through the trait, it does what `World::external_call` (and so `serve`) does.
    let (mut a, mut sa) = built();
    let (mut b, mut sb) = built();
    sa.run_until(SimTime(HOUR), &mut a).expect("runs");
    sb.run_until(SimTime(HOUR), &mut b).expect("runs");
    let ra = a.external_call(run_request(2), &mut sa);
    let rb = b.act(
        &mut ExternalClient,
        Some(Owner::External),
        run_request(2),
        &mut sb,
    );
    let ids = |r: Result<Response, _>| match r {
        Ok(Response::Launched { ids, .. }) => ids.into_vec(),
        other => panic!("{other:?}"),
    };
    assert_eq!(ids(ra), ids(rb));
    sa.run_until(SimTime(5 * HOUR), &mut a).expect("runs");
    sb.run_until(SimTime(5 * HOUR), &mut b).expect("runs");
    assert_eq!(a.cloud.fleet().len(), b.cloud.fleet().len());
    assert_eq!(a.rec.api_calls, b.rec.api_calls);
}
