//! Observers and writers: fleet counts, the run journal, CSV files, the summary, the output
//! folder.

pub mod accrued;
pub mod charts;
pub mod costs;
pub mod csvline;
pub mod figures;
pub mod findings;
pub mod fleet_counts;
pub mod html;
pub mod instances_csv;
pub mod journal;
pub mod output;
pub mod recorder;
pub mod summary;
pub mod table;
pub mod timeseries;
