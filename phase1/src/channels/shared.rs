//! The state every `Sender` and `Receiver` of one channel share, and the two algorithms (send and
//! receive) that run on it under one `Mutex`, with two `Condvar`s to sleep on.
//!
//! ## The protocol
//!
//! Everything below happens with `state` locked; a thread only sleeps through `Condvar::wait`, which
//! releases the lock atomically with going to sleep. That atomicity is what rules out lost wake-ups:
//! a thread that saw "no room" cannot miss the notification of a change made after it looked,
//! because that change needs the lock it still held while starting to sleep. Every waiter re-checks
//! its condition after every wake-up (in a loop), so spurious wake-ups and notifications meant for
//! another thread are harmless, and it checks its condition *before* its deadline, so a
//! notification consumed by a thread that was about to time out is acted on, never lost.
//!
//! - **send, capacity N > 0** — wait on `not_full` until `queue.len() < N` (or every receiver is
//!   gone), push, notify one waiting receiver. Returns as soon as the value is buffered.
//! - **send, unbounded** — never waits: push, notify one waiting receiver.
//! - **send, capacity 0 (rendezvous)** — the queue is a one-value hand-off slot. Phase 1: wait until
//!   the slot is empty, push, and take the *ticket* `pushed` (the number of values pushed before this
//!   one). Phase 2: wait until `taken > ticket` — a receiver took exactly this value, since values
//!   leave in the order they arrive. Tickets are what stop two senders from both believing their
//!   value was taken: after the slot empties, a second sender may push (ticket k+1) before the first
//!   one (ticket k) wakes up, and each checks its own ticket. If the deadline passes or every receiver
//!   goes away during phase 2, the value is still in the slot and is the only one there: the sender
//!   pops it back (`pushed -= 1`, so the next ticket is reused) and returns it in the error.
//!   `try_send` at capacity 0 only succeeds when the slot is empty **and** a receiver is blocked in
//!   `recv`: that receiver re-checks the queue before anything else when it wakes, so the value is
//!   taken without the sender waiting for it.
//! - **recv** — pop the oldest value if there is one (`taken += 1`, wake the senders); otherwise
//!   report disconnection if every sender is gone (so receivers drain the buffer first); otherwise
//!   wait on `not_empty`.
//! - **close** — the last `Sender` dropping wakes every receiver (`not_empty.notify_all`); the last
//!   `Receiver` dropping wakes every sender (`not_full.notify_all`: each blocked sender must fail
//!   with its own value, so waking one is not enough) and drops the buffered values, as nobody can
//!   receive them any more. No explicit `close()`: as with crossbeam and std, the handles' lifetimes
//!   are the channel's.
//! - **len** — the buffered values. At capacity 0 it is always 0: the value a blocked sender is
//!   handing over sits in the slot only so that a receiver can take it; it still belongs to its
//!   sender (which withdraws it on timeout or disconnection), so it is not buffered.
//!
//! ## A buffered value whose `Drop` panics
//!
//! When the last receiver leaves, the buffered values are dropped oldest first, each one under
//! `catch_unwind`: a panicking `Drop` does not stop the others from being dropped, every value is
//! dropped exactly once, and after the last one the *first* panic is resumed, out of the dropping
//! `Receiver`'s `drop` (later panics are discarded; this is `Vec`'s rule, minus its abort on a second
//! panic). If that `Receiver` is itself dropped during a panic's unwinding, the caught panic is
//! discarded instead of resumed: resuming it there would abort the process.
//!
//! Notifications are skipped when the waiter counts say nobody sleeps: `Condvar::notify_*` costs a
//! futex system call even with no waiter, and the counts are exact because they change under the lock.
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::shim::sync::{Condvar, Mutex, MutexGuard};

/// How many values may wait in the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// Capacity 0: a send completes only when a receiver has taken its value.
    Rendezvous,
    /// At most this many (≥ 1) buffered values; `send` blocks while full.
    Bounded(usize),
    /// No limit; `send` never blocks.
    Unbounded,
}

impl Capacity {
    /// The most values `queue` may hold: the rendezvous slot holds one value in transit.
    fn slots(self) -> usize {
        match self {
            Capacity::Rendezvous => 1,
            Capacity::Bounded(n) => n,
            Capacity::Unbounded => usize::MAX,
        }
    }
}

/// The mutable state, always accessed with the lock held.
pub(crate) struct State<T> {
    /// Values sent and not yet received, oldest first; `len() <= capacity.slots()`.
    pub(crate) queue: VecDeque<T>,
    /// Live `Sender` handles. 0: no value will ever arrive again (receivers drain, then disconnect).
    pub(crate) senders: usize,
    /// Live `Receiver` handles. 0: every send fails and returns its value.
    pub(crate) receivers: usize,
    /// Receivers sleeping on `not_empty` right now.
    waiting_receivers: usize,
    /// Senders sleeping on `not_full` right now.
    waiting_senders: usize,
    /// Values pushed so far (minus withdrawn ones). At capacity 0, a sender's ticket.
    pushed: u64,
    /// Values popped by receivers so far. A rendezvous sender with ticket k is done once `taken > k`.
    taken: u64,
}

