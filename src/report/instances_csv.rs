//! `instances.csv`, one row per instance, written on a thread of its own.
//!
//! Formatting the rows and handing them to the kernel took about a seventh of a run's time on
//! one core (`perf` on the reference fleet at 30k alive: the row formatting 6%, the `write`
//! calls 7%), work that nothing in the model waits for. So the run only copies the fields of
//! a row out of the instance record (it is gone a moment later) into a batch; full batches go
//! through a bounded channel to the writer thread, which formats them in order into one buffer
//! and writes it to the file. The file is byte for byte what one thread would write: rows are
//! formatted in the order the run hands them over, by the same code.

use std::fs::File;
use std::io::Write;
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::cloud::instance::{ChargeHistory, OptTime};
use crate::cloud::{
    Catalog, Change, ChargeType, InstanceId, InstanceState, Money, Owner, TypeIdx, ZoneIdx,
};
use crate::engine::SimTime;

use super::csvline::{CsvLine, ShortStr};

/// The header line.
const HEADER: &str = "instance_id,zone,instance_type,vcpus,memory_gib,charge_type,owner,created_s,running_s,released_s,final_state,charged,refunded,cost,charge_history,spot_reclaimed,cost_disk,cost_network\n";

/// Rows per batch handed to the writer thread (about 400 KB of row data).
const BATCH_ROWS: usize = 4096;

/// Batches in flight: the run waits for the writer once this many are queued, so a slow disk
/// holds memory to a few megabytes instead of letting rows pile up.
const BATCHES_IN_FLIGHT: usize = 4;

/// Bytes of formatted rows collected before one `write` to the file.
const WRITE_BUFFER: usize = 1 << 16;

/// What a row says, copied out of the instance record when the row is due.
struct Row {
    id: InstanceId,
    created: SimTime,
    first_running: OptTime,
    /// When it was released; none for an instance still alive at the end (then `state`).
    released: OptTime,
    charged: Money,
    refunded: Money,
    owner: Owner,
    zone: ZoneIdx,
    itype: TypeIdx,
    charge: ChargeType,
    state: InstanceState,
    reclaimed: bool,
    history: ChargeHistory,
    /// Net disk and network charges, for the few instances that have them.
    extra: Option<Box<[Money; 2]>>,
}

impl Row {
    fn of(ch: &Change<'_>, released: bool) -> Row {
        let inst = ch.instance;
        Row {
            id: inst.id,
            created: inst.created,
            first_running: inst.first_running,
            released: if released {
                OptTime::some(ch.time)
            } else {
                OptTime::NONE
            },
            charged: inst.billing.charged,
            refunded: inst.billing.refunded(),
            owner: inst.owner,
            zone: inst.zone,
            itype: inst.itype,
            charge: inst.charge,
            state: inst.state,
            reclaimed: inst.reclaiming(),
            history: inst.charge_history().clone(),
            extra: inst
                .billing
                .extra
                .as_deref()
                .map(|x| Box::new([x.net_disk, x.net_network])),
        }
    }
}

/// The catalogue's names and sizes, as the rows print them.
struct Labels {
    zones: Vec<String>,
    /// Name, vCPUs, memory in GiB.
    types: Vec<(String, u32, u32)>,
}

impl Labels {
    fn of(cat: &Catalog) -> Labels {
        Labels {
            zones: cat.zones.iter().map(|z| z.name.clone()).collect(),
            types: cat
                .types
                .iter()
                .map(|t| (t.name.clone(), t.vcpus, t.memory_gib))
                .collect(),
        }
    }
}

enum Message {
    /// The rows that follow belong to a run over this catalogue.
    Labels(Labels),
    Rows(Vec<Row>),
}

/// The run's side of `instances.csv`: collects rows and hands full batches to the writer.
pub struct InstancesCsv {
    batch: Vec<Row>,
    to_writer: Option<SyncSender<Message>>,
    /// Emptied batches coming back for reuse.
    spent: Receiver<Vec<Row>>,
    writer: Option<JoinHandle<std::io::Result<()>>>,
    /// The catalogue the writer has the labels of: its address and number of types (a run has
    /// one catalogue; another one is sent afresh).
    catalog: usize,
    types: usize,
}

