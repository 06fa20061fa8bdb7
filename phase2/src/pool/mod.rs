//! # Worker pool, bounded concurrency (phase2/exercise1)
//!
//! Go bounds concurrency with a fixed set of goroutines reading one job channel (or a semaphore
//! channel), collects results on another channel and cancels with `context.Context`. Rust does the
//! same with threads, channels and a cancellation token, but a panic is a value to catch
//! (`catch_unwind`) rather than a crashed process, and joining the workers is explicit.
//!
//! - [`Pool`]: `n` workers, a bounded submission queue ([`Intake`]: one lock-free submitter,
//!   batch take, wakes only sleepers; results come back through a [`BatchQueue`]), one [`JobResult`] per
//!   job (`Done`, `Panicked` or `Cancelled` — never two), measured max in flight, joined on shutdown.
//! - [`CancelToken`]: the cooperative cancellation flag jobs receive.
//! - [`RetryPolicy`]: exponential backoff, capped, seeded jitter, retryable vs permanent errors, on
//!   a `harness::clock::Clock`.
//! - [`map_window`]: results in submission order through a bounded reorder window, or unordered.
#[cfg(not(loom))]
mod exercise;
pub mod intake;
#[cfg(not(loom))]
mod job;
#[cfg(not(loom))]
mod ordered;
#[cfg(not(loom))]
mod outcome;
pub mod queue;
#[cfg(not(loom))]
mod retry;
mod token;
#[cfg(not(loom))]
mod workers;

pub use intake::{Intake, Submitter, intake};
#[cfg(not(loom))]
pub use job::Job;
#[cfg(not(loom))]
pub use ordered::{OrderStats, map_window};
#[cfg(not(loom))]
pub use outcome::{JobResult, Outcome};
pub use queue::{BatchQueue, Take};
#[cfg(not(loom))]
pub use retry::{Attempt, RetryPolicy, RetryReport};
pub use token::CancelToken;
#[cfg(not(loom))]
pub use workers::{Closed, Pool};

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise1",
    title: "Worker pool, bounded concurrency",
    goal: "Each pattern must be implemented from scratch, tested, and benchmarked.",
    go_vs_rust: "Go bounds concurrency with N goroutines reading one job channel and cancels with a \
        context; Rust uses N threads, a bounded channel and a cancellation token, catches a job's panic \
        as a value (catch_unwind) and joins every worker explicitly on shutdown.",
    sections: exercise::SECTIONS,
};
