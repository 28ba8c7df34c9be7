//! The instance state machine: every `InstanceState` CVM reports, and the only moves between
//! them. All state changes in the simulator go through [`next_state`], so an illegal move is an
//! error at the one place that could make it.

use std::fmt;

use serde::Serialize;

/// CVM's `InstanceState`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize)]
pub enum InstanceState {
    Pending,
    LaunchFailed,
    Running,
    Stopped,
    Starting,
    Stopping,
    Rebooting,
    /// Isolated, in the recycle bin, waiting to be destroyed or restored.
    Shutdown,
    Terminating,
}

impl InstanceState {
    pub const ALL: [InstanceState; 9] = [
        InstanceState::Pending,
        InstanceState::LaunchFailed,
        InstanceState::Running,
        InstanceState::Stopped,
        InstanceState::Starting,
        InstanceState::Stopping,
        InstanceState::Rebooting,
        InstanceState::Shutdown,
        InstanceState::Terminating,
    ];
    pub const COUNT: usize = 9;

    /// The name CVM's API uses (`RUNNING`).
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "PENDING",
            InstanceState::LaunchFailed => "LAUNCH_FAILED",
            InstanceState::Running => "RUNNING",
            InstanceState::Stopped => "STOPPED",
            InstanceState::Starting => "STARTING",
            InstanceState::Stopping => "STOPPING",
            InstanceState::Rebooting => "REBOOTING",
            InstanceState::Shutdown => "SHUTDOWN",
            InstanceState::Terminating => "TERMINATING",
        }
    }

    /// The spelling inside error codes (`UnsupportedOperation.InstanceStatePending`).
    pub fn camel(self) -> &'static str {
        match self {
            InstanceState::Pending => "Pending",
            InstanceState::LaunchFailed => "LaunchFailed",
            InstanceState::Running => "Running",
            InstanceState::Stopped => "Stopped",
            InstanceState::Starting => "Starting",
            InstanceState::Stopping => "Stopping",
            InstanceState::Rebooting => "Rebooting",
            InstanceState::Shutdown => "Shutdown",
            InstanceState::Terminating => "Terminating",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// A transient state: the instance is in the middle of an operation.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            InstanceState::Pending
                | InstanceState::Starting
                | InstanceState::Stopping
                | InstanceState::Rebooting
                | InstanceState::Terminating
        )
    }

    pub fn parse(s: &str) -> Option<InstanceState> {
        InstanceState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can move an instance: the start of an operation (an accepted API call or a
/// platform action) or its completion.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Transition {
    /// PENDING → RUNNING.
    LaunchSucceeded,
    /// PENDING → LAUNCH_FAILED.
    LaunchFailed,
    /// StopInstances accepted: RUNNING → STOPPING.
    Stop,
    /// STOPPING → STOPPED.
    StopDone,
    /// StartInstances accepted: STOPPED → STARTING.
    Start,
    /// STARTING → RUNNING.
    StartDone,
    /// STARTING → STOPPED: capacity could not be had back after STOP_CHARGING.
    StartFailed,
    /// RebootInstances accepted: RUNNING → REBOOTING.
    Reboot,
    /// REBOOTING → RUNNING.
    RebootDone,
    /// ResetInstancesType completed: STOPPED → RUNNING with the new type.
    ResetTypeDone,
    /// Destroy: RUNNING, STOPPED, SHUTDOWN or LAUNCH_FAILED → TERMINATING.
    Terminate,
    /// Isolate into the recycle bin (prepaid terminate, expiry, arrears): RUNNING or STOPPED →
    /// SHUTDOWN.
    Isolate,
    /// Renewal out of the recycle bin: SHUTDOWN → RUNNING.
    Restore,
    /// TERMINATING → released.
    Released,
    /// SHUTDOWN → released, when the recycle bin's time is up.
    BinExpired,
    /// LAUNCH_FAILED → released: the platform removes a failed launch after a while.
    CleanedUp,
}

impl Transition {
    pub const ALL: [Transition; 16] = [
        Transition::LaunchSucceeded,
        Transition::LaunchFailed,
        Transition::Stop,
        Transition::StopDone,
        Transition::Start,
        Transition::StartDone,
        Transition::StartFailed,
        Transition::Reboot,
        Transition::RebootDone,
        Transition::ResetTypeDone,
        Transition::Terminate,
        Transition::Isolate,
        Transition::Restore,
        Transition::Released,
        Transition::BinExpired,
        Transition::CleanedUp,
    ];
}

/// Where a transition leads: another state, or out of the fleet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum After {
    State(InstanceState),
    Released,
}