impl InstancesCsv {
    /// Starts the writer thread on `file` (the header is its first write).
    pub fn new(file: File) -> std::io::Result<Self> {
        let (to_writer, inbox) = sync_channel(BATCHES_IN_FLIGHT);
        let (give_back, spent) = sync_channel(BATCHES_IN_FLIGHT + 1);
        let writer = std::thread::Builder::new()
            .name("instances.csv".into())
            .spawn(move || RowWriter::new(file).run(inbox, give_back))?;
        Ok(InstancesCsv {
            batch: Vec::with_capacity(BATCH_ROWS),
            to_writer: Some(to_writer),
            spent,
            writer: Some(writer),
            catalog: 0,
            types: 0,
        })
    }

    /// Adds the row of the instance of `ch` (`released`: it has just left the fleet).
    #[inline]
    pub fn row(&mut self, ch: &Change<'_>, released: bool) {
        let address = std::ptr::from_ref(ch.catalog) as usize;
        if address != self.catalog || ch.catalog.types.len() != self.types {
            self.new_catalog(ch.catalog);
        }
        self.batch.push(Row::of(ch, released));
        if self.batch.len() >= BATCH_ROWS {
            self.send_batch();
        }
    }

    #[cold]
    fn new_catalog(&mut self, cat: &Catalog) {
        self.send_batch();
        self.catalog = std::ptr::from_ref(cat) as usize;
        self.types = cat.types.len();
        self.send(Message::Labels(Labels::of(cat)));
    }

    fn send_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let next = self
            .spent
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH_ROWS));
        let full = std::mem::replace(&mut self.batch, next);
        self.send(Message::Rows(full));
    }

    fn send(&mut self, m: Message) {
        // A writer that has stopped (it only stops early on a panic) says why when joined.
        if let Some(tx) = &self.to_writer
            && tx.send(m).is_err()
        {
            self.to_writer = None;
        }
    }

    /// Writes every row handed over so far and closes the file; the first write error, if
    /// any. Rows added after this are not written.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.send_batch();
        self.to_writer = None; // the writer ends once it has drained its inbox
        match self.writer.take() {
            None => Ok(()),
            Some(w) => w.join().unwrap_or_else(|_| {
                Err(std::io::Error::other(
                    "the instances.csv writer thread panicked",
                ))
            }),
        }
    }
}

impl Drop for InstancesCsv {
    /// Like a `BufWriter`, writes what is left when dropped without [`InstancesCsv::finish`]
    /// (errors cannot be reported here), and does not leave the writer running.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The writer thread's side: formats rows into one buffer and writes it to the file whenever
/// it holds [`WRITE_BUFFER`] bytes (a `BufWriter` would copy every row once more, with a
/// `memcpy` call per row). The fields that depend only on the zone, instance type and charge
/// type are kept ready per combination (one copy instead of nine fields).
struct RowWriter {
    file: File,
    /// Rows not yet written to `file`.
    line: CsvLine,
    labels: Labels,
    /// `,zone,instance_type,vcpus,memory_gib,charge_type,` per (zone × type × charge type),
    /// as ranges of `prefix_bytes`; built when first needed.
    prefixes: Vec<Option<Range<usize>>>,
    prefix_bytes: Vec<u8>,
    /// `STATE,` for each state, indexed by `InstanceState::index`.
    states: [Option<ShortStr>; InstanceState::COUNT],
    /// The first write error; nothing is written after it (the file is incomplete).
    error: Option<std::io::Error>,
}

impl RowWriter {
    fn new(file: File) -> Self {
        // Room for the last row before a write, so the buffer does not grow in a normal run.
        let mut line = CsvLine::with_capacity(WRITE_BUFFER + 4096);
        line.str(HEADER);
        RowWriter {
            file,
            line,
            labels: Labels {
                zones: Vec::new(),
                types: Vec::new(),
            },
            prefixes: Vec::new(),
            prefix_bytes: Vec::new(),
            states: InstanceState::ALL.map(|s| ShortStr::new(&format!("{},", s.as_str()))),
            error: None,
        }
    }

