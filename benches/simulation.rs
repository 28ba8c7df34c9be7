//! Benchmarks of the control plane, billing and a whole run (the engine's queue has its own,
//! `benches/event_queue.rs`). `cargo bench --bench simulation`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use fleetsim::cloud::billing::{BillingRules, Piece};
use fleetsim::cloud::spot_market::{SpotMarket, SpotModel};
use fleetsim::engine::{RngStreams, SimDuration, SimTime};
use fleetsim::run::{RunOptions, build_world, run};
use fleetsim::scenario::parse_scenario;

/// A day of the quickstart: ~20k instances, all charge types, the full control plane.
fn day_scenario() -> fleetsim::scenario::Scenario {
    let full = "duration = \"35d\"";
    assert!(
        fleetsim::scenario::QUICKSTART.contains(full),
        "the quickstart's duration changed: update this benchmark"
    );
    let text = fleetsim::scenario::QUICKSTART.replace(full, "duration = \"1d\"");
    parse_scenario(&text, "quickstart-1d").expect("valid")
}

fn end_to_end(c: &mut Criterion) {
    let scn = day_scenario();
    let events = run(&scn, RunOptions::default())
        .expect("runs")
        .summary
        .events_processed;
    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    // Simulation only (no files): the engine, control plane, billing and workloads.
    g.bench_function("quickstart_1d_events", |b| {
        b.iter(|| {
            let (mut world, mut sched) = build_world(&scn, 42);
            sched.run(&mut world).unwrap();
            black_box(sched.processed())
        })
    });
    g.finish();
}

fn control_plane(c: &mut Criterion) {
    // Launch and terminate through the API: the calls of a day's quickstart, measured per call.
    let scn = day_scenario();
    let (_, sched) = build_world(&scn, 42);
    drop(sched);
    let mut g = c.benchmark_group("control_plane");
    g.sample_size(20);
    let calls = {
        let (mut world, mut sched) = build_world(&scn, 42);
        sched.run(&mut world).unwrap();
        world.rec.api_calls
    };
    g.throughput(Throughput::Elements(calls));
    g.bench_function("quickstart_1d_api_calls", |b| {
        b.iter(|| {
            let (mut world, mut sched) = build_world(&scn, 42);
            sched.run(&mut world).unwrap();
            black_box(world.rec.api_calls)
        })
    });
    g.finish();
}

fn billing(c: &mut Criterion) {
    let scn = day_scenario();
    let rules = BillingRules::default();
    let streams = RngStreams::new(1);
    let mut market = SpotMarket::new(
        &scn.catalog,
        SpotModel::Random {
            min: 0.03,
            max: 0.2,
            mean: 0.1,
            volatility: 0.01,
            reversion: 0.1,
        },
        SimDuration::from_hours(1),
        &streams,
    );
    let mut g = c.benchmark_group("billing");
    g.throughput(Throughput::Elements(1));
    // A tiered postpaid interval crossing the 96 h boundary.
    g.bench_function("tiered_interval", |b| {
        let mut v: Vec<Piece> = Vec::new();
        b.iter(|| {
            v.clear();
            black_box(rules.tiered_charge(black_box(320_000), 90 * 3_600_000, 12 * 3_600_000))
        })
    });
    // A 30-hour spot interval split into hourly market-price pieces.
    g.bench_function("spot_price_30h", |b| {
        let z = fleetsim::cloud::ZoneIdx(0);
        let t = fleetsim::cloud::TypeIdx(0);
        b.iter(|| {
            let mut total = 0u64;
            for k in 0..30 {
                total += market.price_in_step(z, t, black_box(k));
            }
            black_box(total)
        })
    });
    g.finish();
    let _ = SimTime::ZERO;
}

criterion_group!(benches, end_to_end, control_plane, billing);
criterion_main!(benches);
