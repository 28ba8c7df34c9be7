//! Trace replay (`[[traces]]`): a recorded VM trace, one CSV row per VM, replayed through the
//! control plane. Each VM's creation is a RunInstances (VMs of one batch created in the same
//! batch window, mapped to the same type, zone and charge type, go in one call of up to 100);
//! its deletion is a TerminateInstances at creation + lifetime. Quotas, stock, rate limits and
//! retries apply as to any client.
//!
//! The file is streamed: only the rows of the current batch window (and the first row of the
//! next) are in memory, so memory follows the live fleet, not the length of the trace.
//!
//! **Size mapping.** A VM given by vCPUs and memory gets the smallest of the scenario's instance
//! types that has at least as many vCPUs and at least as much memory (smallest = fewest vCPUs,
//! then least memory, then lowest postpaid price, then first listed); when no type is that
//! large, the largest type (most vCPUs, then most memory, then lowest price). Trace memory (GB)
//! is compared with the types' GiB as is.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::cloud::catalog::Catalog;
use crate::cloud::{ChargeType, TypeIdx, ZoneIdx};
use crate::engine::{RandomStream, RngStreams, SimDuration, SimTime};

use super::Demand;

/// Column names of a trace (any names the file uses). `created` is needed, and `lifetime` or
/// `deleted`, and either `instance_type` or `vcpus` and `memory`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TraceColumns {
    /// Creation time.
    pub created: String,
    /// Time from creation to deletion; empty = still alive at the end of the trace.
    pub lifetime: Option<String>,
    /// Deletion time; empty = still alive at the end of the trace.
    pub deleted: Option<String>,
    pub vcpus: Option<String>,
    /// Memory in GB (compared with the types' GiB as is).
    pub memory: Option<String>,
    /// VMs sharing a batch value are asked for together.
    pub batch: Option<String>,
    /// Zone name (one of the scenario's zones).
    pub zone: Option<String>,
    /// POSTPAID_BY_HOUR, PREPAID or SPOTPAID.
    pub charge_type: Option<String>,
    /// A CVM type name among the scenario's instance_types (replaces the size mapping).
    pub instance_type: Option<String>,
}

/// Unit of a trace's time columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum TimeUnit {
    #[default]
    #[serde(rename = "s")]
    Seconds,
    #[serde(rename = "ms")]
    Millis,
}

/// Most instances one RunInstances of a replay asks for.
pub const MAX_PER_CALL: usize = crate::cloud::api::MAX_RUN_COUNT as usize;

/// The lifetime of a VM still alive at the end of the trace: it is never terminated.
pub const FOREVER: SimDuration = SimDuration(u64::MAX);

/// Maps (vCPUs, memory) to an instance type by the rule in the module documentation.
#[derive(Clone, Debug)]
pub struct SizeMap {
    /// (vcpus, memory GiB, type), smallest first.
    ordered: Vec<(f64, f64, TypeIdx)>,
    largest: TypeIdx,
}

impl SizeMap {
    pub fn new(cat: &Catalog) -> SizeMap {
        let mut v: Vec<(u32, u32, u64, usize)> = cat
            .types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.vcpus, t.memory_gib, cat.prices[i].postpaid_hourly, i))
            .collect();
        v.sort();
        // The largest: most vCPUs, then most memory, then the lowest price.
        let largest = v
            .iter()
            .max_by(|a, b| {
                (a.0, a.1)
                    .cmp(&(b.0, b.1))
                    .then(b.2.cmp(&a.2))
                    .then(b.3.cmp(&a.3))
            })
            .map(|x| TypeIdx(x.3 as u16))
            .unwrap_or(TypeIdx(0));
        SizeMap {
            ordered: v
                .into_iter()
                .map(|(c, m, _, i)| (c as f64, m as f64, TypeIdx(i as u16)))
                .collect(),
            largest,
        }
    }

    /// The type a VM of `vcpus` and `memory` runs on.
    pub fn map(&self, vcpus: f64, memory: f64) -> TypeIdx {
        self.ordered
            .iter()
            .find(|&&(c, m, _)| c >= vcpus && m >= memory)
            .map(|x| x.2)
            .unwrap_or(self.largest)
    }
}