    /// Formats and writes every batch until the run's side hangs up, then writes the rest.
    fn run(
        mut self,
        inbox: Receiver<Message>,
        give_back: SyncSender<Vec<Row>>,
    ) -> std::io::Result<()> {
        for m in inbox {
            match m {
                Message::Labels(l) => {
                    self.labels = l;
                    self.prefixes.clear();
                    self.prefix_bytes.clear();
                }
                Message::Rows(mut rows) => {
                    for r in rows.drain(..) {
                        self.row(&r);
                        if self.line.len() >= WRITE_BUFFER {
                            self.write();
                        }
                    }
                    // The run's side may have moved on; a batch it does not take back is freed.
                    let _ = give_back.try_send(rows);
                }
            }
        }
        self.write();
        match self.error.take() {
            Some(e) => Err(e),
            None => self.file.flush(),
        }
    }

    /// Writes the buffered rows to the file (dropped after the first error).
    fn write(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.file.write_all(self.line.as_bytes())
        {
            self.error = Some(e);
        }
        self.line.clear();
    }

    /// The bytes of `prefix_bytes` holding the prefix of `r`'s row.
    fn prefix(&mut self, r: &Row) -> Range<usize> {
        let types = self.labels.types.len();
        let at = (r.zone.0 as usize * types + r.itype.0 as usize) * 3 + r.charge.index();
        if let Some(Some(p)) = self.prefixes.get(at) {
            return p.clone();
        }
        let (name, vcpus, memory) = &self.labels.types[r.itype.0 as usize];
        let mut p = CsvLine::default();
        p.comma()
            .str(&self.labels.zones[r.zone.0 as usize])
            .comma()
            .str(name)
            .comma()
            .u64(*vcpus as u64)
            .comma()
            .u64(*memory as u64)
            .comma()
            .str(r.charge.as_str())
            .comma();
        let start = self.prefix_bytes.len();
        self.prefix_bytes.extend_from_slice(p.as_bytes());
        let range = start..self.prefix_bytes.len();
        if self.prefixes.len() <= at {
            self.prefixes.resize(at + 1, None);
        }
        self.prefixes[at] = Some(range.clone());
        range
    }

