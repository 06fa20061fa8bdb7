//! The timer-queue conformance suite (`harness::conformance::timer`) against the timing wheel, the
//! binary-heap queue and the reference model; then a property test: on random operation sequences
//! the wheel and the heap fire the same ids in the same order as the model, and agree on every
//! cancel's result.
#![cfg(not(loom))]
use harness::conformance::timer::{self as suite, Model};
use harness::contracts::timer::TimerQueue;
use phase2::timers::{HeapQueue, TimingWheel};
use proptest::prelude::*;

macro_rules! queue_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn same_expiries() {
                suite::same_expiries($make);
            }
            #[test]
            fn equal_deadlines_in_insertion_order() {
                suite::equal_deadlines_in_insertion_order($make);
            }
            #[test]
            fn cancel_works() {
                suite::cancel_works($make);
            }
            #[test]
            fn far_future() {
                suite::far_future($make);
            }
            #[test]
            fn exactly_at_the_deadline_tick() {
                suite::exactly_at_the_deadline_tick($make);
            }
            #[test]
            fn past_deadline_fires_next() {
                suite::past_deadline_fires_next($make);
            }
            #[test]
            fn time_never_goes_back() {
                suite::time_never_goes_back($make);
            }
            #[test]
            fn spread_over_levels() {
                suite::spread_over_levels($make);
            }
        }
    };
}

queue_suite!(wheel, TimingWheel::new());
queue_suite!(heap, HeapQueue::new());
queue_suite!(model, Model::default());

/// One step of a random scenario.
#[derive(Debug, Clone)]
enum Op {
    /// Insert a timer `delta` ticks after the current time (or before it when `past`: already due),
    /// of a magnitude chosen to land on every wheel level and the overflow.
    Insert { shift: u32, delta: u64, past: bool },
    /// Cancel the `k % inserted`-th timer inserted so far (pending, fired or already cancelled).
    Cancel(usize),
    /// Advance time by `delta` (0 allowed: expire what is due now) and compare what fired.
    Expire { shift: u32, delta: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..30, any::<u64>(), proptest::bool::weighted(0.2))
            .prop_map(|(shift, delta, past)| Op::Insert { shift, delta, past }),
        2 => any::<usize>().prop_map(Op::Cancel),
        3 => (0u32..30, any::<u64>()).prop_map(|(shift, delta)| Op::Expire { shift, delta }),
    ]
}

/// Runs `ops` on `Q` and the model side by side; panics on the first disagreement.
fn agree<Q: TimerQueue>(mut q: Q, ops: &[Op]) {
    let mut model = Model::default();
    let mut handles: Vec<(Q::Handle, u64)> = Vec::new();
    let (mut out_q, mut out_m) = (Vec::new(), Vec::new());
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Insert { shift, delta, past } => {
                let delta = delta % (1u64 << shift);
                let deadline = if past {
                    model.now().saturating_sub(delta)
                } else {
                    model.now().saturating_add(delta)
                };
                let id = handles.len() as u64;
                handles.push((q.insert(deadline, id), model.insert(deadline, id)));
            }
            Op::Cancel(k) if !handles.is_empty() => {
                let (hq, hm) = handles[k % handles.len()];
                assert_eq!(q.cancel(hq), model.cancel(hm), "step {step}: cancel");
            }
            Op::Cancel(_) => {}
            Op::Expire { shift, delta } => {
                let now = model.now().saturating_add(delta % (1u64 << shift));
                out_q.clear();
                out_m.clear();
                q.expire(now, &mut out_q);
                model.expire(now, &mut out_m);
                assert_eq!(out_q, out_m, "step {step}: expire({now})");
            }
        }
        assert_eq!(q.len(), model.len(), "step {step}: len");
        assert_eq!(q.now(), model.now(), "step {step}: now");
    }
    out_q.clear();
    out_m.clear();
    q.expire(u64::MAX, &mut out_q);
    model.expire(u64::MAX, &mut out_m);
    assert_eq!(out_q, out_m, "final expire(u64::MAX)");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn wheel_matches_the_model(ops in proptest::collection::vec(op(), 1..200)) {
        agree(TimingWheel::new(), &ops);
    }

    #[test]
    fn heap_matches_the_model(ops in proptest::collection::vec(op(), 1..200)) {
        agree(HeapQueue::new(), &ops);
    }
}

/// The workload of the bench and the `wheel` section: both queues fire the same ids, in the same
/// order, and exactly the non-cancelled ones.
#[test]
fn bench_workload_same_expiries() {
    let deadlines = phase2::timers::workload::deadlines(50_000, 3);
    let run = |q: &mut dyn FnMut(&mut Vec<u64>) -> usize| {
        let mut v = Vec::new();
        let n = q(&mut v);
        assert_eq!(n, v.len());
        v
    };
    let wheel = run(&mut |v| {
        phase2::timers::workload::churn(&mut TimingWheel::new(), &deadlines, |id| v.push(id))
    });
    let heap = run(&mut |v| {
        phase2::timers::workload::churn(&mut HeapQueue::new(), &deadlines, |id| v.push(id))
    });
    let mut expected: Vec<u64> = (0..50_000).step_by(2).collect();
    expected.sort_by_key(|&id| (deadlines[id as usize], id));
    assert_eq!(wheel, expected);
    assert_eq!(heap, expected);
}
