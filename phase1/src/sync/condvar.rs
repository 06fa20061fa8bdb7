//! A condition variable on a futex: "wait until something changed", paired with our [`Mutex`](super::Mutex).
//!
//! Go's `sync.Cond` (`Wait`, `Signal`, `Broadcast`) keeps a ticket list of waiters; Rust's
//! `std::sync::Condvar` on Linux is a counter on a futex, as here. A waiter samples the counter
//! *before* it unlocks the mutex, then sleeps only while the counter still holds that sample. A
//! notifier bumps the counter before waking. So a notify that lands between "unlock" and "sleep" changes
//! the counter and the sleep returns at once: no lost wake-up. Wake-ups may still be spurious (a notify
//! meant for someone else, a signal), which is why every wait sits in a `while !condition` loop —
//! [`Condvar::wait_while`] writes that loop for you.
use std::time::{Duration, Instant};

use super::futex::Futex;
use super::mutex::MutexGuard;
use crate::shim::sync::atomic::AtomicUsize;
use crate::shim::sync::atomic::Ordering::Relaxed;

/// A condition variable for [`Mutex`](super::Mutex) guards.
#[derive(Debug)]
pub struct Condvar {
    /// Bumped by every notify (wrapping); waiters sleep while it equals the value they sampled.
    counter: Futex,
    /// How many threads are between "sampled the counter" and "woke up": notifiers skip the system
    /// call when it is zero.
    waiters: AtomicUsize,
}

/// Whether a timed wait returned because its time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True when the wait gave up because the timeout elapsed.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condition variable nobody waits on.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Condvar {
            counter: Futex::new(0),
            waiters: AtomicUsize::new(0),
        }
    }

    /// A condition variable nobody waits on.
    #[cfg(loom)]
    pub fn new() -> Self {
        Condvar {
            counter: Futex::new(0),
            waiters: AtomicUsize::new(0),
        }
    }

    /// Unlocks `guard`'s mutex, sleeps until notified (or spuriously), relocks and returns the guard.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_inner(guard, None)
    }

    /// Waits until `condition` is false, re-checking it after every wake-up (spurious or not).
    pub fn wait_while<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// [`Condvar::wait`] that gives up after `timeout` (it may also return early, spuriously).
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let start = Instant::now();
        let guard = self.wait_inner(guard, Some(timeout));
        (guard, WaitTimeoutResult(start.elapsed() >= timeout))
    }

    /// [`Condvar::wait_while`] with an overall deadline of `timeout`.
    pub fn wait_timeout_while<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            // Too long to be a deadline (`Duration::MAX`): no deadline at all, as in std.
            return (self.wait_while(guard, condition), WaitTimeoutResult(false));
        };
        while condition(&mut guard) {
            let now = Instant::now();
            if now >= deadline {
                return (guard, WaitTimeoutResult(true));
            }
            guard = self.wait_inner(guard, Some(deadline - now));
        }
        (guard, WaitTimeoutResult(false))
    }

    fn wait_inner<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, T> {
        // Relaxed: the count is only a hint to skip the wake syscall; a notifier reads it while holding
        // or after releasing the same mutex we hold here, and the mutex orders the two.
        self.waiters.fetch_add(1, Relaxed);
        // Relaxed: the sample only has to be taken before we unlock (program order + the mutex's
        // Release on unlock); any notify after our unlock bumps it, so the futex sees a different value.
        let sample = self.counter.word.load(Relaxed);
        let mutex = guard.mutex;
        drop(guard);
        match timeout {
            None => self.counter.wait(sample),
            Some(t) => self.counter.wait_timeout(sample, t),
        }
        // Relaxed: see the fetch_add above.
        self.waiters.fetch_sub(1, Relaxed);
        mutex.lock()
    }

    /// Wakes one waiting thread, if any.
    pub fn notify_one(&self) {
        // Relaxed (both): the state the waiter will check is protected by the mutex, whose
        // Release/Acquire orders it; the counter only has to change, which an RMW always does.
        if self.waiters.load(Relaxed) > 0 {
            self.counter.word.fetch_add(1, Relaxed);
            self.counter.wake_one();
        }
    }

    /// Wakes every waiting thread.
    pub fn notify_all(&self) {
        // Relaxed (both): as in `notify_one`.
        if self.waiters.load(Relaxed) > 0 {
            self.counter.word.fetch_add(1, Relaxed);
            self.counter.wake_all();
        }
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Condvar::new()
    }
}
