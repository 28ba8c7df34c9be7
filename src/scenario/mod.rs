//! Scenario files: the TOML schema, validation with precise messages, and the embedded default.

pub mod budget;
pub mod controllers;
pub mod load;
pub mod locate;
pub mod overrides;
pub mod schema;

pub use load::{
    QUICKSTART, RetryPolicy, Scenario, ScenarioError, WorkloadSpec, load_file, parse_scenario,
    parse_scenario_in, quickstart,
};
