//! # exercise3 — the sync toolbox
//!
//! Go's `sync` package is a small, fixed toolbox (`Mutex`, `RWMutex`, `WaitGroup`, `Once`, `Cond`,
//! `Pool`, `Map`) whose misuse is caught, if at all, at run time. Rust's counterparts (`std::sync`,
//! `parking_lot`, `crossbeam`, `dashmap`) put the data *inside* the lock and the unlock in a guard's
//! `Drop`, so most misuses do not compile. Each primitive is built here from scratch on one atomic word
//! and the Linux futex, model-checked with loom, and measured against the ecosystem's.
//!
//! - [`futex`] — sleep on a word / wake it (loom: emulated with a Mutex + Condvar).
//! - [`SpinLock`], [`Mutex`] (futex), [`Condvar`], [`RwLock`] (writer-preferring).
//! - [`WaitGroup`], [`OnceCell`] (poisons on panic), [`ShardedMap`], [`ObjectPool`].
//! - [`alloc`] — a counting global allocator, for the `pool` section's allocation counts.
pub mod condvar;
pub mod futex;
pub mod mutex;
pub mod once;
pub mod rwlock;
pub mod spin;
pub mod waitgroup;

#[cfg(not(loom))]
pub mod alloc;
#[cfg(not(loom))]
mod contract;
#[cfg(not(loom))]
mod exercise;
#[cfg(not(loom))]
pub mod pool;
#[cfg(not(loom))]
pub mod sharded;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use once::{OnceCell, Poisoned};
pub use rwlock::{ReadGuard, RwLock, WriteGuard};
pub use spin::{SpinGuard, SpinLock};
pub use waitgroup::{WaitGroup, WorkToken};

#[cfg(not(loom))]
pub use pool::{ObjectPool, PoolStats, Pooled};
#[cfg(not(loom))]
pub use sharded::ShardedMap;

#[cfg(not(loom))]
/// The exercise: `make run/phase1/exercise3`.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase1/exercise3",
    title: "The sync toolbox",
    goal: "Choose exactly the right primitive for any scenario.",
    go_vs_rust: "Go's sync package (Mutex, RWMutex, WaitGroup, Once, Cond, Pool, Map) guards data by \
                 convention and catches misuse at run time; Rust puts the data inside the lock, unlocks \
                 in a guard's Drop, and turns most misuses into compile errors or clear panics.",
    sections: exercise::SECTIONS,
};
