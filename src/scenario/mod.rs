//! Scenario files: the TOML schema, validation with precise messages, and the embedded default.

mod actions;
mod api;
mod arrival;
mod attach;
pub mod budget;
mod catalogue;
mod controllers;
pub mod load;
pub mod locate;
mod names;
pub mod overrides;
mod platform;
pub mod schema;
pub mod sections;
pub mod shown;
mod traces;
mod values;
mod workloads;

pub use load::{
    QUICKSTART, QUICKSTART_NAME, Scenario, ScenarioError, folder_of, load_file, parse_scenario,
    parse_scenario_in, quickstart, scenario_relative,
};
pub use sections::{Strategy, SweepSection};
pub use shown::{Shown, ShownWorkload, ShownZone};
// Runtime specs live with the code that runs them; named here too for existing callers.
pub use crate::workload::{RetryPolicy, WorkloadSpec};