/// The one table of legal moves. `Err` carries the state that refused the move, from which the
/// control plane builds `UnsupportedOperation.InstanceState<State>`.
pub fn next_state(from: InstanceState, t: Transition) -> Result<After, InstanceState> {
    use InstanceState as S;
    use Transition as T;
    let to = match (from, t) {
        (S::Pending, T::LaunchSucceeded) => S::Running,
        (S::Pending, T::LaunchFailed) => S::LaunchFailed,
        (S::Running, T::Stop) => S::Stopping,
        (S::Stopping, T::StopDone) => S::Stopped,
        (S::Stopped, T::Start) => S::Starting,
        (S::Starting, T::StartDone) => S::Running,
        (S::Starting, T::StartFailed) => S::Stopped,
        (S::Running, T::Reboot) => S::Rebooting,
        (S::Rebooting, T::RebootDone) => S::Running,
        (S::Stopped, T::ResetTypeDone) => S::Running,
        (S::Running | S::Stopped | S::Shutdown | S::LaunchFailed, T::Terminate) => S::Terminating,
        (S::Running | S::Stopped, T::Isolate) => S::Shutdown,
        (S::Shutdown, T::Restore) => S::Running,
        (S::Terminating, T::Released)
        | (S::Shutdown, T::BinExpired)
        | (S::LaunchFailed, T::CleanedUp) => return Ok(After::Released),
        _ => return Err(from),
    };
    Ok(After::State(to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstanceState as S;
    use Transition as T;
    use proptest::prelude::*;

    /// The legal moves written out independently of `next_state`, from CVM.md's table.
    const LEGAL: &[(S, T, Option<S>)] = &[
        (S::Pending, T::LaunchSucceeded, Some(S::Running)),
        (S::Pending, T::LaunchFailed, Some(S::LaunchFailed)),
        (S::Running, T::Stop, Some(S::Stopping)),
        (S::Stopping, T::StopDone, Some(S::Stopped)),
        (S::Stopped, T::Start, Some(S::Starting)),
        (S::Starting, T::StartDone, Some(S::Running)),
        (S::Starting, T::StartFailed, Some(S::Stopped)),
        (S::Running, T::Reboot, Some(S::Rebooting)),
        (S::Rebooting, T::RebootDone, Some(S::Running)),
        (S::Stopped, T::ResetTypeDone, Some(S::Running)),
        (S::Running, T::Terminate, Some(S::Terminating)),
        (S::Stopped, T::Terminate, Some(S::Terminating)),
        (S::Shutdown, T::Terminate, Some(S::Terminating)),
        (S::LaunchFailed, T::Terminate, Some(S::Terminating)),
        (S::Running, T::Isolate, Some(S::Shutdown)),
        (S::Stopped, T::Isolate, Some(S::Shutdown)),
        (S::Shutdown, T::Restore, Some(S::Running)),
        (S::Terminating, T::Released, None),
        (S::Shutdown, T::BinExpired, None),
        (S::LaunchFailed, T::CleanedUp, None),
    ];

    #[test]
    fn exactly_the_documented_moves_are_legal() {
        for from in S::ALL {
            for t in T::ALL {
                let want = LEGAL.iter().find(|(f, tt, _)| *f == from && *tt == t).map(
                    |(_, _, to)| match to {
                        Some(s) => After::State(*s),
                        None => After::Released,
                    },
                );
                match (next_state(from, t), want) {
                    (Ok(got), Some(w)) => assert_eq!(got, w, "{from:?} {t:?}"),
                    (Err(s), None) => assert_eq!(s, from),
                    (got, want) => panic!("{from:?} {t:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn transient_states_are_the_operating_ones() {
        let transient: Vec<_> = S::ALL.into_iter().filter(|s| s.is_transient()).collect();
        assert_eq!(
            transient,
            vec![
                S::Pending,
                S::Starting,
                S::Stopping,
                S::Rebooting,
                S::Terminating
            ]
        );
    }

    fn transition() -> impl Strategy<Value = Transition> {
        (0..T::ALL.len()).prop_map(|i| T::ALL[i])
    }

    proptest! {
        /// Driving a new instance with any sequence of moves: refused moves change nothing,
        /// nothing follows release, and every state visited is reachable from PENDING only
        /// through the table (RUNNING is entered only from PENDING, STARTING, REBOOTING,
        /// STOPPED via reset, or SHUTDOWN via restore).
        #[test]
        fn random_walks_stay_legal(moves in proptest::collection::vec(transition(), 0..200)) {
            let mut state = Some(S::Pending);
            for t in moves {
                let Some(from) = state else {
                    break;
                };
                match next_state(from, t) {
                    Ok(After::State(to)) => {
                        if to == S::Running {
                            prop_assert!(matches!(from, S::Pending | S::Starting | S::Rebooting | S::Stopped | S::Shutdown));
                        }
                        if to == S::Pending {
                            prop_assert!(false, "nothing returns to PENDING");
                        }
                        state = Some(to);
                    }
                    Ok(After::Released) => {
                        prop_assert!(matches!(from, S::Terminating | S::Shutdown | S::LaunchFailed));
                        state = None;
                    }
                    Err(s) => prop_assert_eq!(s, from),
                }
            }
        }
    }
}
