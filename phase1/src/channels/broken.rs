//! **Broken on purpose.** A channel with the classic lost wake-up: the receiver checks the queue,
//! releases the lock, and only then goes to sleep — without re-checking. A value sent (and notified)
//! in that gap is missed and the receiver sleeps forever.
//!
//! Go hides this class of bug inside the runtime's channel; anyone writing a Condvar loop by hand
//! meets it. It is kept here so that the loom model in `tests/loom_channel.rs` can be seen finding
//! it (that model is `#[should_panic]`), and so that the correct version in `shared.rs` — check
//! and wait under one lock acquisition, in a loop — reads as the fix. Never use it.
use std::collections::VecDeque;

use crate::shim::sync::{Condvar, Mutex};

/// A one-way queue whose `recv` can sleep forever with a value sitting in it. Do not use.
#[derive(Default)]
pub struct LostWakeupChannel<T> {
    /// The values sent and not yet received.
    queue: Mutex<VecDeque<T>>,
    /// Receivers sleep here; `send` notifies it.
    not_empty: Condvar,
}

impl<T> LostWakeupChannel<T> {
    /// An empty channel.
    pub fn new() -> Self {
        LostWakeupChannel {
            queue: Mutex::new(VecDeque::new()),
            not_empty: Condvar::new(),
        }
    }

    /// Pushes and notifies (correct on its own).
    pub fn send(&self, value: T) {
        self.queue.lock().unwrap().push_back(value);
        self.not_empty.notify_one();
    }

    /// THE BUG: the emptiness check and the wait use two separate lock acquisitions, and the wait
    /// is not followed by a re-check of the condition before sleeping.
    pub fn recv(&self) -> T {
        loop {
            if let Some(v) = self.queue.lock().unwrap().pop_front() {
                return v;
            }
            // The lock was released here: a `send` + `notify_one` can run now, with nobody waiting.
            let guard = self.queue.lock().unwrap();
            // Sleeps without looking at the queue again: the notification above is already lost.
            drop(self.not_empty.wait(guard).unwrap());
        }
    }
}
