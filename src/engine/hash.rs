//! The hash maps for small integer keys (ids, packed tuples) on the event path: the Fx hash of
//! `rustc-hash`, where SipHash's protection against adversarial keys buys nothing and costs time
//! on every event. Never used where iteration order could reach an output.

pub use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet, FxHasher};
