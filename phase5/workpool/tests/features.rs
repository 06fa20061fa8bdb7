//! The features on top of the queue: priority lanes with aging, groups, scopes, subpools, metrics,
//! the stuck-task watchdog, and the handle as a `Future` under a hand-written executor.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::*;
use workpool::{GroupError, Overflow, Pool, Priority, Queue, SubmitError, TaskOptions};

/// One worker held at a gate; a Low task queued before `highs` High ones; released. Returns the
/// start order, recorded by the tasks themselves.
fn start_order(name: &str, aging: usize, highs: usize) -> Vec<String> {
    let pool = Pool::builder()
        .name(name)
        .workers(1)
        .queue(Queue::Unbounded)
        .aging(aging)
        .build()
        .unwrap();
    let gate = Gate::new();
    let held = gate.hold(&pool, 1);
    let order = Arc::new(Mutex::new(Vec::new()));
    let submit = |label: String, p: Priority| {
        let order = order.clone();
        pool.submit_with(TaskOptions::new().priority(p), move |_| {
            order.lock().unwrap().push(label)
        })
        .unwrap()
    };
    let mut handles = vec![submit("low".into(), Priority::Low)];
    for i in 0..highs {
        handles.push(submit(format!("high{i}"), Priority::High));
    }
    gate.open();
    held.into_iter().for_each(|h| h.join().unwrap());
    handles.into_iter().for_each(|h| h.join().unwrap());
    drop(pool);
    assert_no_threads_left(name);
    order.lock().unwrap().clone()
}

/// The Low task starts after exactly `aging` High starts; with aging off, after all of them; the
/// High tasks keep their FIFO order.
#[test]
fn a_low_task_starts_after_exactly_aging_high_starts() {
    within(|| {
        for (i, aging) in [1usize, 3, 5, usize::MAX].into_iter().enumerate() {
            let order = start_order(&format!("ft-aging{i}"), aging, 10);
            let low_at = order.iter().position(|l| l == "low").unwrap();
            assert_eq!(low_at, aging.min(10), "aging {aging}: {order:?}");
            let highs: Vec<_> = order.iter().filter(|l| *l != "low").cloned().collect();
            let fifo: Vec<_> = (0..10).map(|i| format!("high{i}")).collect();
            assert_eq!(highs, fifo, "High lane order");
        }
    });
}