    /// Appends the row of `r`.
    fn row(&mut self, r: &Row) {
        let prefix = self.prefix(r);
        let l = &mut self.line;
        l.lit(&r.id.to_string_buf());
        l.bytes(&self.prefix_bytes[prefix]);
        match r.owner {
            Owner::Workload(i) => l.lit(b"workload").u64(i as u64),
            Owner::Autoscaler(i) => l.lit(b"autoscaler").u64(i as u64),
            Owner::Trace(i) => l.lit(b"trace").u64(i as u64),
            Owner::Script => l.lit(b"script"),
            Owner::Pool => l.lit(b"pool"),
            Owner::External => l.lit(b"external"),
        };
        l.comma()
            .secs(r.created)
            .comma()
            .opt_secs(r.first_running.get())
            .comma();
        match r.released.get() {
            Some(t) => {
                l.secs(t).lit(b",RELEASED,");
            }
            None => {
                l.comma();
                match &self.states[r.state.index()] {
                    Some(s) => l.short(s),
                    None => l.str(r.state.as_str()).comma(),
                };
            }
        }
        if r.refunded == Money::ZERO {
            // Nothing refunded (nearly every row): the cost is the charge, so its text is
            // copied rather than formatted twice.
            let start = l.len();
            l.money(r.charged);
            let end = l.len();
            l.lit(b",0.000000,").copy_within(start..end).comma();
        } else {
            l.money(r.charged)
                .comma()
                .money(r.refunded)
                .comma()
                .money(r.charged - r.refunded)
                .comma();
        }
        for (i, (at, c)) in r.history.iter().enumerate() {
            if i > 0 {
                l.lit(b";");
            }
            l.str(c.as_str()).lit(b"@").secs(*at);
        }
        l.lit(if r.reclaimed { b",1," } else { b",0," });
        match r.extra.as_deref() {
            None => l.lit(b"0.000000,0.000000\n"),
            Some([disk, network]) => l.money(*disk).comma().money(*network).lit(b"\n"),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::api::ChangeKind;
    use crate::cloud::billing::Accrual;
    use crate::cloud::fleet::tests::bare;

    fn catalog() -> Catalog {
        crate::scenario::parse_scenario(include_str!("../../scenarios/serve.toml"), "serve.toml")
            .expect("the embedded scenario")
            .catalog
    }

    /// A temporary folder of this test's own (removed at the end).
    fn temp_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "fleetsim-instances-csv-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The instance with serial `n`, varied in every field a row prints.
    fn instance(n: u64) -> crate::cloud::Instance {
        let mut i = bare(InstanceId(n));
        i.zone = ZoneIdx((n % 2) as u16);
        i.itype = TypeIdx((n % 3) as u16);
        i.charge = ChargeType::ALL[(n % 3) as usize];
        i.owner = Owner::Workload((n % 5) as u16);
        i.created = SimTime(n * 1_000 + 7);
        if !n.is_multiple_of(4) {
            i.first_running = OptTime::some(SimTime(n * 1_000 + 60_000));
        }
        i.billing.charged = Money::from_micros(n as i128 * 370_001);
        if n.is_multiple_of(11) {
            i.billing.add_refund(Money::from_micros(50_000));
        }
        if n.is_multiple_of(13) {
            i.charge = ChargeType::PostpaidByHour;
            i.record_charge_change(SimTime(n + 5), ChargeType::Prepaid);
        }
        i.set_reclaiming(n.is_multiple_of(7));
        i
    }

    fn change<'a>(inst: &'a crate::cloud::Instance, cat: &'a Catalog, t: u64) -> Change<'a> {
        Change {
            kind: ChangeKind::State,
            time: SimTime(t),
            instance: inst,
            key: crate::cloud::InstanceKey {
                slot: 0,
                generation: 0,
            },
            from: Some(InstanceState::Terminating),
            to: None,
            from_type: inst.itype,
            from_charge: inst.charge,
            accrual: Accrual::point(SimTime(t), Money::ZERO),
            catalog: cat,
        }
    }

    /// Rows of many batches reach the file whole and in the order they were handed over,
    /// exactly as the writer formats each one alone.
    #[test]
    fn rows_of_many_batches_arrive_in_order() {
        let dir = temp_dir("order");
        let cat = catalog();
        let n = 3 * BATCH_ROWS as u64 + 17;
        let path = dir.join("instances.csv");
        let mut w = InstancesCsv::new(File::create(&path).unwrap()).unwrap();
        let mut expected = CsvLine::default();
        expected.str(HEADER);
        let mut one = RowWriter::new(File::open(&path).unwrap());
        one.labels = Labels::of(&cat);
        for k in 0..n {
            let inst = instance(k);
            let released = !k.is_multiple_of(9);
            let ch = change(&inst, &cat, k * 1_000 + 90_000);
            w.row(&ch, released);
            one.line.clear();
            one.row(&Row::of(&ch, released));
            expected.bytes(one.line.as_bytes());
        }
        w.finish().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected.as_bytes());
        let text = String::from_utf8(got).unwrap();
        assert_eq!(text.lines().count() as u64, n + 1);
        let row_5 = text.lines().nth(6).unwrap();
        assert!(row_5.starts_with(&InstanceId(5).to_string()), "{row_5}");
        assert!(text.contains(",RELEASED,"));
        assert!(text.contains("PREPAID@"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file that refuses writes gives an error at `finish`, not a silent short file.
    #[test]
    fn a_write_error_is_reported() {
        let dir = temp_dir("error");
        let cat = catalog();
        let path = dir.join("instances.csv");
        File::create(&path).unwrap();
        // Opened for reading only: every write fails.
        let mut w = InstancesCsv::new(File::open(&path).unwrap()).unwrap();
        for k in 0..10 {
            let inst = instance(k);
            w.row(&change(&inst, &cat, 100_000), true);
        }
        assert!(w.finish().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
