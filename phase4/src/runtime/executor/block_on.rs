//! `block_on`: drive one future on the calling thread, parking it between polls.
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadWaker {
    thread: Thread,
    /// Set by a wake-up, cleared by the blocked thread before it polls again.
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Release: what the waker wrote before waking is visible after the Acquire swap below.
        self.woken.store(true, Release);
        self.thread.unpark();
    }
}

/// Runs `future` to completion on this thread. A wake-up before the park is kept by the flag (and
/// by `unpark`'s token), so none is lost; spurious unparks just loop.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let inner = Arc::new(ThreadWaker {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&inner));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        // Acquire: pairs with the Release in `wake_by_ref`.
        while !inner.woken.swap(false, Acquire) {
            thread::park();
        }
    }
}
