//! Admission: exactly-once execution under every overflow policy, the measured concurrency bound,
//! the queue bound per policy (with every worker held at a gate), hand-off queues, deadline-aware
//! admission, and a worker submitting to its own full pool.
mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use harness::ledger::DropLedger;
use workpool::{Overflow, Pool, Priority, Queue, SubmitError, TaskError, TaskOptions};

const POLICIES: [Overflow; 5] = [
    Overflow::Block,
    Overflow::Reject,
    Overflow::CallerRuns,
    Overflow::DropOldest,
    Overflow::Timeout(Duration::from_millis(1)),
];

/// Every task runs exactly once or its submit / handle says why, from four submitter threads, under
/// each policy; every closure (and what it captured) is dropped exactly once, run or not.
#[test]
fn every_task_runs_exactly_once_or_says_why_under_every_policy() {
    for (p, policy) in POLICIES.into_iter().enumerate() {
        within(move || {
            let name = format!("adm-once{p}");
            const SUBMITTERS: usize = 4;
            const PER: usize = 60;
            const N: usize = SUBMITTERS * PER;
            let pool = Arc::new(
                Pool::builder()
                    .name(name.clone())
                    .workers(2)
                    .queue(Queue::Bounded(3))
                    .overflow(policy)
                    .build()
                    .unwrap(),
            );
            let runs: Arc<Vec<AtomicUsize>> =
                Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
            let ledger = DropLedger::new(N);
            let submitters: Vec<_> = (0..SUBMITTERS)
                .map(|s| {
                    let (pool, runs, ledger) = (pool.clone(), runs.clone(), ledger.clone());
                    thread::spawn(move || {
                        let mut outcomes = Vec::new();
                        for i in 0..PER {
                            let id = s * PER + i;
                            let tracked = ledger.element(id);
                            let runs = runs.clone();
                            let submitted = pool.submit(move || {
                                runs[tracked.id].fetch_add(1, SeqCst);
                                // A little work, so the queue fills and the policy acts.
                                let end = Instant::now() + Duration::from_micros(50);
                                while Instant::now() < end {
                                    std::hint::spin_loop();
                                }
                                tracked.id
                            });
                            outcomes.push((id, submitted));
                        }
                        outcomes
                            .into_iter()
                            .map(|(id, s)| (id, s.map(|h| h.join())))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let outcomes: Vec<_> = submitters
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            drop(pool);
            assert_no_threads_left(&name);
            assert_eq!(outcomes.len(), N);
            for (id, outcome) in outcomes {
                let ran = runs[id].load(SeqCst);
                match outcome {
                    Ok(Ok(v)) => {
                        assert_eq!(v, id);
                        assert_eq!(ran, 1, "{policy:?}: task {id} returned but ran {ran} times");
                    }
                    Ok(Err(TaskError::Dropped)) if policy == Overflow::DropOldest => {
                        assert_eq!(ran, 0, "{policy:?}: dropped task {id} ran")
                    }
                    Err(SubmitError::Full) if policy == Overflow::Reject => {
                        assert_eq!(ran, 0, "{policy:?}: refused task {id} ran")
                    }
                    Err(SubmitError::TimedOut) if matches!(policy, Overflow::Timeout(_)) => {
                        assert_eq!(ran, 0, "{policy:?}: timed-out task {id} ran")
                    }
                    other => panic!("{policy:?}: task {id}: unexpected outcome {other:?}"),
                }
            }
            assert_eq!(
                ledger.wrong(),
                vec![],
                "{policy:?}: closures not dropped exactly once"
            );
        });
    }
}

/// The number of tasks running at once, measured inside the tasks, never exceeds the maximum and
/// reaches it — for a fixed and for an elastic pool.
#[test]
fn in_flight_never_exceeds_max_workers_and_reaches_it() {
    for (name, min) in [("adm-flight-f", 3), ("adm-flight-e", 0)] {
        within(move || {
            let pool = Pool::builder()
                .name(name)
                .min_workers(min)
                .max_workers(3)
                .queue(Queue::Unbounded)
                .build()
                .unwrap();
            let flight = InFlight::default();
            let handles: Vec<_> = (0..30)
                .map(|_| {
                    let f = flight.clone();
                    pool.submit(move || {
                        f.enter();
                        // Stay until three run at once (or a while has passed), so the peak is
                        // reached if the pool allows it, and exceeded if it allows more.
                        poll_until(Duration::from_millis(300), || f.peak() >= 3);
                        thread::sleep(Duration::from_millis(1));
                        f.exit();
                    })
                    .unwrap()
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(flight.peak(), 3, "{name}: measured peak concurrency");
            drop(pool);
            assert_no_threads_left(name);
        });
    }
}

/// Builds a pool of `workers` workers all held at `gate`, with a queue of `cap`.
fn held_pool(name: &str, workers: usize, cap: usize, policy: Overflow) -> (Arc<Pool>, Gate) {
    let pool = Arc::new(
        Pool::builder()
            .name(name)
            .workers(workers)
            .queue(Queue::Bounded(cap))
            .overflow(policy)
            .build()
            .unwrap(),
    );
    let gate = Gate::new();
    // The gate handles are detached: the tasks finish when the gate opens.
    drop(gate.hold(&pool, workers));
    (pool, gate)
}

/// With every worker held, a queue of 3 admits exactly 3; what the fourth submit does is the
/// policy's (Reject: Full; Timeout: TimedOut; try_submit: Full whatever the policy).
#[test]
fn queue_bound_is_exact_for_reject_timeout_and_try_submit() {
    within(|| {
        for (i, policy) in POLICIES.into_iter().enumerate() {
            let name = format!("adm-bound{i}");
            let (pool, gate) = held_pool(&name, 2, 3, policy);
            let ran = Arc::new(AtomicUsize::new(0));
            let task = || {
                let ran = ran.clone();
                move || {
                    ran.fetch_add(1, SeqCst);
                }
            };
            let queued: Vec<_> = (0..3).map(|_| pool.submit(task()).unwrap()).collect();
            match pool.try_submit(task()) {
                Err(SubmitError::Full) => {}
                other => panic!("{policy:?}: try_submit on a full queue: {other:?}"),
            }
            match policy {
                Overflow::Reject => {
                    assert_eq!(pool.submit(task()).unwrap_err(), SubmitError::Full)
                }
                Overflow::Timeout(_) => {
                    assert_eq!(pool.submit(task()).unwrap_err(), SubmitError::TimedOut)
                }
                _ => {}
            }
            assert_eq!(
                pool.submit_timeout(Duration::from_millis(1), task())
                    .unwrap_err(),
                SubmitError::TimedOut
            );
            assert_eq!(
                ran.load(SeqCst),
                0,
                "{policy:?}: nothing runs while the gate is shut"
            );
            gate.open();
            for h in queued {
                h.join().unwrap();
            }
            drop(pool);
            assert_eq!(
                ran.load(SeqCst),
                3,
                "{policy:?}: exactly the admitted tasks ran"
            );
            assert_no_threads_left(&name);
        }
    });
}

/// From another thread, submits a task returning `value` to `pool`, whose queue is full under
/// `Block`, and raises `returned` once that submit returns; checks 50 ms later that it has not.
fn submit_blocked(
    pool: &Arc<Pool>,
    returned: &Arc<AtomicBool>,
    value: i32,
) -> thread::JoinHandle<Result<i32, TaskError>> {
    let submitter = {
        let (pool, returned) = (pool.clone(), returned.clone());
        thread::spawn(move || {
            let h = pool.submit(move || value);
            returned.store(true, SeqCst);
            h.unwrap().join()
        })
    };
    thread::sleep(Duration::from_millis(50));
    assert!(
        !returned.load(SeqCst),
        "Block returned while the queue was full"
    );
    submitter
}

/// `Block`: the submit does not return while the queue is full, and returns (admitted) once a
/// worker frees a slot.
#[test]
fn block_blocks_until_a_slot_frees() {
    within(|| {
        let name = "adm-block";
        let (pool, gate) = held_pool(name, 1, 1, Overflow::Block);
        let first = pool.submit(|| 1).unwrap();
        let returned = Arc::new(AtomicBool::new(false));
        let submitter = submit_blocked(&pool, &returned, 2);
        gate.open();
        assert_eq!(submitter.join().unwrap(), Ok(2));
        assert_eq!(first.join(), Ok(1));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A submitter blocked on a full queue is admitted once there is room even when the room comes in
/// steps too small to wake it (workers wake blocked submitters only once half the bound is free).
/// Here the one worker takes the whole queue of 8 as one batch, which frees a single slot, and the
/// first task of that batch waits for the blocked submit to return: the submitter must find the slot
/// by itself. One that slept until woken would leave that task to wait out its 10 s.
#[test]
fn a_blocked_submitter_finds_room_that_came_in_small_steps() {
    within(|| {
        let name = "adm-steps";
        let (pool, gate) = held_pool(name, 1, 8, Overflow::Block);
        let returned = Arc::new(AtomicBool::new(false));
        let waiter = {
            let returned = returned.clone();
            pool.submit(move || poll_until(SETTLE, || returned.load(SeqCst)))
                .unwrap()
        };
        let rest: Vec<_> = (0..7).map(|i| pool.submit(move || i).unwrap()).collect();
        let submitter = submit_blocked(&pool, &returned, 99);
        gate.open();
        assert_eq!(
            waiter.join(),
            Ok(true),
            "the blocked submitter was not admitted while its slot was free"
        );
        assert_eq!(submitter.join().unwrap(), Ok(99));
        for (i, h) in rest.into_iter().enumerate() {
            assert_eq!(h.join(), Ok(i));
        }
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// `Timeout(d)`: the refused submit waited at least `d` (compared with the clock of this test, not
/// with an absolute bound on how long it took).
#[test]
fn timeout_waits_at_least_d_then_times_out() {
    within(|| {
        let name = "adm-timeout";
        let d = Duration::from_millis(40);
        let (pool, gate) = held_pool(name, 1, 1, Overflow::Timeout(d));
        let first = pool.submit(|| 1).unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let t0 = Instant::now();
        let refused = pool.submit(move || r.store(true, SeqCst));
        let waited = t0.elapsed();
        assert_eq!(refused.unwrap_err(), SubmitError::TimedOut);
        assert!(
            waited >= d,
            "gave up after {waited:?}, before the {d:?} timeout"
        );
        gate.open();
        assert_eq!(first.join(), Ok(1));
        drop(pool);
        assert!(!ran.load(SeqCst), "a timed-out task ran");
        assert_no_threads_left(name);
    });
}

/// `CallerRuns`: with the queue full the task runs on the submitting thread, before submit returns.
#[test]
fn caller_runs_runs_on_the_callers_thread() {
    within(|| {
        let name = "adm-caller";
        let (pool, gate) = held_pool(name, 1, 1, Overflow::CallerRuns);
        let queued = pool.submit(current_thread_name).unwrap();
        let me = thread::current().id();
        let ran_on = Arc::new(Mutex::new(None));
        let r = ran_on.clone();
        let h = pool
            .submit(move || *r.lock().unwrap() = Some(thread::current().id()))
            .unwrap();
        assert_eq!(
            *ran_on.lock().unwrap(),
            Some(me),
            "did not run on the caller before submit returned"
        );
        assert_eq!(h.join(), Ok(()));
        gate.open();
        assert!(
            queued.join().unwrap().starts_with("adm-caller-"),
            "the queued one runs on a worker"
        );
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// `DropOldest` evicts the oldest task of the lowest non-empty lane; its handle says `Dropped`,
/// it never runs, and everything else runs.
#[test]
fn drop_oldest_evicts_the_oldest_of_the_lowest_lane() {
    within(|| {
        let name = "adm-dropold";
        let (pool, gate) = held_pool(name, 1, 4, Overflow::DropOldest);
        let ran = Arc::new(Mutex::new(Vec::new()));
        let submit = |label: &'static str, p: Priority| {
            let ran = ran.clone();
            pool.submit_with(TaskOptions::new().priority(p), move |_| {
                ran.lock().unwrap().push(label);
                label
            })
            .unwrap()
        };
        let high = submit("high", Priority::High);
        let low1 = submit("low1", Priority::Low);
        let normal = submit("normal", Priority::Normal);
        let low2 = submit("low2", Priority::Low);
        let newest = submit("newest", Priority::Normal); // evicts low1
        assert!(low1.is_finished(), "the evicted handle is complete at once");
        gate.open();
        assert_eq!(low1.join(), Err(TaskError::Dropped));
        for (h, want) in [
            (high, "high"),
            (normal, "normal"),
            (low2, "low2"),
            (newest, "newest"),
        ] {
            assert_eq!(h.join(), Ok(want));
        }
        drop(pool);
        let mut ran = ran.lock().unwrap().clone();
        ran.sort();
        assert_eq!(ran, ["high", "low2", "newest", "normal"]);
        assert_no_threads_left(name);
    });
}

/// A hand-off queue (`Bounded(0)`): admitted only when a worker will take the task.
#[test]
fn handoff_queue_admits_only_to_a_free_worker() {
    within(|| {
        let name = "adm-handoff";
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .queue(Queue::Bounded(0))
            .overflow(Overflow::Reject)
            .build()
            .unwrap();
        // Wait for the worker to be up and idle (the gauge is used to synchronise, not as an oracle).
        assert!(poll_until(SETTLE, || pool.metrics().idle == 1));
        assert_eq!(pool.submit(|| 1).unwrap().join(), Ok(1));
        assert!(poll_until(SETTLE, || pool.metrics().idle == 1));
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        assert_eq!(pool.submit(|| 2).unwrap_err(), SubmitError::Full);
        assert_eq!(pool.try_submit(|| 2).unwrap_err(), SubmitError::Full);
        gate.open();
        for h in held {
            h.join().unwrap();
        }
        // The worker is free again: admitted (it may take a moment to get back to waiting).
        let mut admitted = None;
        assert!(poll_until(SETTLE, || {
            admitted = pool.submit(|| 3).ok();
            admitted.is_some()
        }));
        assert_eq!(admitted.unwrap().join(), Ok(3));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A hand-off queue under `Block`: a submit made while the only worker is busy waits, and is
/// admitted when that worker is free again (the worker becoming idle is the "room").
#[test]
fn handoff_queue_block_admits_when_the_worker_frees() {
    within(|| {
        let name = "adm-handblk";
        let pool = Arc::new(
            Pool::builder()
                .name(name)
                .workers(1)
                .queue(Queue::Bounded(0))
                .overflow(Overflow::Block)
                .build()
                .unwrap(),
        );
        assert!(poll_until(SETTLE, || pool.metrics().idle == 1));
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        let submitter = thread::spawn(move || {
            let out = p.submit(|| 2).map(|h| h.join());
            tx.send(()).unwrap();
            out
        });
        thread::sleep(Duration::from_millis(30));
        assert!(
            rx.try_recv().is_err(),
            "Block returned while the only worker was busy"
        );
        gate.open();
        for h in held {
            h.join().unwrap();
        }
        // The worker is idle now: the blocked submit must be admitted. A lost wake-up shows as
        // this wait timing out.
        let woke = rx.recv_timeout(Duration::from_secs(5));
        if woke.is_err() {
            // Unblock the submitter so the test ends (resize notifies the room condvar).
            pool.resize(1);
        }
        assert!(
            woke.is_ok(),
            "the blocked submit was not admitted after the worker went idle"
        );
        assert_eq!(submitter.join().unwrap(), Ok(Ok(2)));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// Deadline-aware admission: with the one worker held and work queued, a deadline shorter than the
/// predicted wait is refused at once; a generous one is admitted.
#[test]
fn submit_before_refuses_an_unmeetable_deadline_and_admits_a_generous_one() {
    within(|| {
        let name = "adm-deadline";
        let pool = Pool::builder()
            .name(name)
            .workers(1)
            .queue(Queue::Unbounded)
            .build()
            .unwrap();
        // Teach the pool a mean run time of at least 20 ms.
        for _ in 0..4 {
            pool.submit(|| thread::sleep(Duration::from_millis(20)))
                .unwrap()
                .join()
                .unwrap();
        }
        let gate = Gate::new();
        let held = gate.hold(&pool, 1);
        let queued: Vec<_> = (0..3)
            .map(|_| {
                pool.submit(|| thread::sleep(Duration::from_millis(20)))
                    .unwrap()
            })
            .collect();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        match pool.submit_before(Instant::now() + Duration::from_millis(1), move || {
            r.store(true, SeqCst)
        }) {
            Err(SubmitError::DeadlineUnmeetable {
                predicted_wait,
                time_left,
            }) => assert!(predicted_wait > time_left),
            other => panic!("a 1 ms deadline behind 4 tasks of 20 ms was admitted: {other:?}"),
        }
        let generous = pool
            .submit_before(Instant::now() + Duration::from_secs(60), || "in time")
            .expect("a 60 s deadline is meetable");
        gate.open();
        for h in held.into_iter() {
            h.join().unwrap();
        }
        for h in queued {
            h.join().unwrap();
        }
        assert_eq!(generous.join(), Ok("in time"));
        drop(pool);
        assert!(!ran.load(SeqCst), "the refused task ran");
        assert_no_threads_left(name);
    });
}

/// A task that submits to its own full pool under `Block` does not deadlock: the inner task runs
/// inline, on the worker's thread (the documented behaviour).
#[test]
fn a_worker_submitting_to_its_own_full_pool_runs_the_task_inline() {
    within(|| {
        let name = "adm-selfsub";
        let pool = Arc::new(
            Pool::builder()
                .name(name)
                .workers(1)
                .queue(Queue::Bounded(1))
                .overflow(Overflow::Block)
                .build()
                .unwrap(),
        );
        let p = pool.clone();
        let outer = pool
            .submit(move || {
                let filler = p.submit(current_thread_name).unwrap(); // fills the queue
                let inner = p.submit(current_thread_name).unwrap(); // full: runs here
                let inner_ran_on = inner.join().unwrap();
                (current_thread_name(), inner_ran_on, filler)
            })
            .unwrap();
        let (outer_on, inner_on, filler) = outer.join().unwrap();
        assert!(outer_on.starts_with("adm-selfsub-"), "{outer_on}");
        assert_eq!(
            inner_on, outer_on,
            "the inner task ran on the submitting worker"
        );
        assert!(filler.join().unwrap().starts_with("adm-selfsub-"));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A freshly built hand-off pool admits a task submitted at once: its workers are being started
/// and will take it (the crate's own `try_submit` example relies on this).
#[test]
fn a_fresh_handoff_pool_admits_its_first_task() {
    within(|| {
        let name = "adm-fresh";
        for round in 0..20 {
            let pool = Pool::builder()
                .name(name)
                .workers(1)
                .queue(Queue::Bounded(0))
                .overflow(Overflow::Reject)
                .build()
                .unwrap();
            let first = pool.submit(move || round);
            assert_eq!(
                first.map(|h| h.join()),
                Ok(Ok(round)),
                "round {round}: the first task of a new hand-off pool was refused"
            );
            drop(pool);
            assert_no_threads_left(name);
        }
    });
}

/// `Block` with a queue of 1 whose only entry is cancelled: once the worker has passed the dead
/// entry and gone idle there is room, and the blocked submit must be admitted.
#[test]
fn block_is_admitted_once_a_cancelled_entry_is_passed() {
    within(|| {
        let name = "adm-blkcanc";
        let (pool, gate) = held_pool(name, 1, 1, Overflow::Block);
        let cancelled = pool.submit(|| 1).unwrap();
        let (tx, rx) = mpsc::channel();
        let p = pool.clone();
        let submitter = thread::spawn(move || {
            let out = p.submit(|| 2).map(|h| h.join());
            let _ = tx.send(());
            out
        });
        thread::sleep(Duration::from_millis(20));
        assert_eq!(cancelled.cancel(), workpool::CancelOutcome::Cancelled);
        gate.open();
        let woke = rx.recv_timeout(Duration::from_secs(5));
        if woke.is_err() {
            pool.resize(1); // notifies the room condvar, so the test ends either way
        }
        assert!(
            woke.is_ok(),
            "the blocked submit was not admitted after the queue emptied"
        );
        assert_eq!(submitter.join().unwrap(), Ok(Ok(2)));
        assert_eq!(cancelled.join(), Err(TaskError::Cancelled));
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// `DropOldest` on a queue full of cancelled entries: removing them makes room, so the new task is
/// admitted rather than refused with `Full`.
#[test]
fn drop_oldest_admits_when_the_queue_holds_only_cancelled_entries() {
    within(|| {
        let name = "adm-dropcan";
        let (pool, gate) = held_pool(name, 1, 2, Overflow::DropOldest);
        let a = pool.submit(|| 1).unwrap();
        let b = pool.submit(|| 2).unwrap();
        assert_eq!(a.cancel(), workpool::CancelOutcome::Cancelled);
        assert_eq!(b.cancel(), workpool::CancelOutcome::Cancelled);
        let c = pool.submit(|| 3);
        gate.open();
        assert_eq!(a.join(), Err(TaskError::Cancelled));
        assert_eq!(b.join(), Err(TaskError::Cancelled));
        assert_eq!(
            c.map(|h| h.join()),
            Ok(Ok(3)),
            "refused although the queue held only cancelled tasks"
        );
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// Two tasks submitted to two idle workers run at the same time: each waits (boundedly) for the
/// other to start. A worker that took both into a private batch would run them one after the
/// other, and each would give up waiting.
#[test]
fn tasks_submitted_to_idle_workers_run_concurrently() {
    within(|| {
        let name = "adm-rendez";
        let pool = Pool::builder()
            .name(name)
            .workers(2)
            .queue(Queue::Unbounded)
            .build()
            .unwrap();
        for round in 0..20 {
            assert!(poll_until(SETTLE, || pool.metrics().idle == 2));
            let started = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let started = started.clone();
                    pool.submit(move || {
                        started.fetch_add(1, SeqCst);
                        poll_until(Duration::from_secs(2), || started.load(SeqCst) == 2)
                    })
                    .unwrap()
                })
                .collect();
            for h in handles {
                assert_eq!(
                    h.join(),
                    Ok(true),
                    "round {round}: the two tasks did not overlap"
                );
            }
        }
        drop(pool);
        assert_no_threads_left(name);
    });
}

/// A queued task is not stranded behind a long-running one while another worker is free: the first
/// task waits (boundedly) for the second to start; with two workers the second must start.
#[test]
fn a_queued_task_is_not_stranded_behind_a_long_one_while_a_worker_is_free() {
    within(|| {
        let name = "adm-strand";
        let pool = Pool::builder()
            .name(name)
            .workers(2)
            .queue(Queue::Unbounded)
            .build()
            .unwrap();
        let gate = Gate::new();
        let held = gate.hold(&pool, 2);
        let second_started = Arc::new(AtomicBool::new(false));
        let s = second_started.clone();
        let first = pool
            .submit(move || poll_until(Duration::from_secs(3), || s.load(SeqCst)))
            .unwrap();
        let s = second_started.clone();
        let second = pool.submit(move || s.store(true, SeqCst)).unwrap();
        let rest: Vec<_> = (0..2).map(|i| pool.submit(move || i).unwrap()).collect();
        gate.open();
        held.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(
            first.join(),
            Ok(true),
            "the second task did not start while the first ran, though a worker was free"
        );
        second.join().unwrap();
        rest.into_iter().for_each(|h| {
            h.join().unwrap();
        });
        drop(pool);
        assert_no_threads_left(name);
    });
}