/// A `[[traces]]` section, resolved.
#[derive(Clone, Debug)]
pub struct TraceSpec {
    pub name: String,
    /// The file, resolved against the scenario's folder.
    pub path: PathBuf,
    pub columns: TraceColumns,
    /// Milliseconds per unit of the time columns.
    pub unit_ms: f64,
    /// In trace units; `None`: the first row's creation time.
    pub time_offset: Option<f64>,
    pub speedup: f64,
    /// Zones drawn for traces without a zone column (weighted).
    pub zones: Vec<ZoneIdx>,
    pub zone_cumulative: Vec<f64>,
    pub charge: ChargeType,
    pub period_months: u32,
    /// Batch window, in milliseconds of trace time.
    pub batch_window_ms: u64,
    pub sizes: SizeMap,
    /// Zone, type names and charge types by name, for the optional columns.
    pub zone_names: Vec<String>,
    pub type_names: Vec<String>,
}

impl TraceSpec {
    pub fn unit_ms_of(u: TimeUnit) -> f64 {
        match u {
            TimeUnit::Seconds => 1000.0,
            TimeUnit::Millis => 1.0,
        }
    }
}

/// Positions of the mapped columns in the file.
#[derive(Clone, Copy, Debug, Default)]
struct ColumnIdx {
    created: usize,
    lifetime: Option<usize>,
    deleted: Option<usize>,
    vcpus: Option<usize>,
    memory: Option<usize>,
    batch: Option<usize>,
    zone: Option<usize>,
    charge: Option<usize>,
    itype: Option<usize>,
}

/// The mapped columns as (setting name, column name).
fn named_columns(c: &TraceColumns) -> Vec<(&'static str, &str)> {
    let mut v = vec![("created", c.created.as_str())];
    for (k, col) in [
        ("lifetime", &c.lifetime),
        ("deleted", &c.deleted),
        ("vcpus", &c.vcpus),
        ("memory", &c.memory),
        ("batch", &c.batch),
        ("zone", &c.zone),
        ("charge_type", &c.charge_type),
        ("instance_type", &c.instance_type),
    ] {
        if let Some(col) = col {
            v.push((k, col.as_str()));
        }
    }
    v
}

/// The latest simulated time a trace row may reach (creation plus lifetime), in ms: 2^53, about
/// 285 000 years, the last whole number of milliseconds a float holds exactly. Anything beyond
/// is a unit or column mistake, and past it sums of times could overflow.
pub const MAX_TRACE_MS: f64 = 9_007_199_254_740_992.0;

/// A mistake in the mapping of columns: (setting name such as `created`, message).
pub type ColumnError = (String, String);

fn open_csv(path: &Path) -> std::result::Result<csv::Reader<CrlfAsLf<File>>, String> {
    let f = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(CrlfAsLf::new(f)))
}

/// Reads through `inner` with every `\r\n` turned into `\n`. The csv reader counts a line
/// when it meets a `\n` at the start of the next record, so on a CRLF file every record's
/// line number came out one too low; with plain `\n` endings they are right. A lone `\r` is
/// kept (the csv reader treats it as a line end of its own).
pub struct CrlfAsLf<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl<R> CrlfAsLf<R> {
    pub fn new(inner: R) -> Self {
        CrlfAsLf {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
        }
    }
}

impl<R: std::io::Read> std::io::Read for CrlfAsLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut w = 0;
        while w < out.len() {
            if self.pos == self.len {
                if w > 0 {
                    break;
                }
                self.len = self.inner.read(&mut self.buf)?;
                self.pos = 0;
                if self.len == 0 {
                    return Ok(0);
                }
            }
            let take = (self.len - self.pos).min(out.len() - w);
            let chunk = &self.buf[self.pos..self.pos + take];
            let k = chunk.iter().position(|&c| c == b'\r').unwrap_or(take);
            out[w..w + k].copy_from_slice(&chunk[..k]);
            w += k;
            self.pos += k;
            if k == take {
                continue;
            }
            // A `\r` at `pos`: look at the byte after it, reading more if it is not here yet.
            if self.pos + 1 == self.len {
                self.buf[0] = b'\r';
                self.pos = 0;
                self.len = 1 + self.inner.read(&mut self.buf[1..])?;
            }
            if self.pos + 1 < self.len && self.buf[self.pos + 1] == b'\n' {
                self.pos += 1; // drop the `\r`; the `\n` is copied next
            } else {
                out[w] = b'\r';
                w += 1;
                self.pos += 1;
            }
        }
        Ok(w)
    }
}

