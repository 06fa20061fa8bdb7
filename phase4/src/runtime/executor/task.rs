//! A task: a boxed future, its scheduling state, and its waker (`std::task::Wake` on `Arc<Task>`).
//!
//! Go's `g` is a stack plus a status word (`_Grunnable`, `_Grunning`, `_Gwaiting`); a Rust task is a
//! future plus a status word. The state machine makes "woken while running" safe: the waker never
//! queues a task that is being polled, it marks it, and the worker requeues it after the poll.
use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering::*};
use std::task::{Context, Wake, Waker};

use super::Shared;

/// Not queued, not running: waiting for a wake-up.
pub(crate) const IDLE: u8 = 0;
/// In a run queue (exactly once).
pub(crate) const SCHEDULED: u8 = 1;
/// Being polled by a worker.
pub(crate) const RUNNING: u8 = 2;
/// Woken while being polled: the worker requeues it after the poll.
pub(crate) const NOTIFIED: u8 = 3;
/// Finished (or cancelled): the future is gone; wake-ups are ignored.
pub(crate) const COMPLETE: u8 = 4;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A spawned task.
pub(crate) struct Task {
    /// One of `IDLE`, `SCHEDULED`, `RUNNING`, `NOTIFIED`, `COMPLETE`.
    state: AtomicU8,
    /// The future; touched only by the thread that moved `state` to `RUNNING` (or that cancels a
    /// `SCHEDULED` task it took out of a queue), so never by two threads at once.
    future: UnsafeCell<Option<BoxFuture>>,
    /// Where wake-ups send it.
    shared: Arc<Shared>,
}

// SAFETY: `future` is `Send`, and the state machine above gives one thread at a time access to it,
// with Acquire/Release on `state` and on the queues ordering the accesses.
unsafe impl Sync for Task {}

/// What one poll did.
pub(crate) enum Polled {
    /// Finished; dropped its future.
    Done,
    /// Pending and not woken during the poll.
    Idle,
    /// Woken during the poll (`yield_now`): the caller must queue it again (state is `SCHEDULED`).
    Requeue,
}

impl Task {
    pub(crate) fn new(future: BoxFuture, shared: Arc<Shared>) -> Arc<Task> {
        Arc::new(Task {
            state: AtomicU8::new(SCHEDULED),
            future: UnsafeCell::new(Some(future)),
            shared,
        })
    }

    /// Polls the task once. The caller took it out of a run queue (state `SCHEDULED`).
    pub(crate) fn run(self: &Arc<Self>) -> Polled {
        // Acquire: pairs with the Release of the previous poller's `RUNNING -> IDLE` (through the
        // waker's CAS and the queue), so its writes to the future are visible to this poll.
        if self
            .state
            .compare_exchange(SCHEDULED, RUNNING, Acquire, Relaxed)
            .is_err()
        {
            return Polled::Done; // cancelled by shutdown while queued
        }
        let waker = Waker::from(Arc::clone(self));
        let mut cx = Context::from_waker(&waker);
        // SAFETY: we moved the state to RUNNING, which no other thread does until we leave it.
        let slot = unsafe { &mut *self.future.get() };
        let ready = match slot.as_mut() {
            Some(f) => f.as_mut().poll(&mut cx).is_ready(),
            None => true,
        };
        if ready {
            *slot = None;
            // Release: whoever reads COMPLETE sees the future dropped.
            self.state.store(COMPLETE, Release);
            return Polled::Done;
        }
        // Release: the next poller (after a wake-up) sees this poll's writes to the future.
        match self.state.compare_exchange(RUNNING, IDLE, Release, Relaxed) {
            Ok(_) => Polled::Idle,
            Err(_) => {
                // NOTIFIED: only we can move it from there. Relaxed: we keep the task and requeue
                // it ourselves; the queue's Release publishes it.
                self.state.store(SCHEDULED, Relaxed);
                Polled::Requeue
            }
        }
    }

    /// Drops the future of a task that is queued and will never run (executor shut down). The
    /// caller took it out of a queue, or owns it on its way into one.
    pub(crate) fn cancel(&self) {
        // Acquire: as in `run`, the last poll's writes are visible before we drop the future.
        if self
            .state
            .compare_exchange(SCHEDULED, RUNNING, Acquire, Relaxed)
            .is_ok()
        {
            // SAFETY: as in `run`, RUNNING gives exclusive access to the future.
            let fut = unsafe { (*self.future.get()).take() };
            // Release: as in `run`.
            self.state.store(COMPLETE, Release);
            drop(fut); // the JoinHandle side reports "cancelled" from the future's Drop
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Acquire: orders this CAS loop after the last transition; see `run` for the chain.
        let mut state = self.state.load(Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return, // already queued, already notified, or done
            };
            // AcqRel: Acquire to see the previous poll's writes before queuing (the queue then
            // republishes them); Release for the worker that reads NOTIFIED.
            match self
                .state
                .compare_exchange_weak(state, next, AcqRel, Acquire)
            {
                Ok(_) if next == SCHEDULED => {
                    self.shared.schedule(Arc::clone(self));
                    return;
                }
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
    }
}
