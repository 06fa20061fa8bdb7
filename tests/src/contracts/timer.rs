//! The timer-queue contract: what a timing wheel and a binary-heap timer queue both promise.
//!
//! Go's runtime keeps every `time.Timer` of a P in a 4-ary heap; tokio drives its timers from a
//! hierarchical timing wheel. Both are the same abstract object: a set of `(deadline, id)` pairs
//! that can be cancelled, and that hands back, for a given `now`, every id whose deadline has come,
//! in deadline order. Time is a tick count (`u64`), so the contract is exact and needs no clock.

use std::fmt::Debug;

/// A time in ticks. What a tick is (1 ms, 1 µs, …) is the caller's business.
pub type Tick = u64;

/// A cancellable timer queue.
///
/// Rules every implementation follows (the conformance suite in
/// [`crate::conformance::timer`] checks each one):
/// - [`expire`](TimerQueue::expire)`(now)` returns every live timer with `deadline <= now`, ordered
///   by deadline, and timers with equal deadlines in insertion order. Each timer fires once.
/// - A timer inserted with a deadline already `<=` the queue's current time fires on the next
///   `expire` call.
/// - [`cancel`](TimerQueue::cancel) returns `true` only for a timer that is still pending; a second
///   cancel, or a cancel after the timer fired, returns `false` and changes nothing.
/// - Time never goes backwards: `expire(now)` with `now` below the current time expires what is due
///   at the current time and leaves the current time unchanged.
pub trait TimerQueue {
    /// What `insert` hands back to cancel the timer later.
    type Handle: Copy + Debug;

    /// Schedule `id` to fire at `deadline`.
    fn insert(&mut self, deadline: Tick, id: u64) -> Self::Handle;

    /// Cancel a pending timer. `true` if it was pending (and now never fires).
    fn cancel(&mut self, handle: Self::Handle) -> bool;

    /// Advance the queue's time to `now` and append the ids of every timer due by then to `out`.
    fn expire(&mut self, now: Tick, out: &mut Vec<u64>);

    /// The queue's current time (the largest `now` passed to `expire`, 0 at the start).
    fn now(&self) -> Tick;

    /// Number of pending timers.
    fn len(&self) -> usize;

    /// No pending timer.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
