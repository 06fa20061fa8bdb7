//! The same token, on a Mutex and a Condvar.
//!
//! Go's `sync.Cond` and Rust's `Condvar` are the textbook way to sleep until a condition holds: the
//! condition lives in a mutex-protected variable, the waiter re-checks it in a `while` loop after every
//! wake-up (condvars wake spuriously), and the notifier changes it *under the lock* before notifying,
//! so a notification can never slip between the waiter's check and its sleep (the lost wake-up).
//! [`CondvarEvent`] is an auto-reset event: `notify` leaves one token, `wait` consumes it — the same
//! contract as [`Parker`](super::Parker), but any thread may wait and no thread handle is involved.
use crate::shim::sync::{Arc, Condvar, Mutex};

#[derive(Debug, Default)]
struct Inner {
    /// true: a token is waiting (set by `notify`, consumed by `wait`). Only touched under the lock.
    token: Mutex<bool>,
    /// Signalled after `token` becomes true.
    ready: Condvar,
}

/// An auto-reset event on `Mutex<bool>` + `Condvar`. Clones share the event.
#[derive(Debug, Clone, Default)]
pub struct CondvarEvent {
    inner: Arc<Inner>,
}

impl CondvarEvent {
    /// A new event with no token.
    pub fn new() -> CondvarEvent {
        CondvarEvent::default()
    }

    /// Leaves a token (tokens do not accumulate) and wakes one waiter.
    pub fn notify(&self) {
        // The token is set under the lock: a waiter is either before its check (and will see it) or
        // already inside `wait` (and will be notified). That is what rules out the lost wake-up.
        *self.inner.token.lock().unwrap_or_else(|p| p.into_inner()) = true;
        // Notify after unlocking: notifying under the lock wakes the waiter straight into a locked
        // mutex, where it blocks a second time ("hurry up and wait").
        self.inner.ready.notify_one();
    }

    /// Blocks until a token is available, then consumes it.
    pub fn wait(&self) {
        let mut token = self.inner.token.lock().unwrap_or_else(|p| p.into_inner());
        // `while`, not `if`: a condvar may wake spuriously, and another waiter may have taken the token.
        while !*token {
            token = self
                .inner
                .ready
                .wait(token)
                .unwrap_or_else(|p| p.into_inner());
        }
        *token = false;
    }

    /// Like [`wait`](CondvarEvent::wait) but gives up after `timeout`. True when a token was consumed.
    #[cfg(not(loom))]
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> bool {
        let Some(deadline) = std::time::Instant::now().checked_add(timeout) else {
            // Too long to be a deadline (`Duration::MAX`): no deadline at all, as in std.
            self.wait();
            return true;
        };
        let mut token = self.inner.token.lock().unwrap_or_else(|p| p.into_inner());
        while !*token {
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            token = self
                .inner
                .ready
                .wait_timeout(token, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *token = false;
        true
    }
}
