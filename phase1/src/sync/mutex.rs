//! A futex mutex: one atomic word, no queue of our own; waiters sleep in the kernel.
//!
//! Go's `sync.Mutex` is a word (`state`) plus a runtime semaphore: a short spin, then the goroutine
//! parks (with a "starvation mode" after 1 ms of waiting). Rust's `std::sync::Mutex` on Linux is the
//! design below: the word says whether anyone may be asleep, so an uncontended lock+unlock is two
//! atomic operations and **no system call**; only an unlock that finds sleepers pays for `FUTEX_WAKE`.
//! Waiters spin briefly (a holder that is running usually lets go within a few hundred nanoseconds)
//! and then sleep; they never busy-spin forever.
use std::ops::{Deref, DerefMut};

use super::futex::Futex;
use crate::shim::UnsafeCell;
use crate::shim::hint;
use crate::shim::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

/// How many times a waiter re-reads the word before going to sleep. Zero under loom: loom's
/// `spin_loop` is a yield that lets the holder finish first, so with spinning the models would never
/// reach the sleeping path, which is the one that needs checking.
const SPINS_BEFORE_SLEEP: u32 = if cfg!(loom) { 0 } else { 100 };

/// A mutual-exclusion lock around a `T` whose waiters sleep on a futex.
#[derive(Debug)]
pub struct Mutex<T> {
    /// 0: unlocked; 1: locked, nobody asleep; 2: locked, and some thread may be asleep on the word.
    state: Futex,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out at most one `&mut T` at a time (the guard), so sharing it between threads
// shares exclusive access to a `T`: sound when `T` may move between threads.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: the lock owns its `T`; sending the lock sends the `T`.
unsafe impl<T: Send> Send for Mutex<T> {}

/// Exclusive access to the value of a [`Mutex`]; unlocks on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    pub(super) mutex: &'a Mutex<T>,
}

// SAFETY: a guard only gives `&T` when shared, so sharing it is sharing `&T`.
unsafe impl<T: Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex around `value`.
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        Mutex {
            state: Futex::new(UNLOCKED),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked mutex around `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        Mutex {
            state: Futex::new(UNLOCKED),
            value: UnsafeCell::new(value),
        }
    }

    /// Blocks until the lock is ours.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // Acquire (success): we see what the previous holder wrote before its Release in `unlock`.
        // Relaxed (failure): we learn nothing from a failed attempt; `lock_contended` retries.
        if self
            .state
            .word
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        MutexGuard { mutex: self }
    }

    #[cold]
    fn lock_contended(&self) {
        // Spin while it is held by a running holder with no sleepers (state 1): the cheapest wait.
        let mut spins = 0;
        while self.state.word.load(Relaxed) == LOCKED && spins < SPINS_BEFORE_SLEEP {
            // Relaxed: only decides when to retry; the acquiring operations below carry the ordering.
            spins += 1;
            hint::spin_loop();
        }
        // Acquire (success): as in `lock`. Taking it as 1 even though others may be asleep is fine:
        // a sleeper woken later swaps 2 back in when it retries, so the unlock that matters still
        // sees 2 and wakes the next one.
        if self
            .state
            .word
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
        {
            return;
        }
        // From now on we take the lock as 2 ("maybe sleepers"): we cannot know whether other waiters
        // are asleep, so our unlock must wake one to be safe. Acquire: as in `lock`.
        while self.state.word.swap(CONTENDED, Acquire) != UNLOCKED {
            self.state.wait(CONTENDED);
        }
    }

    /// Takes the lock if it is free right now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // Acquire (success): as in `lock`.
        self.state
            .word
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .ok()
            .map(|_| MutexGuard { mutex: self })
    }

    /// The value, through exclusive access to the mutex (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves no guard is alive.
        self.value.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the mutex.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// Releases the lock; wakes one sleeper if there may be one.
    fn unlock(&self) {
        // Release: publishes the critical section's writes to the next Acquire of the word.
        if self.state.word.swap(UNLOCKED, Release) == CONTENDED {
            self.state.wake_one();
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means this thread holds the lock: no other access exists.
        self.mutex.value.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference through the guard.
        self.mutex.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}
