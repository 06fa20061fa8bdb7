//! The pool's contract: every job runs exactly once or is reported cancelled (never both), the
//! number of jobs in flight never exceeds the workers (measured by the jobs themselves, not only by
//! the pool), a panicking job loses nothing else, and no worker thread outlives cancel, shutdown or
//! drop.
#![cfg(not(loom))]
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase2::pool::{Outcome, Pool};

/// Miri's clock is virtual (it runs on while the interpreter crawls), hence the longer limit.
const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 30 });
/// Jobs per run in the bound test (and cuts in the once-or-cancelled test), shrunk under Miri.
const BOUND_JOBS: usize = if cfg!(miri) { 24 } else { 200 };
const CUTS: &[usize] = if cfg!(miri) {
    &[0, 5]
} else {
    &[0, 1, 3, 7, 15, 40]
};
const ONCE_JOBS: u64 = if cfg!(miri) { 12 } else { 60 };
const GRACE: Duration = Duration::from_secs(5);

#[test]
fn every_job_once_or_cancelled_never_both() {
    within(DEADLINE, || {
        // Cancel after a varying number of results, so the cut falls at different points.
        for &cut in CUTS {
            let jobs = ONCE_JOBS;
            let leak = ThreadLeakCheck::named("t-once");
            let runs: Arc<Vec<AtomicU32>> =
                Arc::new((0..jobs).map(|_| AtomicU32::new(0)).collect());
            let mut pool = Pool::new("t-once", 3, 16);
            let mut results = Vec::new();
            for i in 0..jobs {
                let runs = runs.clone();
                pool.submit(move |_| {
                    // Relaxed: read after the workers are joined.
                    runs[i as usize].fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_micros(300));
                    i
                })
                .expect("open");
                if i as usize == cut {
                    pool.cancel();
                }
            }
            while results.len() < cut.min(jobs as usize) {
                results.push(pool.recv().expect("alive"));
            }
            results.extend(pool.shutdown());
            assert_eq!(
                results.len(),
                jobs as usize,
                "one result per job (cut {cut})"
            );
            let mut seen = vec![0; jobs as usize];
            let mut cancelled = 0;
            for r in &results {
                seen[r.id as usize] += 1;
                // Relaxed: the workers were joined by `shutdown`.
                let ran = runs[r.id as usize].load(Ordering::Relaxed);
                match r.outcome {
                    Outcome::Done(v) => assert!(v == r.id && ran == 1, "job {} ran {ran}×", r.id),
                    Outcome::Cancelled => {
                        cancelled += 1;
                        assert_eq!(ran, 0, "cancelled job {} ran", r.id)
                    }
                    Outcome::Panicked(ref m) => panic!("unexpected panic {m}"),
                }
            }
            assert!(
                seen.iter().all(|&n| n == 1),
                "an id reported twice or never (cut {cut})"
            );
            assert!(
                cancelled > 0,
                "cancelling with jobs queued cancels some (cut {cut})"
            );
            leak.assert_no_leak(GRACE);
        }
    });
}

#[test]
fn in_flight_never_exceeds_the_workers() {
    within(DEADLINE, || {
        for workers in [1usize, 2, 3, 4] {
            // Measured independently of the pool's own gauge: each job counts itself in and out.
            let now = Arc::new(AtomicUsize::new(0));
            let max = Arc::new(AtomicUsize::new(0));
            let mut pool = Pool::new("t-bound", workers, 4);
            for _ in 0..BOUND_JOBS {
                let (now, max) = (now.clone(), max.clone());
                pool.submit(move |_| {
                    // SeqCst: the in/out counter must be one total order across workers.
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_micros(100));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
                .expect("open");
            }
            let pool_max = pool.max_in_flight();
            let results = {
                let mut r = Vec::new();
                while r.len() < BOUND_JOBS {
                    r.push(pool.recv().expect("alive"));
                }
                r
            };
            let pool_max = pool_max.max(pool.max_in_flight());
            drop(pool);
            assert_eq!(results.len(), BOUND_JOBS);
            let seen = max.load(Ordering::SeqCst);
            assert!(
                seen <= workers,
                "{seen} jobs in flight with {workers} workers"
            );
            assert!(
                pool_max <= workers,
                "the pool's gauge says {pool_max} > {workers}"
            );
            // Whether two jobs overlap under Miri's scheduler (one interpreted thread at a time,
            // sleeps skipped by its virtual clock) says nothing about the pool, so not there.
            if workers > 1 && !cfg!(miri) {
                // The bound is also reached: the pool does run jobs concurrently.
                assert!(seen >= 2, "{workers} workers never overlapped");
            }
        }
    });
}

#[test]
fn a_panicking_job_loses_nothing_else() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("t-panic");
        let mut pool = Pool::new("t-panic", 2, 8);
        for i in 0..50u64 {
            pool.submit(move |_| {
                if i % 10 == 3 {
                    // resume_unwind skips the panic hook: a panic without noise in the test output.
                    std::panic::resume_unwind(Box::new(format!("job {i} failed")));
                }
                i * 2
            })
            .expect("open");
        }
        let mut results = pool.shutdown();
        results.sort_by_key(|r| r.id);
        assert_eq!(results.len(), 50);
        for r in results {
            match r.outcome {
                Outcome::Panicked(m) => {
                    assert_eq!(r.id % 10, 3);
                    assert_eq!(m, format!("job {} failed", r.id));
                }
                Outcome::Done(v) => assert_eq!(v, r.id * 2),
                Outcome::Cancelled => panic!("nothing was cancelled"),
            }
        }
        leak.assert_no_leak(GRACE);
    });
}

