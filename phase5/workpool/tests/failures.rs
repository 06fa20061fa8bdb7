//! Failure injection: a panic anywhere user code runs — the task, its captures' `Drop` (run or
//! cancelled), a detached output's `Drop`, a panic payload's `Drop`, the thread hooks, the stuck
//! hook, a `Waker` — never kills a worker (counted by thread name) and never wedges the pool.
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::Duration;

use common::*;
use workpool::{CancelOutcome, Overflow, Pool, Queue, TaskError, TaskOptions};

/// A value whose `Drop` panics.
struct Bomb(&'static str);

impl Drop for Bomb {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

/// The pool still has `workers` live threads and runs a batch of tasks to completion.
#[track_caller]
fn assert_pool_healthy(pool: &Pool, name: &str, workers: usize) {
    assert_eq!(pool_threads(name), workers, "a worker thread died");
    // One at a time, so a small queue (or DropOldest) never refuses or evicts one of them.
    for i in 0..(workers * 4) {
        let h = pool.submit(move || i * 2).unwrap();
        assert_eq!(h.join(), Ok(i * 2), "the pool stopped running tasks");
    }
    pool.wait_idle();
    // An elastic pool may have grown for the batch: it falls back to its minimum when idle.
    let n = pool_threads_until(name, |n| n == workers);
    assert_eq!(n, workers, "a worker thread died (or an extra one stayed)");
}

fn fixed_pool(name: &str, workers: usize) -> Pool {
    let pool = Pool::builder()
        .name(name)
        .workers(workers)
        .queue(Queue::Unbounded)
        .build()
        .unwrap();
    assert_eq!(pool_threads_until(name, |n| n == workers), workers);
    pool
}

#[test]
fn a_panicking_task_reports_its_message_and_the_worker_survives() {
    within(|| {
        let name = "fl-task";
        let pool = fixed_pool(name, 2);
        let handles: Vec<_> = (0..10)
            .map(|i| {
                pool.submit(move || -> usize { panic!("boom {i}") })
                    .unwrap()
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(
                h.join(),
                Err(TaskError::Panicked {
                    message: format!("boom {i}")
                })
            );
        }
        // Fire-and-forget panics too.
        for _ in 0..4 {
            pool.execute(|| panic!("detached boom")).unwrap();
        }
        assert_pool_healthy(&pool, name, 2);
        assert_eq!(pool.metrics().panicked, 14);
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A panic payload whose own `Drop` panics.
#[test]
fn a_panic_payload_that_panics_when_dropped_is_contained() {
    within(|| {
        let name = "fl-payload";
        let pool = fixed_pool(name, 1);
        let h = pool
            .submit(|| -> () { std::panic::panic_any(Bomb("payload drop boom")) })
            .unwrap();
        assert!(matches!(h.join(), Err(TaskError::Panicked { .. })));
        assert_pool_healthy(&pool, name, 1);
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A capture whose `Drop` panics, in a task that otherwise returns: the handle reports the panic.
#[test]
fn a_panicking_capture_drop_in_a_run_task_is_contained() {
    within(|| {
        let name = "fl-capdrop";
        let pool = fixed_pool(name, 2);
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let bomb = Bomb("capture drop boom");
                pool.submit(move || {
                    let _keep = &bomb;
                    1
                })
                .unwrap()
            })
            .collect();
        for h in handles {
            assert_eq!(
                h.join(),
                Err(TaskError::Panicked {
                    message: "capture drop boom".into()
                })
            );
        }
        assert_pool_healthy(&pool, name, 2);
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// Captures whose `Drop` panics in tasks that never run: cancelled through the handle, evicted by
/// `DropOldest`, discarded by `shutdown_now`.
#[test]
fn a_panicking_capture_drop_in_a_task_that_never_runs_is_contained() {
    within(|| {
        let name = "fl-cancdrop";
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .queue(Queue::Bounded(2))
            .overflow(Overflow::DropOldest)
            .build()
            .unwrap();
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let bomb = |msg| {
            let b = Bomb(msg);
            move || {
                let _keep = &b;
            }
        };
        let cancelled = pool.submit(bomb("cancelled drop boom")).unwrap();
        assert_eq!(cancelled.cancel(), CancelOutcome::Cancelled);
        let evicted = pool.submit(bomb("evicted drop boom")).unwrap();
        // The queue holds [cancelled (dead), evicted]: full. The next submit skips the dead entry
        // and evicts `evicted`, whose captures' Drop panics on this thread, contained.
        let kept = pool.submit(|| ()).unwrap();
        let newest = pool.submit(|| ());
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(cancelled.join(), Err(TaskError::Cancelled));
        assert_eq!(evicted.join(), Err(TaskError::Dropped));
        assert_eq!(kept.join(), Ok(()));
        if let Ok(h) = newest {
            assert_eq!(h.join(), Ok(()));
        }
        assert_pool_healthy(&pool, name, 1);

        // Discarded by shutdown_now.
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let discarded: Vec<_> = (0..2)
            .map(|_| pool.submit(bomb("discarded drop boom")).unwrap())
            .collect();
        let report = pool.shutdown_now(Duration::from_millis(10));
        assert_eq!(report.unstarted, 2, "{report:?}");
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        for h in discarded {
            assert_eq!(h.join(), Err(TaskError::ShutDown));
        }
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// The output of a detached task (handle dropped) is dropped on the worker; its `Drop` panicking
/// does not kill the worker.
#[test]
fn a_panicking_drop_of_a_detached_output_is_contained() {
    within(|| {
        let name = "fl-outdrop";
        let pool = fixed_pool(name, 2);
        // Held at a gate until every handle is dropped, so the worker holds the last reference
        // and the output is dropped there. (A handle dropped after completion drops the output on
        // the dropping thread, like any value it owns.)
        let gate = Gate::new();
        for _ in 0..8 {
            let g = gate.clone();
            drop(
                pool.submit(move || {
                    g.wait();
                    Bomb("output drop boom")
                })
                .unwrap(),
            );
        }
        gate.open();
        pool.wait_idle();
        assert_pool_healthy(&pool, name, 2);
        drop(pool);
        assert_no_threads_left(name);
    });
}

#[test]
fn panicking_thread_hooks_are_contained() {
    within(|| {
        let name = "fl-hooks";
        let starts = Arc::new(AtomicUsize::new(0));
        let exits = Arc::new(AtomicUsize::new(0));
        let (s, e) = (starts.clone(), exits.clone());
        let pool = Pool::builder()
            .name(name)
            .min_workers(1)
            .max_workers(3)
            .keep_alive(Duration::from_millis(20))
            .on_thread_start(move |i| {
                s.fetch_add(1, SeqCst);
                panic!("start hook boom {i}")
            })
            .on_thread_exit(move |i| {
                e.fetch_add(1, SeqCst);
                panic!("exit hook boom {i}")
            })
            .build()
            .unwrap();
        // Grow to three (hooks panic on each start), then let two be reaped (hooks panic on exit).
        let gate = Gate::new();
        let held = gate.hold(&pool, 3);
        assert_eq!(pool_threads(name), 3);
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(pool_threads_until(name, |n| n == 1), 1);
        assert!(poll_until(SETTLE, || exits.load(SeqCst) == 2));
        assert_pool_healthy(&pool, name, 1);
        drop(pool);
        assert_no_threads_left(name);
        assert_eq!(starts.load(SeqCst), exits.load(SeqCst));
        assert!(starts.load(SeqCst) >= 3);
    });
}

/// A panicking `on_stuck` hook does not stop the watchdog: a second long task is reported too.
#[test]
fn a_panicking_stuck_hook_does_not_stop_the_watchdog() {
    within(|| {
        let name = "fl-stuck";
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .stuck_after(Duration::from_millis(10))
            .on_stuck(move |t| {
                s.lock().unwrap().push(t.name.clone());
                panic!("stuck hook boom")
            })
            .build()
            .unwrap();
        for label in ["first", "second"] {
            let seen = seen.clone();
            pool.submit_with(TaskOptions::new().name(label), move |_| {
                // Run until the watchdog has reported this task (bounded, so a lost report fails
                // the assertion below instead of hanging).
                poll_until(SETTLE, || {
                    seen.lock()
                        .unwrap()
                        .iter()
                        .any(|n| n.as_deref() == Some(label))
                });
            })
            .unwrap()
            .join()
            .unwrap();
        }
        assert_eq!(
            *seen.lock().unwrap(),
            vec![Some("first".to_string()), Some("second".to_string())]
        );
        assert_pool_healthy(&pool, name, 2); // one worker + the watchdog thread
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A waker whose `wake` panics.
struct PanickingWaker(AtomicUsize);

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
        panic!("waker boom");
    }
}

/// Awaiting a handle with a waker that panics when woken: the worker that completes the task
/// survives, and the handle still gives its value.
#[test]
fn a_panicking_waker_is_contained() {
    within(|| {
        let name = "fl-waker";
        let pool = fixed_pool(name, 1);
        let mut woken = Vec::new();
        for i in 0..4 {
            let gate = Gate::new();
            let g = gate.clone();
            let mut handle = pool
                .submit(move || {
                    g.wait();
                    i
                })
                .unwrap();
            gate.await_arrivals(1);
            let pw = Arc::new(PanickingWaker(AtomicUsize::new(0)));
            let waker = Waker::from(pw.clone());
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
            gate.open();
            assert!(poll_until(SETTLE, || pw.0.load(SeqCst) == 1), "never woken");
            assert_eq!(block_on(handle), Ok(i));
            woken.push(pw.0.load(SeqCst));
        }
        assert_eq!(woken, vec![1; 4]);
        assert_pool_healthy(&pool, name, 1);
        drop(pool);
        assert_no_threads_left(name);
    });
}