/// How long a call may wait.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    /// Not at all (`try_*`).
    Never,
    /// As long as it takes.
    Forever,
    /// Until this instant (`*_timeout`).
    Until(Instant),
}

impl Wait {
    /// `timeout` from now. A timeout too long to be an `Instant` (`Duration::MAX`, say) is no
    /// deadline at all: the call waits as long as it takes, as std's and crossbeam's do.
    pub(crate) fn timeout(timeout: Duration) -> Wait {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => Wait::Until(deadline),
            None => Wait::Forever,
        }
    }
}

/// Why a send did not happen; the value comes back in every case.
pub(crate) enum SendFailure<T> {
    /// Every receiver is gone.
    Disconnected(T),
    /// `Wait::Never` and no room.
    Full(T),
    /// The deadline passed.
    Timeout(T),
}

/// Why a receive returned nothing.
pub(crate) enum RecvFailure {
    /// Empty and every sender is gone.
    Disconnected,
    /// `Wait::Never` and empty.
    Empty,
    /// The deadline passed.
    Timeout,
}

/// One channel: the state and the two places to sleep.
pub(crate) struct Shared<T> {
    pub(crate) capacity: Capacity,
    state: Mutex<State<T>>,
    /// Receivers sleep here until a value arrives or the last sender leaves.
    not_empty: Condvar,
    /// Senders sleep here until there is room (capacity 0: until their value is taken) or the last
    /// receiver leaves.
    not_full: Condvar,
}

/// What a wait on a condvar ended with.
enum Slept {
    Woken,
    DeadlinePassed,
}

impl<T> Shared<T> {
    /// A channel with one sender and one receiver handle.
    pub(crate) fn new(capacity: Capacity) -> Self {
        let queue = match capacity {
            Capacity::Bounded(n) => VecDeque::with_capacity(n.min(4096)),
            _ => VecDeque::new(),
        };
        Shared {
            capacity,
            state: Mutex::new(State {
                queue,
                senders: 1,
                receivers: 1,
                waiting_receivers: 0,
                waiting_senders: 0,
                pushed: 0,
                taken: 0,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        }
    }

    /// Locks the state. Nothing panics while holding it, so poisoning cannot carry a broken
    /// invariant; it is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps on `cv` (releasing the lock) until notified or `wait`'s deadline. Returns
    /// `DeadlinePassed` without sleeping when called after the deadline: callers check their
    /// condition first, so a wake-up at the deadline is never wasted.
    fn sleep<'a>(
        &self,
        cv: &Condvar,
        guard: MutexGuard<'a, State<T>>,
        wait: Wait,
    ) -> (MutexGuard<'a, State<T>>, Slept) {
        match wait {
            Wait::Never => unreachable!("callers return before sleeping when they may not wait"),
            Wait::Forever => (
                cv.wait(guard).unwrap_or_else(|e| e.into_inner()),
                Slept::Woken,
            ),
            Wait::Until(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return (guard, Slept::DeadlinePassed);
                }
                let (g, _) = cv
                    .wait_timeout(guard, deadline - now)
                    .unwrap_or_else(|e| e.into_inner());
                // Whether it timed out or not, the caller re-checks its condition first; the
                // deadline is looked at again on the next round.
                (g, Slept::Woken)
            }
        }
    }

    /// Sends `value`, waiting as `wait` allows. See the module docs for the protocol.
    pub(crate) fn send(&self, value: T, wait: Wait) -> Result<(), SendFailure<T>> {
        let mut st = self.lock();
        // Phase 1: wait for room.
        loop {
            if st.receivers == 0 {
                return Err(SendFailure::Disconnected(value));
            }
            let room = st.queue.len() < self.capacity.slots();
            let admitted = match (self.capacity, wait) {
                // A non-waiting rendezvous send needs a receiver already blocked in `recv`.
                (Capacity::Rendezvous, Wait::Never) => room && st.waiting_receivers > 0,
                _ => room,
            };
            if admitted {
                break;
            }
            if matches!(wait, Wait::Never) {
                return Err(SendFailure::Full(value));
            }
            st.waiting_senders += 1;
            let (g, slept) = self.sleep(&self.not_full, st, wait);
            st = g;
            st.waiting_senders -= 1;
            if let Slept::DeadlinePassed = slept {
                return Err(SendFailure::Timeout(value));
            }
        }
        st.queue.push_back(value);
        let ticket = st.pushed;
        st.pushed += 1;
        if st.waiting_receivers > 0 {
            self.not_empty.notify_one();
        }
        if self.capacity != Capacity::Rendezvous || matches!(wait, Wait::Never) {
            return Ok(());
        }
        // Phase 2 (rendezvous): wait until a receiver took *this* value.
        loop {
            if st.taken > ticket {
                return Ok(());
            }
            if st.receivers == 0 {
                return Err(SendFailure::Disconnected(self.withdraw(&mut st)));
            }
            st.waiting_senders += 1;
            let (g, slept) = self.sleep(&self.not_full, st, wait);
            st = g;
            st.waiting_senders -= 1;
            if let Slept::DeadlinePassed = slept {
                // `taken <= ticket` was checked just above with the lock held throughout.
                return Err(SendFailure::Timeout(self.withdraw(&mut st)));
            }
        }
    }

