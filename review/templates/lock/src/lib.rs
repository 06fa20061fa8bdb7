//! A lock of your own: start here. This is a naive mutex that works — a `Mutex<bool>` ("is it
//! held?") and a `Condvar` to sleep on, around an `UnsafeCell` with your data — and reviews clean.
//! Make it yours: a spin lock, a futex, a ticket lock; break it and see the review name what broke
//! (`make review NAME=<your attempt>`).
//!
//! What the review runs against is [`Attempt`], a `harness::contracts::lock::Lock<T>`: `new`,
//! `lock` (blocks), `try_lock` (never blocks) and a guard that derefs to the data and releases the
//! lock when dropped. Keep those; everything behind them is yours.
//!
//! The inner lock and condvar come from `shim::sync`: the same path is `std::sync` normally and
//! loom's model-checked types under `RUSTFLAGS="--cfg loom"`, so a loom model can run this code.
//!
//! Rules this naive version keeps, and the review checks (phase1/README.md#exercise3--the-sync-toolbox
//! and phase1/src/sync/mutex.rs explain them): the wait is in a loop that re-checks "held" under the
//! inner lock; `try_lock` looks once and returns; dropping the guard clears "held" and wakes a sleeper.
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use harness::contracts::lock::Lock;
use shim::sync::{Condvar, Mutex, MutexGuard};

/// The lock the review runs.
#[derive(Debug)]
pub struct Attempt<T> {
    /// True while a [`Guard`] exists.
    held: Mutex<bool>,
    /// Threads waiting in [`Lock::lock`] sleep here; a guard's drop wakes one.
    released: Condvar,
    /// The data; reached only through a [`Guard`].
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached only through a `Guard`, and `held` lets one `Guard` exist at a time,
// so sharing an `Attempt` between threads shares at most one `&mut T` at a time; `T: Send` because
// the data is used from whichever thread holds the lock.
unsafe impl<T: Send> Sync for Attempt<T> {}

/// Exclusive access to the data; releases the lock when dropped.
#[derive(Debug)]
pub struct Guard<'a, T> {
    lock: &'a Attempt<T>,
}

impl<T> Attempt<T> {
    const NAME: &'static str = "naive template";

    fn held(&self) -> MutexGuard<'_, bool> {
        // A panic while the inner lock is held cannot leave `held` half-written (a bool): go on.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T: Send> Lock<T> for Attempt<T> {
    type Guard<'a>
        = Guard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = Attempt::<T>::NAME;

    fn new(value: T) -> Self {
        Attempt {
            held: Mutex::new(false),
            released: Condvar::new(),
            data: UnsafeCell::new(value),
        }
    }

    fn lock(&self) -> Guard<'_, T> {
        let mut held = self.held();
        // `while`, not `if`: a wake-up may be spurious, or another thread may have taken the lock
        // between the notify and this thread getting the inner lock back.
        while *held {
            held = self.released.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        *held = true;
        Guard { lock: self }
    }

    fn try_lock(&self) -> Option<Guard<'_, T>> {
        let mut held = self.held();
        if *held {
            return None;
        }
        *held = true;
        Some(Guard { lock: self })
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard exists, so `held` is true and no other guard does (see `Sync` above);
        // the inner Mutex's unlock (release) and lock (acquire) order the previous holder's writes
        // before this read.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through this guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        *self.lock.held() = false;
        // One sleeper is enough: only one can take the lock, and it re-checks under the inner lock.
        self.lock.released.notify_one();
    }
}
