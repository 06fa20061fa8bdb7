//! No user code kills a worker. A worker runs user code in more places than the job's body: it
//! drops a cancelled job (its captures' `Drop`), the job's captures are dropped when its body
//! returns, and a caught panic's payload is a user value dropped after its message is read. A panic
//! in any of them must become that job's `Panicked` outcome; the worker lives on, `recv` returns
//! every outcome, and dropping the pool neither panics nor leaves a thread behind.
//!
//! Each test uses one worker: a dead worker then leaves `recv` blocked forever (the results queue
//! closes only when every worker detaches), which the watchdog turns into a failure.
#![cfg(not(loom))]
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase2::pool::{Outcome, Pool};

const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 20 });
const GRACE: Duration = Duration::from_secs(5);
/// Jobs after the one whose capture panics.
const LATER: u64 = if cfg!(miri) { 3 } else { 20 };

/// A capture whose `Drop` panics. `resume_unwind` skips the panic hook, so the deliberate panic
/// prints nothing.
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        std::panic::resume_unwind(Box::new(self.0));
    }
}

/// Every outcome by id; each id exactly once.
fn by_id<T: Send + 'static>(pool: &mut Pool<T>, n: u64) -> BTreeMap<u64, Outcome<T>> {
    let mut out = BTreeMap::new();
    for _ in 0..n {
        let r = pool.recv().expect("a result for every job");
        assert!(out.insert(r.id, r.outcome).is_none(), "id {} twice", r.id);
    }
    out
}

#[test]
fn a_cancelled_job_whose_capture_panics_on_drop_is_reported_and_the_worker_lives() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("t-pcancel");
        let mut pool = Pool::new("t-pcancel", 1, 64);
        // Job 0 holds the only worker until the pool is cancelled, so every later job is queued
        // (or in the worker's batch) when the token is set and is discarded unrun.
        let (started_tx, started) = mpsc::channel();
        let (release, gate) = mpsc::channel::<()>();
        pool.submit(move |_| {
            started_tx.send(()).unwrap();
            let _ = gate.recv();
            0
        })
        .expect("open");
        let bomb = PanicsOnDrop("cancelled capture dropped");
        pool.submit(move |_| {
            let _keep = &bomb;
            1
        })
        .expect("open");
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..LATER {
            let ran = ran.clone();
            // Relaxed: read after the pool is dropped (its join orders it).
            pool.submit(move |_| ran.fetch_add(1, Ordering::Relaxed))
                .expect("open");
        }
        started.recv().unwrap();
        pool.cancel();
        release.send(()).unwrap();
        let out = by_id(&mut pool, 2 + LATER);
        assert_eq!(out[&0], Outcome::Done(0));
        assert_eq!(
            out[&1],
            Outcome::Panicked("cancelled capture dropped".into())
        );
        for id in 2..2 + LATER {
            assert_eq!(out[&id], Outcome::Cancelled, "job {id}");
        }
        drop(pool); // joins: a worker that panicked would make this panic
        assert_eq!(ran.load(Ordering::Relaxed), 0, "cancelled jobs ran");
        leak.assert_no_leak(GRACE);
    });
}

#[test]
fn a_capture_that_panics_on_drop_after_running_is_reported_and_later_jobs_run() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("t-pafter");
        let mut pool = Pool::new("t-pafter", 1, 64);
        let bomb = PanicsOnDrop("capture dropped after the run");
        pool.submit(move |_| {
            let _keep = &bomb;
            0
        })
        .expect("open");
        for id in 1..=LATER {
            pool.submit(move |_| id).expect("open");
        }
        let out = by_id(&mut pool, 1 + LATER);
        // The body returned, but the job's code panicked before the value was handed over.
        assert_eq!(
            out[&0],
            Outcome::Panicked("capture dropped after the run".into())
        );
        for id in 1..=LATER {
            assert_eq!(out[&id], Outcome::Done(id), "job {id}");
        }
        drop(pool);
        leak.assert_no_leak(GRACE);
    });
}

#[test]
fn a_panic_payload_whose_drop_panics_is_reported_and_later_jobs_run() {
    within(DEADLINE, || {
        let leak = ThreadLeakCheck::named("t-ppayload");
        let mut pool = Pool::new("t-ppayload", 1, 64);
        pool.submit(|_| -> u64 {
            // The payload is a user value: the worker drops it after reading its message.
            std::panic::resume_unwind(Box::new(PanicsOnDrop("payload dropped")))
        })
        .expect("open");
        for id in 1..=LATER {
            pool.submit(move |_| id).expect("open");
        }
        let out = by_id(&mut pool, 1 + LATER);
        assert!(
            matches!(out[&0], Outcome::Panicked(_)),
            "job 0: {:?}",
            out[&0]
        );
        for id in 1..=LATER {
            assert_eq!(out[&id], Outcome::Done(id), "job {id}");
        }
        drop(pool);
        leak.assert_no_leak(GRACE);
    });
}
