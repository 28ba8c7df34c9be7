//! The simulation's own thread: it owns the [`Backend`] and takes commands one at a time from
//! a queue. Every command carries a one-shot reply channel, so every request gets exactly one
//! answer; with a running clock it also advances simulated time between commands.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::CvmError;
use super::backend::Backend;
use super::clock::{Clock, ClockMode, advance_target, sim_iso8601};
use crate::engine::{SimTime, format_duration};

/// What the HTTP side sends.
pub enum Command {
    Call {
        action: String,
        region: String,
        params: Map<String, Value>,
        reply: oneshot::Sender<Result<Map<String, Value>, CvmError>>,
    },
    Advance {
        body: Value,
        reply: oneshot::Sender<Result<Value, String>>,
    },
    Status {
        reply: oneshot::Sender<Value>,
    },
    /// Ends the run and writes its folder.
    Stop {
        reply: oneshot::Sender<Result<PathBuf, String>>,
    },
}

/// How often a running clock moves simulated time when no call comes.
const TICK: Duration = Duration::from_millis(20);

/// Starts the thread. `make` builds the backend on the thread itself (the world is not
/// `Send`); its error comes back through the returned receiver before any command is taken.
pub fn spawn(
    make: impl FnOnce() -> anyhow::Result<Box<dyn Backend>> + Send + 'static,
    mode: ClockMode,
    epoch: i64,
) -> (
    mpsc::Sender<Command>,
    std::sync::mpsc::Receiver<Result<(), String>>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel::<Command>();
    let (ready_tx, ready_rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("fleetsim-sim".into())
        .spawn(move || {
            let backend = match make() {
                Ok(b) => {
                    let _ = ready_tx.send(Ok(()));
                    b
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("{e:#}")));
                    return;
                }
            };
            run(backend, rx, Clock::new(mode), epoch);
        })
        .expect("the simulation thread starts");
    (tx, ready_rx, handle)
}

fn time_json(b: &dyn Backend, epoch: i64) -> Value {
    let now = b.now();
    json!({
        "Now": format_duration(now.since(SimTime::ZERO)),
        "NowMs": now.ms(),
        "NowTime": sim_iso8601(epoch, now),
    })
}

fn run(mut backend: Box<dyn Backend>, rx: mpsc::Receiver<Command>, clock: Clock, epoch: i64) {
    loop {
        let cmd = match clock.mode() {
            ClockMode::Manual => rx.recv().ok(),
            _ => match rx.recv_timeout(TICK) {
                Ok(c) => Some(c),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(t) = clock.target() {
                        backend.advance_to(t);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => None,
            },
        };
        let Some(cmd) = cmd else {
            // Every sender is gone without a Stop: write the run anyway.
            if let Err(e) = backend.finish() {
                eprintln!("error: cannot write the run folder: {e:#}");
            }
            return;
        };
        if let Some(t) = clock.target() {
            backend.advance_to(t);
        }
        match cmd {
            Command::Call {
                action,
                region,
                params,
                reply,
            } => {
                let _ = reply.send(backend.call(&action, &region, &params));
            }
            Command::Advance { body, reply } => {
                let answer = if clock.mode() != ClockMode::Manual {
                    Err(
                        "the clock is not manual: start the server with --clock manual to \
                         advance it by hand"
                            .to_string(),
                    )
                } else {
                    advance_target(backend.now(), &body).and_then(|t| {
                        if t > backend.horizon() {
                            Err(format!(
                                "{} is past the scenario's horizon {} (its `duration`)",
                                format_duration(t.since(SimTime::ZERO)),
                                format_duration(backend.horizon().since(SimTime::ZERO))
                            ))
                        } else {
                            backend.advance_to(t);
                            Ok(time_json(backend.as_ref(), epoch))
                        }
                    })
                };
                let _ = reply.send(answer);
            }
            Command::Status { reply } => {
                let mut s = backend.status();
                if let (Value::Object(m), Value::Object(t)) =
                    (&mut s, time_json(backend.as_ref(), epoch))
                {
                    m.extend(t);
                    m.insert("Clock".into(), json!(format!("{:?}", clock.mode())));
                }
                let _ = reply.send(s);
            }
            Command::Stop { reply } => {
                let r = backend.finish().map_err(|e| format!("{e:#}"));
                let _ = reply.send(r);
                return;
            }
        }
    }
}
