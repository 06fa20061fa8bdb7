//! Channels: ours (Mutex + two Condvars) vs std mpsc, crossbeam-channel and tokio mpsc, on one
//! workload written once against `harness::contracts::channel` (`benchkit::workloads::channel_transfer`,
//! which phase 4's fastchan bench runs too; tokio, which has no blocking
//! `ChannelFlavor` adapter, gets the same workload by hand with `blocking_send` / `blocking_recv`).
//!
//! Groups `channels/spsc` (1 → 1), `channels/mpsc` (2 → 1), `channels/mpmc` (2 → 2); parameters
//! `cap=0`, `cap=1`, `cap=1024`, `unbounded`. One iteration moves a fixed number of `u64`s from the
//! producer threads to the consumer threads (spawned per iteration, for every implementation alike);
//! throughput is reported per message. std has no MPMC (its receiver does not clone) and tokio has
//! neither capacity 0 nor a cloneable receiver, so those cells are absent, not zero.
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use benchkit::workloads::{ChannelCap as Cap, channel_transfer};
use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use harness::contracts::channel::{ChannelFlavor, Crossbeam, StdMpsc};
use phase1::channels::contract::Ours;

/// The same workload on tokio's mpsc from plain threads (single consumer only).
fn tokio_run(cap: Cap, producers: usize, msgs: usize) -> Duration {
    let start = Instant::now();
    match cap {
        Cap::Bounded(n) => {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(n);
            thread::scope(|s| {
                for _ in 0..producers {
                    let tx = tx.clone();
                    s.spawn(move || {
                        for i in 0..(msgs / producers) as u64 {
                            tx.blocking_send(i).expect("consumer alive");
                        }
                    });
                }
                drop(tx);
                s.spawn(move || {
                    while let Some(v) = rx.blocking_recv() {
                        black_box(v);
                    }
                });
            });
        }
        Cap::Unbounded => {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
            thread::scope(|s| {
                for _ in 0..producers {
                    let tx = tx.clone();
                    s.spawn(move || {
                        for i in 0..(msgs / producers) as u64 {
                            tx.send(i).expect("consumer alive");
                        }
                    });
                }
                drop(tx);
                s.spawn(move || {
                    while let Some(v) = rx.blocking_recv() {
                        black_box(v);
                    }
                });
            });
        }
    }
    start.elapsed()
}

fn bench_flavor<F: ChannelFlavor>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    cap: Cap,
    producers: usize,
    consumers: usize,
) {
    let msgs = cap.messages();
    g.bench_function(benchkit::id(F::NAME, cap), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| channel_transfer::<F>(cap, producers, consumers, msgs))
                .sum()
        })
    });
}

const CAPS: [Cap; 4] = [
    Cap::Bounded(0),
    Cap::Bounded(1),
    Cap::Bounded(1024),
    Cap::Unbounded,
];

fn scenario(c: &mut Criterion, name: &str, producers: usize, consumers: usize) {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    for cap in CAPS {
        g.throughput(Throughput::Elements(cap.messages() as u64));
        bench_flavor::<Ours>(&mut g, cap, producers, consumers);
        bench_flavor::<Crossbeam>(&mut g, cap, producers, consumers);
        if consumers == 1 {
            bench_flavor::<StdMpsc>(&mut g, cap, producers, consumers);
            if !matches!(cap, Cap::Bounded(0)) {
                let msgs = cap.messages();
                g.bench_function(benchkit::id("tokio", cap), |b| {
                    b.iter_custom(|iters| (0..iters).map(|_| tokio_run(cap, producers, msgs)).sum())
                });
            }
        }
    }
    g.finish();
}

fn channels(c: &mut Criterion) {
    scenario(c, "channels/spsc", 1, 1);
    scenario(c, "channels/mpsc", 2, 1);
    scenario(c, "channels/mpmc", 2, 2);
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = channels
}
criterion_main!(benches);
