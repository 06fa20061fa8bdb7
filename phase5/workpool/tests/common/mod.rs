//! What the workpool test binaries share: a gate that holds workers, thread counting by the pool's
//! name prefix (the oracle for worker counts: the OS's list of threads, not the pool's own gauges),
//! and a minimal executor for awaiting a `TaskHandle` without a runtime.
//!
//! Every pool in these tests has a name used by no other test in the same binary, so counting the
//! threads named `NAME-…` is exact while tests run in parallel.
#![allow(dead_code)] // each test binary uses its own subset

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use workpool::{Pool, TaskHandle};

/// Deadline for one test body: only a deadlock or a lost wake-up comes near it.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// How long to poll for an expected state (thread counts, flags) before failing.
pub const SETTLE: Duration = Duration::from_secs(10);

/// A gate that tasks wait on until it is opened; it counts the tasks that reached it, so a test
/// knows from outside the pool when its workers are held.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<bool>, Condvar)>,
    arrived: Arc<AtomicUsize>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Blocks until the gate is open (counting the arrival first).
    pub fn wait(&self) {
        self.arrived.fetch_add(1, SeqCst);
        let (open, cv) = &*self.inner;
        let mut g = open.lock().unwrap();
        while !*g {
            g = cv.wait(g).unwrap();
        }
    }

    pub fn open(&self) {
        let (open, cv) = &*self.inner;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }

    pub fn arrived(&self) -> usize {
        self.arrived.load(SeqCst)
    }

    /// Waits until `n` tasks are waiting at (or have passed) the gate.
    pub fn await_arrivals(&self, n: usize) {
        assert!(
            poll_until(SETTLE, || self.arrived() >= n),
            "only {} of {n} tasks reached the gate",
            self.arrived()
        );
    }

    /// Submits `n` tasks that wait at the gate, and waits until all `n` are running.
    pub fn hold(&self, pool: &Pool, n: usize) -> Vec<TaskHandle<()>> {
        let before = self.arrived();
        let handles = (0..n)
            .map(|_| {
                let g = self.clone();
                pool.submit(move || g.wait()).expect("gate task admitted")
            })
            .collect();
        self.await_arrivals(before + n);
        handles
    }
}

pub use harness::wait::poll_until;

/// Live threads of the pool named `name` (its workers `name-N`, and `name-watchdog`).
pub fn pool_threads(name: &str) -> usize {
    harness::leaks::threads_named(&format!("{name}-"))
}

/// Waits up to [`SETTLE`] for the pool's thread count to satisfy `done`; returns the last count.
pub fn pool_threads_until(name: &str, done: impl Fn(usize) -> bool) -> usize {
    harness::leaks::threads_named_until(&format!("{name}-"), SETTLE, done)
}

/// Fails unless every thread of the pool named `name` is gone (a joined thread may linger in
/// `/proc` for a moment after `join` returns, hence the poll).
#[track_caller]
pub fn assert_no_threads_left(name: &str) {
    let n = pool_threads_until(name, |n| n == 0);
    assert_eq!(n, 0, "{n} thread(s) of pool {name} still alive");
}

/// The kernel name of the calling thread (what `/proc/self/task/*/comm` shows).
pub fn current_thread_name() -> String {
    thread::current().name().unwrap_or("").to_string()
}

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: polls `fut` on this thread, parking between polls; counts the wake-ups.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => thread::park(),
        }
    }
}

/// Runs `f` under the test deadline.
#[track_caller]
pub fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    harness::watchdog::within(DEADLINE, f)
}

/// Tracks the most values of a counter seen at once: `enter` on start, `exit` on end.
#[derive(Default, Clone)]
pub struct InFlight {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl InFlight {
    pub fn enter(&self) -> usize {
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(n, SeqCst);
        n
    }
    pub fn exit(&self) {
        self.now.fetch_sub(1, SeqCst);
    }
    pub fn now(&self) -> usize {
        self.now.load(SeqCst)
    }
    pub fn peak(&self) -> usize {
        self.peak.load(SeqCst)
    }
}
