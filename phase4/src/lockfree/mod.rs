//! # High-performance concurrency (phase4/exercise2)
//!
//! Go gives you channels, `sync.Mutex` and `sync/atomic`, and a garbage collector that makes
//! lock-free memory reclamation someone else's problem. Rust lets you build the lock-free structures
//! themselves — with explicit memory orderings that loom can model-check, cache-line padding you
//! control, and epoch-based reclamation (crossbeam-epoch) standing in for the GC.
//!
//! - [`BoundedQueue`] — a bounded MPMC queue after Vyukov: per-slot sequence numbers, no locks.
//! - [`ring`] — an SPSC ring: no CAS and no shared index, a `full` flag per slot is the hand-off; its
//!   halves are typed so a second producer or consumer does not compile.
//! - [`TreiberStack`] — a lock-free stack, popped nodes freed by crossbeam-epoch.
//! - [`discipline`] — the orderings as a type parameter, so loom can be shown a weakened copy.
//! - [`counters`] — packed vs cache-padded per-thread counters (false sharing).
//! - [`InstrumentedMutex`] — a mutex that records wait and hold times in hdrhistograms.
//!
//! The three structures implement the `harness::contracts::queue` traits ([`OursVyukov`],
//! [`OursRing`]) and pass the conformance suite that crossbeam-queue's `ArrayQueue` and `SegQueue`
//! pass (`phase4/tests/queue_conformance.rs`).
pub mod discipline;
pub mod ring;
mod treiber;
mod vyukov;

#[cfg(not(loom))]
mod contract;
#[cfg(not(loom))]
pub mod counters;
#[cfg(not(loom))]
mod exercise;
#[cfg(not(loom))]
mod instrumented;

#[cfg(not(loom))]
pub use contract::{OursRing, OursVyukov};
#[cfg(not(loom))]
pub use instrumented::{InstrumentedGuard, InstrumentedMutex, LockReport};
pub use treiber::TreiberStack;
pub use vyukov::BoundedQueue;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase4/exercise2",
    title: "High-performance concurrency",
    goal: "Build lock-free structures from scratch, check them with loom, and measure what makes \
        concurrent code fast or slow: false sharing, the benchmark harness itself, lock contention.",
    go_vs_rust: "Go offers channels, sync.Mutex and sync/atomic, and its GC makes freeing nodes of a \
        lock-free structure safe by default; Rust builds the structures itself with explicit memory \
        orderings (model-checked by loom), CachePadded for cache lines, and crossbeam-epoch in place \
        of the GC.",
    sections: exercise::SECTIONS,
};
