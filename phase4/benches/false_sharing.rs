//! False sharing: two threads each incrementing their own counter, the counters packed into one cache
//! line vs padded onto separate lines (`phase4::lockfree::counters`).
//!
//! - `false-sharing/counters`, parameter `threads=2`: `packed` vs `padded`. One element is one
//!   increment per thread (a Relaxed load and store: each counter has a single writer). The time is the
//!   slower thread's, from a common start (a barrier) to its last increment, so thread start-up is not
//!   measured. Neither id is `ours`: this group measures a layout, not an implementation.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase4::lockfree::counters::{self, Packed, Padded};

const PER_ITER: u64 = 1_000;

fn counters_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("false-sharing/counters");
    g.throughput(Throughput::Elements(PER_ITER));
    g.bench_function(benchkit::id("padded", "threads=2"), |b| {
        b.iter_custom(|iters| counters::hammer(&Padded::default(), 2, iters * PER_ITER).elapsed)
    });
    g.bench_function(benchkit::id("packed", "threads=2"), |b| {
        b.iter_custom(|iters| counters::hammer(&Packed::default(), 2, iters * PER_ITER).elapsed)
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = counters_group
}
criterion_main!(benches);