fn locate(
    headers: &csv::StringRecord,
    cols: &TraceColumns,
    path: &Path,
) -> std::result::Result<ColumnIdx, ColumnError> {
    let find = |key: &str, name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            (
                key.to_string(),
                format!(
                    "column `{name}` is not in the header of {} (its columns: {})",
                    path.display(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    };
    let opt = |key: &str, name: &Option<String>| name.as_ref().map(|n| find(key, n)).transpose();
    Ok(ColumnIdx {
        created: find("created", &cols.created)?,
        lifetime: opt("lifetime", &cols.lifetime)?,
        deleted: opt("deleted", &cols.deleted)?,
        vcpus: opt("vcpus", &cols.vcpus)?,
        memory: opt("memory", &cols.memory)?,
        batch: opt("batch", &cols.batch)?,
        zone: opt("zone", &cols.zone)?,
        charge: opt("charge_type", &cols.charge_type)?,
        itype: opt("instance_type", &cols.instance_type)?,
    })
}

/// Checks a mapping before any file is read: the columns it needs are named.
pub fn check_mapping(cols: &TraceColumns) -> std::result::Result<(), ColumnError> {
    match (&cols.lifetime, &cols.deleted) {
        (Some(_), Some(_)) => {
            return Err((
                "deleted".into(),
                "give `lifetime` or `deleted`, not both".into(),
            ));
        }
        (None, None) => {
            return Err((
                "lifetime".into(),
                "name the column of lifetimes (`lifetime`) or of deletion times (`deleted`)".into(),
            ));
        }
        _ => {}
    }
    if cols.instance_type.is_none() {
        for (k, v) in [("vcpus", &cols.vcpus), ("memory", &cols.memory)] {
            if v.is_none() {
                return Err((
                    k.into(),
                    format!(
                        "name the column of `{k}` (sizes are mapped to instance types), or an \
                         `instance_type` column"
                    ),
                ));
            }
        }
    }
    for (k, name) in named_columns(cols) {
        if name.is_empty() {
            return Err((k.into(), "a column name cannot be empty".into()));
        }
    }
    Ok(())
}

/// Reads the header of `path` and checks that every mapped column is in it.
pub fn check_header(path: &Path, cols: &TraceColumns) -> std::result::Result<(), ColumnError> {
    let mut r = open_csv(path).map_err(|m| ("file".to_string(), m))?;
    let headers = r
        .headers()
        .map_err(|e| {
            (
                "file".to_string(),
                format!("cannot read the header of {}: {e}", path.display()),
            )
        })?
        .clone();
    locate(&headers, cols, path)?;
    Ok(())
}

/// One VM of a trace, converted.
#[derive(Clone, Debug)]
pub struct Row {
    /// Line in the file (1 = header).
    pub line: u64,
    /// Creation, in simulated time (offset removed, speedup applied).
    pub at: SimTime,
    /// Lifetime in simulated time; `None`: alive at the end of the trace.
    pub life: Option<SimDuration>,
    pub itype: TypeIdx,
    pub zone: Option<ZoneIdx>,
    pub charge: ChargeType,
    /// The batch value, if the trace has a batch column and it is not empty.
    pub batch: Option<Box<[u8]>>,
    /// Batch window index (trace time since the offset / window).
    pub slot: u64,
    /// Creation in trace units, as written (offset not removed).
    pub created_raw: f64,
}

/// Streams the rows of a trace, converted and checked.
pub struct TraceReader {
    spec: TraceSpec,
    reader: csv::Reader<CrlfAsLf<File>>,
    idx: ColumnIdx,
    record: csv::ByteRecord,
    offset: Option<f64>,
    last_created: Option<f64>,
    /// Rows skipped because they were created before `time_offset`.
    pub skipped: u64,
    /// Rows returned.
    pub rows: u64,
}

impl TraceReader {
    pub fn open(spec: TraceSpec) -> Result<TraceReader> {
        let mut reader = open_csv(&spec.path).map_err(|m| anyhow!("trace `{}`: {m}", spec.name))?;
        let headers = reader
            .headers()
            .map_err(|e| anyhow!("{}:1: cannot read the header: {e}", spec.path.display()))?
            .clone();
        let idx = locate(&headers, &spec.columns, &spec.path)
            .map_err(|(k, m)| anyhow!("trace `{}`: `columns.{k}`: {m}", spec.name))?;
        Ok(TraceReader {
            offset: spec.time_offset,
            spec,
            reader,
            idx,
            record: csv::ByteRecord::new(),
            last_created: None,
            skipped: 0,
            rows: 0,
        })
    }

    pub fn spec(&self) -> &TraceSpec {
        &self.spec
    }

    /// The time offset in use (known once the first row is read).
    pub fn offset(&self) -> Option<f64> {
        self.offset
    }

    fn err(&self, line: u64, col: Col, msg: String) -> anyhow::Error {
        let c = &self.spec.columns;
        let name = match col {
            Col::Created => Some(&c.created),
            Col::Lifetime => c.lifetime.as_ref(),
            Col::Deleted => c.deleted.as_ref(),
            Col::Vcpus => c.vcpus.as_ref(),
            Col::Memory => c.memory.as_ref(),
            Col::Zone => c.zone.as_ref(),
            Col::Charge => c.charge_type.as_ref(),
            Col::Type => c.instance_type.as_ref(),
        };
        anyhow!(
            "{}:{line}: column `{}`: {msg}",
            self.spec.path.display(),
            name.map(|s| s.as_str()).unwrap_or("?")
        )
    }

    fn field(&self, i: Option<usize>) -> &[u8] {
        i.and_then(|i| self.record.get(i)).unwrap_or(b"")
    }

    fn text(&self, i: Option<usize>, line: u64, col: Col) -> Result<&str> {
        std::str::from_utf8(self.field(i))
            .map_err(|_| self.err(line, col, "is not valid UTF-8".into()))
    }

    /// A number, or `None` for an empty field.
    fn number(&self, i: Option<usize>, line: u64, col: Col) -> Result<Option<f64>> {
        let t = self.text(i, line, col)?;
        if t.is_empty() {
            return Ok(None);
        }
        match t.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(self.err(line, col, format!("`{t}` is not a number"))),
        }
    }

    /// `units` of trace time in simulated ms, refused past [`MAX_TRACE_MS`].
    fn to_ms_checked(&self, units: f64, line: u64, col: Col, what: &str) -> Result<u64> {
        let ms = (units * self.spec.unit_ms / self.spec.speedup).round();
        if ms > MAX_TRACE_MS {
            return Err(self.err(
                line,
                col,
                format!(
                    "{what} {units} is past the simulated clock's reach ({} trace units)",
                    MAX_TRACE_MS * self.spec.speedup / self.spec.unit_ms
                ),
            ));
        }
        Ok(ms.max(0.0) as u64)
    }

    /// The next row, or `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row>> {
        loop {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    anyhow!("{}:{line}: {e}", self.spec.path.display())
                })?;
            if !more {
                return Ok(None);
            }
            let line = self.record.position().map(|p| p.line()).unwrap_or(0);
            if let Some(row) = self.convert(line)? {
                self.rows += 1;
                return Ok(Some(row));
            }
        }
    }

    fn convert(&mut self, line: u64) -> Result<Option<Row>> {
        let idx = self.idx;
        let created = self
            .number(Some(idx.created), line, Col::Created)?
            .ok_or_else(|| self.err(line, Col::Created, "the creation time is empty".into()))?;
        if let Some(prev) = self.last_created
            && created < prev
        {
            return Err(self.err(
                line,
                Col::Created,
                format!(
                    "{created} comes before the previous row's {prev}: the trace must be sorted \
                     by creation time"
                ),
            ));
        }
        self.last_created = Some(created);
        let offset = *self.offset.get_or_insert(created);
        if created < offset {
            self.skipped += 1;
            return Ok(None);
        }
        let since = created - offset;
        let at = SimTime(self.to_ms_checked(since, line, Col::Created, "creation time")?);
        let slot = ((since * self.spec.unit_ms) / self.spec.batch_window_ms as f64).floor() as u64;
        let life = if idx.lifetime.is_some() {
            match self.number(idx.lifetime, line, Col::Lifetime)? {
                None => None,
                Some(l) if l < 0.0 => {
                    return Err(self.err(line, Col::Lifetime, format!("negative lifetime {l}")));
                }
                Some(l) => {
                    let ms = self.to_ms_checked(l, line, Col::Lifetime, "lifetime")?;
                    if at.ms() as f64 + ms as f64 > MAX_TRACE_MS {
                        return Err(self.err(
                            line,
                            Col::Lifetime,
                            format!("lifetime {l} ends past the simulated clock's reach"),
                        ));
                    }
                    Some(SimDuration(ms))
                }
            }
        } else if idx.deleted.is_some() {
            match self.number(idx.deleted, line, Col::Deleted)? {
                None => None,
                Some(d) if d < created => {
                    return Err(self.err(
                        line,
                        Col::Deleted,
                        format!("deleted at {d}, before its creation at {created}"),
                    ));
                }
                Some(d) => Some(
                    SimTime(self.to_ms_checked(d - offset, line, Col::Deleted, "deletion time")?)
                        .since(at),
                ),
            }
        } else {
            None
        };
        let itype = if idx.itype.is_some() {
            let t = self.text(idx.itype, line, Col::Type)?;
            match self.spec.type_names.iter().position(|n| n == t) {
                Some(p) => TypeIdx(p as u16),
                None => {
                    return Err(self.err(
                        line,
                        Col::Type,
                        format!(
                            "`{t}` is not one of the scenario's instance_types ({})",
                            self.spec.type_names.join(", ")
                        ),
                    ));
                }
            }
        } else {
            let vcpus = self
                .number(idx.vcpus, line, Col::Vcpus)?
                .ok_or_else(|| self.err(line, Col::Vcpus, "the vCPU count is empty".into()))?;
            if vcpus <= 0.0 {
                return Err(self.err(
                    line,
                    Col::Vcpus,
                    format!("{vcpus} vCPUs: a VM has at least one"),
                ));
            }
            let memory = self
                .number(idx.memory, line, Col::Memory)?
                .ok_or_else(|| self.err(line, Col::Memory, "the memory is empty".into()))?;
            if memory < 0.0 {
                return Err(self.err(line, Col::Memory, format!("negative memory {memory}")));
            }
            self.spec.sizes.map(vcpus, memory)
        };
        let zone = if idx.zone.is_some() {
            let z = self.text(idx.zone, line, Col::Zone)?;
            match self.spec.zone_names.iter().position(|n| n == z) {
                Some(p) => Some(ZoneIdx(p as u16)),
                None => {
                    return Err(self.err(
                        line,
                        Col::Zone,
                        format!(
                            "`{z}` is not one of the scenario's zones ({})",
                            self.spec.zone_names.join(", ")
                        ),
                    ));
                }
            }
        } else {
            None
        };
        let charge = if idx.charge.is_some() {
            let s = self.text(idx.charge, line, Col::Charge)?;
            match ChargeType::ALL.iter().find(|c| c.as_str() == s) {
                Some(&c) => c,
                None if s.is_empty() => self.spec.charge,
                None => {
                    return Err(self.err(
                        line,
                        Col::Charge,
                        format!("`{s}`: use POSTPAID_BY_HOUR, PREPAID or SPOTPAID"),
                    ));
                }
            }
        } else {
            self.spec.charge
        };
        let batch = match self.field(idx.batch) {
            [] => None,
            b => Some(Box::from(b)),
        };
        Ok(Some(Row {
            line,
            at,
            life,
            itype,
            zone,
            charge,
            batch,
            slot,
            created_raw: created,
        }))
    }
}

