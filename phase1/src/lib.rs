//! # Phase 1 — foundations
//!
//! Go gives you goroutines, channels and `sync`; the runtime hides the scheduler, the channel and the
//! mutex inside itself. Rust gives you OS threads, `std::sync` and a choice of async runtimes, and
//! hides nothing: so here each mechanism is built from scratch, model-checked with loom, tested against
//! the ecosystem's version with one conformance suite, and measured next to it.
//!
//! - [`scheduler`] — exercise1: threads vs tasks, park/unpark, blocking in async, CPU- vs IO-bound.
//! - [`channels`] — exercise2: a bounded (incl. rendezvous) and an unbounded MPMC channel; closing,
//!   select, leaks, deadlocks.
//! - [`sync`] — exercise3: SpinLock, a futex Mutex, Condvar, RwLock, WaitGroup, OnceCell, ShardedMap,
//!   ObjectPool.
//! - [`shim`] — the `std` / `loom` switch that makes all of the above model-checkable.
#![warn(missing_docs)]

pub mod channels;
pub mod scheduler;
pub mod shim;
pub mod sync;
