//! The observer of a run: keeps the fleet counts and cost totals, streams `instances.csv`,
//! counts `api.csv`, and narrates for `--trace`. It only watches: the model never reads it.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cloud::api::{CallRecord, ChangeKind};
use crate::cloud::instance::Operation;
use crate::cloud::{Action, Change, ChargeType, ErrorCode, InstanceState, Money, Observer, Owner};
use crate::engine::SimTime;

use super::costs::CostLedger;
use super::fleet_counts::FleetCounts;
use super::instances_csv::InstancesCsv;
use super::journal::Journal;
use super::table::Table;

/// Seconds with millisecond precision, exactly, from integer milliseconds.
pub fn secs(t: SimTime) -> String {
    Secs(t).to_string()
}

/// Writes seconds with millisecond precision without allocating (the hot output path).
pub struct Secs(pub SimTime);
impl std::fmt::Display for Secs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0.ms() / 1000, self.0.ms() % 1000)
    }
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

/// The `outcome` of the `api.csv` rows of calls that succeeded (the others name the error code).
pub const OK_OUTCOME: &str = "OK";

/// A row of `api.csv` as written: the calls of one bucket, action and outcome (`OK` or an
/// error code), and, when an external client called, whose they were.
#[derive(Serialize, Default)]
struct ApiRow {
    bucket_start_s: Secs,
    action: &'static str,
    outcome: &'static str,
    calls: u64,
    retries: u64,
    give_ups: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller: Option<&'static str>,
}

/// The key of an `api.csv` row: time bucket, action, outcome (`None`: OK).
pub type ApiKey = (u64, Action, Option<ErrorCode>);

/// The cells of `api.csv`. Every API call (5.3 M on bench-100k) counts in one, and hashing the
/// key into a map each time was most of the cost of observing a call. Nearly all calls succeed
/// and time only moves forward, so the successful calls of the latest bucket count in an array
/// indexed by action (a range check, no division, no hashing) and move to the map when a
/// later bucket starts; errors and give-ups go to the map directly. Iterating (`&ApiLog`)
/// yields every cell once, wherever it is.
#[derive(Clone, Debug, Default)]
pub struct ApiLog {
    /// Cells of earlier buckets, and all error outcomes.
    older: crate::engine::hash::FxHashMap<ApiKey, ApiCell>,
    /// The successful calls of the latest bucket (none before the first call).
    latest: LatestBucket,
}

#[derive(Clone, Debug)]
struct LatestBucket {
    bucket: u64,
    /// Bucket width the bucket was computed with, ms (0: no bucket yet); the bucket spans
    /// `start..end` ms.
    width: u64,
    start: u64,
    end: u64,
    /// By `Action::index`: the key of the cell (kept for iteration) and the cell.
    ok: [(ApiKey, ApiCell); Action::ALL.len()],
}

impl Default for LatestBucket {
    /// No bucket: an empty span, so the first call starts one.
    fn default() -> Self {
        LatestBucket {
            bucket: 0,
            width: 0,
            start: 0,
            end: 0,
            ok: Action::ALL.map(|a| ((0, a, None), ApiCell::default())),
        }
    }
}

impl ApiLog {
    /// The cell counting a call of `action` at `time` with outcome `code`, in buckets of
    /// `width` ms (at least 1).
    #[inline]
    pub fn cell(
        &mut self,
        time: SimTime,
        width: u64,
        action: Action,
        code: Option<ErrorCode>,
    ) -> &mut ApiCell {
        let t = time.ms();
        let l = &self.latest;
        if code.is_none() && l.width == width && l.start <= t && t < l.end {
            return &mut self.latest.ok[action.index()].1;
        }
        self.cell_slow(t, width.max(1), action, code)
    }

    /// [`Self::cell`] for an error, or a call outside the latest bucket.
    #[cold]
    #[inline(never)]
    fn cell_slow(
        &mut self,
        t: u64,
        width: u64,
        action: Action,
        code: Option<ErrorCode>,
    ) -> &mut ApiCell {
        let bucket = t / width;
        if code.is_none() {
            self.start_bucket(bucket, width);
            if self.latest.width == width && self.latest.bucket == bucket {
                return &mut self.latest.ok[action.index()].1;
            }
        }
        // An error, or (never in a run) a call earlier than the latest bucket.
        self.older.entry((bucket, action, code)).or_default()
    }

