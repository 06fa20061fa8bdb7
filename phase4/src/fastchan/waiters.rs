//! The waiter list: the threads parked on one side of a channel (senders waiting for room, or
//! receivers waiting for a value), and the counter that lets the other side skip the lock when no one
//! is parked — which is almost always, and is what makes a send cost one slot write, not a lock.
//!
//! The protocol, for a receiver (a sender's is the mirror image):
//! 1. `try_pop` fails; the receiver [`register`](WaitList::register)s: under the lock it joins the
//!    queue and bumps `waiting`, then issues a SeqCst fence.
//! 2. It tries `try_pop` again — **the re-check** — and only parks if that fails too.
//! 3. A sender pushes (a Release store of the slot's stamp), issues a SeqCst fence, and reads
//!    `waiting`; only when it is non-zero does it take the lock and wake one waiter
//!    ([`notify_one`](WaitList::notify_one)).
//!
//! Why no wake-up is lost: the two fences are ordered one way or the other in SeqCst's single total
//! order. If the sender's comes first, the receiver's re-check (after its fence) sees the pushed slot;
//! if the receiver's comes first, the sender's read of `waiting` (after its fence) sees the
//! registration, and the sender wakes it. Without the re-check (the [`NoRecheck`] twin), the first
//! case loses the value's wake-up: the sender saw no one, and the receiver parks on a value it never
//! looks at again. The loom model `tests/loom_fastchan.rs` shows both.
//!
//! A waiter that leaves without being woken (its re-check succeeded, or its deadline passed) calls
//! [`cancel`](WaitList::cancel). If a notifier had already picked it, the wake-up was meant for a
//! value the waiter may not have taken, so the waiter passes it on with another `notify_one`: a
//! spurious wake-up costs a retry, a lost one a thread that sleeps forever.
//!
//! [`NoRecheck`]: super::NoRecheck
use std::collections::VecDeque;
// std's `Arc` even under loom: it only keeps a `Waiter` alive while both the queue and its thread
// hold it (the queue itself is under the lock, which loom does model), and a loom `Arc` dropped
// while a failing model unwinds aborts the test process instead of reporting the failure.
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Instant;

use phase1::shim::sync::Mutex;
use phase1::shim::sync::atomic::{AtomicBool, AtomicUsize, fence};
use phase1::shim::thread::{self, Thread};

/// One parked (or about to park) thread.
pub(crate) struct Waiter {
    /// `false` while waiting; `true` once a notifier has taken it off the queue to wake it.
    notified: AtomicBool,
    thread: Thread,
}

impl Waiter {
    /// Parks until notified or until `deadline`; `true` when notified.
    pub(crate) fn park_until(&self, deadline: Option<Instant>) -> bool {
        loop {
            // Acquire: pairs with the notifier's Release store; nothing rides on it but the flag
            // itself (the operation is retried through the slots' own Acquire loads), so this is
            // belt and braces.
            if self.notified.load(Acquire) {
                return true;
            }
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    park_timeout(deadline - now);
                }
            }
        }
    }
}

#[cfg(not(loom))]
pub(crate) fn park_timeout(d: std::time::Duration) {
    thread::park_timeout(d);
}

/// Loom has no time: a timed park is a plain park (the loom models use no deadline).
#[cfg(loom)]
pub(crate) fn park_timeout(_: std::time::Duration) {
    thread::park();
}

/// The threads parked on one side of a channel.
pub(crate) struct WaitList {
    /// How many threads are in `queue`. Written under the lock, read without it by
    /// [`notify_one`](WaitList::notify_one) after a SeqCst fence (module docs).
    waiting: AtomicUsize,
    /// The parked threads, oldest first.
    queue: Mutex<VecDeque<Arc<Waiter>>>,
}

impl WaitList {
    pub(crate) fn new() -> Self {
        WaitList {
            waiting: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// Joins the list. The caller must try its operation once more before it parks (module docs).
    pub(crate) fn register(&self) -> Arc<Waiter> {
        let waiter = Arc::new(Waiter {
            notified: AtomicBool::new(false),
            thread: thread::current(),
        });
        {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push_back(waiter.clone());
            // Relaxed: written under the lock; the fence below orders it before the re-check.
            self.waiting.store(queue.len(), Relaxed);
        }
        // SeqCst: the registration (above) is ordered against the other side's fence in
        // `notify_one`: either it sees `waiting > 0`, or our re-check sees its slot write.
        fence(SeqCst);
        waiter
    }

    /// Leaves the list without having been woken. `false` when a notifier got there first: the
    /// caller then holds a wake-up it may not use, and must pass it on (module docs).
    pub(crate) fn cancel(&self, waiter: &Arc<Waiter>) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        match queue.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            Some(i) => {
                queue.remove(i);
                // Relaxed: under the lock, as in `register`.
                self.waiting.store(queue.len(), Relaxed);
                true
            }
            None => false,
        }
    }

    /// Wakes the oldest waiter, if any. Cheap when no one waits: a fence and a load.
    pub(crate) fn notify_one(&self) {
        // SeqCst: pairs with the fence in `register` (module docs). Our caller's slot write is
        // sequenced before it, our read of `waiting` after it.
        fence(SeqCst);
        // Relaxed: the fence above gives the ordering.
        if self.waiting.load(Relaxed) == 0 {
            return;
        }
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(waiter) = queue.pop_front() {
            self.waiting.store(queue.len(), Relaxed);
            wake(&waiter);
        }
    }

    /// Wakes every waiter (disconnection). Always takes the lock: a thread registering at the same
    /// time either is in the queue already, or registers after us and its re-check sees the
    /// disconnection (the lock orders it after our caller's count update).
    pub(crate) fn notify_all(&self) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        self.waiting.store(0, Relaxed);
        for waiter in queue.drain(..) {
            wake(&waiter);
        }
    }
}

fn wake(waiter: &Waiter) {
    // Release: pairs with the Acquire load in `park_until`.
    waiter.notified.store(true, Release);
    waiter.thread.unpark();
}
