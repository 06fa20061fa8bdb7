//! # The runtime (phase4/exercise1)
//!
//! Go hides its runtime: goroutines on growable stacks, a work-stealing scheduler (G–P–M), a netpoller
//! and a blocking-syscall hand-off, and since Go 1.14 signal-based preemption. In Rust the runtime is
//! a library: futures are stackless state machines, tokio schedules them cooperatively, and a blocking
//! call is your problem. This module measures each difference and builds the scheduler from scratch:
//!
//! - [`executor`]: a mini multi-threaded executor — tasks with a `Wake` waker, bounded per-worker
//!   rings, a global injector, stealing, parked idle workers, `JoinHandle`s, `block_on`;
//! - [`stack_child`]: the contained child process in which a real stack overflow happens;
//! - [`workloads`]: spawn-many and yield-many, on ours and on tokio, for the section and the bench;
//! - the exercise's sections (`syscalls`, `work-stealing`, `preemption`, `stacks`).

#[cfg(not(loom))]
pub mod executor;

/// The local ring, the sleepers with the idle check, and the task state word are model-checked
/// under loom; the rest of the executor is not built.
#[cfg(loom)]
pub mod executor {
    #[path = "ring.rs"]
    pub mod ring;
    #[path = "sleepers.rs"]
    pub mod sleepers;
    #[path = "state.rs"]
    pub mod state;
    #[path = "work_hint.rs"]
    pub mod work_hint;
    pub use ring::LocalRing;
    pub use sleepers::{Sleepers, Slept, WeakenedSleepers};
}

#[cfg(not(loom))]
pub mod stack_child;

#[cfg(not(loom))]
pub mod workloads;

#[cfg(not(loom))]
mod exercise;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase4/exercise1",
    title: "The runtime",
    goal: "Know what Go's runtime does for you that a Rust async runtime leaves to you: blocking \
        calls, work stealing, preemption and stack growth, each measured.",
    go_vs_rust: "Go parks a goroutine's M in a blocking syscall and hands its P to another M, steals \
        work between Ps, preempts busy goroutines with signals and grows their stacks by copying; \
        tokio has a blocking pool you must ask for (spawn_blocking, block_in_place), steals work the \
        same way, only preempts cooperatively (a budget at .await points), and futures have no stack \
        at all: their size is fixed at compile time, while threads get a fixed stack and a guard page.",
    sections: exercise::SECTIONS,
};
