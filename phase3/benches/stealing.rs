//! Work-stealing schedulers on an unbalanced recursive workload.
//!
//! - `stealing/unbalanced-tree`, parameter `n=1000000,threads=2`: one iteration sums a skewed tree
//!   of a million nodes (`phase3::steal::workload`: each node's left subtree holds 7/8 of its
//!   descendants, ~20 ns per node, subtrees under 512 nodes summed sequentially). `ours` (our pool on
//!   our Chase–Lev deque), `ours-crossbeam-deque` (the same pool on crossbeam-deque: isolates the
//!   deque), `rayon-join` (`rayon::join` in a 2-thread rayon pool), and `baseline-sequential` (the same
//!   recursion on one thread). Every pool is built once, outside the measurement.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::contracts::deque::CrossbeamDeque;
use phase3::steal::ChaseLev;
use phase3::steal::scheduler::StealingPool;
use phase3::steal::workload;

const N: u64 = 1_000_000;
const THREADS: usize = 2;

fn unbalanced_tree(c: &mut Criterion) {
    let mut g = c.benchmark_group("stealing/unbalanced-tree");
    g.throughput(Throughput::Elements(N));
    let param = format!("n={N},threads={THREADS}");

    let ours = StealingPool::<ChaseLev>::new(THREADS);
    g.bench_function(benchkit::id("ours", &param), |b| {
        b.iter(|| black_box(ours.install(|ctx| workload::ours(ctx, 0, black_box(N)))))
    });
    drop(ours);

    let ours_cb = StealingPool::<CrossbeamDeque>::new(THREADS);
    g.bench_function(benchkit::id("ours-crossbeam-deque", &param), |b| {
        b.iter(|| black_box(ours_cb.install(|ctx| workload::ours(ctx, 0, black_box(N)))))
    });
    drop(ours_cb);

    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("a rayon pool");
    g.bench_function(benchkit::id("rayon-join", &param), |b| {
        b.iter(|| black_box(rayon_pool.install(|| workload::rayon(0, black_box(N)))))
    });
    drop(rayon_pool);

    g.bench_function(benchkit::id("baseline-sequential", &param), |b| {
        b.iter(|| black_box(workload::sequential(0, black_box(N))))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = unbalanced_tree
}
criterion_main!(benches);