/// The mapped columns, for messages.
#[derive(Clone, Copy, Debug)]
enum Col {
    Created,
    Lifetime,
    Deleted,
    Vcpus,
    Memory,
    Zone,
    Charge,
    Type,
}

/// VMs asked for in one RunInstances.
#[derive(Clone, Debug)]
pub struct Group {
    pub at: SimTime,
    pub zone: ZoneIdx,
    pub itype: TypeIdx,
    pub charge: ChargeType,
    pub rows: Vec<Row>,
}

/// Reads a trace one batch window at a time.
pub struct SlotReader {
    pub reader: TraceReader,
    pending: Option<Row>,
}

impl SlotReader {
    pub fn new(reader: TraceReader) -> Self {
        SlotReader {
            reader,
            pending: None,
        }
    }

    /// The rows of the next batch window that has any, in file order.
    pub fn next_slot(&mut self) -> Result<Option<Vec<Row>>> {
        let first = match self.pending.take() {
            Some(r) => r,
            None => match self.reader.next_row()? {
                Some(r) => r,
                None => return Ok(None),
            },
        };
        let slot = first.slot;
        let mut rows = vec![first];
        while let Some(r) = self.reader.next_row()? {
            if r.slot == slot {
                rows.push(r);
            } else {
                self.pending = Some(r);
                break;
            }
        }
        Ok(Some(rows))
    }
}

