//! The one way to write a low-volume CSV file (`api.csv`, `quota.csv`, `timeseries.csv`,
//! `costs.csv`, compare's and sweep's files): a [`Table`] over `csv::Writer`, so every cell is
//! quoted when it must be (a strategy name or an axis path with a comma or a quote stays one
//! cell), and rows are serde structs whose field names are the columns: the header comes from
//! the row type, never from a second list of names that could drift from it.
//!
//! Only `instances.csv`, one row per instance (millions on the benchmarks), keeps its own
//! measured writer ([`super::csvline`]).
//!
//! Numbers keep the form the files have always had: a field that must not be written in
//! serde's default form (csv writes `f64` in `ryu`'s shortest form, `1.0` for one) says how
//! with a wrapper: [`Shown`] (its `Display` form), [`Fixed`] (a fixed number of decimals) or
//! [`Secs`] (seconds with millisecond precision).

use std::fmt::Display;
use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Serialize, Serializer};

use super::recorder::Secs;

/// A CSV file being written, row by row.
pub struct Table {
    w: csv::Writer<File>,
    /// The file's name, for error messages.
    name: String,
}

impl Table {
    /// Creates `path` with the columns of the row type `R`: the serde names of its fields, in
    /// order (fields skipped when empty are left out, as in every row).
    pub fn create<R: Serialize + Default>(path: &Path) -> Result<Self> {
        Self::create_like(path, &R::default())
    }

    /// Creates `path` with the columns of `example`, a row of the type the file holds (for
    /// row types whose columns depend on the run, such as `api.csv`'s optional `caller`).
    pub fn create_like<R: Serialize>(path: &Path, example: &R) -> Result<Self> {
        let columns = columns_of(example)?;
        Self::with_columns(path, &columns)
    }

    /// Creates `path` with columns known only at run time (a sweep's axes); its rows are
    /// tuples or sequences in the same order.
    pub fn with_columns<S: AsRef<str>>(path: &Path, columns: &[S]) -> Result<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(f);
        w.write_record(columns.iter().map(|c| c.as_ref()))
            .with_context(|| format!("cannot write {name}"))?;
        Ok(Table { w, name })
    }

    /// Writes one row.
    pub fn row<R: Serialize>(&mut self, row: &R) -> Result<()> {
        self.w
            .serialize(row)
            .with_context(|| format!("cannot write {}", self.name))
    }

    /// Writes every row of `rows`.
    pub fn rows<R: Serialize>(&mut self, rows: impl IntoIterator<Item = R>) -> Result<()> {
        for r in rows {
            self.row(&r)?;
        }
        Ok(())
    }

    /// Flushes the file, reporting a write error (dropping a table would hide it).
    pub fn finish(mut self) -> Result<()> {
        self.w
            .flush()
            .with_context(|| format!("cannot write {}", self.name))
    }
}

/// Writes `path` whole: the columns of `R`, then `rows`.
pub fn write<R: Serialize + Default>(path: &Path, rows: impl IntoIterator<Item = R>) -> Result<()> {
    let mut t = Table::create::<R>(path)?;
    t.rows(rows)?;
    t.finish()
}

/// The column names of the row type of `example`: csv's own header for it.
fn columns_of<R: Serialize>(example: &R) -> Result<Vec<String>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.serialize(example).context("a row type without columns")?;
    let bytes = w.into_inner().context("a row type without columns")?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_slice());
    Ok(r.headers()?.iter().map(str::to_string).collect())
}

/// A cell written in its `Display` form (money, counts read by people, sweep metrics in Rust's
/// shortest round-trip form).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Shown<T>(pub T);

impl<T: Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A number written with `D` decimals (`{:.D}`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Fixed<const D: usize>(pub f64);

impl<const D: usize> Serialize for Fixed<D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:.*}", D, self.0))
    }
}

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Default for Secs {
    fn default() -> Self {
        Secs(crate::engine::SimTime(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Default)]
    struct Row<'a> {
        name: &'a str,
        mean: Fixed<3>,
        sd: Option<Fixed<3>>,
        value: Shown<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        extra: Option<u32>,
    }

    #[test]
    fn header_from_the_type_cells_quoted_numbers_as_shown() {
        let dir = std::env::temp_dir().join(format!("fleetsim-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        write(
            &path,
            [
                Row {
                    name: "a,\"b\"",
                    mean: Fixed(1.0),
                    sd: None,
                    value: Shown(2.0),
                    extra: None,
                },
                Row {
                    name: "c",
                    mean: Fixed(0.12345),
                    sd: Some(Fixed(1.5)),
                    value: Shown(0.1),
                    extra: None,
                },
            ],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "name,mean,sd,value\n\"a,\"\"b\"\"\",1.000,,2\nc,0.123,1.500,0.1\n"
        );
        // No rows: the header alone; an optional column is there when the example has it.
        let mut t = Table::create_like(
            &path,
            &Row {
                extra: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        t.rows(Vec::<Row>::new()).unwrap();
        t.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "name,mean,sd,value,extra\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
