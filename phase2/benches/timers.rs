//! `timers/1M`: the timing wheel against the binary-heap queue on 1M timers: insert them all, cancel
//! every other one, expire the rest advancing time 1024 ticks per call (`phase2::timers::workload`).
//! Target: ours-wheel / heap ≤ 0.33 (the wheel ≥ 3× faster).
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use phase2::timers::workload;
use phase2::timers::{HeapQueue, TimingWheel};

const N: usize = 1_000_000;

fn timers(c: &mut Criterion) {
    let deadlines = workload::deadlines(N, 7);
    let mut g = c.benchmark_group("timers/1M");
    // One iteration handles a million timers (hundreds of ms): ten samples are enough.
    g.sample_size(10);
    g.bench_function("ours-wheel", |b| {
        b.iter_batched(
            || TimingWheel::with_capacity(N),
            |mut q| {
                black_box(workload::churn(&mut q, &deadlines, |id| {
                    black_box(id);
                }))
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("heap", |b| {
        b.iter_batched(
            || HeapQueue::with_capacity(N),
            |mut q| {
                black_box(workload::churn(&mut q, &deadlines, |id| {
                    black_box(id);
                }))
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group! {name = benches; config = benchkit::config(); targets = timers}
criterion_main!(benches);
