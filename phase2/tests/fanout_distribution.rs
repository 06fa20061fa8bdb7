//! Every distribution strategy runs every task exactly once, and each worker's busy time is within the
//! makespan.
#![cfg(not(loom))]
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase2::fanout::distribute::{self, Strategy};

#[test]
fn every_strategy_runs_every_task_exactly_once() {
    within(Duration::from_secs(60), || {
        let check = ThreadLeakCheck::named("fan-dist");
        let costs = distribute::heavy_tailed(
            200,
            Duration::from_micros(20),
            1.2,
            Duration::from_millis(2),
            11,
        );
        let expected: Vec<usize> = (0..costs.len()).collect();
        for workers in [1, 3, 4] {
            for s in Strategy::ALL {
                let r = distribute::run(&costs, workers, s, 5);
                assert_eq!(r.all_ran_sorted(), expected, "{s:?} with {workers} workers");
                assert_eq!(r.ran.len(), workers);
                assert!(
                    r.busy.iter().all(|b| *b <= r.makespan),
                    "{s:?}: busy ≤ makespan"
                );
                if s == Strategy::RoundRobin {
                    for (w, ran) in r.ran.iter().enumerate() {
                        assert!(
                            ran.iter().all(|i| i % workers == w),
                            "round-robin assignment"
                        );
                    }
                }
            }
        }
        check.assert_no_leak(Duration::from_secs(1));
    });
}

#[test]
fn round_robin_bound_is_the_heaviest_worker_sum() {
    let ms = Duration::from_millis;
    let costs = [ms(10), ms(1), ms(10), ms(1), ms(10), ms(1)];
    assert_eq!(distribute::round_robin_lower_bound(&costs, 2), ms(30));
    assert_eq!(
        distribute::shared_queue_upper_bound(&costs, 2),
        ms(33) / 2 + ms(10)
    );
}

#[test]
fn heavy_tailed_is_seeded_and_within_bounds() {
    let a = distribute::heavy_tailed(
        500,
        Duration::from_micros(100),
        1.2,
        Duration::from_millis(5),
        3,
    );
    let b = distribute::heavy_tailed(
        500,
        Duration::from_micros(100),
        1.2,
        Duration::from_millis(5),
        3,
    );
    assert_eq!(a, b);
    assert!(
        a.iter()
            .all(|c| *c >= Duration::from_micros(100) && *c <= Duration::from_millis(5))
    );
}
