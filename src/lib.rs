//! fleetsim: a discrete-event simulator of a Tencent Cloud CVM fleet.

pub mod cli;
pub mod cloud;
pub mod engine;
pub mod report;
pub mod run;
pub mod scenario;
pub mod workload;
pub mod world;