#[test]
fn running_jobs_observe_the_token_and_no_thread_is_left() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("t-stop");
        let mut pool = Pool::new("t-stop", 2, 4);
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            let started = started.clone();
            pool.submit(move |token| {
                // SeqCst: a plain counter the test polls.
                started.fetch_add(1, Ordering::SeqCst);
                // Would run forever without the token.
                while !token.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                "stopped"
            })
            .expect("open");
        }
        while started.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        pool.cancel();
        let results = pool.shutdown();
        let stopped = results
            .iter()
            .filter(|r| r.outcome == Outcome::Done("stopped"))
            .count();
        let cancelled = results.iter().filter(|r| r.outcome.is_cancelled()).count();
        assert_eq!((stopped, cancelled), (2, 2));
        leak.assert_no_leak(GRACE);
    });
}

/// Counts the exit of a worker thread: dropped with the thread's locals, which happens on that
/// thread before it ends (and so before a join of it returns).
struct CountsExit(Arc<AtomicUsize>);

impl Drop for CountsExit {
    fn drop(&mut self) {
        // SeqCst: a plain counter, read after the pool is dropped.
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<CountsExit>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn dropping_the_pool_joins_its_workers() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("t-drop");
        let jobs = 12usize;
        // Counted by the jobs themselves, not by the pool or /proc: jobs finished, and worker
        // threads that ran a job (`entered`) and then reached their end (`exited`).
        let done = Arc::new(AtomicUsize::new(0));
        let entered = Arc::new(AtomicUsize::new(0));
        let exited = Arc::new(AtomicUsize::new(0));
        let mut pool = Pool::new("t-drop", 3, 2);
        for _ in 0..jobs {
            let (done, entered, exited) = (done.clone(), entered.clone(), exited.clone());
            pool.submit(move |_| {
                ON_EXIT.with(|slot| {
                    let mut slot = slot.borrow_mut();
                    if slot.is_none() {
                        // SeqCst: plain counters (see `CountsExit`).
                        entered.fetch_add(1, Ordering::SeqCst);
                        *slot = Some(CountsExit(exited));
                    }
                });
                // Slow enough that a Drop which only closed the queue would return first.
                std::thread::sleep(Duration::from_millis(2));
                done.fetch_add(1, Ordering::SeqCst);
            })
            .expect("open");
        }
        drop(pool);
        // A Drop that detached its workers would return with jobs still running and threads alive:
        // checked at once, without the grace period the leak check allows.
        assert_eq!(done.load(Ordering::SeqCst), jobs, "every job finished");
        let entered = entered.load(Ordering::SeqCst);
        assert!(entered >= 1);
        assert_eq!(
            exited.load(Ordering::SeqCst),
            entered,
            "every worker thread that ran a job had ended when drop returned"
        );
        leak.assert_no_leak(GRACE);
    });
}

/// The pool's own gauge counts the job that runs: one worker, one job, and `max_in_flight` is
/// exactly 1 (the result is handed over after the gauge was raised, so `recv` sees it).
#[test]
fn the_pool_gauge_counts_a_running_job() {
    within(DEADLINE, || {
        let mut pool = Pool::new("t-gauge", 1, 4);
        pool.submit(|_| ()).expect("open");
        assert!(pool.recv().is_some());
        assert_eq!(pool.max_in_flight(), 1);
    });
}

