//! Ordered stages keep the input order, unordered ones deliver the exact multiset: random chains of
//! stages with random per-item delays, checked against the same functions applied in one loop.
mod common;

use std::time::Duration;

use pipeline::{Pipeline, Stage};
use proptest::prelude::*;

/// One stage of a generated chain, on `u64` items.
#[derive(Clone, Debug)]
enum Op {
    /// `x + add`, after a delay that depends on the item (so items overtake each other).
    Map {
        add: u64,
        parallelism: usize,
        ordered: bool,
        salt: u64,
        capacity: usize,
    },
    /// Keeps `x % m != 0`.
    Filter { m: u64 },
    /// `x` → `[x, x + 1_000_000 * k]`.
    FlatMap { k: u64 },
    /// Batches of `n` (or what came within `wait_ms`), flattened again by the next stage.
    Batch { n: usize, wait_ms: u64 },
}

fn delay(x: u64, salt: u64) -> Duration {
    Duration::from_millis((x.wrapping_mul(31).wrapping_add(salt) >> 2) % 7)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..100, 1usize..5, any::<bool>(), any::<u64>(), 1usize..4).prop_map(
            |(add, parallelism, ordered, salt, capacity)| Op::Map { add, parallelism, ordered, salt, capacity }
        ),
        1 => (2u64..5).prop_map(|m| Op::Filter { m }),
        1 => (1u64..3).prop_map(|k| Op::FlatMap { k }),
        1 => (1usize..5, 0u64..4).prop_map(|(n, wait_ms)| Op::Batch { n, wait_ms }),
    ]
}

/// The sequential model: every op applied in one loop.
fn model(input: &[u64], ops: &[Op]) -> Vec<u64> {
    let mut items = input.to_vec();
    for op in ops {
        items = match op {
            Op::Map { add, .. } => items.iter().map(|x| x + add).collect(),
            Op::Filter { m } => items.into_iter().filter(|x| x % m != 0).collect(),
            Op::FlatMap { k } => items.iter().flat_map(|&x| [x, x + 1_000_000 * k]).collect(),
            Op::Batch { .. } => items,
        }
    }
    items
}

/// The same chain as a pipeline; returns what the sink saw, in order.
async fn run(input: Vec<u64>, ops: Vec<Op>) -> Vec<u64> {
    let mut p = Pipeline::from_iter(input);
    for (i, op) in ops.into_iter().enumerate() {
        p = match op {
            Op::Map {
                add,
                parallelism,
                ordered,
                salt,
                capacity,
            } => {
                let stage = Stage::new(format!("map{i}"))
                    .with_parallelism(parallelism)
                    .capacity(capacity);
                let stage = if ordered {
                    stage.ordered()
                } else {
                    stage.unordered()
                };
                p.map(stage, move |x| async move {
                    tokio::time::sleep(delay(x, salt)).await;
                    x + add
                })
            }
            Op::Filter { m } => p.filter(Stage::new(format!("filter{i}")), move |x| x % m != 0),
            Op::FlatMap { k } => p.flat_map(Stage::new(format!("flat{i}")).capacity(2), move |x| {
                [x, x + 1_000_000 * k]
            }),
            Op::Batch { n, wait_ms } => p
                .batch(
                    Stage::new(format!("batch{i}")),
                    n,
                    Duration::from_millis(wait_ms),
                )
                .flat_map(Stage::new(format!("unbatch{i}")), |b| b),
        };
    }
    let (seen, sink) = common::collector();
    let report = p
        .for_each(Stage::new("sink"), sink)
        .run()
        .await
        .expect("valid pipeline");
    common::assert_accounted(&report);
    assert!(
        report
            .stages
            .iter()
            .all(|s| s.dropped + s.rejected + s.cancelled + s.failed == 0)
    );
    seen.lock().unwrap().clone()
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// On tokio's paused clock: delays are exact and the runs deterministic.
    #[test]
    fn chains_match_the_sequential_model(n in 0u64..60, ops in prop::collection::vec(op(), 1..6)) {
        let input: Vec<u64> = (0..n).collect();
        let expected = model(&input, &ops);
        let all_ordered = ops.iter().all(|o| !matches!(o, Op::Map { ordered: false, parallelism: 2.., .. }));
        let got = common::paused(run(input, ops));
        if all_ordered {
            prop_assert_eq!(got, expected);
        } else {
            prop_assert_eq!(sorted(got), sorted(expected));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// The same on a two-thread runtime and the real clock: workers really race.
    #[test]
    fn chains_match_the_model_on_real_threads(n in 0u64..40, ops in prop::collection::vec(op(), 1..5)) {
        let input: Vec<u64> = (0..n).collect();
        let expected = model(&input, &ops);
        let all_ordered = ops.iter().all(|o| !matches!(o, Op::Map { ordered: false, parallelism: 2.., .. }));
        let got = harness::watchdog::within(Duration::from_secs(60), move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(run(input, ops))
        });
        if all_ordered {
            prop_assert_eq!(got, expected);
        } else {
            prop_assert_eq!(sorted(got), sorted(expected));
        }
    }
}

/// What the sink receives from `0..n` through a 4-wide stage (`stage`) where item 0 takes 50 ms and
/// every other 1 ms.
fn slow_head(n: u64, stage: Stage) -> Vec<u64> {
    common::paused(async move {
        let (seen, sink) = common::collector();
        Pipeline::from_iter(0..n)
            .map(stage.with_parallelism(4), |x| async move {
                tokio::time::sleep(Duration::from_millis(if x == 0 { 50 } else { 1 })).await;
                x
            })
            .for_each(Stage::new("sink"), sink)
            .run()
            .await
            .unwrap();
        seen.lock().unwrap().clone()
    })
}

/// An ordered stage whose first item is the slowest still emits it first.
#[test]
fn ordered_stage_waits_for_the_slow_head() {
    let got = slow_head(8, Stage::new("slow-head").ordered());
    assert_eq!(got, (0..8).collect::<Vec<_>>());
}

/// The unordered twin lets the others pass: the slow head arrives last.
#[test]
fn unordered_stage_lets_the_others_pass() {
    let got = slow_head(4, Stage::new("slow-head").unordered());
    assert_eq!(got.last(), Some(&0));
    assert_eq!(sorted(got), vec![0, 1, 2, 3]);
}