/// What the VMs of one call share: batch, type, zone, charge type.
type CallKey = (Box<[u8]>, TypeIdx, ZoneIdx, ChargeType);

/// Groups the rows of one batch window into calls: rows of the same batch with the same type,
/// zone and charge type go together, at most [`MAX_PER_CALL`] per call; rows without a batch
/// are calls of their own. `zone_of` gives a zone to rows without one, once per batch (a batch
/// goes to one zone). Calls come out in the order of their first row (so in time order).
pub fn group_rows(rows: Vec<Row>, mut zone_of: impl FnMut() -> ZoneIdx) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut open: HashMap<CallKey, usize> = HashMap::new();
    let mut batch_zone: HashMap<Box<[u8]>, ZoneIdx> = HashMap::new();
    for r in rows {
        let zone = match (r.zone, &r.batch) {
            (Some(z), _) => z,
            (None, Some(b)) => match batch_zone.get(b) {
                Some(&z) => z,
                None => {
                    let z = zone_of();
                    batch_zone.insert(b.clone(), z);
                    z
                }
            },
            (None, None) => zone_of(),
        };
        let Some(b) = r.batch.clone() else {
            groups.push(Group {
                at: r.at,
                zone,
                itype: r.itype,
                charge: r.charge,
                rows: vec![r],
            });
            continue;
        };
        let key = (b, r.itype, zone, r.charge);
        match open.get(&key) {
            Some(&g) if groups[g].rows.len() < MAX_PER_CALL => groups[g].rows.push(r),
            _ => {
                open.insert(key, groups.len());
                groups.push(Group {
                    at: r.at,
                    zone,
                    itype: r.itype,
                    charge: r.charge,
                    rows: vec![r],
                });
            }
        }
    }
    groups
}

