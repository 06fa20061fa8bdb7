//! The from-scratch executor vs tokio.
//!
//! - `executor/spawn-many`, parameter `tasks=10000`: one iteration spawns 10 000 tasks returning
//!   their index from outside the runtime (`block_on`) and awaits every handle.
//! - `executor/yield-many`, parameter `tasks=100,yields=100`: 100 tasks each yield 100 times.
//!
//! Ids: `ours` (2 workers), `tokio-mt` (multi-thread, 2 workers), `tokio-ct` (current-thread). Every
//! runtime is built once, outside the measurement.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase4::runtime::executor::{Builder, yield_now};

const TASKS: u64 = 10_000;
const YTASKS: u64 = 100;
const YIELDS: u64 = 100;

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
    let ours = Builder::new()
        .workers(2)
        .name("bench-ex")
        .build()
        .expect("executor");
    let h = ours.handle();
    g.bench_function(benchkit::id("ours", &param), |b| {
        b.iter(|| {
            ours.block_on(async {
                let hs: Vec<_> = (0..TASKS).map(|i| h.spawn(async move { i })).collect();
                let mut s = 0;
                for j in hs {
                    s += j.await.expect("no panic");
                }
                black_box(s)
            })
        })
    });
    drop(ours);
    for (name, rt) in tokio_rts() {
        g.bench_function(benchkit::id(name, &param), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
                    let mut s = 0;
                    for j in hs {
                        s += j.await.expect("no panic");
                    }
                    black_box(s)
                })
            })
        });
    }
    g.finish();
}

fn yield_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("executor/yield-many");
    g.throughput(Throughput::Elements(YTASKS * YIELDS));
    let param = format!("tasks={YTASKS},yields={YIELDS}");
    let ours = Builder::new()
        .workers(2)
        .name("bench-ex")
        .build()
        .expect("executor");
    let h = ours.handle();
    g.bench_function(benchkit::id("ours", &param), |b| {
        b.iter(|| {
            ours.block_on(async {
                let hs: Vec<_> = (0..YTASKS)
                    .map(|_| {
                        h.spawn(async {
                            for _ in 0..YIELDS {
                                yield_now().await;
                            }
                        })
                    })
                    .collect();
                for j in hs {
                    j.await.expect("no panic");
                }
            })
        })
    });
    drop(ours);
    for (name, rt) in tokio_rts() {
        g.bench_function(benchkit::id(name, &param), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let hs: Vec<_> = (0..YTASKS)
                        .map(|_| {
                            tokio::spawn(async {
                                for _ in 0..YIELDS {
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for j in hs {
                        j.await.expect("no panic");
                    }
                })
            })
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
