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
                    m.insert("Clock".into(), json!(clock.mode().to_string()));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend that counts: time moves only through `advance_to`.
    struct Fake {
        now: SimTime,
        calls: u64,
        finished: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl Backend for Fake {
        fn now(&self) -> SimTime {
            self.now
        }
        fn horizon(&self) -> SimTime {
            SimTime(86_400_000)
        }
        fn advance_to(&mut self, t: SimTime) {
            self.now = self.now.max(t.min(self.horizon()));
        }
        fn call(
            &mut self,
            action: &str,
            _region: &str,
            _params: &Map<String, Value>,
        ) -> Result<Map<String, Value>, CvmError> {
            self.calls += 1;
            if action == "Fail" {
                return Err(CvmError::new("InvalidAction", "no"));
            }
            let mut m = Map::new();
            m.insert("Call".into(), json!(self.calls));
            m.insert("At".into(), json!(self.now.ms()));
            Ok(m)
        }
        fn status(&self) -> Value {
            json!({"Calls": self.calls})
        }
        fn finish(self: Box<Self>) -> anyhow::Result<PathBuf> {
            self.finished
                .store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(PathBuf::from("done"))
        }
    }

    fn start(
        mode: ClockMode,
    ) -> (
        mpsc::Sender<Command>,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
        std::thread::JoinHandle<()>,
    ) {
        let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let f = finished.clone();
        let (tx, ready, handle) = spawn(
            move || {
                Ok(Box::new(Fake {
                    now: SimTime::ZERO,
                    calls: 0,
                    finished: f,
                }) as Box<dyn Backend>)
            },
            mode,
            0,
        );
        ready.recv().unwrap().unwrap();
        (tx, finished, handle)
    }

    fn call(
        tx: &mpsc::Sender<Command>,
        action: &str,
    ) -> Option<Result<Map<String, Value>, CvmError>> {
        let (reply, rx) = oneshot::channel();
        tx.send(Command::Call {
            action: action.into(),
            region: "r".into(),
            params: Map::new(),
            reply,
        })
        .ok()?;
        rx.blocking_recv().ok()
    }

    fn advance(tx: &mpsc::Sender<Command>, body: Value) -> Result<Value, String> {
        let (reply, rx) = oneshot::channel();
        tx.send(Command::Advance { body, reply }).unwrap();
        rx.blocking_recv().unwrap()
    }

    #[test]
    fn manual_clock_moves_only_when_asked_and_every_command_is_answered_once() {
        let (tx, finished, handle) = start(ClockMode::Manual);
        let a = call(&tx, "X").unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let b = call(&tx, "X").unwrap().unwrap();
        assert_eq!((a["Call"].clone(), b["Call"].clone()), (json!(1), json!(2)));
        assert_eq!(
            (a["At"].clone(), b["At"].clone()),
            (json!(0), json!(0)),
            "wall time moves nothing"
        );
        assert_eq!(
            call(&tx, "Fail").unwrap().unwrap_err().code,
            "InvalidAction"
        );
        let t = advance(&tx, json!({"By": "90s"})).unwrap();
        assert_eq!(t["NowMs"], 90_000);
        assert_eq!(call(&tx, "X").unwrap().unwrap()["At"], 90_000);
        assert!(
            advance(&tx, json!({"To": "2d"}))
                .unwrap_err()
                .contains("horizon")
        );
        assert!(
            advance(&tx, json!({"To": "1m"}))
                .unwrap_err()
                .contains("before")
        );
        let (reply, rx) = oneshot::channel();
        tx.send(Command::Stop { reply }).unwrap();
        assert_eq!(rx.blocking_recv().unwrap(), Ok(PathBuf::from("done")));
        handle.join().unwrap();
        assert!(finished.load(std::sync::atomic::Ordering::SeqCst));
        // After the stop, a command's reply channel is dropped, never answered twice.
        assert!(call(&tx, "X").is_none());
    }

    #[test]
    fn a_running_clock_advances_between_commands_and_refuses_manual_advance() {
        let (tx, _, handle) = start(ClockMode::Speedup(1000.0));
        std::thread::sleep(Duration::from_millis(100));
        let at = call(&tx, "X").unwrap().unwrap()["At"].as_u64().unwrap();
        // 0.1 s of wall time at 1000x: at least 100 simulated seconds.
        assert!(at >= 100_000, "{at}");
        assert!(
            advance(&tx, json!({"By": "1m"}))
                .unwrap_err()
                .contains("not manual")
        );
        drop(tx);
        // All senders gone: the thread finishes the run by itself.
        handle.join().unwrap();
    }
}
