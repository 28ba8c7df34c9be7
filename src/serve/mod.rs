//! `fleetsim serve`: the simulated control plane behind an HTTP endpoint that speaks CVM API
//! 2017-03-12 as the official SDKs and `tccli` send it, in simulated time.
//!
//! Two sides: the HTTP side (async, [`http`]) parses, authenticates and answers; the
//! simulation side ([`backend`]) runs on one thread of its own, owns the world, and takes one
//! command at a time from a queue, so the run stays single-threaded and deterministic while
//! hundreds of connections wait for their answers.

pub mod auth;
pub mod backend;
pub mod clock;
pub mod http;
mod sim_thread;
pub mod wire;

use std::fmt;

pub use clock::{ClockMode, DEFAULT_EPOCH};

/// The scenario served when none is given: an empty account (`scenarios/serve.toml`).
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/serve.toml");
pub use http::{ServeOptions, serve};

/// An error as CVM answers it: `Response.Error.Code` and `.Message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CvmError {
    pub code: String,
    pub message: String,
}

impl CvmError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        CvmError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for CvmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CvmError {}