    /// Makes `bucket` the latest one if it is later than the latest (or of another width),
    /// moving the cells of the previous one to the map.
    fn start_bucket(&mut self, bucket: u64, width: u64) {
        let l = &self.latest;
        if l.width == width && bucket <= l.bucket {
            return;
        }
        let previous = std::mem::take(&mut self.latest);
        for (key, cell) in previous.ok {
            if cell != ApiCell::default() {
                let c = self.older.entry(key).or_default();
                c.calls += cell.calls;
                c.retries += cell.retries;
                c.give_ups += cell.give_ups;
            }
        }
        // Take over what the map may hold for this bucket (only after a change of width).
        let ok = Action::ALL.map(|a| {
            let key = (bucket, a, None);
            (key, self.older.remove(&key).unwrap_or_default())
        });
        self.latest = LatestBucket {
            bucket,
            width,
            start: bucket.saturating_mul(width),
            end: bucket.saturating_add(1).saturating_mul(width),
            ok,
        };
    }
}

impl<'a> IntoIterator for &'a ApiLog {
    type Item = (&'a ApiKey, &'a ApiCell);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;

    /// Every cell with something counted, each key once, in no particular order.
    fn into_iter(self) -> Self::IntoIter {
        let latest = self
            .latest
            .ok
            .iter()
            .filter(|(_, c)| *c != ApiCell::default())
            .map(|(k, c)| (k, c));
        Box::new(self.older.iter().chain(latest))
    }
}

pub struct Recorder {
    pub counts: FleetCounts,
    pub cost_by_charge: [Money; 3],
    pub created: u64,
    pub released: u64,
    pub launch_failed: u64,
    pub api_calls: u64,
    pub api_by_code: BTreeMap<ErrorCode, u64>,
    pub journal: Option<Journal>,
    /// Hourly settlement for `costs.csv`.
    pub costs: Option<CostLedger>,
    /// The accrued view's differences to `costs.csv`, for `costs_accrued.csv`.
    pub accrued: Option<super::accrued::AccruedLedger>,
    pub give_ups: u64,
    /// Spot instances destroyed by a reclaim.
    pub spot_reclaims: u64,
    /// Prepaid instances isolated because their paid period ended (not by TerminateInstances).
    pub prepaid_expiries: u64,
    /// Prepaid renewals, one per instance: RenewInstances and automatic renewals at expiry.
    pub prepaid_renewals: u64,
    /// Prepaid payments covering time after the end of the run (alive instances).
    pub prepaid_unused: Money,
    /// Net charges for disks and for public network (parts of the cost total), summed over
    /// the instances as their rows are written.
    pub cost_disk: Money,
    pub cost_network: Money,
    /// Instances alive per zone × type (kept only when `track_types` was called).
    pub alive_by_zone_type: Vec<u32>,
    types: usize,
    /// Calls per (time bucket, action, outcome), for `api.csv`.
    pub api_log: ApiLog,
    /// The calls of an external client (`fleetsim serve`), kept apart so that `api.csv` shows
    /// them under their own caller; `None` until such a client calls.
    pub api_log_external: Option<ApiLog>,
    /// Width of an `api.csv` bucket, ms.
    pub api_bucket_ms: u64,
    instances: Option<InstancesCsv>,
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
            journal: None,
            costs: None,
            accrued: None,
            give_ups: 0,
            spot_reclaims: 0,
            prepaid_expiries: 0,
            prepaid_renewals: 0,
            prepaid_unused: Money::ZERO,
            cost_disk: Money::ZERO,
            cost_network: Money::ZERO,
            alive_by_zone_type: Vec::new(),
            types: 0,
            api_log: Default::default(),
            api_log_external: None,
            api_bucket_ms: 3_600_000,
            instances: None,
        }
    }

    /// Streams one row per instance to `path` as instances are released (and the rest at the
    /// end), so per-instance output never accumulates in memory.
    pub fn stream_instances(&mut self, path: &Path) -> Result<()> {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let w = InstancesCsv::new(f).context("cannot start writing instances.csv")?;
        self.instances = Some(w);
        Ok(())
    }

    /// Keeps a count of instances alive per zone and type (for sizing a prepaid base).
    pub fn track_types(&mut self, zones: usize, types: usize) {
        self.types = types;
        self.alive_by_zone_type = vec![0; zones * types];
    }

    /// Flushes files and reports the first write error, if any.
    pub fn finish(&mut self) -> Result<()> {
        let written = self.instances.as_mut().map_or(Ok(()), |w| w.finish());
        if let Some(j) = self.journal.as_mut() {
            j.flush();
        }
        written.context("cannot write instances.csv")
    }

    /// Writes `api.csv`. After an external client's calls it has a last column, `caller`:
    /// `scenario` for the scenario's own actors, `external` for that client.
    pub fn write_api_csv(&self, path: &Path) -> Result<()> {
        let by_caller = self.api_log_external.is_some();
        let mut t = Table::create_like(
            path,
            &ApiRow {
                caller: by_caller.then_some("scenario"),
                ..Default::default()
            },
        )?;
        // Sorted by bucket, action, outcome and caller (the maps' own order is arbitrary).
        let mut cells: Vec<_> = self
            .api_log
            .into_iter()
            .map(|(k, c)| (*k, "scenario", c))
            .chain(
                self.api_log_external
                    .iter()
                    .flat_map(|l| l.into_iter().map(|(k, c)| (*k, "external", c))),
            )
            .collect();
        cells.sort_by_key(|&(k, caller, _)| (k, caller == "external"));
        t.rows(
            cells
                .into_iter()
                .map(|((b, a, code), caller, cell)| ApiRow {
                    bucket_start_s: Secs(SimTime(b * self.api_bucket_ms)),
                    action: a.as_str(),
                    outcome: code.map(|c| c.as_str()).unwrap_or(OK_OUTCOME),
                    calls: cell.calls,
                    retries: cell.retries,
                    give_ups: cell.give_ups,
                    caller: by_caller.then_some(caller),
                }),
        )?;
        t.finish()
    }

    pub fn cost_total(&self) -> Money {
        self.cost_by_charge.iter().copied().sum()
    }

    fn write_instance(&mut self, ch: &Change<'_>, released: bool) {
        if let Some(x) = ch.instance.billing.extra.as_deref() {
            self.cost_disk += x.net_disk;
            self.cost_network += x.net_network;
        }
        if let Some(w) = self.instances.as_mut() {
            w.row(ch, released);
        }
    }
}

