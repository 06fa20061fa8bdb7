//! Work-stealing deques: the owner's push/pop and a thief's steal, ours (Chase–Lev) vs crossbeam-deque.
//!
//! - `deque/push-pop`, parameter `n=1024`: one iteration pushes 1024 values and pops them all back
//!   (LIFO), on the owner's thread; the deque is built once, so its buffer has already grown.
//! - `deque/steal`, parameter `n=1024`: one iteration pushes 1024 values and a thief handle steals
//!   them all, on the same thread (the uncontended cost of the steal path: two loads, the SeqCst
//!   fence, the slot read and the CAS).
//!
//! Both deques go through the same `WorkDeque` contract (`harness::contracts::deque`), monomorphised.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::contracts::deque::{CrossbeamDeque, DequeOwner, DequeStealer, Steal, WorkDeque};
use phase3::steal::ChaseLev;

const N: u64 = 1024;

fn push_pop<D: WorkDeque>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
) {
    let w = D::new::<u64>();
    c.bench_function(benchkit::id(id, format!("n={N}")), |b| {
        b.iter(|| {
            for i in 0..N {
                w.push(black_box(i));
            }
            let mut sum = 0;
            while let Some(v) = w.pop() {
                sum += v;
            }
            black_box(sum)
        })
    });
}

fn steal<D: WorkDeque>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
) {
    let w = D::new::<u64>();
    let s = w.stealer();
    c.bench_function(benchkit::id(id, format!("n={N}")), |b| {
        b.iter(|| {
            for i in 0..N {
                w.push(black_box(i));
            }
            let mut sum = 0;
            loop {
                match s.steal() {
                    Steal::Success(v) => sum += v,
                    Steal::Empty => break,
                    Steal::Retry => {}
                }
            }
            black_box(sum)
        })
    });
}

fn deques(c: &mut Criterion) {
    let mut g = c.benchmark_group("deque/push-pop");
    g.throughput(Throughput::Elements(N));
    push_pop::<ChaseLev>(&mut g, "ours");
    push_pop::<CrossbeamDeque>(&mut g, "crossbeam-deque");
    g.finish();

    let mut g = c.benchmark_group("deque/steal");
    g.throughput(Throughput::Elements(N));
    steal::<ChaseLev>(&mut g, "ours");
    steal::<CrossbeamDeque>(&mut g, "crossbeam-deque");
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = deques
}
criterion_main!(benches);
