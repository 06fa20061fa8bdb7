//! fastchan step by step, against the channels it should catch up with. Groups `fastchan/spsc`
//! (1 → 1), `fastchan/mpsc` (2 → 1), `fastchan/mpmc` (2 → 2); parameters `cap=1` and `cap=1024`.
//!
//! The steps, each a function id:
//! - `ours-teaching` — phase 1's channel (one Mutex, two Condvars): the starting point;
//! - `ours-park-at-once` — + lock-free slots (the Vyukov ring), waiters parked at once;
//! - `ours-fastchan` — + spin, then yield, then park (the default policy);
//!
//! and the peers `crossbeam` and `std` (std has no MPMC: its receiver does not clone, so that cell
//! is absent). Targets (`targets.toml`): fastchan ≤ 1.5× each of crossbeam and std, i.e. ≤ 1.5× the
//! best of them. One iteration moves a fixed number of `u64`s; threads are spawned per iteration for
//! every implementation alike; throughput is per message.
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::contracts::channel::{
    ChannelFlavor, ChannelReceiver, ChannelSender, Crossbeam, StdMpsc,
};
use phase1::channels::contract::Ours as Teaching;
use phase4::fastchan::contract::{FastChan, FastChanParkAtOnce};

/// Messages per iteration: at capacity 1 every message is a hand-off that may cost a wake-up.
fn messages(cap: usize) -> usize {
    if cap == 1 { 2_000 } else { 20_000 }
}

/// Moves `msgs` values from `producers` threads to `consumers` threads through `F::bounded(cap)`.
fn transfer<F: ChannelFlavor>(
    cap: usize,
    producers: usize,
    consumers: usize,
    msgs: usize,
) -> Duration {
    let (tx, rx) = F::bounded::<u64>(cap);
    let mut receivers: Vec<_> = (1..consumers)
        .map(|_| rx.try_clone().expect("an MPMC flavor"))
        .collect();
    receivers.push(rx);
    let per_producer = (msgs / producers) as u64;
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..producers {
            let tx = tx.clone();
            s.spawn(move || (0..per_producer).for_each(|i| tx.send(i).expect("consumers alive")));
        }
        drop(tx);
        for rx in receivers {
            s.spawn(move || {
                while let Some(v) = rx.recv() {
                    black_box(v);
                }
            });
        }
    });
    start.elapsed()
}

fn step<F: ChannelFlavor>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    cap: usize,
    producers: usize,
    consumers: usize,
) {
    g.bench_function(benchkit::id(name, format!("cap={cap}")), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| transfer::<F>(cap, producers, consumers, messages(cap)))
                .sum()
        })
    });
}

fn scenario(c: &mut Criterion, group: &str, producers: usize, consumers: usize) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for cap in [1, 1024] {
        g.throughput(Throughput::Elements(messages(cap) as u64));
        step::<Teaching>(&mut g, "ours-teaching", cap, producers, consumers);
        step::<FastChanParkAtOnce>(&mut g, "ours-park-at-once", cap, producers, consumers);
        step::<FastChan>(&mut g, "ours-fastchan", cap, producers, consumers);
        step::<Crossbeam>(&mut g, "crossbeam", cap, producers, consumers);
        if consumers == 1 {
            step::<StdMpsc>(&mut g, "std", cap, producers, consumers);
        }
    }
    g.finish();
}

fn fastchan(c: &mut Criterion) {
    scenario(c, "fastchan/spsc", 1, 1);
    scenario(c, "fastchan/mpsc", 2, 1);
    scenario(c, "fastchan/mpmc", 2, 2);
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = fastchan
}
criterion_main!(benches);
