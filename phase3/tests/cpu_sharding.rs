//! The sharded counter and map keep exact totals under 1…4 threads, like their single-lock and
//! single-atomic baselines.
#![cfg(not(loom))]
use std::time::Duration;

use harness::watchdog::within;
use phase3::cpu::counter::{AtomicCounter, LockedCounter, ShardedCounter};
use phase3::cpu::map::{ShardedCounterMap, SingleLockMap};
use phase3::cpu::workload::{expected_counts, key_stream, timed_threads};

#[test]
fn counters_count_every_add_exactly() {
    within(Duration::from_secs(60), || {
        for threads in [1, 2, 3, 4] {
            let per = 50_000;
            for shards in [1, 2, threads, 8] {
                let c = ShardedCounter::new(shards);
                timed_threads(threads, |t| {
                    for i in 0..per {
                        c.add(t, 1 + (i % 3) as u64);
                    }
                });
                let expected = threads as u64 * (0..per).map(|i| 1 + (i % 3) as u64).sum::<u64>();
                assert_eq!(c.sum(), expected, "{threads} threads, {shards} shards");
            }
            let a = AtomicCounter::new();
            let l = LockedCounter::new();
            timed_threads(threads, |_| {
                for _ in 0..per {
                    a.add(1);
                    l.add(1);
                }
            });
            assert_eq!(a.get(), (threads * per) as u64);
            assert_eq!(l.get(), (threads * per) as u64);
        }
    });
}

#[test]
fn a_sum_read_during_adds_never_goes_backwards_and_never_overshoots() {
    within(Duration::from_secs(60), || {
        let c = ShardedCounter::new(4);
        let per = 200_000u64;
        let done = std::sync::atomic::AtomicUsize::new(0);
        timed_threads(3, |t| {
            if t == 2 {
                let mut last = 0;
                // Acquire pairs with the adders' Release below: once both are seen done, their
                // adds are all visible.
                while done.load(std::sync::atomic::Ordering::Acquire) < 2 {
                    let s = c.sum();
                    assert!(s >= last && s <= 2 * per, "sum {s} after {last}");
                    last = s;
                }
                assert_eq!(c.sum(), 2 * per);
            } else {
                for _ in 0..per {
                    c.add(t, 1);
                }
                done.fetch_add(1, std::sync::atomic::Ordering::Release);
            }
        });
    });
}

#[test]
fn maps_hold_exact_per_key_counts_under_threads() {
    within(Duration::from_secs(60), || {
        for threads in [1, 2, 4] {
            let streams: Vec<Vec<u64>> = (0..threads)
                .map(|t| key_stream(7, t, 20_000, 512))
                .collect();
            let expected = expected_counts(&streams);
            for shards in [1, 4, 16] {
                let m = ShardedCounterMap::new(shards);
                timed_threads(threads, |t| {
                    for &k in &streams[t] {
                        m.add(k, 1);
                    }
                });
                assert_eq!(m.len(), expected.len());
                for (k, n) in &expected {
                    assert_eq!(m.get(k), Some(*n), "key {k}, {shards} shards");
                }
                assert_eq!(m.get(&u64::MAX), None);
                assert_eq!(m.into_map(), expected, "{threads} threads, {shards} shards");
            }
            let single = SingleLockMap::new();
            timed_threads(threads, |t| {
                for &k in &streams[t] {
                    single.add(k, 1);
                }
            });
            assert_eq!(
                single.into_map(),
                expected,
                "single lock, {threads} threads"
            );
        }
    });
}

#[test]
fn shard_counts_round_up_to_a_power_of_two() {
    assert_eq!(ShardedCounterMap::<u64>::new(0).shard_count(), 1);
    assert_eq!(ShardedCounterMap::<u64>::new(5).shard_count(), 8);
    assert_eq!(ShardedCounter::new(0).shard_count(), 1);
    assert!(ShardedCounterMap::<u64>::new(3).is_empty());
}
