//! fastchan step by step, against the channels it should catch up with. Groups `fastchan/spsc`
//! (1 → 1), `fastchan/mpsc` (2 → 1), `fastchan/mpmc` (2 → 2); parameters `cap=1`, `cap=1024`,
//! `cap=0` (the rendezvous) and `unbounded` (the list of blocks).
//!
//! The steps, each a function id:
//! - `ours-teaching` — phase 1's channel (one Mutex, two Condvars): the starting point;
//! - `ours-park-at-once` — + lock-free slots (the Vyukov ring), waiters parked at once;
//! - `ours-fastchan` — + spin, then yield, then park (the default policy);
//!
//! and the peers `crossbeam` and `std` (std has no MPMC: its receiver does not clone, so that cell
//! is absent). Targets (`targets.toml`): fastchan ≤ 1.5× each of crossbeam and std, i.e. ≤ 1.5× the
//! best of them. One iteration is `benchkit::workloads::channel_transfer`, the driver phase 1's channels
//! bench runs: a fixed number of `u64`s, threads spawned per iteration for every implementation
//! alike; throughput is per message.
use benchkit::workloads::{ChannelCap, channel_transfer};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use harness::contracts::channel::{ChannelFlavor, Crossbeam, StdMpsc};
use phase1::channels::contract::Ours as Teaching;
use phase4::fastchan::contract::{FastChan, FastChanParkAtOnce};

fn step<F: ChannelFlavor>(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    cap: ChannelCap,
    producers: usize,
    consumers: usize,
) {
    g.bench_function(benchkit::id(name, cap), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| channel_transfer::<F>(cap, producers, consumers, cap.messages()))
                .sum()
        })
    });
}

/// The capacities measured: the ring's two, then the rendezvous and the list of blocks.
const CAPS: [ChannelCap; 4] = [
    ChannelCap::Bounded(1),
    ChannelCap::Bounded(1024),
    ChannelCap::Bounded(0),
    ChannelCap::Unbounded,
];

fn scenario(c: &mut Criterion, group: &str, producers: usize, consumers: usize) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for cap in CAPS {
        g.throughput(Throughput::Elements(cap.messages() as u64));
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
