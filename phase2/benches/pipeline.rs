//! Pipelines: the same four-stage word count (generate → parse → transform → aggregate) as threads
//! joined by crossbeam channels (`ours-threads`) and as tokio tasks joined by bounded `mpsc`
//! (`ours-async`, on a 2-worker runtime built once), at equal stage counts and channel bounds.
//!
//! Group `pipeline/throughput`, parameters `stages=4,bound=64` and `stages=4,bound=4`. One iteration
//! pushes the whole corpus through a fresh pipeline (stage threads / tasks spawned per iteration, for
//! both alike) and joins it; throughput is per line.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase2::pipeline::corpus::corpus;
use phase2::pipeline::{Plan, tasks, threads};

const LINES: usize = 2_000;

fn throughput(c: &mut Criterion) {
    let lines = corpus(LINES, 42);
    let rt = tasks::runtime();
    let mut g = c.benchmark_group("pipeline/throughput");
    g.throughput(Throughput::Elements(LINES as u64));
    for bound in [64usize, 4] {
        let param = format!("stages=4,bound={bound}");
        g.bench_function(benchkit::id("ours-threads", &param), |b| {
            b.iter(|| {
                let r = threads::run(Plan::new(lines.clone(), Some(bound)));
                black_box(r.counts.len())
            })
        });
        g.bench_function(benchkit::id("ours-async", &param), |b| {
            b.iter(|| {
                let r = rt.block_on(tasks::run(Plan::new(lines.clone(), Some(bound))));
                black_box(r.counts.len())
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = throughput
}
criterion_main!(benches);
