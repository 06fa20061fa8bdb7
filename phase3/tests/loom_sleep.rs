//! Loom models of the work-stealing scheduler's sleep protocol (`phase3::steal::sleep`, public only
//! under `--cfg loom`): a worker that finds nothing parks, a notifier publishes work and wakes it.
//! The work is a plain atomic flag, not behind any lock, as the scheduler's deques are: only the
//! protocol's two SeqCst fences order the parker's re-check against the notifier's read of the
//! counters. In every interleaving the worker sees the work (no lost wake-up: loom reports a model
//! where every thread is blocked as "deadlock"). Then the same models with the fences removed
//! (`NoFences`), where loom must find the lost wake-up (`#[should_panic]`).
//!
//! Loom's limits, where they matter: it models SeqCst fences (what this protocol relies on), and
//! treats SeqCst accesses like AcqRel; a spurious condvar wake-up is not modelled, which only
//! removes harmless interleavings (the worker re-checks either way).
#![cfg(loom)]
use phase1::shim::sync::atomic::{AtomicBool, Ordering};
use phase1::shim::thread;
use phase3::steal::sleep::{Fenced, NoFences, Sleep, SleepFences};

/// A worker as `work_until` runs it: counted as searching, it looks for work and parks until it
/// finds some; `ready` is its re-check under the lock.
fn worker<F: SleepFences>(sleep: &Sleep<F>, work: &AtomicBool) {
    sleep.start_searching();
    // Acquire: pairs with the notifier's Release store: the work is visible once seen.
    while !work.load(Ordering::Acquire) {
        // Relaxed: the fence in `park` orders it after our `sleeping` increment.
        sleep.park(|| work.load(Ordering::Relaxed));
    }
    sleep.stop_searching();
}

/// The shared state of one execution, leaked rather than shared through an `Arc`: loom reports a
/// deadlock by panicking, and dropping loom objects while that panic unwinds would abort the test
/// process instead of failing the model.
fn leaked_state<F: SleepFences>() -> (&'static Sleep<F>, &'static AtomicBool) {
    (
        Box::leak(Box::new(Sleep::<F>::new())),
        Box::leak(Box::new(AtomicBool::new(false))),
    )
}

/// One worker parks while the owner of a deque pushes a job and calls `notify_work`.
fn a_push_wakes_a_parked_worker<F: SleepFences>() {
    loom::model(|| {
        let (sleep, work) = leaked_state::<F>();
        let w = thread::spawn(move || worker(sleep, work));
        // Release: publishes the job (here, nothing else) to the worker's Acquire load.
        work.store(true, Ordering::Release);
        sleep.notify_work();
        w.join().unwrap();
    });
}

/// Two workers park (each may be the one a latch is for) while another thread sets the latch and
/// calls `notify_all_parked`.
fn a_latch_set_wakes_every_parked_worker<F: SleepFences>() {
    loom::model(|| {
        let (sleep, work) = leaked_state::<F>();
        let workers: Vec<_> = (0..2)
            .map(|_| thread::spawn(move || worker(sleep, work)))
            .collect();
        // Release: as above.
        work.store(true, Ordering::Release);
        sleep.notify_all_parked();
        for w in workers {
            w.join().unwrap();
        }
    });
}

#[test]
fn a_push_never_loses_the_wake_up_of_a_parking_worker() {
    a_push_wakes_a_parked_worker::<Fenced>();
}

#[test]
fn a_latch_set_never_loses_a_wake_up() {
    a_latch_set_wakes_every_parked_worker::<Fenced>();
}

/// Without the fences the parker's re-check can read the flag stale while the notifier reads
/// `sleeping` stale: nobody notifies, and the worker waits for ever (loom: "deadlock").
#[test]
#[should_panic(expected = "deadlock")]
fn wrong_no_fences_lose_a_push_wake_up() {
    a_push_wakes_a_parked_worker::<NoFences>();
}

/// The same loss on the `notify_all_parked` path.
#[test]
#[should_panic(expected = "deadlock")]
fn wrong_no_fences_lose_a_latch_wake_up() {
    a_latch_set_wakes_every_parked_worker::<NoFences>();
}