impl Observer for Recorder {
    fn state_change(&mut self, ch: &Change<'_>) {
        self.counts.apply(ch);
        if !self.alive_by_zone_type.is_empty() && ch.kind == ChangeKind::State {
            let types = self.types;
            let cell = |z: crate::cloud::ZoneIdx, t: crate::cloud::TypeIdx| {
                z.0 as usize * types + t.0 as usize
            };
            if ch.from.is_some() {
                let c = cell(ch.instance.zone, ch.from_type);
                self.alive_by_zone_type[c] -= 1;
            }
            if ch.to.is_some() {
                let c = cell(ch.instance.zone, ch.instance.itype);
                self.alive_by_zone_type[c] += 1;
            }
        }
        if ch.kind == ChangeKind::Close
            && let Some(expires) = ch.instance.expires().get()
            && expires > ch.time
        {
            // The share of the current prepaid payment that covers time after the horizon.
            let b = &ch.instance.billing;
            let span = expires.since(b.prepaid_since()).ms() as i128;
            if span > 0 {
                let rest = expires.since(ch.time).ms() as i128;
                self.prepaid_unused += Money(b.prepaid_paid().0 * rest / span);
            }
        }
        // The closed interval was billed under the charge type before the change; an instant
        // charge or refund under the one after it (they differ only for
        // ModifyInstancesChargeType).
        let instant = ch.accrual.instant_part();
        self.cost_by_charge[ch.from_charge.index()] += ch.accrual.amount - instant;
        self.cost_by_charge[ch.instance.charge.index()] += instant;
        if let Some(l) = self.costs.as_mut() {
            // The pieces under the charge type before the change, the instant part under the
            // one after it (booked directly: `CostLedger::book` would sum the pieces again).
            // A change that closed no interval (a launch, most PENDING and TERMINATING ends)
            // has no pieces and, nearly always, no instant amount: no calls for those.
            let z = ch.instance.zone.0 as usize;
            if !ch.accrual.pieces.is_empty() {
                l.book_pieces(z, ch.from_charge, ch.accrual.pieces);
            }
            l.book_instant(z, ch.instance.charge, ch.time, instant);
        }
        if let Some(a) = self.accrued.as_mut()
            && a.takes(instant)
        {
            a.change(ch, instant);
        }
        if let Some(j) = self.journal.as_mut() {
            j.change(ch, instant);
        }
        match (ch.from, ch.to) {
            (None, _) => self.created += 1,
            (Some(_), None) => {
                self.released += 1;
                if ch.instance.reclaiming() {
                    self.spot_reclaims += 1;
                }
                self.write_instance(ch, true);
            }
            // End-of-run closing of the books: the instance is still alive.
            _ if ch.kind == ChangeKind::Close => self.write_instance(ch, false),
            // A renewal (by hand or automatic) is the one charge made as RenewInstances; a
            // refund is negative.
            _ if ch.kind == ChangeKind::Charge
                && ch.instance.latest_operation.get() == Some(Operation::RenewInstances)
                && instant >= Money::ZERO =>
            {
                self.prepaid_renewals += 1
            }
            _ if ch.kind == ChangeKind::Charge => {}
            (Some(_), Some(InstanceState::LaunchFailed)) => self.launch_failed += 1,
            // Into the recycle bin other than by TerminateInstances: the paid period ended.
            (Some(_), Some(InstanceState::Shutdown))
                if ch.instance.latest_operation.get() != Some(Operation::TerminateInstances) =>
            {
                self.prepaid_expiries += 1
            }
            _ => {}
        }
    }

