//! The observer of a run: keeps the fleet counts and cost totals, streams `instances.csv`,
//! narrates for `--trace`, and passes state changes on to the instances' owners.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use crate::cloud::api::CallRecord;
use crate::cloud::{
    Action, Change, ChargeType, ErrorCode, InstanceId, InstanceState, Money, Observer, Owner,
};
use crate::engine::SimTime;

use super::fleet_counts::FleetCounts;
use super::journal::Journal;

/// A state change that concerns an instance's owner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Notice {
    pub owner: Owner,
    pub id: InstanceId,
    pub to: Option<InstanceState>,
}

/// Seconds with millisecond precision, exactly, from integer milliseconds.
pub fn secs(t: SimTime) -> String {
    format!("{}.{:03}", t.ms() / 1000, t.ms() % 1000)
}

/// One row of `api.csv`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ApiCell {
    pub calls: u64,
    /// Of those calls, how many were retries.
    pub retries: u64,
    /// Calls whose client gave up after this outcome.
    pub give_ups: u64,
}

pub struct Recorder {
    pub counts: FleetCounts,
    pub cost_by_charge: [Money; 3],
    pub created: u64,
    pub released: u64,
    pub launch_failed: u64,
    pub api_calls: u64,
    pub api_by_code: BTreeMap<ErrorCode, u64>,
    pub notices: Vec<Notice>,
    pub journal: Option<Journal>,
    /// Attempt number of the call being made (1 = first try), set by the caller.
    pub attempt: u32,
    pub give_ups: u64,
    /// Calls per (time bucket, action, outcome), for `api.csv`.
    pub api_log: BTreeMap<(u64, Action, Option<ErrorCode>), ApiCell>,
    /// Width of an `api.csv` bucket, ms.
    pub api_bucket_ms: u64,
    /// The run's horizon (the last sample is taken there).
    pub end: SimTime,
    instances: Option<BufWriter<File>>,
    io_error: Option<std::io::Error>,
}

impl Recorder {
    pub fn new(zones: usize) -> Self {
        Recorder {
            counts: FleetCounts::new(zones),
            cost_by_charge: [Money::ZERO; 3],
            created: 0,
            released: 0,
            launch_failed: 0,
            api_calls: 0,
            api_by_code: BTreeMap::new(),
            notices: Vec::new(),
            journal: None,
            attempt: 1,
            give_ups: 0,
            api_log: BTreeMap::new(),
            api_bucket_ms: 3_600_000,
            end: SimTime::ZERO,
            instances: None,
            io_error: None,
        }
    }

    /// Streams one row per instance to `path` as instances are released (and the rest at the
    /// end), so per-instance output never accumulates in memory.
    pub fn stream_instances(&mut self, path: &Path) -> Result<()> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 16, f);
        writeln!(
            w,
            "instance_id,zone,instance_type,vcpus,memory_gib,charge_type,owner,created_s,running_s,released_s,final_state,cost"
        )?;
        self.instances = Some(w);
        Ok(())
    }

    /// Flushes files and reports the first write error, if any.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(w) = self.instances.as_mut() {
            w.flush().context("cannot write instances.csv")?;
        }
        if let Some(j) = self.journal.as_mut() {
            j.flush();
        }
        match self.io_error.take() {
            Some(e) => Err(e).context("cannot write instances.csv"),
            None => Ok(()),
        }
    }

    /// A client gave up on a call after `code`.
    pub fn give_up(&mut self, now: SimTime, action: Action, code: ErrorCode) {
        self.give_ups += 1;
        let bucket = now.ms() / self.api_bucket_ms.max(1);
        self.api_log
            .entry((bucket, action, Some(code)))
            .or_default()
            .give_ups += 1;
    }

    /// Writes `api.csv`.
    pub fn write_api_csv(&self, path: &Path) -> Result<()> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::new(f);
        writeln!(w, "bucket_start_s,action,outcome,calls,retries,give_ups")?;
        for (&(b, a, code), cell) in &self.api_log {
            writeln!(
                w,
                "{},{},{},{},{},{}",
                secs(SimTime(b * self.api_bucket_ms)),
                a.as_str(),
                code.map(|c| c.as_str()).unwrap_or("OK"),
                cell.calls,
                cell.retries,
                cell.give_ups
            )?;
        }
        w.flush().context("cannot write api.csv")
    }

    pub fn cost_total(&self) -> Money {
        self.cost_by_charge.iter().copied().sum()
    }

    fn write_instance(&mut self, ch: &Change<'_>, released: bool) {
        let Some(w) = self.instances.as_mut() else {
            return;
        };
        let inst = ch.instance;
        let t = ch.catalog.itype(inst.itype);
        let owner = match inst.owner {
            Owner::Workload(i) => format!("workload{i}"),
            Owner::Script => "script".into(),
        };
        let state = if released {
            "RELEASED"
        } else {
            inst.state.as_str()
        };
        let r = writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            inst.id,
            ch.catalog.zone(inst.zone).name,
            t.name,
            t.vcpus,
            t.memory_gib,
            inst.charge,
            owner,
            secs(inst.created),
            inst.first_running.map(secs).unwrap_or_default(),
            if released {
                secs(ch.time)
            } else {
                String::new()
            },
            state,
            inst.net_cost()
        );
        if let Err(e) = r
            && self.io_error.is_none()
        {
            self.io_error = Some(e);
        }
    }
}

impl Observer for Recorder {
    fn state_change(&mut self, ch: &Change<'_>) {
        self.counts.apply(ch);
        self.cost_by_charge[ch.instance.charge.index()] += ch.accrual.amount;
        if let Some(j) = self.journal.as_mut() {
            j.change(ch);
        }
        match (ch.from, ch.to) {
            (None, _) => self.created += 1,
            (Some(_), None) => {
                self.released += 1;
                self.write_instance(ch, true);
            }
            (Some(a), Some(b)) if a == b => {
                // End-of-run closing of the books: the instance is still alive.
                self.write_instance(ch, false);
                return;
            }
            (Some(_), Some(InstanceState::LaunchFailed)) => self.launch_failed += 1,
            _ => {}
        }
        if let Owner::Workload(_) = ch.instance.owner {
            self.notices.push(Notice {
                owner: ch.instance.owner,
                id: ch.instance.id,
                to: ch.to,
            });
        }
    }

    fn api_call(&mut self, c: &CallRecord<'_>) {
        self.api_calls += 1;
        let code = c.result.as_ref().err().map(|e| e.code);
        if let Some(code) = code {
            *self.api_by_code.entry(code).or_default() += 1;
        }
        let bucket = c.time.ms() / self.api_bucket_ms.max(1);
        let cell = self
            .api_log
            .entry((bucket, c.request.action(), code))
            .or_default();
        cell.calls += 1;
        if self.attempt > 1 {
            cell.retries += 1;
        }
        if let Some(j) = self.journal.as_mut() {
            j.call(c);
        }
    }
}

/// Totals by charge type in a fixed order, for summaries.
pub fn by_charge(m: &[Money; 3]) -> BTreeMap<&'static str, f64> {
    ChargeType::ALL
        .iter()
        .map(|c| (c.as_str(), m[c.index()].as_f64()))
        .collect()
}
