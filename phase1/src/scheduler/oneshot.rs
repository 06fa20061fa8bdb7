//! A one-shot event: set once, every waiter (present and future) returns.
//!
//! Go closes a channel to broadcast "done" (`close(done)`; every `<-done` returns). [`OneShotEvent`]
//! is that broadcast from scratch: an atomic flag for the fast path, and a list of parked waiters
//! (their `Thread` handles) that `set` drains and unparks. The flag is re-checked under the list's
//! lock, which closes the window between "not set yet" and "registered as a waiter".
use crate::shim::sync::atomic::{AtomicBool, Ordering::*};
use crate::shim::sync::{Arc, Mutex};
use crate::shim::thread::{self, Thread};

#[derive(Debug, Default)]
struct Inner {
    /// false → true once, by `set`; never back.
    set: AtomicBool,
    /// Threads parked (or about to park) in `wait`; drained by `set`.
    waiters: Mutex<Vec<Thread>>,
}

/// A manual-reset event that is never reset: after [`set`](OneShotEvent::set), every
/// [`wait`](OneShotEvent::wait) returns. Clones share the event.
#[derive(Debug, Clone, Default)]
pub struct OneShotEvent {
    inner: Arc<Inner>,
}

impl OneShotEvent {
    /// A new, unset event.
    pub fn new() -> OneShotEvent {
        OneShotEvent::default()
    }

    /// True once the event is set.
    pub fn is_set(&self) -> bool {
        // Acquire pairs with the Release store in `set`: what the setter wrote before is visible.
        self.inner.set.load(Acquire)
    }

    /// Sets the event and wakes every waiter. Later calls do nothing.
    pub fn set(&self) {
        // Release publishes the setter's prior writes to every waiter that sees `true` (Acquire).
        if self.inner.set.swap(true, Release) {
            return;
        }
        let waiters =
            std::mem::take(&mut *self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner()));
        for t in waiters {
            t.unpark();
        }
    }

    /// Registers the current thread as a waiter. False when the event turned out to be set already.
    fn register(&self) -> bool {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
        // Re-check under the lock: `set` stores the flag *before* taking this lock, so either we see
        // `true` here, or `set` takes the lock after us and finds us in the list.
        if self.is_set() {
            return false;
        }
        waiters.push(thread::current());
        true
    }

    /// Blocks until the event is set.
    pub fn wait(&self) {
        if self.is_set() || !self.register() {
            return;
        }
        while !self.is_set() {
            thread::park(); // may return spuriously: the loop re-checks the flag
        }
    }

    /// Like [`wait`](OneShotEvent::wait) but gives up after `timeout`. True when the event is set.
    ///
    /// A waiter that times out takes its entry out of the list again, so polling with short timeouts
    /// does not grow the list. If `set` drained the list first, its `unpark` only leaves a stale token
    /// in std's per-thread parker (every `park` loop tolerates that).
    #[cfg(not(loom))]
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> bool {
        let Some(deadline) = std::time::Instant::now().checked_add(timeout) else {
            // Too long to be a deadline (`Duration::MAX`): no deadline at all, as in std.
            self.wait();
            return true;
        };
        if self.is_set() || !self.register() {
            return true;
        }
        while !self.is_set() {
            let now = std::time::Instant::now();
            if now >= deadline {
                let me = std::thread::current().id();
                let mut waiters = self.inner.waiters.lock().unwrap_or_else(|p| p.into_inner());
                waiters.retain(|t| t.id() != me);
                // Set between the flag check above and taking the lock: report it.
                return self.is_set();
            }
            std::thread::park_timeout(deadline - now);
        }
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timed_out_waits_leave_no_entry_behind() {
        let e = OneShotEvent::new();
        for _ in 0..50 {
            assert!(!e.wait_timeout(Duration::from_micros(10)));
        }
        assert_eq!(e.inner.waiters.lock().unwrap().len(), 0);
        e.set();
        assert!(e.wait_timeout(Duration::from_micros(10)));
    }
}
