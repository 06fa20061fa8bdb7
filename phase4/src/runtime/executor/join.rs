//! `JoinHandle`: the spawned future's output, or how it failed.
//!
//! Go's `go f()` returns nothing: results travel over a channel you make, and a panicking goroutine
//! kills the process. Here `spawn` returns a future of `Result<T, JoinError>`: a panic in a task is
//! caught at the task's boundary (in `task.rs`) and reported to whoever joins it; the worker survives.
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::task::{Header, abort, drop_ref};

/// Why a task produced no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// The task panicked; the panic's message.
    Panicked(String),
    /// The task was aborted ([`JoinHandle::abort`]) or the executor shut down before it finished.
    Cancelled,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(m) => write!(f, "task panicked: {m}"),
            JoinError::Cancelled => {
                write!(f, "task cancelled: aborted, or the executor shut down")
            }
        }
    }
}

impl std::error::Error for JoinError {}

/// Where a task's result waits for its handle. Lives in the task's allocation, under a mutex.
pub(crate) struct Slot<T> {
    output: Option<Result<T, JoinError>>,
    /// Set once the output was stored (or taken): a second completion is ignored.
    finished: bool,
    waker: Option<Waker>,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Slot {
            output: None,
            finished: false,
            waker: None,
        }
    }

    /// Stores `result` unless one is already there; returns the waiter to wake (after unlocking).
    pub(crate) fn complete(&mut self, result: Result<T, JoinError>) -> Option<Waker> {
        if self.finished {
            return None;
        }
        self.finished = true;
        self.output = Some(result);
        self.waker.take()
    }

    /// Empties the slot (the task is being freed): the output nobody took and a waiter's waker.
    pub(crate) fn take_all(&mut self) -> (Option<Result<T, JoinError>>, Option<Waker>) {
        (self.output.take(), self.waker.take())
    }
}

/// A spawned future's result; await it. Dropping it detaches the task (it still runs).
pub struct JoinHandle<T> {
    /// One counted reference to the task, which keeps `slot` alive.
    task: NonNull<Header>,
    slot: NonNull<Mutex<Slot<T>>>,
}

// SAFETY: the handle only reaches the task's `Mutex<Slot<T>>` (shareable when `T: Send`) and its
// atomic reference count.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above; `&JoinHandle` only reads `is_finished` under the mutex.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `task` is a reference the handle now owns, and `slot` lives in that task's allocation.
    pub(crate) unsafe fn new(task: NonNull<Header>, slot: NonNull<Mutex<Slot<T>>>) -> Self {
        JoinHandle { task, slot }
    }

    fn slot(&self) -> MutexGuard<'_, Slot<T>> {
        // SAFETY: our reference keeps the task, and so the slot, alive.
        let m = unsafe { self.slot.as_ref() };
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels the task: a worker drops its future instead of polling it again, and awaiting this
    /// handle gives `Err(JoinError::Cancelled)`. A task that already finished keeps its result. A
    /// poll in progress is not interrupted; the future is dropped after it (futures are cancelled
    /// only between polls, as in tokio).
    pub fn abort(&self) {
        // SAFETY: our reference keeps the task alive for the call.
        unsafe { abort(self.task) };
    }

    /// True once the task finished (output ready, panicked, or cancelled).
    pub fn is_finished(&self) -> bool {
        self.slot().finished
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot();
        if let Some(out) = s.output.take() {
            return Poll::Ready(out);
        }
        if s.finished {
            panic!("JoinHandle polled after it returned its output");
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { drop_ref(self.task) };
    }
}
