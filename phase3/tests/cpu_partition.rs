//! Every partition scheme runs every index exactly once and computes what the sequential loop does,
//! on fixed and on random cost vectors.
#![cfg(not(loom))]
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use harness::watchdog::within;
use phase3::cpu::partition::{self, Scheme, parallel_fold};
use proptest::prelude::*;

fn schemes(n: usize) -> Vec<Scheme> {
    vec![
        Scheme::Static,
        Scheme::Dynamic { chunk: 1 },
        Scheme::Dynamic { chunk: 7 },
        Scheme::Dynamic {
            chunk: n.max(1) * 2,
        },
        Scheme::Guided { min_chunk: 1 },
        Scheme::Guided { min_chunk: 5 },
    ]
}

/// Visits of every index under `scheme` with `workers` threads.
fn visits(n: usize, workers: usize, scheme: Scheme) -> Vec<u8> {
    let seen: Vec<AtomicU8> = (0..n).map(|_| AtomicU8::new(0)).collect();
    let states = parallel_fold(
        n,
        workers,
        scheme,
        |w| w,
        |_, range| {
            for i in range {
                // Relaxed: the scope's join publishes every increment to the reader below.
                seen[i].fetch_add(1, Ordering::Relaxed);
            }
        },
    );
    assert_eq!(
        states,
        (0..workers.max(1)).collect::<Vec<_>>(),
        "states in worker order"
    );
    seen.into_iter().map(AtomicU8::into_inner).collect()
}

#[test]
fn every_index_exactly_once_for_every_scheme_and_size() {
    within(Duration::from_secs(60), || {
        for n in [0, 1, 2, 3, 10, 63, 64, 65, 1000] {
            for workers in [1, 2, 3, 4] {
                for s in schemes(n) {
                    assert!(
                        visits(n, workers, s).iter().all(|&v| v == 1),
                        "{s:?}, n={n}, workers={workers}"
                    );
                }
            }
        }
    });
}

#[test]
fn skewed_runs_equal_sequential_and_static_split_is_the_predicted_one() {
    within(Duration::from_secs(60), || {
        let costs = partition::skewed_costs(2_000, 200, 3);
        let reference = partition::sequential(&costs);
        for workers in [1, 2, 4] {
            for s in schemes(costs.len()) {
                let r = partition::run_skewed(&costs, workers, s);
                assert_eq!(r.result, reference, "{s:?}, {workers} workers");
                assert_eq!(r.items(), costs.len());
                assert_eq!(r.workers.len(), workers);
                let units: u64 = r.workers.iter().map(|w| w.units).sum();
                assert_eq!(units, costs.iter().map(|&c| u64::from(c)).sum::<u64>());
                assert!(r.workers.iter().all(|w| w.busy <= r.elapsed));
            }
            // Static's split against its definition (not the formula both the split and
            // `static_unit_imbalance` use): one claim per worker, sizes within one item, blocks
            // contiguous and in worker order, so worker w's units are the costs of the w-th run.
            let r = partition::run_skewed(&costs, workers, Scheme::Static);
            let sizes: Vec<usize> = r.workers.iter().map(|w| w.items).collect();
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1, "static block sizes {sizes:?}");
            let mut start = 0;
            for (w, st) in r.workers.iter().enumerate() {
                assert_eq!(st.claims, 1, "static worker {w} of {workers}: one block");
                let block: u64 = costs[start..start + st.items]
                    .iter()
                    .map(|&c| u64::from(c))
                    .sum();
                assert_eq!(
                    st.units, block,
                    "static worker {w} of {workers}: the w-th block"
                );
                start += st.items;
            }
            // With the blocks pinned down, the prediction the exercise prints is this run's.
            assert!(
                (r.unit_imbalance() - partition::static_unit_imbalance(&costs, workers)).abs()
                    < 1e-9
            );
        }
        // The skew is real: static's last block is the heavy one.
        assert!(partition::static_unit_imbalance(&costs, 2) > 1.5);
        assert!(partition::static_unit_imbalance(&costs, 1) == 1.0);
    });
}

#[test]
fn guided_claims_shrink_and_take_fewer_claims_than_unit_dynamic() {
    let n = 10_000;
    let claims = |scheme| {
        let sizes = parallel_fold(
            n,
            2,
            scheme,
            |_| Vec::new(),
            |v: &mut Vec<usize>, r| v.push(r.len()),
        );
        sizes.into_iter().flatten().collect::<Vec<_>>()
    };
    let guided = claims(Scheme::Guided { min_chunk: 4 });
    assert_eq!(guided.iter().sum::<usize>(), n);
    assert!(guided.len() < n / 20, "guided used {} claims", guided.len());
    assert_eq!(
        guided.iter().max(),
        Some(&(n / 4)),
        "the first claim is remaining / (2·workers)"
    );
    assert!(
        guided.iter().filter(|&&s| s < 4).count() <= 1,
        "only the final claim may be cut short"
    );
    assert_eq!(claims(Scheme::Dynamic { chunk: 1 }).len(), n);
}

#[test]
fn a_panicking_body_propagates_after_the_scope() {
    let out = harness::exercise::expect_panic(|| {
        parallel_fold(
            100,
            2,
            Scheme::Dynamic { chunk: 3 },
            |_| (),
            |_, r| {
                if r.contains(&50) {
                    panic!("item 50 failed");
                }
            },
        )
    });
    assert_eq!(out.err().as_deref(), Some("item 50 failed"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any cost vector, any scheme, 1…4 workers: the combined result is the sequential one.
    #[test]
    fn any_costs_any_scheme_equals_sequential(
        costs in proptest::collection::vec(0u32..400, 0..300),
        workers in 1usize..=4,
        which in 0usize..6,
    ) {
        let scheme = schemes(costs.len())[which];
        let r = partition::run_skewed(&costs, workers, scheme);
        prop_assert_eq!(r.result, partition::sequential(&costs));
        prop_assert_eq!(r.items(), costs.len());
    }
}
