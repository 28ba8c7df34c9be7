//! Observers only watch: a run watched by a no-op observer and a small independent counter
//! makes the same decisions as a normal run, so the counter's `api.csv` equals the recorder's.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use fleetsim::cloud::api::{CallRecord, Change};
use fleetsim::cloud::{Action, ErrorCode, Observer};
use fleetsim::engine::SimTime;

/// Counts calls per (bucket, action, outcome) as `api.csv` does, by its own code.
struct ApiCounter {
    bucket_ms: u64,
    cells: BTreeMap<(u64, &'static str, &'static str), [u64; 3]>,
    created: u64,
}

impl ApiCounter {
    fn cell(&mut self, t: SimTime, a: Action, code: Option<ErrorCode>) -> &mut [u64; 3] {
        let key = (
            t.ms() / self.bucket_ms,
            a.as_str(),
            code.map_or("OK", |c| c.as_str()),
        );
        self.cells.entry(key).or_default()
    }

    /// The rows of `api.csv` (without its header), in its order.
    fn csv_rows(&self) -> Vec<String> {
        let mut keys: Vec<_> = self.cells.keys().collect();
        // api.csv sorts by bucket, then action and outcome in the model's order; compare as
        // sets of rows instead of depending on that order.
        keys.sort();
        keys.into_iter()
            .map(|k| {
                let c = self.cells[k];
                let ms = k.0 * self.bucket_ms;
                format!(
                    "{}.{:03},{},{},{},{},{}",
                    ms / 1000,
                    ms % 1000,
                    k.1,
                    k.2,
                    c[0],
                    c[1],
                    c[2]
                )
            })
            .collect()
    }
}

impl Observer for ApiCounter {
    fn state_change(&mut self, ch: &Change<'_>) {
        if ch.from.is_none() {
            self.created += 1;
        }
    }
    fn api_call(&mut self, c: &CallRecord<'_>) {
        let retry = c.attempt > 1;
        let cell = self.cell(
            c.time,
            c.request.action(),
            c.result.as_ref().err().map(|e| e.code),
        );
        cell[0] += 1;
        cell[1] += retry as u64;
    }
    fn give_up(&mut self, time: SimTime, action: Action, code: ErrorCode, _attempts: u32) {
        self.cell(time, action, Some(code))[2] += 1;
    }
}

fn sorted_rows(csv: &str) -> Vec<String> {
    let mut rows: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    rows.sort();
    rows
}

fn same_decisions(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let scn = fleetsim::scenario::load_file(&path).expect("shipped scenario loads");
    let dir = fresh_dir(&format!("observers-{}", scn.name));
    let out = dir.as_ref().join("run");
    let res = fleetsim::run::run(
        &scn,
        fleetsim::run::RunOptions {
            out: Some(out.clone()),
            write_files: true,
            ..Default::default()
        },
    )
    .expect("the run succeeds");
    let api = std::fs::read_to_string(out.join("api.csv")).expect("api.csv");

    let counter = ApiCounter {
        bucket_ms: scn.sample_interval.ms(),
        cells: BTreeMap::new(),
        created: 0,
    };
    let (mut world, mut sched) = fleetsim::run::build_world_with(&scn, scn.seed, ((), counter));
    sched.run(&mut world).expect("the run succeeds");
    let counter = &world.rec.1;
    let mut got = counter.csv_rows();
    got.sort();
    assert!(!got.is_empty(), "{file}: the run made calls");
    assert_eq!(got, sorted_rows(&api), "{file}: api.csv counts differ");
    assert_eq!(counter.created, res.summary.instances_created, "{file}");
    assert_eq!(
        world.cloud.fleet().len() as u64,
        res.summary.instances_alive_at_end,
        "{file}"
    );
}

#[test]
fn a_no_op_observer_changes_no_decision() {
    for f in [
        "scenarios/quota-wall.toml",
        "scenarios/zone-outage.toml",
        "scenarios/diurnal-autoscaler.toml",
        "scenarios/lessons/03-rate-limit-and-backoff.toml",
        "scenarios/lessons/06-spot-reclaim.toml",
    ] {
        same_decisions(f);
    }
}
