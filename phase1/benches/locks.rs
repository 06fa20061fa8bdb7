//! Locks, ours against `std` and `parking_lot`, through the shared lock contract so every
//! implementation runs the identical workload.
//!
//! - `locks/uncontended`: one thread, lock + increment + unlock (no parameter).
//! - `locks/contended`, parameter `threads=2`: two threads hammering one lock (time per operation,
//!   both threads' operations counted).
//! - `rwlock/read-heavy`: two threads, 95% reads / 5% writes on one lock (no parameter: the scenario
//!   is fixed, as the ratio report's target names it).
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use harness::contracts::lock::{Lock, RwLockContract};

const THREADS: usize = 2;

fn on_threads(iters: u64, op: impl Fn(u64) + Sync) -> Duration {
    benchkit::workloads::on_threads(THREADS, iters, op)
}

fn uncontended<L: Lock<u64>>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    let lock = L::new(0);
    c.bench_function(L::NAME, |b| {
        b.iter(|| {
            *lock.lock() += 1;
        });
        black_box(&lock);
    });
}

fn contended<L: Lock<u64>>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    let lock = L::new(0);
    c.bench_function(benchkit::id(L::NAME, format!("threads={THREADS}")), |b| {
        b.iter_custom(|iters| {
            on_threads(iters, |_| {
                *lock.lock() += 1;
            })
        });
    });
}

fn read_heavy<L: RwLockContract<u64>>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    let lock = L::new(0);
    c.bench_function(L::NAME, |b| {
        b.iter_custom(|iters| {
            on_threads(iters, |x| {
                if x % 100 < 5 {
                    *lock.write() += 1;
                } else {
                    black_box(*lock.read());
                }
            })
        });
    });
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("locks/uncontended");
    uncontended::<phase1::sync::Mutex<u64>>(&mut g);
    uncontended::<phase1::sync::SpinLock<u64>>(&mut g);
    uncontended::<std::sync::Mutex<u64>>(&mut g);
    uncontended::<parking_lot::Mutex<u64>>(&mut g);
    g.finish();

    let mut g = c.benchmark_group("locks/contended");
    contended::<phase1::sync::Mutex<u64>>(&mut g);
    contended::<phase1::sync::SpinLock<u64>>(&mut g);
    contended::<std::sync::Mutex<u64>>(&mut g);
    contended::<parking_lot::Mutex<u64>>(&mut g);
    g.finish();

    let mut g = c.benchmark_group("rwlock/read-heavy");
    read_heavy::<phase1::sync::RwLock<u64>>(&mut g);
    read_heavy::<std::sync::RwLock<u64>>(&mut g);
    read_heavy::<parking_lot::RwLock<u64>>(&mut g);
    g.finish();
}

criterion_group! {name = lock_benches; config = benchkit::config(); targets = benches}
criterion_main!(lock_benches);
