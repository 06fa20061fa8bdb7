//! The task's state word and its named transitions: who may poll the future, who queues the task,
//! and how an abort reaches whoever holds it next.
//!
//! Go keeps a goroutine's status in `g.atomicstatus` and changes it only with `casgstatus`; tokio
//! keeps a task's in one word with named transitions (`task/state.rs`). So does this file, which
//! holds nothing else, so that a loom model (`tests/loom_executor.rs`, `task_state_*`) drives these
//! very transitions from several threads (a poller, a waker, an aborter) without an executor.
//!
//! Lifecycle (the low bits): `SCHEDULED` (in a run queue, exactly once) → `RUNNING` (one worker
//! polls) → `IDLE` (waiting for a wake-up) or `NOTIFIED` (woken during the poll: the poller requeues
//! it) or `COMPLETE`. Beside it the `ABORTED` flag, which every transition keeps: whoever next holds
//! the task `RUNNING` drops the future instead of polling it.
use phase1::shim::sync::atomic::{AtomicU8, Ordering::*};

/// Not queued, not running: waiting for a wake-up.
pub const IDLE: u8 = 0;
/// In a run queue (exactly once).
pub const SCHEDULED: u8 = 1;
/// Being polled by a worker.
pub const RUNNING: u8 = 2;
/// Woken while being polled: the worker requeues it after the poll.
pub const NOTIFIED: u8 = 3;
/// Finished (or cancelled): the future is gone; wake-ups are ignored.
pub const COMPLETE: u8 = 4;
/// The lifecycle part of the state word (one of the five above).
pub const LIFECYCLE: u8 = 0b111;
/// A flag beside the lifecycle, set by [`State::set_aborted`]: whoever next holds the task
/// `RUNNING` cancels it instead of polling it. Every transition keeps it.
pub const ABORTED: u8 = 0b1000;

/// What the poller does after a poll that returned `Pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPoll {
    /// Now `IDLE`: a wake-up will queue it.
    Idle,
    /// Woken during the poll, now `SCHEDULED` again: the poller queues it.
    Requeue,
    /// Aborted during the poll, still `RUNNING`: the poller cancels it.
    Cancel,
}

/// One of `IDLE`, `SCHEDULED`, `RUNNING`, `NOTIFIED`, `COMPLETE`, possibly with `ABORTED`.
#[derive(Debug)]
pub struct State(AtomicU8);

impl State {
    /// Whether a word [`State::claim`] returned carries the `ABORTED` flag.
    pub fn was_aborted(claimed: u8) -> bool {
        claimed & ABORTED != 0
    }

    /// A new task: `SCHEDULED` (its spawner queues it).
    pub fn new_scheduled() -> Self {
        State(AtomicU8::new(SCHEDULED))
    }

    /// The whole word (for the loom model's assertions).
    #[cfg(loom)]
    pub fn load(&self) -> u8 {
        // Acquire: a reader that sees COMPLETE sees the future dropped (the Release in `complete`).
        self.0.load(Acquire)
    }

    /// Moves a task whose lifecycle is `from` to `RUNNING`, keeping the `ABORTED` flag; returns
    /// the state it claimed, or `None` when the task is not in `from` (someone else holds or
    /// finished it). The caller then owns the future until it leaves `RUNNING`.
    pub fn claim(&self, from: u8) -> Option<u8> {
        let mut state = self.0.load(Relaxed);
        loop {
            if state & LIFECYCLE != from {
                return None;
            }
            // Acquire: pairs with the Release of the previous poller's `RUNNING -> IDLE` (through
            // the waker's RMW and the queue), so its writes to the future are visible to us.
            match self
                .0
                .compare_exchange_weak(state, RUNNING | (state & ABORTED), Acquire, Relaxed)
            {
                Ok(_) => return Some(state),
                Err(actual) => state = actual,
            }
        }
    }

    /// A wake-up: moves an `IDLE` task to `SCHEDULED` (true: the caller must queue it), or marks a
    /// `RUNNING` one `NOTIFIED` (the poller requeues it); otherwise nothing (already queued,
    /// notified, or done).
    pub fn transition_to_scheduled(&self) -> bool {
        // Acquire: orders this CAS loop after the last transition; see `claim` for the chain.
        let mut state = self.0.load(Acquire);
        loop {
            let next = match state & LIFECYCLE {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return false,
            } | (state & ABORTED);
            // AcqRel: Acquire to see the previous poll's writes before queuing (the queue then
            // republishes them); Release for the worker that reads NOTIFIED.
            match self.0.compare_exchange_weak(state, next, AcqRel, Acquire) {
                Ok(_) => return next & LIFECYCLE == SCHEDULED,
                Err(actual) => state = actual,
            }
        }
    }

    /// Sets the `ABORTED` flag, whatever the state. Follow with a wake-up
    /// ([`State::transition_to_scheduled`]) so that a waiting task is claimed and cancelled.
    pub fn set_aborted(&self) {
        // An RMW (AcqRel, as the wakers' CAS): every later transition is an RMW that keeps the bit,
        // so the worker that next claims the task, or fails to set it IDLE after a poll, sees it.
        // On a finished task the bit is never read.
        self.0.fetch_or(ABORTED, AcqRel);
    }

    /// The poller, after a poll that returned `Pending` (state `RUNNING` or `NOTIFIED`, maybe
    /// `ABORTED`): leaves the task `IDLE`, or `SCHEDULED` to requeue, or `RUNNING` to cancel.
    pub fn after_poll(&self) -> AfterPoll {
        let mut state = RUNNING;
        loop {
            // Release: the next poller (after a wake-up) sees this poll's writes to the future.
            match self.0.compare_exchange(state, IDLE, Release, Relaxed) {
                Ok(_) => return AfterPoll::Idle,
                // Aborted during the poll: we hold the task, so we cancel it.
                Err(actual) if actual & ABORTED != 0 => return AfterPoll::Cancel,
                // Woken during the poll: only we move it from NOTIFIED; `set_aborted` may still
                // set its flag, hence a CAS. Relaxed: we requeue it ourselves and the queue's
                // Release publishes it.
                Err(NOTIFIED) => {
                    if self
                        .0
                        .compare_exchange(NOTIFIED, SCHEDULED, Relaxed, Relaxed)
                        .is_ok()
                    {
                        return AfterPoll::Requeue;
                    }
                    state = RUNNING; // the flag arrived: the next turn cancels
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// The holder of a `RUNNING` task finished it (output stored, or cancelled): the future is
    /// gone, and every later wake-up or abort is ignored.
    pub fn complete(&self) {
        // Release: whoever reads COMPLETE sees the future dropped. A swap, not a store, so that
        // every write of the word is an RMW: a waker's CAS racing it is then ordered on either
        // side of it as an RMW. (With a plain store, loom 0.7 ran a waker's `RUNNING -> NOTIFIED`
        // CAS, then this store, and left the word `NOTIFIED` — an order hardware does not allow,
        // but the model then checks nothing; the cost is one locked instruction per task.)
        self.0.swap(COMPLETE, Release);
    }
}
