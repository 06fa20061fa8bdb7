//! # Channels deep dive (phase1/exercise2)
//!
//! Go's `chan T` is a runtime object: a ring buffer, a lock, and queues of parked goroutines, with
//! `close` and `select` built into the language. Rust's channels are library types — std's mpsc,
//! crossbeam-channel, tokio's mpsc — and closing is the drop of the last `Sender`. This module builds
//! the teaching version from scratch (a `VecDeque` + `Mutex` + two `Condvar`s, capacity 0 included)
//! and uses it, and the ecosystem's, to reason about closing, select, leaks and deadlocks.
//!
//! - [`bounded`] / [`unbounded`] → ([`Sender`], [`Receiver`]): MPMC, `send`/`recv`, `try_*`,
//!   `*_timeout`, close on drop. The protocol (and its rendezvous tickets) is documented in `shared.rs`.
//! - [`broken::LostWakeupChannel`]: the lost wake-up, kept on purpose for its loom model to find.
//! - [`contract::Ours`]: our channel as a `harness` contract flavor (conformance suite, benches).

mod bounded;
pub mod broken;
#[cfg(not(loom))]
pub mod contract;
mod error;
#[cfg(not(loom))]
mod exercise;
mod receiver;
mod sender;
mod shared;
mod unbounded;

pub use bounded::bounded;
pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use receiver::{Iter, Receiver, TryIter};
pub use sender::Sender;
pub use shared::Capacity;
pub use unbounded::unbounded;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase1/exercise2",
    title: "Channels deep dive",
    goal: "Be able to reason from first principles about deadlocks.",
    go_vs_rust: "Go's chan is a runtime object with close() and select built into the language; in Rust a \
        channel is a library type (std mpsc, crossbeam-channel, tokio mpsc), closing is dropping the last \
        Sender, and select is a macro.",
    sections: exercise::SECTIONS,
};
