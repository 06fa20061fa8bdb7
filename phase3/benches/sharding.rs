//! Sharded vs single-lock vs single-atomic counters, and a sharded counting map vs one locked map vs
//! dashmap, as threads grow.
//!
//! - `sharding/counter`, parameter `threads=1|2|4`: 200 000 adds split across the threads;
//!   `ours-sharded` (one cache-padded atomic per thread), `atomic` (one shared `AtomicU64`),
//!   `single-lock` (one `Mutex<u64>`).
//! - `sharding/map`, parameter `threads=1|2|4`: 100 000 counting upserts on 4096 uniform keys split
//!   across the threads (key streams generated outside the timed loop); `ours-sharded` (16 ×
//!   `Mutex<hashbrown::HashMap>`), `single-lock` (one `Mutex<HashMap>`), `dashmap`.
//!
//! 4 threads oversubscribe a 2-core machine on purpose. Each iteration spawns scoped threads; the time
//! is measured by the workers themselves (first start to last finish), see `timed_threads`.
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase3::cpu::counter::{AtomicCounter, LockedCounter, ShardedCounter};
use phase3::cpu::map::{ShardedCounterMap, SingleLockMap};
use phase3::cpu::workload::{key_stream, timed_threads};

const COUNTER_OPS: usize = 200_000;
const MAP_OPS: usize = 100_000;

fn timed(iters: u64, mut f: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| f()).sum()
}

fn counter(c: &mut Criterion) {
    let mut g = c.benchmark_group("sharding/counter");
    g.sample_size(10);
    g.throughput(Throughput::Elements(COUNTER_OPS as u64));
    for threads in [1, 2, 4] {
        let param = format!("threads={threads}");
        let per = COUNTER_OPS / threads;
        g.bench_function(benchkit::id("ours-sharded", &param), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    let c = ShardedCounter::new(threads);
                    let d = timed_threads(threads, |t| (0..per).for_each(|_| c.add(t, 1)));
                    black_box(c.sum());
                    d
                })
            })
        });
        g.bench_function(benchkit::id("atomic", &param), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    let c = AtomicCounter::new();
                    let d = timed_threads(threads, |_| (0..per).for_each(|_| c.add(1)));
                    black_box(c.get());
                    d
                })
            })
        });
        g.bench_function(benchkit::id("single-lock", &param), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    let c = LockedCounter::new();
                    let d = timed_threads(threads, |_| (0..per).for_each(|_| c.add(1)));
                    black_box(c.get());
                    d
                })
            })
        });
    }
    g.finish();
}

fn map(c: &mut Criterion) {
    let mut g = c.benchmark_group("sharding/map");
    g.sample_size(10);
    g.throughput(Throughput::Elements(MAP_OPS as u64));
    for threads in [1, 2, 4] {
        let param = format!("threads={threads}");
        let streams: Vec<Vec<u64>> = (0..threads)
            .map(|t| key_stream(0x5eed, t, MAP_OPS / threads, 4096))
            .collect();
        g.bench_function(benchkit::id("ours-sharded", &param), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    let m = ShardedCounterMap::new(16);
                    let d =
                        timed_threads(threads, |t| streams[t].iter().for_each(|&k| m.add(k, 1)));
                    black_box(m.len());
                    d
                })
            })
        });
        g.bench_function(benchkit::id("single-lock", &param), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    let m = SingleLockMap::new();
                    let d =
                        timed_threads(threads, |t| streams[t].iter().for_each(|&k| m.add(k, 1)));
                    black_box(m.len());
                    d
                })
            })
        });
        g.bench_function(benchkit::id("dashmap", &param), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    let m = dashmap::DashMap::<u64, u64>::with_shard_amount(16);
                    let d = timed_threads(threads, |t| {
                        streams[t]
                            .iter()
                            .for_each(|&k| *m.entry(k).or_insert(0) += 1)
                    });
                    black_box(m.len());
                    d
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = counter, map
}
criterion_main!(benches);
