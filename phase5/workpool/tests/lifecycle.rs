//! A task's life and the pool's: cancellation, shutdown reports checked against our own counts,
//! `Drop` joining every worker (also from inside one of the pool's own tasks), keep-alive reaping
//! and resizing measured on the OS's thread list.
mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use common::*;
use harness::ledger::DropLedger;
use workpool::{CancelOutcome, Overflow, Pool, Queue, SubmitError, TaskError, TaskOptions};

/// A queued task that is cancelled never starts, its closure is dropped at once (exactly once), and
/// its handle says `Cancelled`.
#[test]
fn cancelling_a_queued_task_means_it_never_starts() {
    within(|| {
        let name = "lc-cancelq";
        let pool = Pool::builder().name(name).workers(1).build().unwrap();
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let ledger = DropLedger::new(1);
        let tracked = ledger.element(0);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = pool
            .submit(move || {
                r.store(true, SeqCst);
                drop(tracked);
            })
            .unwrap();
        assert_eq!(queued.cancel(), CancelOutcome::Cancelled);
        assert_eq!(
            ledger.total(),
            1,
            "the cancelled closure is dropped by cancel"
        );
        assert_eq!(
            queued.cancel(),
            CancelOutcome::TooLate,
            "a second cancel changes nothing"
        );
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(queued.join(), Err(TaskError::Cancelled));
        pool.wait_idle();
        drop(pool);
        assert!(!ran.load(SeqCst), "a cancelled task ran");
        assert_eq!(ledger.wrong(), vec![]);
        assert_no_threads_left(name);
    });
}

