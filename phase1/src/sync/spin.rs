//! A spin lock: the simplest mutual exclusion there is, and the baseline every other lock beats
//! once a holder can be descheduled.
//!
//! Go has no spin lock in `sync` (its `Mutex` spins a little, then parks); Rust's ecosystem has
//! `spin::Mutex`. A waiter here never sleeps: it reads the flag until it looks free (test-and-test-and-set,
//! so waiters spin on their own cached copy instead of bouncing the line with writes), then tries to
//! take it. Good when the critical section is a few instructions and every thread has its own core;
//! terrible when the holder is preempted — the waiter burns its whole time slice.
use std::ops::{Deref, DerefMut};

use crate::shim::UnsafeCell;
use crate::shim::hint;
use crate::shim::sync::atomic::AtomicBool;
use crate::shim::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// A test-and-test-and-set spin lock around a `T`.
#[derive(Debug)]
pub struct SpinLock<T> {
    /// false: free; true: held by the owner of the one live [`SpinGuard`].
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out at most one `&mut T` at a time (the guard), so sharing the lock between
// threads is sharing exclusive access to a `T`, which is sound when `T` may move between threads.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Exclusive access to the value of a [`SpinLock`]; unlocks on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

// SAFETY: a shared guard only gives `&T`, so sharing the guard is sharing `&T`: sound when `T: Sync`.
// (Without this impl the compiler would derive `Sync` from `&SpinLock<T>`, i.e. for every `T: Send`,
// and `&SpinGuard<Cell<_>>` on two threads would be a data race in safe code.)
unsafe impl<T: Sync> Sync for SpinGuard<'_, T> {}

impl<T> SpinLock<T> {
    /// An unlocked lock around `value`.
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked lock around `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Spins until the lock is ours.
    pub fn lock(&self) -> SpinGuard<'_, T> {
        loop {
            if let Some(g) = self.try_lock() {
                return g;
            }
            // Test before test-and-set: a plain load keeps the cache line shared while it is held.
            // Relaxed: this load only decides when to retry; the Acquire is in `try_lock`.
            while self.locked.load(Relaxed) {
                hint::spin_loop();
            }
        }
    }

    /// Takes the lock if it is free right now.
    pub fn try_lock(&self) -> Option<SpinGuard<'_, T>> {
        // Acquire: on success we see everything the previous holder wrote before its Release unlock.
        if self.locked.swap(true, Acquire) {
            None
        } else {
            Some(SpinGuard { lock: self })
        }
    }

    /// The value, through exclusive access to the lock (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves no guard is alive.
        self.value.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means this thread holds the lock: no other access exists.
        self.lock.value.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference through the guard.
        self.lock.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        // Release: publishes every write made under the lock to the next holder's Acquire swap.
        self.lock.locked.store(false, Release);
    }
}
