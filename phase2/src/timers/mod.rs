//! # Timers and tickers (phase2/exercise5)
//!
//! Go gives every program `time.Timer`, `time.Ticker` and `time.AfterFunc`, backed by per-P timer
//! heaps in the runtime; a ticker must be stopped, and a slow receiver silently loses ticks. Rust's
//! std has only `thread::sleep` and `recv_timeout`; tokio brings `sleep`, `interval` (with an explicit
//! `MissedTickBehavior`) and a hierarchical timing wheel. This module builds the pieces from scratch:
//!
//! - [`TimingWheel`]: 4 levels × 64 slots, cascading, O(1) insert and cancel.
//! - [`HeapQueue`]: the binary-heap timer queue (Go's design), the baseline.
//!   Both implement [`harness::contracts::timer::TimerQueue`] and pass its conformance suite.
//! - [`Ticker`] (stops on drop) and [`LeakyTicker`] (the mistake, contained for the demo).
//! - [`PeriodicWorker`]: a periodic job, no overlapping runs, seeded jitter, clean shutdown.

mod heap;
mod periodic;
mod ticker;
mod wheel;
pub mod workload;

#[cfg(not(loom))]
mod exercise;

pub use heap::{HeapHandle, HeapQueue};
pub use periodic::{PeriodicWorker, Schedule};
pub use ticker::{Containment, LeakyTicker, Ticker};
pub use wheel::{TimingWheel, WheelHandle};

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise5",
    title: "Timers and tickers",
    goal: "Use timers and tickers without leaking them, know what a slow handler does to a ticker, \
        and know why runtimes keep timers in a wheel rather than a heap.",
    go_vs_rust: "Go has time.Timer/Ticker in the runtime (per-P heaps) and drops ticks a slow reader \
        misses; Rust's std has only sleep and recv_timeout, tokio's interval makes the missed-tick \
        policy explicit (Burst/Delay/Skip) and drives its timers from a hierarchical wheel; a Rust \
        ticker can stop itself on drop.",
    sections: exercise::SECTIONS,
};
