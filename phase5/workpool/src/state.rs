//! A task's lifecycle in one atomic word, with named transitions.
//!
//! Several parties race for a queued task: the worker that pops it, its handle's `cancel`, its
//! group's first-error cancellation, a shutdown that discards unstarted work, a `DropOldest`
//! eviction, and a scope that runs its own unstarted tasks inline. Exactly one of them must win,
//! and the winner alone touches the closure. The word decides: the only way out of `QUEUED` is a
//! compare-and-swap, so two parties can never both leave it.
//!
//! ```text
//!            try_start            finish
//!   QUEUED ─────────────▶ RUNNING ───────▶ FINISHED
//!     │
//!     │ try_abandon (cancel, group, shutdown, eviction)
//!     ▼
//!   ABANDONED
//! ```
//! `CANCEL_REQUESTED` is a flag beside the lifecycle, set by `request_cancel` on a running task and
//! read by the task itself through its [`TaskContext`](crate::TaskContext).
use shim::sync::atomic::{AtomicUsize, Ordering::*};

/// Waiting in a queue; its closure is in the cell, owned by nobody yet.
const QUEUED: usize = 0;
/// Claimed by whoever runs it; the closure has been moved out.
const RUNNING: usize = 1;
/// Ran to the end (returned or panicked); the output is in the completion slot.
const FINISHED: usize = 2;
/// Never started: cancelled, evicted or discarded; the closure has been dropped.
const ABANDONED: usize = 3;
/// The two low bits: the lifecycle.
const LIFECYCLE: usize = 0b11;
/// Bit 2: someone asked the running task to stop (cooperative: the task reads it).
const CANCEL_REQUESTED: usize = 0b100;

/// Where a task is in its life, as `request_cancel` found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Queued,
    Running,
    Finished,
    Abandoned,
}

/// The task's state word (see the module docs).
#[derive(Debug)]
pub(crate) struct State(AtomicUsize);

impl State {
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(QUEUED))
    }

    /// `QUEUED → RUNNING`: true when the caller now owns the closure and must run it.
    ///
    /// Acquire on success: the closure was written before the cell was shared (a mutex hand-off
    /// published it), and whoever wins here reads it; the CAS's only job is exclusivity, Acquire
    /// keeps the argument local instead of leaning on the queue's lock.
    pub(crate) fn try_start(&self) -> bool {
        self.0
            .compare_exchange(QUEUED, RUNNING, Acquire, Relaxed)
            .is_ok()
    }

    /// `QUEUED → ABANDONED`: true when the caller now owns the closure and must drop it (and
    /// complete the task with an error). Acquire for the same reason as [`State::try_start`].
    pub(crate) fn try_abandon(&self) -> bool {
        if crate::twin::is(crate::twin::Twin::AbandonWithoutCas) {
            let queued = self.0.load(Acquire) & LIFECYCLE == QUEUED;
            if queued {
                self.0.store(ABANDONED, Release);
            }
            return queued;
        }
        self.0
            .compare_exchange(QUEUED, ABANDONED, Acquire, Relaxed)
            .is_ok()
    }

    /// `RUNNING → FINISHED`, keeping the cancel flag. Only the runner calls it. Release: a reader
    /// of [`State::lifecycle`] that sees `FINISHED` also sees the output stored before (the output
    /// itself is handed over under the completion lock; this only serves `cancel`'s report).
    pub(crate) fn finish(&self) {
        let prev = self.0.fetch_add(FINISHED - RUNNING, Release);
        debug_assert_eq!(prev & LIFECYCLE, RUNNING);
    }

    /// Sets the cancel flag and says where the task was. Relaxed: the flag carries no data, the
    /// task polls it, and a late read only means the task stops a little later.
    pub(crate) fn request_cancel(&self) -> Lifecycle {
        decode(self.0.fetch_or(CANCEL_REQUESTED, Relaxed))
    }

    /// Has someone asked this task to stop? Relaxed: see [`State::request_cancel`].
    pub(crate) fn cancel_requested(&self) -> bool {
        self.0.load(Relaxed) & CANCEL_REQUESTED != 0
    }

    /// Where the task is now (a snapshot).
    pub(crate) fn lifecycle(&self) -> Lifecycle {
        decode(self.0.load(Acquire))
    }
}

fn decode(word: usize) -> Lifecycle {
    match word & LIFECYCLE {
        QUEUED => Lifecycle::Queued,
        RUNNING => Lifecycle::Running,
        FINISHED => Lifecycle::Finished,
        _ => Lifecycle::Abandoned,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn only_one_party_leaves_queued() {
        let s = State::new();
        assert!(s.try_start());
        assert!(!s.try_start());
        assert!(!s.try_abandon());
        assert_eq!(s.request_cancel(), Lifecycle::Running);
        assert!(s.cancel_requested());
        s.finish();
        assert_eq!(s.lifecycle(), Lifecycle::Finished);
        assert!(s.cancel_requested(), "finish keeps the flag");

        let s = State::new();
        assert!(s.try_abandon());
        assert!(!s.try_start());
        assert_eq!(s.lifecycle(), Lifecycle::Abandoned);
    }
}
