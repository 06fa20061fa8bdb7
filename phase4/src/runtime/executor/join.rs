//! `JoinHandle`: the spawned future's output, or how it failed.
//!
//! Go's `go f()` returns nothing: results travel over a channel you make, and a panicking goroutine
//! kills the process. Here `spawn` returns a future of `Result<T, JoinError>`: a panic in a task is
//! caught at the task's boundary and reported to whoever joins it; the worker survives.
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Why a task produced no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// The task panicked; the panic's message.
    Panicked(String),
    /// The executor shut down before the task finished.
    Cancelled,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(m) => write!(f, "task panicked: {m}"),
            JoinError::Cancelled => write!(f, "task cancelled: the executor shut down"),
        }
    }
}

impl std::error::Error for JoinError {}

struct Slot<T> {
    output: Option<Result<T, JoinError>>,
    /// Set once the output was stored (or taken): a second completion is ignored.
    finished: bool,
    waker: Option<Waker>,
}

/// The shared cell between a task and its handle.
pub(crate) struct JoinCell<T>(Mutex<Slot<T>>);

impl<T> JoinCell<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(JoinCell(Mutex::new(Slot {
            output: None,
            finished: false,
            waker: None,
        })))
    }

    fn complete(&self, result: Result<T, JoinError>) {
        let waker = {
            let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if s.finished {
                return;
            }
            s.finished = true;
            s.output = Some(result);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A spawned future's result; await it. Dropping it detaches the task (it still runs).
pub struct JoinHandle<T> {
    cell: Arc<JoinCell<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(cell: Arc<JoinCell<T>>) -> Self {
        JoinHandle { cell }
    }

    /// True once the task finished (output ready, panicked, or cancelled).
    pub fn is_finished(&self) -> bool {
        self.cell
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finished
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.cell.0.lock().unwrap_or_else(|p| p.into_inner());
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

/// The future a task really runs: the user's future, a panic boundary, and the hand-off to the
/// `JoinHandle`. Dropped unfinished (shutdown), it reports `Cancelled`.
pub(crate) struct Harness<F: Future> {
    future: F,
    cell: Arc<JoinCell<F::Output>>,
}

impl<F: Future> Harness<F> {
    pub(crate) fn new(future: F, cell: Arc<JoinCell<F::Output>>) -> Self {
        Harness { future, cell }
    }
}

impl<F: Future> Future for Harness<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned: we never move it out of `self`, and `Harness`
        // has no `Unpin` impl of its own beyond the auto one (which requires `F: Unpin`).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above, `this.future` stays where it is until `this` is dropped.
        let fut = unsafe { Pin::new_unchecked(&mut this.future) };
        match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                this.cell.complete(Ok(v));
                Poll::Ready(())
            }
            Err(payload) => {
                this.cell
                    .complete(Err(JoinError::Panicked(harness::exercise::panic_message(
                        &*payload,
                    ))));
                Poll::Ready(())
            }
        }
    }
}

impl<F: Future> Drop for Harness<F> {
    fn drop(&mut self) {
        // A no-op when the task already completed (`finished` is set).
        self.cell.complete(Err(JoinError::Cancelled));
    }
}
