//! A queue of your own: start here. This is a naive bounded MPMC queue that works — a `VecDeque`
//! behind one `Mutex`, refusing a push once it holds `capacity` values — and reviews clean. Make it
//! yours: a ring of slots with stamps (Vyukov's queue), a linked list with a CAS on the tail
//! (Michael–Scott), a two-lock queue; break it and see the review name what broke
//! (`make review NAME=<your attempt>`).
//!
//! What the review runs against is [`Attempt`], a `harness::contracts::queue::QueueFlavor`: a
//! factory, `with_capacity(cap)`, for a queue that implements `ConcurrentQueue<T>` — `try_push`
//! (never blocks; a full queue hands the value back in `Err`), `try_pop` (never blocks; `None` only
//! when empty) and `capacity`. Keep those; everything behind them is yours.
//!
//! The mutex comes from `shim::sync`: the same path is `std::sync` normally and loom's model-checked
//! type under `RUSTFLAGS="--cfg loom"`, so a loom model can run this code.
//!
//! Rules this naive version keeps, and the review checks (phase4/README.md#exercise2--high-performance-concurrency
//! and phase4/src/lockfree/vyukov.rs explain them for a lock-free queue): the fullness check and the
//! insert are one step (under one lock), so are the emptiness check and the removal; a refused value
//! goes back to the caller unchanged; values still inside are dropped with the queue.
use std::collections::VecDeque;

use harness::contracts::queue::{ConcurrentQueue, QueueFlavor};
use shim::sync::{Mutex, MutexGuard};

/// The queue the review runs.
#[derive(Debug)]
pub struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    capacity: usize,
}

impl<T> Queue<T> {
    fn items(&self) -> MutexGuard<'_, VecDeque<T>> {
        // A panic while the lock is held cannot leave a `VecDeque` half-changed: go on.
        self.items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T: Send> ConcurrentQueue<T> for Queue<T> {
    fn try_push(&self, value: T) -> Result<(), T> {
        let mut items = self.items();
        // Checked and inserted under one lock: two producers cannot both see the last free place.
        if items.len() >= self.capacity {
            return Err(value);
        }
        items.push_back(value);
        Ok(())
    }

    fn try_pop(&self) -> Option<T> {
        self.items().pop_front()
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.capacity)
    }
}

/// The factory the review calls: `Attempt::with_capacity::<T>(cap)`.
#[derive(Debug)]
pub struct Attempt;

impl QueueFlavor for Attempt {
    const NAME: &'static str = "naive template";
    type Queue<T: Send + 'static> = Queue<T>;

    fn with_capacity<T: Send + 'static>(cap: usize) -> Queue<T> {
        Queue {
            items: Mutex::new(VecDeque::with_capacity(cap)),
            capacity: cap,
        }
    }
}
