//! The CVM model: catalogue, instances and their state machine, the fleet store, the control
//! plane with quotas and stock, and billing.

pub mod api;
pub mod billing;
pub mod capacity;
pub mod catalog;
pub mod errors;
pub mod fleet;
mod id_order;
pub mod instance;
pub mod money;
pub mod pricing;
pub mod ratelimit;
pub mod sdk_codes;
pub mod spot_holders;
pub mod spot_market;
pub mod state;

pub use api::{
    Action, Change, ChangeKind, Cloud, CloudEvent, Observer, Request, Response, RunInstances,
    Timings,
};
pub use catalog::{Catalog, ChargeType, InstanceType, TypeIdx, Zone, ZoneIdx};
pub use errors::{ApiError, ErrorCode};
pub use fleet::{Fleet, InstanceKey};
pub use instance::{ActorIdx, Instance, InstanceId, MAX_ACTORS, Owner, RenewFlag, StoppedMode};
pub use money::Money;
pub use state::InstanceState;
