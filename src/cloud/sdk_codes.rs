//! CVM's own lists of error codes, compiled in from `data/cvm-sdk/` (see its README for where
//! each file comes from): every code the SDK knows, the codes each action documents, and the
//! common codes any action can answer with. The control plane picks the code an action
//! answers with from its list, and the tests hold every code fleetsim can produce against
//! them, so an answer a real account could never get is a failing test, not a surprise.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::api::Action;
use super::errors::ErrorCode;
use super::state::InstanceState;

const ERRORCODES: &str = include_str!("../../data/cvm-sdk/errorcodes.tsv");
const ACTION_ERRORS: &str = include_str!("../../data/cvm-sdk/action-errors.tsv");
const ACTION_ERRORS_NEWER: &str = include_str!("../../data/cvm-sdk/action-errors-newer.tsv");
const COMMON: &str = include_str!("../../data/cvm-sdk/common-codes.tsv");

/// The lines of a TSV file that are not comments, split at tabs.
fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

struct Lists {
    /// Every code of errorcodes.py, with its message.
    codes: BTreeMap<&'static str, &'static str>,
    /// Action name → the codes documented for it.
    actions: BTreeMap<&'static str, BTreeSet<&'static str>>,
    common: BTreeSet<&'static str>,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let codes = rows(ERRORCODES)
            .map(|r| (r[0], r.get(1).copied().unwrap_or("")))
            .collect();
        let mut actions: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in rows(ACTION_ERRORS).chain(rows(ACTION_ERRORS_NEWER)) {
            actions.entry(r[0]).or_default().insert(r[1]);
        }
        let common = rows(COMMON).map(|r| r[0]).collect();
        Lists {
            codes,
            actions,
            common,
        }
    })
}

/// Whether the SDK's errorcodes.py knows `code`.
pub fn known(code: &str) -> bool {
    lists().codes.contains_key(code)
}

/// The SDK's message for `code`, if it knows it.
pub fn message(code: &str) -> Option<&'static str> {
    lists().codes.get(code).copied()
}

/// Whether `code` is one of the common codes any action may answer with.
pub fn is_common(code: &str) -> bool {
    lists().common.contains(code)
}

/// The codes documented for the action named `action` (`None`: no list is kept for it).
pub fn action_codes(action: &str) -> Option<&'static BTreeSet<&'static str>> {
    lists().actions.get(action)
}

/// Whether `action` may answer with `code`: its own list or the common codes.
pub fn allowed(action: &str, code: &str) -> bool {
    is_common(code) || action_codes(action).is_some_and(|l| l.contains(code))
}

/// The actions with a list, by name.
pub fn actions() -> impl Iterator<Item = &'static str> {
    lists().actions.keys().copied()
}

/// The code `action` refuses an instance in `state` with: the state's own code
/// (`UnsupportedOperation.InstanceStateStopping`) where the action's list has it; otherwise,
/// for a transient state, `OperationDenied.InstanceOperationInProgress` (the instance is in the
/// middle of an operation); otherwise the generic `UnsupportedOperation` or
/// `InvalidInstance.NotSupported`, whichever the list has.
pub fn state_refusal(action: Action, state: InstanceState) -> ErrorCode {
    let own = ErrorCode::InstanceState(state);
    let listed =
        |c: ErrorCode| action_codes(action.as_str()).is_some_and(|l| l.contains(c.as_str()));
    if listed(own) {
        return own;
    }
    if state.is_transient() && listed(ErrorCode::OperationInProgress) {
        return ErrorCode::OperationInProgress;
    }
    [
        ErrorCode::UnsupportedOperation,
        ErrorCode::InvalidInstanceNotSupported,
    ]
    .into_iter()
    .find(|&c| listed(c))
    .unwrap_or(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_read_whole() {
        assert_eq!(
            lists().codes.len(),
            422,
            "errorcodes.py 3.1.178 has 422 codes"
        );
        for a in Action::ALL {
            assert!(
                action_codes(a.as_str()).is_some(),
                "{} has no list in action-errors.tsv",
                a.as_str()
            );
        }
    }

    #[test]
    fn every_listed_code_is_a_code_the_sdk_knows() {
        for a in actions() {
            for c in action_codes(a).unwrap() {
                assert!(known(c), "{a} lists {c}, which errorcodes.py does not have");
            }
        }
    }

    #[test]
    fn every_code_fleetsim_produces_is_in_the_sdks_lists() {
        for code in ErrorCode::all() {
            let c = code.as_str();
            assert!(
                known(c) || is_common(c),
                "{c} is neither in errorcodes.tsv nor in common-codes.tsv"
            );
        }
    }

    #[test]
    fn a_state_gets_its_own_code_where_the_action_lists_it() {
        use InstanceState as S;
        // TerminateInstances lists InstanceStateLaunchFailed; ResetInstancesType does not
        // list InstanceStatePending, so the operation in progress is the answer there.
        assert_eq!(
            state_refusal(Action::TerminateInstances, S::LaunchFailed).as_str(),
            "UnsupportedOperation.InstanceStateLaunchFailed"
        );
        assert_eq!(
            state_refusal(Action::StopInstances, S::Stopping).as_str(),
            "UnsupportedOperation.InstanceStateStopping"
        );
        assert_eq!(
            state_refusal(Action::ResetInstancesType, S::Pending),
            ErrorCode::OperationInProgress
        );
    }
}
