//! # Context-aware systems (phase2/exercise4)
//!
//! Go threads a `context.Context` through every call that may block: it carries a cancel signal
//! and a deadline down a tree (a parent's cancel reaches every descendant, a child's stays below),
//! and `select` on `ctx.Done()` makes any wait abortable. Rust has no standard context; tokio-util's
//! `CancellationToken` is the cancel tree without deadlines, and `tokio::time::timeout` wraps one
//! future. This module builds the Go shape from scratch and uses it for timeouts, a graceful TCP
//! shutdown and task cleanup.
//!
//! - [`Context`]: `background`, `child`, `with_deadline` / `with_timeout`, `cancel`, `is_cancelled`,
//!   `reason`, `deadline` (the earliest of the ancestors'), blocking `wait` / `wait_timeout`, async
//!   `cancelled()`. Built on `phase1::shim`, so loom checks it (`tests/loom_context.rs`).
//! - [`broken::child_check_then_register`]: the registration race, kept for its loom model.
//! - [`server`]: the loopback service drained on SIGTERM (`exercise4 serve` runs it alone).

pub mod broken;
mod ctx;
#[cfg(not(loom))]
mod exercise;
#[cfg(not(loom))]
mod future;
#[cfg(not(loom))]
pub mod server;

pub use ctx::{Context, Reason};
#[cfg(not(loom))]
pub use future::Cancelled;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise4",
    title: "Context-aware systems",
    goal: "Cancel and time out whole trees of work, shut a service down without losing a request, \
        and leave no task behind. (`exercise4 serve [DRAIN_MS]` runs the section's TCP service alone.)",
    go_vs_rust: "Go passes context.Context to every blocking call and selects on ctx.Done(); Rust has \
        no standard context: a cancellation tree (tokio-util's CancellationToken, or the Context built \
        here) is passed explicitly and awaited in tokio::select!, and deadlines come from the timer.",
    sections: exercise::SECTIONS,
};