/// A trace being replayed: the calls of the current batch window, waiting for their time.
pub struct TraceReplay {
    slots: SlotReader,
    queue: VecDeque<Demand>,
    zone_rng: RandomStream,
    /// No more rows (end of file, or an error stopped it).
    done: bool,
    /// RunInstances calls made (first attempts), instances asked for, and instances refused.
    pub requests: u64,
    pub asked: u64,
    pub refused: u64,
}

impl TraceReplay {
    /// Opens the trace; zones are drawn from the stream `trace:<name>:zones`.
    pub fn open(spec: TraceSpec, streams: &RngStreams) -> Result<TraceReplay> {
        let zone_rng = streams.stream(&format!("trace:{}:zones", spec.name));
        Ok(TraceReplay {
            slots: SlotReader::new(TraceReader::open(spec)?),
            queue: VecDeque::new(),
            zone_rng,
            done: false,
            requests: 0,
            asked: 0,
            refused: 0,
        })
    }

    pub fn spec(&self) -> &TraceSpec {
        self.slots.reader.spec()
    }

    /// Stops reading (after an error).
    pub fn stop(&mut self) {
        self.done = true;
        self.queue.clear();
    }

    /// Makes sure the next call is known, reading the next batch window if needed.
    pub fn fill(&mut self) -> Result<()> {
        while self.queue.is_empty() && !self.done {
            let Some(rows) = self.slots.next_slot()? else {
                self.done = true;
                break;
            };
            let spec = self.slots.reader.spec();
            let (zones, cum) = (&spec.zones, &spec.zone_cumulative);
            let (months, rng) = (spec.period_months, &mut self.zone_rng);
            let groups = group_rows(rows, || {
                if zones.len() <= 1 {
                    zones.first().copied().unwrap_or(ZoneIdx(0))
                } else {
                    zones[rng.pick_cumulative(cum)]
                }
            });
            for g in groups {
                let at = g.at;
                self.queue.push_back(Demand {
                    zone: g.zone,
                    itype: g.itype,
                    charge: g.charge,
                    period_months: months,
                    lifetimes: g
                        .rows
                        .iter()
                        .map(|r| match r.life {
                            Some(l) => (r.at + l).since(at),
                            None => FOREVER,
                        })
                        .collect(),
                    requested: at,
                    tried: Vec::new(),
                });
            }
        }
        Ok(())
    }

