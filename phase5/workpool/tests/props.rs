//! Property test: random programs of submit / cancel / join / resize / hold / release / shutdown
//! against a small model of outcomes.
//!
//! The model is not a simulation of the pool (which would reimplement it); it is what every
//! outcome *allows*, given what the program saw: a task's own run counter is the oracle for
//! "ran", the value returned by `cancel` and whether a shutdown happened decide which errors a
//! handle may give, and the final shutdown report must equal the counts of those outcomes.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{Gate, assert_no_threads_left};
use proptest::prelude::*;
use workpool::{CancelOutcome, Overflow, Pool, Queue, SubmitError, TaskError, TaskHandle};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Value(u32),
    Panic,
    Sleep(u8),
    /// Waits at the program's gate (submitted with `try_submit`, so it never runs on the caller).
    Gate,
}

#[derive(Debug, Clone)]
enum Op {
    Submit(Kind),
    Hold,
    Release,
    Cancel(usize),
    Join(usize),
    Resize(usize),
    Shutdown,
    ShutdownNow,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u32>().prop_map(|v| Op::Submit(Kind::Value(v))),
        2 => Just(Op::Submit(Kind::Panic)),
        2 => (0u8..3).prop_map(|ms| Op::Submit(Kind::Sleep(ms))),
        2 => Just(Op::Hold),
        1 => Just(Op::Release),
        3 => (0usize..32).prop_map(Op::Cancel),
        2 => (0usize..32).prop_map(Op::Join),
        1 => (1usize..4).prop_map(Op::Resize),
        1 => Just(Op::Shutdown),
        1 => Just(Op::ShutdownNow),
    ]
}

fn policy() -> impl Strategy<Value = Overflow> {
    prop_oneof![
        Just(Overflow::Block),
        Just(Overflow::Reject),
        Just(Overflow::CallerRuns),
        Just(Overflow::DropOldest),
        Just(Overflow::Timeout(Duration::from_millis(1))),
    ]
}

/// One admitted task as the program saw it.
struct Task {
    kind: Kind,
    handle: Option<TaskHandle<u32>>,
    result: Option<Result<u32, TaskError>>,
    cancel_said: Vec<CancelOutcome>,
}

static CASE: AtomicUsize = AtomicUsize::new(0);

