//! The loom switch: one import path for every synchronisation type our from-scratch code uses.
//!
//! Normally these are `std`'s types. Under `RUSTFLAGS="--cfg loom"` (`make loom`) they are loom's,
//! whose every atomic access, lock and park is a scheduling point that loom's model checker permutes,
//! exploring every interleaving (up to `LOOM_MAX_PREEMPTIONS` preemptions) and every value a relaxed
//! load may legally return. Code written against this module is model-checked without change.
//!
//! Loom's limits, where they matter: it treats `SeqCst` like `AcqRel` (so it can miss bugs that only
//! SeqCst's total order prevents, and never reports a store-buffering outcome); it has no
//! `thread::scope`; there is no time inside a model: loom's `Condvar::wait_timeout` is a plain `wait`
//! that never times out, so the `_timeout` paths are tested with real threads instead.
//!
//! Two limits of phase 1's models: the futex of `phase1::sync` is emulated under loom by a loom Mutex +
//! Condvar, and waking through a mutex adds a waker → sleeper happens-before edge the kernel's futex
//! does not promise; so on the slept-then-woken path loom cannot catch a missing Acquire after a wait
//! (the paths that never sleep do check it). And the emulated futex's timed wait returns at once, so
//! nothing timed is ever modelled while asleep.

#[cfg(loom)]
pub use loom::{hint, thread};
#[cfg(not(loom))]
pub use std::{hint, thread};

/// `Arc`, `Mutex`, `Condvar` and the atomics.
pub mod sync {
    #[cfg(loom)]
    pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard, atomic};
    #[cfg(not(loom))]
    pub use std::sync::{Arc, Condvar, Mutex, MutexGuard, atomic};
}

/// An `UnsafeCell` with loom's closure-based API, so loom can check every access for a data race.
#[cfg(loom)]
pub use loom::cell::UnsafeCell;

/// An `UnsafeCell` with loom's closure-based API, so loom can check every access for a data race.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }
    /// Shared access through a raw pointer; the caller upholds the aliasing rules.
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    /// Exclusive access through a raw pointer; the caller upholds the aliasing rules.
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
    /// Consumes the cell.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

/// Runs `f` under loom's model checker (every interleaving); without loom, runs it once.
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    #[cfg(loom)]
    loom::model(f);
    #[cfg(not(loom))]
    f();
}
