//! # Threads, tasks and the scheduler (phase1/exercise1)
//!
//! Go multiplexes goroutines (G) onto OS threads (M) through processors (P): M:N scheduling inside the
//! runtime, with parking and waking hidden behind channels and `sync`. Rust's `std::thread` is 1:1 (one
//! OS thread per `spawn`), and M:N comes from a library runtime such as tokio, whose tasks are Go's
//! goroutines minus preemption: a task that blocks without `.await` holds its worker thread.
//!
//! From scratch, each in its own file, on [`crate::shim`] types so loom can check them:
//! - [`Parker`] / [`Unparker`] — `thread::park` plus an atomic EMPTY / PARKED / NOTIFIED token;
//! - [`CondvarEvent`] — the same token on `Mutex<bool>` + `Condvar`;
//! - [`OneShotEvent`] — set once, wakes every waiter (Go's `close(done)`).
//!
//! The experiments behind the binary's sections are in `exercise/` (one file per section);
//! [`pingpong`] is the round-trip machinery they share with `benches/wakeup.rs`.

mod condvar_event;
mod oneshot;
mod parker;

pub use condvar_event::CondvarEvent;
pub use oneshot::OneShotEvent;
pub use parker::{Parker, Unparker};

#[cfg(not(loom))]
mod exercise;
#[cfg(not(loom))]
pub mod pingpong;

#[cfg(not(loom))]
use harness::exercise::Exercise;

/// The exercise: `make run/phase1/exercise1`.
#[cfg(not(loom))]
pub static EXERCISE: Exercise = Exercise {
    id: "phase1/exercise1",
    title: "Threads, tasks and the scheduler",
    goal: "Explain scheduler behavior in interviews & reason about CPU-bound vs IO-bound workloads.",
    go_vs_rust: "Go schedules goroutines M:N inside its runtime (G on M through P, with preemption). \
                 Rust's std::thread is 1:1 with the OS; M:N is a library (tokio), cooperative: a task \
                 that blocks without .await holds a worker thread.",
    sections: exercise::SECTIONS,
};
