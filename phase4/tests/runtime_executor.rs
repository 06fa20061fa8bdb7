//! The from-scratch executor: many tasks, yield-heavy work, cross-thread wake-ups, panics, shutdown.
#![cfg(not(loom))]
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase4::runtime::executor::{Builder, JoinError, yield_now};

const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn runs_100k_spawned_tasks_with_correct_results() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(2).name("rt-t-many").build().unwrap();
        let h = ex.handle();
        let n = 100_000u64;
        let sum = ex.block_on(async {
            let hs: Vec<_> = (0..n).map(|i| h.spawn(async move { i * 2 })).collect();
            let mut s = 0;
            for j in hs {
                s += j.await.unwrap();
            }
            s
        });
        assert_eq!(sum, n * (n - 1));
        let polls: u64 = ex.stats().iter().map(|s| s.polls).sum();
        assert!(polls >= n, "every task polled at least once: {polls}");
    });
}

#[test]
fn tasks_spawned_from_tasks_all_complete() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(2).name("rt-t-nest").build().unwrap();
        let h = ex.handle();
        let total = ex.block_on(h.clone().spawn(async move {
            let hs: Vec<_> = (0..2_000u64)
                .map(|i| {
                    let h2 = h.clone();
                    h.spawn(async move { h2.spawn(async move { i }).await.unwrap() })
                })
                .collect();
            let mut s = 0;
            for j in hs {
                s += j.await.unwrap();
            }
            s
        }));
        assert_eq!(total, Ok((0..2_000u64).sum()));
    });
}

#[test]
fn yield_heavy_workload_completes() {
    within(DEADLINE, || {
        let ex = Builder::new()
            .workers(2)
            .name("rt-t-yield")
            .build()
            .unwrap();
        let h = ex.handle();
        let count = Arc::new(AtomicU64::new(0));
        ex.block_on(async {
            let hs: Vec<_> = (0..200)
                .map(|_| {
                    let c = count.clone();
                    h.spawn(async move {
                        for _ in 0..500 {
                            yield_now().await;
                            c.fetch_add(1, Relaxed);
                        }
                    })
                })
                .collect();
            for j in hs {
                j.await.unwrap();
            }
        });
        assert_eq!(count.load(Relaxed), 200 * 500);
    });
}

/// A future that completes once another thread sets its flag and wakes it.
struct Flag(Arc<Mutex<(bool, Option<Waker>)>>);

impl Future for Flag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.lock().unwrap();
        if s.0 {
            Poll::Ready(())
        } else {
            s.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn a_task_woken_from_another_thread_runs() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(2).name("rt-t-wake").build().unwrap();
        for _ in 0..200 {
            let cell = Arc::new(Mutex::new((false, None::<Waker>)));
            let j = ex.spawn(Flag(cell.clone()));
            let c = cell.clone();
            let t = std::thread::spawn(move || {
                std::thread::yield_now();
                let w = {
                    let mut s = c.lock().unwrap();
                    s.0 = true;
                    s.1.take()
                };
                if let Some(w) = w {
                    w.wake();
                }
            });
            ex.block_on(j).unwrap();
            t.join().unwrap();
        }
    });
}

#[test]
fn a_panicking_task_is_reported_and_workers_survive() {
    within(DEADLINE, || {
        let ex = Builder::new()
            .workers(2)
            .name("rt-t-panic")
            .build()
            .unwrap();
        for i in 0..10 {
            let r = ex.block_on(ex.spawn(async move {
                if i >= 0 {
                    panic!("task {i} failed");
                }
            }));
            assert_eq!(r, Err(JoinError::Panicked(format!("task {i} failed"))));
        }
        // Both workers are still there and working.
        assert_eq!(ex.block_on(ex.spawn(async { 42 })), Ok(42));
        let h = ex.handle();
        let s = ex.block_on(async {
            let hs: Vec<_> = (0..1000u64).map(|i| h.spawn(async move { i })).collect();
            let mut s = 0;
            for j in hs {
                s += j.await.unwrap();
            }
            s
        });
        assert_eq!(s, 499_500);
    });
}

#[test]
fn shutdown_joins_every_worker_and_cancels_waiting_tasks() {
    let leak = ThreadLeakCheck::named("rt-t-down");
    let pending = within(DEADLINE, || {
        let ex = Builder::new().workers(3).name("rt-t-down").build().unwrap();
        let cell = Arc::new(Mutex::new((false, None::<Waker>)));
        let j = ex.spawn(Flag(cell.clone()));
        assert_eq!(ex.block_on(ex.spawn(async { 1 })), Ok(1));
        drop(ex);
        // The waiting task is cancelled when it is next woken.
        let w = cell.lock().unwrap().1.take();
        if let Some(w) = w {
            w.wake();
        }
        j
    });
    leak.assert_no_leak(Duration::from_secs(5));
    let r = within(DEADLINE, move || {
        phase4::runtime::executor::block_on(pending)
    });
    assert_eq!(r, Err(JoinError::Cancelled));
}

#[test]
fn spawn_after_shutdown_is_cancelled_not_lost() {
    within(DEADLINE, || {
        let ex = Builder::new().workers(1).name("rt-t-late").build().unwrap();
        let h = ex.handle();
        drop(ex);
        let j = h.spawn(async { 5 });
        assert_eq!(
            phase4::runtime::executor::block_on(j),
            Err(JoinError::Cancelled)
        );
    });
}