    fn api_call(&mut self, c: &CallRecord<'_>) {
        self.api_calls += 1;
        let code = c.result.as_ref().err().map(|e| e.code);
        if let Some(code) = code {
            *self.api_by_code.entry(code).or_default() += 1;
        }
        let log = if c.caller == Owner::External {
            self.api_log_external.get_or_insert_with(Default::default)
        } else {
            &mut self.api_log
        };
        let cell = log.cell(c.time, self.api_bucket_ms, c.request.action(), code);
        cell.calls += 1;
        if c.attempt > 1 {
            cell.retries += 1;
        }
        if let Some(j) = self.journal.as_mut() {
            j.call_attempt(c, c.attempt);
        }
    }

    fn give_up(&mut self, now: SimTime, action: Action, code: ErrorCode, attempts: u32) {
        self.give_ups += 1;
        if let Some(j) = self.journal.as_mut() {
            j.give_up(now, action, code, attempts);
        }
        self.api_log
            .cell(now, self.api_bucket_ms, action, Some(code))
            .give_ups += 1;
    }

    fn platform(&mut self, now: SimTime, zone: &str, what: &str) {
        if let Some(j) = self.journal.as_mut() {
            j.platform(now, zone, what);
        }
    }
}

/// Totals by charge type in a fixed order, for summaries.
/// Net cost per item: the instances themselves (CPU and memory), their disks, their public
/// network.
pub fn by_item(total: Money, disk: Money, network: Money) -> BTreeMap<&'static str, f64> {
    BTreeMap::from([
        ("compute", (total - disk - network).as_f64()),
        ("disk", disk.as_f64()),
        ("network", network.as_f64()),
    ])
}

pub fn by_charge(m: &[Money; 3]) -> BTreeMap<&'static str, f64> {
    ChargeType::ALL
        .iter()
        .map(|c| (c.as_str(), m[c.index()].as_f64()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ApiLog` against the plain map it replaces, for calls in any order of time, any bucket
    /// widths and outcomes.
    fn same_as_a_map(calls: &[(u64, u64, usize, u8, bool)]) {
        let mut log = ApiLog::default();
        let mut model: BTreeMap<ApiKey, ApiCell> = BTreeMap::new();
        let codes = [
            None,
            Some(ErrorCode::RequestLimitExceeded),
            Some(ErrorCode::InstanceState(InstanceState::Pending)),
        ];
        for &(t, width, a, code, retry) in calls {
            let action = Action::ALL[a % Action::ALL.len()];
            let code = codes[code as usize % codes.len()];
            let key = (t / width.max(1), action, code);
            let m = model.entry(key).or_default();
            let c = log.cell(SimTime(t), width, action, code);
            c.calls += 1;
            m.calls += 1;
            if retry {
                c.retries += 1;
                m.retries += 1;
            }
            if code.is_some() {
                c.give_ups += 1;
                m.give_ups += 1;
            }
        }
        let mut got: Vec<(ApiKey, ApiCell)> = log.into_iter().map(|(k, c)| (*k, *c)).collect();
        got.sort_by_key(|(k, _)| *k);
        let want: Vec<(ApiKey, ApiCell)> = model.into_iter().collect();
        assert_eq!(got, want);
    }

    #[test]
    fn api_log_counts_like_a_map() {
        let h = 3_600_000;
        same_as_a_map(&[]);
        same_as_a_map(&[(0, h, 0, 0, false)]);
        same_as_a_map(&[
            (5, h, 0, 0, false),
            (h - 1, h, 0, 0, true),
            (h, h, 0, 0, false),
            (h + 1, h, 3, 1, false),
            (10, h, 0, 0, false), // back in time
            (h + 2, h, 0, 0, false),
            (h + 2, 1_000, 0, 0, false), // another width
            (h + 2, h, 0, 0, false),
            (u64::MAX, h, 1, 0, false),
            (u64::MAX, 0, 1, 0, false),
            (u64::MAX - 1, 0, 1, 0, false),
        ]);
    }

    proptest::proptest! {
        #[test]
        fn api_log_counts_like_a_map_for_any_calls(
            calls in proptest::collection::vec(
                (0u64..20_000, proptest::sample::select(vec![1_000u64, 1_000, 1_000, 3_000, 0]),
                 0usize..11, 0u8..6, proptest::bool::ANY),
                0..200,
            ),
            sorted in proptest::bool::ANY,
        ) {
            let mut calls = calls;
            if sorted {
                calls.sort_by_key(|c| c.0);
            }
            same_as_a_map(&calls);
        }
    }
}
