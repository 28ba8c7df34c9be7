//! fleetsim: a discrete-event simulator of a Tencent Cloud CVM fleet.

pub mod batch;
pub mod cli;
pub mod cloud;
pub mod compare;
pub mod engine;
pub mod fingerprint;
pub mod report;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod stats;
pub mod sweep;
pub mod workload;
pub mod world;
