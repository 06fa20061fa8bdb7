//! Lock-free queues and stacks: ours vs the ecosystem, same workload, same group.
//!
//! Every scenario runs under `iter_custom`: for a sample of `iters` iterations, the threads are
//! spawned once and move `iters × ITEMS` values, so thread start-up is amortised over the whole
//! sample and the time is the transfer itself. A thread that finds the queue full (empty) spins,
//! yielding the core every 64 failed attempts (2 cores, up to 4 threads); the MPMC driver is
//! `benchkit::workloads::transfer`, shared with `examples/mpmc_paired.rs`.
//!
//! When a scenario has no more threads than the machine has CPUs, thread `k` is pinned to CPU `k`.
//! Left to the kernel, the two threads of a `1p1c` run were often placed on one core, where they can
//! only take turns: the producer fills all 1 024 slots, fails 64 times, yields; the consumer drains
//! them, fails 64 times, yields. Such a run shows exactly 64 / 1 024 = 1/16 failed attempts per item
//! on both sides, measures `sched_yield` rather than the queue, and made our `1p1c` medians bimodal
//! across runs (and ArrayQueue's too). Pinned, every run measures the cross-core hand-off.
//!
//! - `queues/mpmc`, parameters `2p2c` and `1p1c` (producers × consumers), capacity 1024:
//!   `ours-vyukov` (`phase4::lockfree::BoundedQueue`) vs `crossbeam-arrayqueue`.
//! - `queues/spsc`, parameter `items=10000`, capacity 1024: `ours-ring` (`phase4::lockfree::ring`)
//!   vs `rtrb` vs `crossbeam-arrayqueue` (an MPMC queue used by one producer and one consumer).
//! - `queues/stack`, parameter `threads=2`: each thread pushes one value and pops one, `ITEMS / 2`
//!   times: `ours-treiber` (`phase4::lockfree::TreiberStack`) vs `mutex-vec` (`Mutex<Vec>`) vs
//!   `crossbeam-segqueue` (a lock-free FIFO: the ecosystem's nearest unbounded lock-free container).
use std::hint::black_box;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use benchkit::workloads::{pin_for, retry, transfer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbeam_queue::SegQueue;
use harness::contracts::queue::{
    AsSpsc, CrossbeamArrayQueue, QueueFlavor, Rtrb, SpscConsumer, SpscFlavor, SpscProducer,
};
use phase4::lockfree::{OursRing, OursVyukov, TreiberStack};

const ITEMS: u64 = 10_000;
const CAP: usize = 1024;

fn mpmc_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("queues/mpmc");
    g.throughput(Throughput::Elements(ITEMS));
    for (param, p, cns) in [("2p2c", 2, 2), ("1p1c", 1, 1)] {
        g.bench_function(benchkit::id("ours-vyukov", param), |b| {
            let q = OursVyukov::with_capacity::<u64>(CAP);
            b.iter_custom(|iters| transfer(&q, p, cns, iters * ITEMS, true).elapsed)
        });
        g.bench_function(benchkit::id("crossbeam-arrayqueue", param), |b| {
            let q = CrossbeamArrayQueue::with_capacity::<u64>(CAP);
            b.iter_custom(|iters| transfer(&q, p, cns, iters * ITEMS, true).elapsed)
        });
    }
    g.finish();
}

/// One producer thread and one consumer thread move `total` values; returns the wall time.
fn spsc<F: SpscFlavor>(total: u64) -> Duration {
    let (mut tx, mut rx) = F::channel::<u64>(CAP);
    let t0 = Instant::now();
    thread::scope(|s| {
        s.spawn(move || {
            let _pin = pin_for(0, 2);
            for v in 0..total {
                let mut v = Some(v);
                retry(|| match tx.try_push(v.take().expect("value")) {
                    Ok(()) => Some(()),
                    Err(back) => {
                        v = Some(back);
                        None
                    }
                });
            }
        });
        s.spawn(move || {
            let _pin = pin_for(1, 2);
            let mut sum = 0u64;
            for _ in 0..total {
                sum = sum.wrapping_add(retry(|| rx.try_pop()).0);
            }
            black_box(sum);
        });
    });
    t0.elapsed()
}

fn spsc_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("queues/spsc");
    g.throughput(Throughput::Elements(ITEMS));
    let param = format!("items={ITEMS}");
    g.bench_function(benchkit::id("ours-ring", &param), |b| {
        b.iter_custom(|iters| spsc::<OursRing>(iters * ITEMS))
    });
    g.bench_function(benchkit::id("rtrb", &param), |b| {
        b.iter_custom(|iters| spsc::<Rtrb>(iters * ITEMS))
    });
    g.bench_function(benchkit::id("crossbeam-arrayqueue", &param), |b| {
        b.iter_custom(|iters| spsc::<AsSpsc<CrossbeamArrayQueue>>(iters * ITEMS))
    });
    g.finish();
}

/// The push/pop pairs of the stack scenario.
trait PushPop: Sync {
    fn push(&self, v: u64);
    fn pop(&self) -> Option<u64>;
}
impl PushPop for TreiberStack<u64> {
    fn push(&self, v: u64) {
        TreiberStack::push(self, v)
    }
    fn pop(&self) -> Option<u64> {
        TreiberStack::pop(self)
    }
}
impl PushPop for Mutex<Vec<u64>> {
    fn push(&self, v: u64) {
        self.lock().expect("not poisoned").push(v)
    }
    fn pop(&self) -> Option<u64> {
        self.lock().expect("not poisoned").pop()
    }
}
impl PushPop for SegQueue<u64> {
    fn push(&self, v: u64) {
        SegQueue::push(self, v)
    }
    fn pop(&self) -> Option<u64> {
        SegQueue::pop(self)
    }
}

/// Two threads, each `rounds` × (push one, pop one); returns the wall time.
fn push_pop<S: PushPop>(s: &S, rounds: u64) -> Duration {
    let t0 = Instant::now();
    thread::scope(|sc| {
        for t in 0..2u64 {
            sc.spawn(move || {
                let _pin = pin_for(t as usize, 2);
                let mut sum = 0u64;
                for i in 0..rounds {
                    s.push(t * rounds + i);
                    // Never empty for this thread: it pushed first, and each thread pops one per push.
                    sum = sum.wrapping_add(s.pop().unwrap_or(0));
                }
                black_box(sum);
            });
        }
    });
    t0.elapsed()
}

fn stack_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("queues/stack");
    g.throughput(Throughput::Elements(ITEMS));
    let param = "threads=2";
    g.bench_function(benchkit::id("ours-treiber", param), |b| {
        let s = TreiberStack::new();
        b.iter_custom(|iters| push_pop(&s, iters * ITEMS / 2))
    });
    g.bench_function(benchkit::id("mutex-vec", param), |b| {
        let s = Mutex::new(Vec::new());
        b.iter_custom(|iters| push_pop(&s, iters * ITEMS / 2))
    });
    g.bench_function(benchkit::id("crossbeam-segqueue", param), |b| {
        let s = SegQueue::new();
        b.iter_custom(|iters| push_pop(&s, iters * ITEMS / 2))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = mpmc_group, spsc_group, stack_group
}
criterion_main!(benches);
