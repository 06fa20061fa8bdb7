//! The from-scratch executor vs tokio.
//!
//! - `executor/spawn-many`, parameter `tasks=10000`: one iteration spawns 10 000 tasks returning
//!   their index from outside the runtime (`block_on`) and awaits every handle.
//! - `executor/yield-many`, parameter `tasks=100,yields=100`: 100 tasks each yield 100 times.
//!
//! Both workloads are `phase4::runtime::workloads`, which the `work-stealing` section runs too.
//!
//! Ids: `ours` (2 workers), `tokio-mt` (multi-thread, 2 workers), `tokio-ct` (current-thread). Every
//! runtime is built once, outside the measurement.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase4::runtime::executor::{Builder, Executor};
use phase4::runtime::workloads;

const TASKS: u64 = 10_000;
const YTASKS: u64 = 100;
const YIELDS: u64 = 100;

/// Ours with 2 workers, like tokio-mt.
fn our_executor() -> Executor {
    Builder::new()
        .workers(2)
        .name("bench-ex")
        .build()
        .expect("executor")
}

fn tokio_rts() -> [(&'static str, tokio::runtime::Runtime); 2] {
    [
        (
            "tokio-mt",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("runtime"),
        ),
        (
            "tokio-ct",
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
        ),
    ]
}

fn spawn_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("executor/spawn-many");
    g.throughput(Throughput::Elements(TASKS));
    let param = format!("tasks={TASKS}");
    let ours = our_executor();
    let h = ours.handle();
    g.bench_function(benchkit::id("ours", &param), |b| {
        b.iter(|| black_box(ours.block_on(workloads::spawn_many(&h, TASKS))))
    });
    drop(ours);
    for (name, rt) in tokio_rts() {
        g.bench_function(benchkit::id(name, &param), |b| {
            b.iter(|| black_box(rt.block_on(workloads::spawn_many_tokio(TASKS))))
        });
    }
    g.finish();
}

fn yield_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("executor/yield-many");
    g.throughput(Throughput::Elements(YTASKS * YIELDS));
    let param = format!("tasks={YTASKS},yields={YIELDS}");
    let ours = our_executor();
    let h = ours.handle();
    g.bench_function(benchkit::id("ours", &param), |b| {
        b.iter(|| black_box(ours.block_on(workloads::yield_many(&h, YTASKS, YIELDS))))
    });
    drop(ours);
    for (name, rt) in tokio_rts() {
        g.bench_function(benchkit::id(name, &param), |b| {
            b.iter(|| black_box(rt.block_on(workloads::yield_many_tokio(YTASKS, YIELDS))))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = spawn_many, yield_many
}
criterion_main!(benches);