    /// Capacity 0: takes back the value of the one sender whose value is still in the slot.
    fn withdraw(&self, st: &mut State<T>) -> T {
        // The slot holds one value and it is ours: a new push needs an empty slot, and ours has
        // not been taken (`taken <= ticket`), so nobody pushed after us.
        let value = st
            .queue
            .pop_back()
            .expect("a rendezvous sender's untaken value is in the slot");
        st.pushed -= 1;
        if st.waiting_senders > 0 {
            self.not_full.notify_all(); // the slot is free again for the senders waiting for it
        }
        value
    }

    /// Receives a value, waiting as `wait` allows.
    pub(crate) fn recv(&self, wait: Wait) -> Result<T, RecvFailure> {
        let mut st = self.lock();
        loop {
            if let Some(value) = st.queue.pop_front() {
                st.taken += 1;
                if st.waiting_senders > 0 {
                    if self.capacity == Capacity::Rendezvous {
                        // The sender that owns this value must wake, and it may not be the one a
                        // `notify_one` would pick (another may be waiting for the free slot).
                        self.not_full.notify_all();
                    } else {
                        self.not_full.notify_one(); // one slot freed: one sender can use it
                    }
                }
                return Ok(value);
            }
            if st.senders == 0 {
                return Err(RecvFailure::Disconnected);
            }
            if matches!(wait, Wait::Never) {
                return Err(RecvFailure::Empty);
            }
            st.waiting_receivers += 1;
            let (g, slept) = self.sleep(&self.not_empty, st, wait);
            st = g;
            st.waiting_receivers -= 1;
            if let Slept::DeadlinePassed = slept {
                // The queue was found empty just above with the lock held throughout.
                return Err(RecvFailure::Timeout);
            }
        }
    }

    /// A `Sender` was cloned.
    pub(crate) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// A `Receiver` was cloned.
    pub(crate) fn add_receiver(&self) {
        self.lock().receivers += 1;
    }

    /// A `Sender` was dropped; the last one wakes every receiver to drain and see the disconnection.
    pub(crate) fn drop_sender(&self) {
        let mut st = self.lock();
        st.senders -= 1;
        if st.senders == 0 {
            self.not_empty.notify_all();
        }
    }

    /// A `Receiver` was dropped; the last one wakes every sender to fail with its value, and drops
    /// the values still buffered (nobody can receive them now), after unlocking: a value's `Drop` may
    /// itself use this channel. At capacity 0 the value in the slot still belongs to its blocked
    /// sender, which withdraws it and gets it back in its error.
    pub(crate) fn drop_receiver(&self) {
        let orphans = {
            let mut st = self.lock();
            st.receivers -= 1;
            if st.receivers != 0 {
                return;
            }
            // Every blocked sender must wake and fail with its own value: not `notify_one`.
            self.not_full.notify_all();
            if self.capacity == Capacity::Rendezvous {
                VecDeque::new()
            } else {
                std::mem::take(&mut st.queue)
            }
        };
        drop_each(orphans);
    }

    /// Values buffered right now. At capacity 0, always 0: the value in the hand-off slot is
    /// still its sender's (see the module docs).
    pub(crate) fn len(&self) -> usize {
        match self.capacity {
            Capacity::Rendezvous => 0,
            _ => self.lock().queue.len(),
        }
    }
}

/// Drops every value, oldest first, even if some `Drop`s panic; then resumes the first panic
/// (unless this thread is already unwinding, where resuming would abort). See the module docs.
fn drop_each<T>(values: VecDeque<T>) {
    let mut first_panic = None;
    for value in values {
        // AssertUnwindSafe: `value` is consumed by the closure, nothing is observed after a panic.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(value)))
            && first_panic.is_none()
        {
            first_panic = Some(payload);
        }
    }
    if let Some(payload) = first_panic
        && !std::thread::panicking()
    {
        panic::resume_unwind(payload);
    }
}