#[test]
fn a_group_returns_results_in_submit_order() {
    within(|| {
        let name = "ft-grp-order";
        let pool = Pool::builder().name(name).workers(2).build().unwrap();
        let mut group = pool.group();
        for i in 0..8u64 {
            group.submit(move |_| {
                // Later members finish first.
                thread::sleep(Duration::from_millis(8 - i));
                Ok::<_, String>(i * i)
            });
        }
        assert_eq!(group.wait(), Ok((0..8).map(|i| i * i).collect()));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// The first error cancels the queued members (they never start) and signals the running one.
#[test]
fn a_group_failure_cancels_queued_members_and_signals_running_ones() {
    within(|| {
        let name = "ft-grp-fail";
        let pool = Pool::builder()
            .name(name)
            .workers(2)
            .queue(Queue::Unbounded)
            .build()
            .unwrap();
        let started: Arc<Vec<AtomicBool>> =
            Arc::new((0..6).map(|_| AtomicBool::new(false)).collect());
        let saw_cancel = Arc::new(AtomicBool::new(false));
        let mut group = pool.group::<u32, String>();
        {
            let (started, saw) = (started.clone(), saw_cancel.clone());
            group.submit(move |ctx| {
                started[0].store(true, SeqCst);
                // Runs until the group is cancelled (bounded: a missing signal fails below).
                if poll_until(SETTLE, || ctx.is_cancelled()) {
                    saw.store(true, SeqCst);
                }
                Ok(0)
            });
        }
        {
            let started = started.clone();
            group.submit(move |_| {
                started[1].store(true, SeqCst);
                // Fail only once member 0 is running, so it is the running one signalled.
                poll_until(SETTLE, || started[0].load(SeqCst));
                Err("member 1 failed".to_string())
            });
        }
        for i in 2..6 {
            let started = started.clone();
            group.submit(move |_| {
                started[i].store(true, SeqCst);
                Ok(i as u32)
            });
        }
        assert_eq!(
            group.wait(),
            Err(GroupError::Failed {
                index: 1,
                error: "member 1 failed".to_string()
            })
        );
        assert!(
            saw_cancel.load(SeqCst),
            "the running member was not signalled"
        );
        for i in 2..6 {
            assert!(
                !started[i].load(SeqCst),
                "queued member {i} started after the failure"
            );
        }
        pool.wait_idle();
        assert_eq!(pool.metrics().failed, 1);
        drop(pool);
        assert_no_threads_left(name);
    });
}

#[test]
fn a_panicking_group_member_is_reported_with_its_index() {
    within(|| {
        let name = "ft-grp-panic";
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .queue(Queue::Unbounded)
            .build()
            .unwrap();
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let started = Arc::new(AtomicUsize::new(0));
        let mut group = pool.group::<usize, String>();
        for i in 0..6 {
            let started = started.clone();
            group.submit(move |_| {
                started.fetch_add(1, SeqCst);
                if i == 2 {
                    panic!("member {i} exploded");
                }
                Ok(i)
            });
        }
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(
            group.wait(),
            Err(GroupError::Panicked {
                index: 2,
                message: "member 2 exploded".to_string()
            })
        );
        assert_eq!(started.load(SeqCst), 3, "members after the panic started");
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// Scoped tasks borrow from the stack and have all finished when `scope` returns (unjoined ones too).
#[test]
fn scoped_tasks_borrow_from_the_stack_and_finish_before_scope_returns() {
    within(|| {
        let name = "ft-scope";
        let pool = Pool::builder().name(name).workers(2).build().unwrap();
        let mut data = vec![0u32; 16];
        let finished = AtomicUsize::new(0);
        let started = AtomicUsize::new(0);
        pool.scope(|s| {
            for (i, chunk) in data.chunks_mut(4).enumerate() {
                let (finished, started) = (&finished, &started);
                // The first two run long on the workers; the scope's thread may run the other two
                // itself. A scope that returned without waiting for the workers would return early.
                let _unjoined = s.submit(move || {
                    started.fetch_add(1, SeqCst);
                    thread::sleep(Duration::from_millis(if i < 2 { 80 } else { 5 }));
                    chunk.iter_mut().for_each(|x| *x += 1);
                    finished.fetch_add(1, SeqCst);
                });
                if i == 1 {
                    assert!(poll_until(SETTLE, || started.load(SeqCst) == 2));
                }
            }
        });
        assert_eq!(
            finished.load(SeqCst),
            4,
            "scope returned before its tasks finished"
        );
        assert_eq!(data, vec![1; 16]);
        let total: u32 = pool.scope(|s| {
            let hs: Vec<_> = data
                .chunks(4)
                .map(|c| s.submit(move || c.iter().sum::<u32>()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(total, 16);
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A scope used inside the only worker of the same pool does not deadlock.
#[test]
fn a_scope_inside_a_worker_of_a_one_worker_pool_does_not_deadlock() {
    within(|| {
        let name = "ft-scope-in";
        let pool = Arc::new(Pool::builder().name(name).workers(1).build().unwrap());
        let p = pool.clone();
        let sum = pool
            .submit(move || {
                let local = [1u64, 2, 3, 4];
                p.scope(|s| {
                    let hs: Vec<_> = local.iter().map(|x| s.submit(move || x * 10)).collect();
                    hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
                })
            })
            .unwrap();
        assert_eq!(sum.join(), Ok(100));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// An unjoined scoped task that panics makes `scope` panic, after every task has finished.
#[test]
fn an_unjoined_panicking_scoped_task_makes_scope_panic_after_all_finished() {
    within(|| {
        let name = "ft-scope-pan";
        let pool = Pool::builder().name(name).workers(2).build().unwrap();
        let slow_done = AtomicBool::new(false);
        let out = catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                let _a = s.submit(|| -> () { panic!("scoped boom") });
                let _b = s.submit(|| {
                    thread::sleep(Duration::from_millis(40));
                    slow_done.store(true, SeqCst);
                });
            })
        }));
        let payload = out.expect_err("scope returned normally after a scoped panic");
        let msg = shim::panic_message(&*payload);
        assert!(msg.contains("scoped boom"), "{msg}");
        assert!(
            slow_done.load(SeqCst),
            "scope panicked before its other task finished"
        );
        assert_eq!(pool.submit(|| 1).unwrap().join(), Ok(1));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A subpool's concurrency, measured inside its tasks, never exceeds its limit and reaches it, and
/// every one of its tasks runs.
#[test]
fn a_subpool_never_exceeds_its_limit_and_runs_everything() {
    within(|| {
        let name = "ft-subpool";
        let pool = Pool::builder()
            .name(name)
            .workers(4)
            .queue(Queue::Bounded(64))
            .build()
            .unwrap();
        let sub = pool.subpool(2);
        let flight = InFlight::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let (f, ran) = (flight.clone(), ran.clone());
                sub.submit(move || {
                    f.enter();
                    poll_until(Duration::from_millis(100), || f.now() >= 3);
                    thread::sleep(Duration::from_millis(1));
                    f.exit();
                    ran.fetch_add(1, SeqCst);
                    i
                })
                .unwrap()
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join(), Ok(i));
        }
        assert_eq!(ran.load(SeqCst), 24);
        assert_eq!(flight.peak(), 2, "measured subpool concurrency");
        drop(sub);
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// The counters equal our own counts; each histogram holds one sample per task that started.
#[test]
fn metrics_match_our_own_counts() {
    within(|| {
        let name = "ft-metrics";
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .queue(Queue::Bounded(4))
            .overflow(Overflow::Reject)
            .build()
            .unwrap();
        for i in 0..10 {
            assert_eq!(pool.submit(move || i).unwrap().join(), Ok(i));
        }
        for _ in 0..3 {
            assert!(
                pool.submit(|| -> () { panic!("metric boom") })
                    .unwrap()
                    .join()
                    .is_err()
            );
        }
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let queued: Vec<_> = (0..4).map(|i| pool.submit(move || i).unwrap()).collect();
        for _ in 0..2 {
            assert_eq!(pool.submit(|| 0).unwrap_err(), SubmitError::Full);
        }
        assert!(matches!(
            queued[0].cancel(),
            workpool::CancelOutcome::Cancelled
        ));
        assert!(matches!(
            queued[1].cancel(),
            workpool::CancelOutcome::Cancelled
        ));
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        queued.into_iter().for_each(|h| {
            let _ = h.join();
        });
        pool.wait_idle();
        let m = pool.metrics();
        let started = 10 + 3 + 1 + 2;
        assert_eq!(m.submitted, 10 + 3 + 1 + 4, "{m:?}");
        assert_eq!(m.started, started, "{m:?}");
        assert_eq!(m.completed, 10 + 1 + 2, "{m:?}");
        assert_eq!(m.panicked, 3, "{m:?}");
        assert_eq!(m.cancelled, 2, "{m:?}");
        assert_eq!(m.rejected, 2, "{m:?}");
        assert_eq!(
            (m.dropped, m.unstarted, m.caller_ran, m.failed),
            (0, 0, 0, 0),
            "{m:?}"
        );
        assert_eq!(m.queue_wait.count, started, "{m:?}");
        assert_eq!(m.run_time.count, started, "{m:?}");
        assert_eq!((m.running, m.queued), (0, 0));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// The watchdog reports a named long task exactly once (hook and counter), while it runs.
#[test]
fn the_watchdog_reports_a_named_long_task_once() {
    within(|| {
        let name = "ft-watchdog";
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let pool = Arc::new(
            Pool::builder()
                .name(name)
                .workers(1)
                .stuck_after(Duration::from_millis(10))
                .on_stuck(move |t| s.lock().unwrap().push((t.name.clone(), t.worker)))
                .build()
                .unwrap(),
        );
        let (seen2, p) = (seen.clone(), pool.clone());
        let listed = pool
            .submit_with(TaskOptions::new().name("slowpoke"), move |_| {
                assert!(poll_until(SETTLE, || !seen2.lock().unwrap().is_empty()));
                let listed = p.stuck_tasks();
                // Keep running for many more watchdog periods: it must not report us again.
                thread::sleep(Duration::from_millis(60));
                listed
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name.as_deref(), Some("slowpoke"));
        // A short task is never reported.
        pool.submit(|| ()).unwrap().join().unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            vec![(Some("slowpoke".to_string()), 0)]
        );
        assert_eq!(pool.metrics().stuck, 1);
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A `TaskHandle` awaited under a minimal thread-parking executor.
#[test]
fn a_handle_is_a_future() {
    within(|| {
        let name = "ft-future";
        let pool = Pool::builder().name(name).workers(2).build().unwrap();
        assert_eq!(block_on(pool.submit(|| 40 + 2).unwrap()), Ok(42));
        // Pending first, then woken by the worker that completes it.
        let gate = Gate::new();
        let g = gate.clone();
        let slow = pool.submit(move || {
            g.wait();
            "late"
        });
        let opener = {
            let gate = gate.clone();
            thread::spawn(move || {
                gate.await_arrivals(1);
                thread::sleep(Duration::from_millis(20));
                gate.open();
            })
        };
        let a = pool.submit(|| 1).unwrap();
        let both = block_on(async move {
            let s = slow.unwrap().await;
            let a = a.await;
            (s, a)
        });
        assert_eq!(both, (Ok("late"), Ok(1)));
        opener.join().unwrap();
        let panicked = block_on(pool.submit(|| -> () { panic!("async boom") }).unwrap());
        assert_eq!(
            panicked,
            Err(workpool::TaskError::Panicked {
                message: "async boom".into()
            })
        );
        drop(pool);
        assert_no_threads_left(name);
    });
}