/// Waits (1 ms polls) until `flag` is up or `limit` has passed; says whether it came up. A bounded
/// gate for jobs, so a failing test never leaves a worker blocked for good.
fn wait_for(flag: &AtomicBool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    // Acquire: pairs with the test's Release store; nothing else is read on its account.
    while !flag.load(Ordering::Acquire) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// A worker holding slow jobs hands over the results it keeps before its batch ends (the early
/// flush once the oldest kept result has waited `FLUSH_AFTER`, 100 µs). Asserted as an order, not a
/// time: one worker takes jobs 0, 1, 2 as one batch; 1 sleeps 10 ms (far past `FLUSH_AFTER`); 2
/// blocks on a gate that the test opens only after it has received the results of 0 and 1. Without
/// the early flush those results wait for the batch's end, i.e. for 2, i.e. for the gate: the test
/// then sees no result within 10 s and fails (opening the gate first, so nothing hangs).
#[test]
fn a_slow_batch_hands_over_its_finished_results_before_it_ends() {
    within(DEADLINE, || {
        const WAIT: Duration = Duration::from_secs(10);
        let mut pool = Pool::new("t-flush", 1, 8);
        // A first job holds the only worker until jobs 0..=2 are queued, so it takes them together.
        let (started, go, gate) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (s, g) = (started.clone(), go.clone());
        let holder = pool
            .submit(move |_| {
                s.store(true, Ordering::Release);
                assert!(wait_for(&g, WAIT), "the test never queued the batch");
                u64::MAX
            })
            .expect("open");
        assert!(wait_for(&started, WAIT), "the holder never started");
        let first = pool.submit(|_| 0).expect("open");
        let slow = pool
            .submit(|_| {
                std::thread::sleep(Duration::from_millis(10));
                1
            })
            .expect("open");
        let gt = gate.clone();
        let gated = pool
            .submit(move |_| {
                // Twice the test's wait: the test opens the gate first, pass or fail.
                assert!(wait_for(&gt, 2 * WAIT), "the gate was never opened");
                2
            })
            .expect("open");
        go.store(true, Ordering::Release);
        let holder_result = pool.recv_timeout(WAIT).map(|r| r.id);
        // Stop at the first result missing, so the gated job is let go well before its own limit.
        let mut before_gate = Vec::new();
        while before_gate.len() < 2 {
            match pool.recv_timeout(WAIT) {
                Some(r) => before_gate.push(r.id),
                None => break,
            }
        }
        gate.store(true, Ordering::Release); // Before any assert: a failure must not hang the pool.
        assert_eq!(holder_result, Some(holder));
        assert_eq!(
            before_gate,
            [first, slow],
            "the finished results of a batch waited for its last (gated) job"
        );
        let last = pool.recv_timeout(WAIT).expect("the gated job's result");
        assert_eq!(last.id, gated);
        assert!(matches!(last.outcome, Outcome::Done(2)));
        assert!(pool.shutdown().is_empty());
    });
}

/// The pool's snapshots, each against a count the test knows: with the only worker held by a
/// first job, three more are `queued()` and four `submitted()`; once all four results are in,
/// nothing is queued and `started()` counts the four closures called; `token()` is the pool's own
/// token (cancelled by `cancel`, not a fresh one).
#[test]
fn the_pools_snapshots_count_what_the_test_did() {
    within(DEADLINE, || {
        const WAIT: Duration = Duration::from_secs(10);
        let mut pool = Pool::new("t-snaps", 1, 8);
        let (started, go) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (s, g) = (started.clone(), go.clone());
        pool.submit(move |_| {
            s.store(true, Ordering::Release);
            wait_for(&g, 2 * WAIT)
        })
        .expect("open");
        let held = wait_for(&started, WAIT);
        for _ in 0..3 {
            pool.submit(|_| true).expect("open");
        }
        let (queued_while_held, submitted) = (pool.queued(), pool.submitted());
        go.store(true, Ordering::Release); // Before any assert: a failure must not hang the pool.
        assert!(held, "the first job never started");
        assert_eq!(queued_while_held, 3, "jobs behind the held worker");
        assert_eq!(submitted, 4);
        let results: Vec<_> = (0..4).map_while(|_| pool.recv_timeout(WAIT)).collect();
        assert_eq!(results.len(), 4, "{results:?}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Done(true)))
        );
        assert_eq!(pool.queued(), 0);
        assert_eq!(pool.started(), 4, "closures called");
        assert!(!pool.token().is_cancelled());
        pool.cancel();
        assert!(
            pool.token().is_cancelled(),
            "token() is not the pool's token"
        );
        assert!(pool.shutdown().is_empty());
    });
}

/// The pool's gauge reaches the number of workers when that many jobs do run at once: two workers,
/// two jobs that each wait (at most 10 s) until both have started, so they overlap by construction;
/// `max_in_flight()` is then exactly 2.
#[test]
fn the_pool_gauge_reaches_two_when_two_jobs_overlap() {
    within(DEADLINE, || {
        const WAIT: Duration = Duration::from_secs(10);
        let mut pool = Pool::new("t-gauge2", 2, 4);
        let in_job = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let in_job = in_job.clone();
            pool.submit(move |_| {
                // SeqCst: a two-party rendezvous on one counter.
                in_job.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + WAIT;
                while in_job.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                in_job.load(Ordering::SeqCst) == 2
            })
            .expect("open");
        }
        let results: Vec<_> = (0..2).map_while(|_| pool.recv_timeout(2 * WAIT)).collect();
        assert_eq!(results.len(), 2, "{results:?}");
        assert!(
            results.iter().all(|r| r.outcome == Outcome::Done(true)),
            "the two jobs never ran at once: {results:?}"
        );
        assert_eq!(pool.max_in_flight(), 2);
        assert!(pool.shutdown().is_empty());
    });
}
