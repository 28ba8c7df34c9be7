//! A client outside the scenario (`Owner::External`): the HTTP endpoint of `serve`, or any
//! caller of `run::Session::call`. Its calls are made at the time the run has been advanced to,
//! through the same door as every other (rate limits, quotas, stock), and answered with the
//! control plane's own response. It keeps no state: whoever drives it keeps its own.

use crate::cloud::api::Observer;
use crate::cloud::{ApiError, Request, Response};

use super::actor::{Actor, Ctx};

/// The external client.
#[derive(Default)]
pub struct ExternalClient;

impl Actor for ExternalClient {
    /// A call to make now.
    type Event = Request;
    /// The control plane's answer.
    type Reply = Result<Response, ApiError>;

    fn handle<O: Observer>(&mut self, req: Request, ctx: &mut Ctx<'_, O>) -> Self::Reply {
        ctx.call(req)
    }
}