fn run_program(workers: usize, cap: usize, policy: Overflow, ops: Vec<Op>) {
    let name = format!("pp{}", CASE.fetch_add(1, SeqCst));
    // Block waits for room, and a held gate could make that forever: Block runs unbounded.
    let queue = if policy == Overflow::Block {
        Queue::Unbounded
    } else {
        Queue::Bounded(cap)
    };
    let pool = Pool::builder()
        .name(name.clone())
        .workers(workers)
        .queue(queue)
        .overflow(policy)
        .build()
        .unwrap();
    let gate = Gate::new();
    let runs: Arc<Vec<AtomicUsize>> =
        Arc::new((0..ops.len()).map(|_| AtomicUsize::new(0)).collect());
    let mut tasks: Vec<Task> = Vec::new();
    let mut shut = false;
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Submit(_) | Op::Hold => {
                let kind = match op {
                    Op::Submit(k) => *k,
                    _ => Kind::Gate,
                };
                let id = tasks.len();
                let runs2 = runs.clone();
                let g = gate.clone();
                let body = move || -> u32 {
                    runs2[id].fetch_add(1, SeqCst);
                    match kind {
                        Kind::Value(v) => v,
                        Kind::Panic => panic!("prop panic {id}"),
                        Kind::Sleep(ms) => {
                            std::thread::sleep(Duration::from_millis(ms.into()));
                            0
                        }
                        Kind::Gate => {
                            g.wait();
                            0
                        }
                    }
                };
                let submitted = if kind == Kind::Gate {
                    pool.try_submit(body)
                } else {
                    pool.submit(body)
                };
                match submitted {
                    Ok(h) => {
                        assert!(!shut, "step {step}: admitted after shutdown");
                        tasks.push(Task {
                            kind,
                            handle: Some(h),
                            result: None,
                            cancel_said: Vec::new(),
                        });
                    }
                    Err(SubmitError::ShutDown) => {
                        assert!(shut, "step {step}: ShutDown from an open pool")
                    }
                    Err(e) => {
                        assert!(!shut, "step {step}: {e:?} from a shut-down pool");
                        let allowed = match e {
                            SubmitError::Full => {
                                kind == Kind::Gate
                                    || matches!(policy, Overflow::Reject | Overflow::DropOldest)
                            }
                            SubmitError::TimedOut => matches!(policy, Overflow::Timeout(_)),
                            _ => false,
                        };
                        assert!(allowed, "step {step}: {e:?} under {policy:?} for {kind:?}");
                        // A refused task gets no slot: its id is reused, so it must not have run.
                        assert_eq!(runs[id].load(SeqCst), 0, "step {step}: a refused task ran");
                    }
                }
            }
            Op::Release => gate.open(),
            Op::Cancel(i) => {
                if let Some(t) = tasks.get_mut(*i)
                    && let Some(h) = &t.handle
                {
                    t.cancel_said.push(h.cancel());
                }
            }
            Op::Join(i) => {
                if let Some(t) = tasks.get_mut(*i)
                    && let Some(h) = t.handle.take()
                {
                    match h.join_timeout(Duration::from_millis(20)) {
                        Ok(r) => t.result = Some(r),
                        Err(h) => t.handle = Some(h),
                    }
                }
            }
            Op::Resize(n) => pool.resize(*n),
            Op::Shutdown | Op::ShutdownNow => {
                let report = if matches!(op, Op::Shutdown) {
                    pool.shutdown(Duration::from_millis(20))
                } else {
                    pool.shutdown_now(Duration::from_millis(20))
                };
                let accounted = report.completed
                    + report.panicked
                    + report.cancelled
                    + report.dropped
                    + report.unstarted;
                assert!(accounted <= report.submitted, "step {step}: {report:?}");
                assert_eq!(
                    report.submitted,
                    tasks.len() as u64,
                    "step {step}: {report:?}"
                );
                shut = true;
            }
        }
    }
    gate.open();
    for (i, t) in tasks.iter_mut().enumerate() {
        if let Some(h) = t.handle.take() {
            match h.join_timeout(Duration::from_secs(10)) {
                Ok(r) => t.result = Some(r),
                Err(_) => panic!("task {i} ({:?}) never completed", t.kind),
            }
        }
    }
    let report = pool.shutdown(Duration::from_secs(10));
    drop(pool);
    assert_no_threads_left(&name);

    let (mut completed, mut panicked, mut cancelled, mut dropped, mut unstarted) = (0, 0, 0, 0, 0);
    for (i, t) in tasks.iter().enumerate() {
        let ran = runs[i].load(SeqCst);
        let r = t.result.clone().expect("every handle joined");
        let said_cancelled = t.cancel_said.contains(&CancelOutcome::Cancelled);
        assert!(
            t.cancel_said
                .iter()
                .filter(|c| **c == CancelOutcome::Cancelled)
                .count()
                <= 1,
            "task {i}: cancelled twice: {:?}",
            t.cancel_said
        );
        match &r {
            Ok(v) => {
                assert_eq!(ran, 1, "task {i} returned but ran {ran} times");
                assert!(
                    !said_cancelled,
                    "task {i}: cancel said Cancelled, yet it ran"
                );
                let want = match t.kind {
                    Kind::Value(v) => v,
                    _ => 0,
                };
                assert_eq!(*v, want, "task {i}");
                assert_ne!(t.kind, Kind::Panic);
                completed += 1;
            }
            Err(TaskError::Panicked { message }) => {
                assert_eq!(ran, 1, "task {i} panicked but ran {ran} times");
                assert_eq!(t.kind, Kind::Panic);
                assert_eq!(message, &format!("prop panic {i}"));
                assert!(!said_cancelled);
                panicked += 1;
            }
            Err(TaskError::Cancelled) => {
                assert_eq!(ran, 0, "task {i} cancelled but ran");
                assert!(
                    said_cancelled,
                    "task {i}: Cancelled without a cancel that said so"
                );
                cancelled += 1;
            }
            Err(TaskError::Dropped) => {
                assert_eq!(ran, 0, "task {i} dropped but ran");
                assert_eq!(policy, Overflow::DropOldest);
                assert!(!said_cancelled);
                dropped += 1;
            }
            Err(TaskError::ShutDown) => {
                assert_eq!(ran, 0, "task {i} discarded but ran");
                assert!(shut, "task {i}: ShutDown with no shutdown");
                assert!(!said_cancelled);
                unstarted += 1;
            }
            Err(e) => panic!("task {i}: unexpected {e:?}"),
        }
        if t.cancel_said.contains(&CancelOutcome::Signalled) {
            assert!(
                matches!(r, Ok(_) | Err(TaskError::Panicked { .. })),
                "task {i}: Signalled (it was running) but {r:?}"
            );
        }
    }
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.submitted, tasks.len() as u64, "{report:?}");
    assert_eq!(report.completed, completed, "{report:?}");
    assert_eq!(report.panicked, panicked, "{report:?}");
    assert_eq!(report.cancelled, cancelled, "{report:?}");
    assert_eq!(report.dropped, dropped, "{report:?}");
    assert_eq!(report.unstarted, unstarted, "{report:?}");
    assert_eq!(report.still_running, 0, "{report:?}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn outcomes_match_the_model(
        workers in 1usize..3,
        cap in 0usize..4,
        policy in policy(),
        ops in prop::collection::vec(op(), 1..32),
    ) {
        harness::watchdog::within(common::DEADLINE, move || run_program(workers, cap, policy, ops));
    }
}