    /// When the next call is due, if any (call [`fill`](Self::fill) first).
    pub fn next_time(&self) -> Option<SimTime> {
        self.queue.front().map(|d| d.requested)
    }

    /// The next call if it is due at `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<Demand> {
        if self.queue.front()?.requested > now {
            return None;
        }
        let d = self.queue.pop_front()?;
        self.requests += 1;
        self.asked += d.lifetimes.len() as u64;
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::catalog::{illustrative_price, parse_instance_type};

    fn catalog(names: &[&str]) -> Catalog {
        let types: Vec<_> = names
            .iter()
            .map(|n| parse_instance_type(n).expect("type"))
            .collect();
        Catalog {
            zones: vec![],
            prices: types.iter().map(illustrative_price).collect(),
            types,
            spot_fraction: 0.2,
            disk_gib_hourly: 0,
            disk_gib: 0,
            attach: Default::default(),
            currency: "CNY".into(),
        }
    }

    #[test]
    fn sizes_map_to_the_smallest_type_that_fits() {
        let cat = catalog(&[
            "S5.2XLARGE16",
            "S5.SMALL2",
            "M5.MEDIUM16",
            "S5.MEDIUM4",
            "SA2.MEDIUM4",
        ]);
        let m = SizeMap::new(&cat);
        let name = |t: TypeIdx| cat.types[t.0 as usize].name.as_str();
        assert_eq!(name(m.map(1.0, 0.75)), "S5.SMALL2");
        assert_eq!(name(m.map(1.0, 3.5)), "SA2.MEDIUM4"); // ties: the cheaper
        assert_eq!(name(m.map(2.0, 14.0)), "M5.MEDIUM16");
        assert_eq!(name(m.map(4.0, 7.0)), "S5.2XLARGE16");
        assert_eq!(name(m.map(16.0, 112.0)), "S5.2XLARGE16"); // none fits: the largest
    }

    /// A reader that hands out at most `step` bytes per call, to split `\r\n` across reads.
    struct Trickle<'a>(&'a [u8], usize);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn crlf_becomes_lf_whatever_the_chunking() {
        use std::io::Read;
        let input = b"a,b\r\n1,2\r\n\r3,4\r\r\n5\r";
        let want = b"a,b\n1,2\n\r3,4\r\n5\r";
        for step in 1..=input.len() {
            for out_len in [1, 2, 3, 7, 64] {
                let mut r = CrlfAsLf::new(Trickle(input, step));
                let mut got = Vec::new();
                let mut buf = vec![0; out_len];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                assert_eq!(got, want, "step {step}, out {out_len}");
            }
        }
    }

    /// The csv reader's line numbers are right for CRLF files read through [`CrlfAsLf`].
    #[test]
    fn csv_line_numbers_count_crlf_lines() {
        let data = b"a,b\r\n1,2\r\n3,4\r\n5,6\r\n";
        let mut r = csv::ReaderBuilder::new().from_reader(CrlfAsLf::new(&data[..]));
        let mut rec = csv::ByteRecord::new();
        let mut lines = vec![];
        while r.read_byte_record(&mut rec).unwrap() {
            lines.push(rec.position().unwrap().line());
        }
        assert_eq!(lines, vec![2, 3, 4]);
    }
}
