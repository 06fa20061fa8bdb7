//! Word count on a ≥ 50 MB Zipf corpus: ours (map → combine → merge) vs sequential vs rayon.
//!
//! - `mapreduce/wordcount`, parameter `mb=50`: the corpus (50 000-word vocabulary, s = 1.0, fixed
//!   seed) is generated once, outside the timed loop. `ours` = `count_parallel` on 2 workers
//!   (256 KiB chunks claimed dynamically, 8 partitions), `baseline-sequential` = `count_sequential` (a reference point: `make bench-report` never counts it as the best peer),
//!   `rayon` = `count_rayon` (the same map → combine → merge, written with rayon's parallel
//!   iterators on its global pool, same chunks and partitions, same result type), and
//!   `rayon-fold-reduce` = rayon's shortest version (fold + pairwise reduce into one table). The
//!   report compares ours with the faster of the two. Same hasher for all.
use std::collections::hash_map::RandomState;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase3::cpu::mapreduce::{self, Plan};

const MB: usize = 50;

fn wordcount(c: &mut Criterion) {
    let corpus = mapreduce::zipf_corpus(MB * 1_000_000, 50_000, 1.0, 0x2195_f00d);
    let text = &corpus.text[..];
    let hasher = RandomState::new();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4);
    let plan = Plan::new(workers);
    let mut g = c.benchmark_group("mapreduce/wordcount");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    let param = format!("mb={MB}");
    g.bench_function(benchkit::id("ours", &param), |b| {
        b.iter(|| black_box(mapreduce::count_parallel(text, plan, &hasher).len()))
    });
    g.bench_function(benchkit::id("baseline-sequential", &param), |b| {
        b.iter(|| black_box(mapreduce::count_sequential(text, &hasher).len()))
    });
    g.bench_function(benchkit::id("rayon", &param), |b| {
        b.iter(|| black_box(mapreduce::count_rayon(text, plan, &hasher).len()))
    });
    g.bench_function(benchkit::id("rayon-fold-reduce", &param), |b| {
        b.iter(|| {
            black_box(mapreduce::count_rayon_fold_reduce(text, plan.chunk_bytes, &hasher).len())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = wordcount
}
criterion_main!(benches);