/// Cancelling a running task signals it through its context; cancelling a finished one is too late.
#[test]
fn cancelling_a_running_task_signals_it_and_a_finished_one_is_too_late() {
    within(|| {
        let name = "lc-cancelr";
        let pool = Pool::builder().name(name).workers(1).build().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let running = pool
            .submit_with(TaskOptions::new(), move |ctx| {
                started_tx.send(()).unwrap();
                let mut polls = 0u64;
                while !ctx.is_cancelled() {
                    polls += 1;
                    thread::sleep(Duration::from_micros(200));
                }
                polls
            })
            .unwrap();
        started_rx.recv().unwrap();
        assert_eq!(running.cancel(), CancelOutcome::Signalled);
        assert!(
            running.join().is_ok(),
            "a signalled task runs to its own end"
        );

        let done = pool.submit(|| 5).unwrap();
        assert!(poll_until(SETTLE, || done.is_finished()));
        assert_eq!(done.cancel(), CancelOutcome::TooLate);
        assert_eq!(done.join(), Ok(5));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// `shutdown_now` with one task running (held at a gate), some completed, one panicked, one
/// cancelled and three queued: the report equals our own counts, the queued handles say
/// `ShutDown`, and a submit afterwards is refused with `ShutDown`.
#[test]
fn shutdown_now_reports_exactly_what_happened() {
    within(|| {
        let name = "lc-shutnow";
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .queue(Queue::Bounded(16))
            .build()
            .unwrap();
        let completed: Vec<_> = (0..4).map(|i| pool.submit(move || i).unwrap()).collect();
        for (i, h) in completed.into_iter().enumerate() {
            assert_eq!(h.join(), Ok(i));
        }
        let panicked = pool
            .submit(|| -> () { panic!("expected test panic") })
            .unwrap();
        assert!(matches!(panicked.join(), Err(TaskError::Panicked { .. })));
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let ran = Arc::new(AtomicUsize::new(0));
        let cancelled = {
            let ran = ran.clone();
            pool.submit(move || ran.fetch_add(1, SeqCst)).unwrap()
        };
        assert_eq!(cancelled.cancel(), CancelOutcome::Cancelled);
        let queued: Vec<_> = (0..3)
            .map(|_| {
                let ran = ran.clone();
                pool.submit(move || ran.fetch_add(1, SeqCst)).unwrap()
            })
            .collect();
        let report = pool.shutdown_now(Duration::from_millis(20));
        assert_eq!(pool.submit(|| 0).unwrap_err(), SubmitError::ShutDown);
        assert_eq!(pool.try_submit(|| 0).unwrap_err(), SubmitError::ShutDown);
        assert_eq!(pool.execute(|| ()).unwrap_err(), SubmitError::ShutDown);
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        for h in queued {
            assert_eq!(h.join(), Err(TaskError::ShutDown));
        }
        assert_eq!(cancelled.join(), Err(TaskError::Cancelled));
        drop(pool);
        assert_eq!(ran.load(SeqCst), 0, "a discarded or cancelled task ran");
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!(report.submitted, 4 + 1 + 1 + 1 + 3, "{report:?}");
        assert_eq!(report.completed, 4, "{report:?}");
        assert_eq!(report.panicked, 1, "{report:?}");
        assert_eq!(report.cancelled, 1, "{report:?}");
        assert_eq!(report.dropped, 0, "{report:?}");
        assert_eq!(report.unstarted, 3, "{report:?}");
        assert_eq!(report.still_running, 1, "{report:?}");
        assert_no_threads_left(name);
    });
}

/// `shutdown(timeout)` drains the queue when it can: every queued task runs, and the report says so.
#[test]
fn shutdown_drains_the_queue_within_its_timeout() {
    within(|| {
        let name = "lc-drain";
        let pool = Pool::builder()
            .name(name)
            .workers(2)
            .queue(Queue::Unbounded)
            .build()
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..50 {
            let ran = ran.clone();
            pool.execute(move || {
                thread::sleep(Duration::from_micros(200));
                ran.fetch_add(1, SeqCst);
            })
            .unwrap();
        }
        let report = pool.shutdown(Duration::from_secs(20));
        assert_eq!(
            ran.load(SeqCst),
            50,
            "shutdown returned before the queue drained"
        );
        assert_eq!(
            (
                report.submitted,
                report.completed,
                report.unstarted,
                report.still_running
            ),
            (50, 50, 0, 0),
            "{report:?}"
        );
        assert!(report.is_consistent());
        // Idempotent.
        assert_eq!(pool.shutdown(Duration::ZERO), report);
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// `shutdown(timeout)` whose timeout passes with the worker held: the queued tasks are discarded
/// (their handles say `ShutDown`), the held one is still running, the report counts both.
#[test]
fn shutdown_timeout_discards_what_it_could_not_run() {
    within(|| {
        let name = "lc-shuttmo";
        let pool = Pool::builder().name(name).workers(1).build().unwrap();
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let queued: Vec<_> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
        let report = pool.shutdown(Duration::from_millis(30));
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        for h in queued {
            assert_eq!(h.join(), Err(TaskError::ShutDown));
        }
        drop(pool);
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!(
            (
                report.submitted,
                report.completed,
                report.unstarted,
                report.still_running
            ),
            (6, 0, 5, 1),
            "{report:?}"
        );
        assert_no_threads_left(name);
    });
}

/// An output whose `Drop` waits at a gate: a detached task that returned one is still on its
/// worker (dropping the output) after it counted as completed.
struct SlowDrop(Gate);

impl Drop for SlowDrop {
    fn drop(&mut self) {
        self.0.wait();
    }
}

/// A task that has returned but whose worker has not yet finished with it (here: dropping the
/// detached output) is counted once in the shutdown report, not as both completed and running.
#[test]
fn shutdown_report_counts_a_task_finishing_during_shutdown_once() {
    within(|| {
        let name = "lc-finishing";
        let pool = Pool::builder().name(name).workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        drop(pool.submit(move || SlowDrop(g)).unwrap()); // detached: the worker drops the output
        gate.await_arrivals(1);
        let report = pool.shutdown_now(Duration::from_millis(20));
        gate.open();
        drop(pool);
        assert_eq!(report.submitted, 1, "{report:?}");
        assert!(
            report.is_consistent(),
            "one task counted twice (completed and still running): {report:?}"
        );
        assert_no_threads_left(name);
    });
}

/// Dropping the pool runs what is queued and joins every worker: what the tasks set is set when
/// `drop` returns, and so is what each worker's exit hook (the last thing a worker thread runs,
/// after it has left the pool's books) sets.
#[test]
fn drop_runs_the_queue_and_joins_every_worker() {
    within(|| {
        let name = "lc-dropjoin";
        let exited = Arc::new(AtomicUsize::new(0));
        let e = exited.clone();
        let pool = Pool::builder()
            .name(name)
            .workers(2)
            .queue(Queue::Unbounded)
            .on_thread_exit(move |_| {
                thread::sleep(Duration::from_millis(30));
                e.fetch_add(1, SeqCst);
            })
            .build()
            .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..6 {
            let done = done.clone();
            pool.execute(move || {
                thread::sleep(Duration::from_millis(30));
                done.fetch_add(1, SeqCst);
            })
            .unwrap();
        }
        drop(pool);
        assert_eq!(
            done.load(SeqCst),
            6,
            "drop returned before every task had run"
        );
        assert_eq!(
            exited.load(SeqCst),
            2,
            "drop returned before every worker had exited"
        );
        assert_eq!(pool_threads(name), 0, "drop returned with a worker alive");
    });
}

/// The last `Arc<Pool>` dropped inside one of the pool's own tasks: no deadlock, the task finishes,
/// and every thread of the pool exits.
#[test]
fn dropping_the_pool_from_its_own_task_does_not_deadlock() {
    within(|| {
        let name = "lc-selfdrop";
        let pool = Arc::new(
            Pool::builder()
                .name(name)
                .workers(2)
                .stuck_after(Duration::from_secs(60))
                .build()
                .unwrap(),
        );
        let gate = Gate::new();
        let (g, p) = (gate.clone(), pool.clone());
        let handle = pool
            .submit(move || {
                g.wait();
                drop(p); // the last clone: Pool::drop runs here, on a worker of the pool
                "dropped"
            })
            .unwrap();
        gate.await_arrivals(1);
        drop(pool);
        gate.open();
        assert_eq!(handle.join(), Ok("dropped"));
        assert_no_threads_left(name);
    });
}

/// Keep-alive reaping: min 1, max 4, 50 ms keep-alive; a burst raises the thread count above 1,
/// and once idle it falls back to exactly 1 (counted by thread name).
#[test]
fn idle_workers_above_the_minimum_are_reaped_after_keep_alive() {
    within(|| {
        let name = "lc-reap";
        let pool = Pool::builder()
            .name(name)
            .min_workers(1)
            .max_workers(4)
            .keep_alive(Duration::from_millis(50))
            .build()
            .unwrap();
        assert_eq!(pool_threads_until(name, |n| n == 1), 1);
        let gate = Gate::new();
        let held = gate.hold(&pool, 4);
        assert_eq!(
            pool_threads(name),
            4,
            "four tasks held at once need four workers"
        );
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(
            pool_threads_until(name, |n| n == 1),
            1,
            "idle workers above the minimum were not reaped"
        );
        // And it grows again on demand.
        let held = gate_again(&pool, 3);
        assert_eq!(pool_threads(name), 3);
        held.open();
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// Holds `n` workers on a fresh gate and returns the gate (the handles are detached).
fn gate_again(pool: &Pool, n: usize) -> Gate {
    let gate = Gate::new();
    drop(gate.hold(pool, n));
    gate
}

/// `resize` up starts workers for queued work; down lets the surplus exit (measured on threads).
#[test]
fn resize_up_and_down_changes_the_thread_count() {
    within(|| {
        let name = "lc-resize";
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .queue(Queue::Unbounded)
            .overflow(Overflow::Block)
            .build()
            .unwrap();
        let gate = Gate::new();
        let mut handles = gate.hold(&pool, 1);
        for _ in 0..3 {
            let g = gate.clone();
            handles.push(pool.submit(move || g.wait()).unwrap());
        }
        assert_eq!(
            gate.arrived(),
            1,
            "one worker: the other three wait in the queue"
        );
        pool.resize(4);
        gate.await_arrivals(4);
        assert_eq!(pool_threads(name), 4);
        gate.open();
        handles.into_iter().for_each(|h| h.join().unwrap());
        pool.resize(2);
        assert_eq!(
            pool_threads_until(name, |n| n == 2),
            2,
            "resize(2) left surplus threads"
        );
        pool.resize(1);
        assert_eq!(
            pool_threads_until(name, |n| n == 1),
            1,
            "resize(1) left surplus threads"
        );
        assert_eq!(pool.submit(|| 9).unwrap().join(), Ok(9));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A task nobody asked to stop reads `is_cancelled() == false` through its context (the cancel
/// flag is one bit beside the lifecycle: the running state alone must not read as a request).
#[test]
fn a_task_nobody_cancelled_is_not_told_to_stop() {
    within(|| {
        let name = "lc-notcanc";
        let pool = Pool::builder().name(name).workers(1).build().unwrap();
        let asked = pool
            .submit_with(TaskOptions::new(), |ctx| ctx.is_cancelled())
            .unwrap();
        assert_eq!(
            asked.join(),
            Ok(false),
            "an uncancelled task was told to stop"
        );
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A handle's `Debug` says where its task is: queued behind a held worker, abandoned once
/// cancelled, finished after it ran.
#[test]
fn a_handle_shows_where_its_task_is() {
    within(|| {
        let name = "lc-debug";
        let pool = Pool::builder().name(name).workers(1).build().unwrap();
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let queued = pool.submit(|| 1).unwrap();
        let shown_queued = format!("{queued:?}");
        let cancelled = queued.cancel();
        let shown_abandoned = format!("{queued:?}");
        // Let the worker go before any assert, so a failure cannot leave it held.
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        assert!(shown_queued.contains("state: Queued"), "{shown_queued}");
        assert_eq!(cancelled, CancelOutcome::Cancelled);
        assert!(
            shown_abandoned.contains("state: Abandoned"),
            "{shown_abandoned}"
        );
        let done = pool.submit(|| 2).unwrap();
        assert!(poll_until(SETTLE, || done.is_finished()));
        let shown = format!("{done:?}");
        assert!(shown.contains("state: Finished"), "{shown}");
        assert_eq!(done.join(), Ok(2));
        assert_eq!(queued.join(), Err(TaskError::Cancelled));
        drop(pool);
        assert_no_threads_left(name);
    });
}
