//! Loom models of workpool's protocol, on the real types (`make loom`: `RUSTFLAGS="--cfg loom"`).
//!
//! Each model has a broken twin (`workpool::twin`, compiled only under loom) that must fail, so a
//! model that passes shows something:
//!
//! - `handle_*`: a worker starting a task races its handle's `cancel`, and the joiner waits on the
//!   completion slot. Exactly one party owns the closure; the closure runs at most once and is
//!   dropped exactly once; `join` agrees with what `cancel` reported. Twin: `try_abandon` as
//!   load-then-store (both parties take the closure).
//! - `submit_*`: a submit races `shutdown_now`. The task is refused, or admitted and then run or
//!   reported unstarted — never admitted behind the shutdown's back — and the report accounts for
//!   it exactly. Twin: the open check and the push in two critical sections (the task is admitted
//!   after the shutdown returned, and run by a worker started for it after the pool stopped).
//! - `reap_*`: an idle worker above the minimum exits (keep-alive zero) while a submit arrives.
//!   The task still runs: either the worker sees it, or the submit sees one worker fewer and starts
//!   another. Twin: the exit decided in one critical section and counted in another.
//!
//! - `handoff_*`: a hand-off queue (`Bounded(0)`) under `Block`: the submitter waits until the one
//!   worker is free, and is woken when it is. Twin: the worker becomes free without telling the
//!   blocked submitter (loom reports the deadlock).
//!
//! Without loom the models run once each as plain tests.
#![cfg(loom)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use harness::ledger::Counted;
use loom::thread;
use workpool::twin::{self, Twin};
use workpool::{CancelOutcome, Pool, Queue, SubmitError, TaskError};

fn one_worker() -> Pool {
    Pool::builder()
        .name("loom")
        .workers(1)
        .queue(Queue::Unbounded)
        .build()
        .expect("pool")
}

fn handle_model(which: Twin) {
    loom::model(move || {
        twin::set(which);
        let pool = one_worker();
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let capture = Counted(drops.clone()); // counts its drops, whoever drops it
        let r = ran.clone();
        let handle = Arc::new(
            pool.submit(move || {
                let _keep = &capture;
                r.fetch_add(1, SeqCst);
                7
            })
            .unwrap(),
        );
        let h = handle.clone();
        let canceller = thread::spawn(move || h.cancel());
        let cancel = canceller.join().unwrap();
        let outcome = Arc::try_unwrap(handle).expect("one handle left").join();
        drop(pool);
        let ran = ran.load(SeqCst);
        assert!(ran <= 1, "the closure ran {ran} times");
        assert_eq!(
            drops.load(SeqCst),
            1,
            "the closure's capture is dropped exactly once"
        );
        match cancel {
            CancelOutcome::Cancelled => {
                assert_eq!(outcome, Err(TaskError::Cancelled));
                assert_eq!(ran, 0, "cancelled, yet it ran");
            }
            CancelOutcome::Signalled | CancelOutcome::TooLate => {
                assert_eq!(outcome, Ok(7));
                assert_eq!(ran, 1);
            }
        }
    });
}

#[test]
fn handle_start_cancel_join() {
    handle_model(Twin::None);
}

#[test]
#[should_panic]
fn handle_twin_abandon_without_cas_is_caught() {
    handle_model(Twin::AbandonWithoutCas);
}

fn submit_shutdown_model(which: Twin) {
    loom::model(move || {
        twin::set(which);
        let pool = Arc::new(one_worker());
        let p = pool.clone();
        let submitter = thread::spawn(move || p.submit(|| 1).map(|h| h.join()));
        let report = pool.shutdown_now(std::time::Duration::from_secs(3600));
        let submitted = submitter.join().unwrap();
        // Refused, or admitted before the shutdown (which then accounts for it): never admitted
        // behind the shutdown's back.
        match submitted {
            Err(SubmitError::ShutDown) => assert_eq!(report.submitted, 0, "{report:?}"),
            Ok(Ok(1)) | Ok(Err(TaskError::ShutDown)) => {
                assert_eq!(report.submitted, 1, "{report:?}")
            }
            other => panic!("unexpected outcome {other:?}"),
        }
        drop(Arc::try_unwrap(pool).expect("one pool left"));
        assert!(report.is_consistent(), "{report:?}");
    });
}

#[test]
fn submit_races_shutdown() {
    submit_shutdown_model(Twin::None);
}

#[test]
#[should_panic]
fn submit_twin_phase_outside_lock_is_caught() {
    submit_shutdown_model(Twin::AdmitPhaseOutsideLock);
}

fn reap_model(which: Twin) {
    loom::model(move || {
        twin::set(which);
        let pool = Arc::new(
            Pool::builder()
                .name("loom")
                .min_workers(0)
                .max_workers(1)
                .keep_alive(std::time::Duration::ZERO)
                .queue(Queue::Unbounded)
                .build()
                .expect("pool"),
        );
        let first = pool.submit(|| 1).unwrap();
        let p = pool.clone();
        let second = thread::spawn(move || p.submit(|| 2).unwrap().join());
        assert_eq!(first.join(), Ok(1));
        assert_eq!(second.join().unwrap(), Ok(2));
        drop(Arc::try_unwrap(pool).expect("one pool left"));
    });
}

#[test]
fn reap_races_submit() {
    reap_model(Twin::None);
}

#[test]
#[should_panic]
fn reap_twin_outside_lock_is_caught() {
    reap_model(Twin::ReapOutsideLock);
}

fn handoff_model(which: Twin) {
    loom::model(move || {
        twin::set(which);
        let pool = Pool::builder()
            .name("loom")
            .workers(1)
            .queue(Queue::Bounded(0))
            .overflow(workpool::Overflow::Block)
            .build()
            .expect("pool");
        let first = pool.submit(|| 1).unwrap();
        let second = pool.submit(|| 2).unwrap(); // waits until the worker is free again
        assert_eq!(first.join(), Ok(1));
        assert_eq!(second.join(), Ok(2));
    });
}

#[test]
fn handoff_block_waits_for_the_free_worker() {
    handoff_model(Twin::None);
}

#[test]
#[should_panic]
fn handoff_twin_silent_when_idle_is_caught() {
    handoff_model(Twin::SilentWhenIdle);
}
