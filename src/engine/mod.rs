//! The generic discrete-event kernel: integer time, a pending-event queue with cancellation,
//! the run loop, named random streams and distributions. It knows nothing of clouds and can be
//! used on its own.

pub mod dist;
pub mod hash;
pub mod prefetch;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod time;

pub use dist::Dist;
pub use queue::{EventId, EventQueue, PendingEvents};
pub use rng::{RandomStream, RngStreams};
pub use sim::{Model, ScheduleError, Scheduler};
pub use time::{SimDuration, SimTime, format_duration, parse_duration};
