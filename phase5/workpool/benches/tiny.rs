//! workpool vs its peers on tiny tasks (about 1 µs of CPU each, [`contenders::tiny_task`]), 2
//! workers (the machine has 2 cores). Every contender of [`contenders::LABELS`] runs the same
//! workload in one group, the pool built once outside the measurement; one iteration ends when every
//! task has run (ours `wait_idle`, threadpool and rusty_pool `join`, rayon and tokio a latch).
//!
//! - `workpool/tiny [1x100k]`: one submitter `execute`s 100 000 tasks, then waits until all have run.
//!   `baseline-inline` runs the same 100 000 tasks on the caller, no pool: the workload's own cost.
//! - `workpool/tiny [100x1k]`: 100 submitter threads × 1 000 tasks each, as the issue asks: 102
//!   runnable threads on 2 cores, so this measures how each pool's intake behaves when its submitters
//!   are preempted while holding (or waiting for) its lock as much as the intake itself. The submitters
//!   are spawned and parked before the clock starts (`iter_custom`); the clock runs from their release
//!   until the pool is idle.
//! - `workpool/bursts [20x5k]`: 20 bursts of 5 000 tasks, each followed by a wait until idle: the
//!   workers fall asleep and are woken 20 times per iteration.
//!
//! An iteration takes 50-200 ms, so the groups sample flat (the same iteration count per sample) with
//! 20 samples. Sizes shrink under `debug_assertions` (`cargo test --all-targets` runs each bench
//! once).
use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

mod contenders;
use contenders::{Contender, LABELS, bursts, from_many, one_submitter, tiny_task};

const WORKERS: usize = 2;
const TASKS: usize = if cfg!(debug_assertions) {
    2_000
} else {
    100_000
};
const SUBMITTERS: usize = if cfg!(debug_assertions) { 4 } else { 100 };
const BURSTS: usize = 20;

/// `100000` → `100k`, for the parameter names.
fn k(n: usize) -> String {
    if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn tiny(c: &mut Criterion) {
    let mut g = c.benchmark_group("workpool/tiny");
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    g.throughput(Throughput::Elements(TASKS as u64));

    let one = format!("1x{}", k(TASKS));
    g.bench_function(benchkit::id("baseline-inline", &one), |b| {
        b.iter(|| {
            for i in 0..TASKS {
                tiny_task(black_box(i as u64));
            }
        })
    });
    for label in LABELS {
        let pool = Contender::new(label, WORKERS);
        g.bench_function(benchkit::id(label, &one), |b| {
            b.iter(|| one_submitter(&pool, TASKS))
        });
        pool.shutdown();
    }

    let per = TASKS / SUBMITTERS;
    let many = format!("{SUBMITTERS}x{}", k(per));
    for label in LABELS {
        let pool = Contender::new(label, WORKERS);
        g.bench_function(benchkit::id(label, &many), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| from_many(&pool, SUBMITTERS, per)).sum())
        });
        pool.shutdown();
    }
    g.finish();
}

fn burst_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("workpool/bursts");
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    g.throughput(Throughput::Elements(TASKS as u64));
    let per = TASKS / BURSTS;
    let param = format!("{BURSTS}x{}", k(per));
    for label in LABELS {
        let pool = Contender::new(label, WORKERS);
        g.bench_function(benchkit::id(label, &param), |b| {
            b.iter(|| bursts(&pool, BURSTS, per))
        });
        pool.shutdown();
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = tiny, burst_group
}
criterion_main!(benches);
