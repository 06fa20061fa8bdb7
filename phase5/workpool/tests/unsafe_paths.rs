//! The paths that rest on `unsafe` — a task's closure taken by whoever wins its state word, a scoped
//! task's lifetime erased while its scope waits, a detached cell, outputs dropped on whichever
//! thread holds the last reference — driven small enough to run under Miri (`make miri`) and the
//! sanitizers (`make sanitize`), and as ordinary tests.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use harness::ledger::Counted;
use workpool::{CancelOutcome, Pool, Queue, TaskError};

const ROUNDS: usize = if cfg!(miri) { 3 } else { 200 };

fn pool(name: &str, workers: usize) -> Pool {
    Pool::builder()
        .name(name)
        .workers(workers)
        .queue(Queue::Unbounded)
        .build()
        .unwrap()
}

mod common;

/// After a pool's drop no thread of it is left (`Drop` joins its workers). Miri cannot read /proc.
fn no_thread_left(name: &str) {
    if !cfg!(miri) {
        common::assert_no_threads_left(name);
    }
}

#[test]
fn boxed_outputs_and_captures_are_dropped_once_whoever_holds_the_last_reference() {
    let drops = Arc::new(AtomicUsize::new(0));
    let pool = pool("up-drop", 2);
    let mut made = 0;
    for i in 0..ROUNDS {
        let capture = Counted(drops.clone());
        let out = Counted(drops.clone());
        made += 2;
        let h = pool
            .submit(move || {
                let _c = capture;
                (Box::new(i), out)
            })
            .unwrap();
        if i % 2 == 0 {
            let (v, _out) = h.join().unwrap();
            assert_eq!(*v, i);
        } else {
            drop(h); // detached: the worker drops the output
        }
    }
    drop(pool);
    no_thread_left("up-drop");
    assert_eq!(drops.load(SeqCst), made);
}

#[test]
fn cancel_races_start_and_the_closure_is_dropped_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let pool = pool("up-cancel", 1);
    for _ in 0..ROUNDS {
        let capture = Counted(drops.clone());
        let r = ran.clone();
        let h = pool
            .submit(move || {
                let _c = capture;
                r.fetch_add(1, SeqCst);
            })
            .unwrap();
        match h.cancel() {
            CancelOutcome::Cancelled => assert_eq!(h.join(), Err(TaskError::Cancelled)),
            CancelOutcome::Signalled | CancelOutcome::TooLate => assert_eq!(h.join(), Ok(())),
        }
    }
    drop(pool);
    no_thread_left("up-cancel");
    assert_eq!(
        drops.load(SeqCst),
        ROUNDS,
        "every capture dropped exactly once"
    );
}

#[test]
fn scoped_tasks_borrow_and_mutate_the_stack() {
    let pool = pool("up-scope", 2);
    for _ in 0..ROUNDS {
        let mut cells = vec![0u64; 8];
        let text = String::from("borrowed");
        pool.scope(|s| {
            for (i, c) in cells.iter_mut().enumerate() {
                let t = &text;
                let _ = s.submit(move || *c = (i + t.len()) as u64);
            }
            let joined = s.submit(|| text.len());
            assert_eq!(joined.join(), Ok(8));
        });
        assert_eq!(cells, (8..16).collect::<Vec<u64>>());
    }
    drop(pool);
    no_thread_left("up-scope");
}

#[test]
fn a_scope_on_a_busy_pool_runs_its_tasks_itself() {
    let pool = Pool::builder()
        .name("up-busy")
        .workers(1)
        .queue(Queue::Bounded(0))
        .overflow(workpool::Overflow::Reject)
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let blocker = pool.submit(move || rx.recv().ok()).unwrap();
    let mut sum = 0;
    let data = [1, 2, 3];
    pool.scope(|s| {
        let h = s.submit(|| data.iter().sum::<i32>()); // refused by the pool: runs here
        sum = h.join().unwrap();
    });
    assert_eq!(sum, 6);
    tx.send(()).unwrap();
    assert_eq!(blocker.join(), Ok(Some(())));
    drop(pool);
    no_thread_left("up-busy");
}

#[test]
fn detached_tasks_and_shutdown_now_leave_nothing_behind() {
    let drops = Arc::new(AtomicUsize::new(0));
    let pool = pool("up-detached", 1);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    pool.execute(move || {
        let _ = rx.recv_timeout(Duration::from_secs(10));
    })
    .unwrap();
    for _ in 0..ROUNDS {
        let c = Counted(drops.clone());
        pool.execute(move || drop(c)).unwrap();
    }
    tx.send(()).unwrap();
    let report = pool.shutdown_now(Duration::from_secs(10));
    assert!(report.is_consistent(), "{report:?}");
    drop(pool);
    no_thread_left("up-detached");
    assert_eq!(
        drops.load(SeqCst),
        ROUNDS,
        "run or discarded, each capture dropped once"
    );
}
