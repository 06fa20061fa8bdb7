//! Rate limiters: nanoseconds per check, one thread and two threads sharing one limiter.
//!
//! - `ratelimit/check-1t` and `ratelimit/check-2t`, parameter `ops=10000`: one iteration makes
//!   10 000 `check` calls (2t: two threads, 5 000 each, on one shared limiter; the threads are started
//!   once per sample, outside the timed loop of iterations). Ids: `ours-token-bucket` (lock-free,
//!   one `AtomicU64`), `ours-leaky` (meter, mutex), `ours-sliding-log`, `ours-sliding-counter`
//!   (mutex), and `governor` (a direct `RateLimiter`, GCRA on one atomic). Every one reads the
//!   TSC through `quanta` (ours: `FastClock`; governor: its default clock).
//! - Quota: one permit per ns, bursts of 1 000 000: checks far slower than that, so every check is
//!   admitted and takes the write path (the CAS, or the lock and the update), the path that matters.
use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase3::ratelimit::{
    FastClock, LeakyBucket, Quota, RateLimiter, SlidingCounter, SlidingLog, TokenBucket,
};

const OPS: u64 = 10_000;
const BURST: u32 = 1_000_000;

fn quota() -> Quota {
    Quota::with_interval(Duration::from_nanos(1))
        .and_then(|q| q.with_burst(BURST))
        .expect("a valid quota")
}

/// `iters` iterations of OPS checks split over `threads` threads; the wall time of the whole run.
fn run<F: Fn() -> bool + Sync>(check: &F, threads: u64, iters: u64) -> Duration {
    let per_thread = iters * OPS / threads;
    let start = Barrier::new(threads as usize + 1);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    for _ in 0..per_thread {
                        black_box(check());
                    }
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        for h in hs {
            h.join().expect("bench thread");
        }
        t0.elapsed()
    })
}

fn bench(c: &mut Criterion, threads: u64) {
    let mut g = c.benchmark_group(format!("ratelimit/check-{threads}t"));
    g.throughput(Throughput::Elements(OPS));
    let param = format!("ops={OPS}");

    fn ours<L: RateLimiter>(
        g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        id: &str,
        param: &str,
        threads: u64,
        make: impl Fn() -> L,
    ) {
        g.bench_function(benchkit::id(id, param), |b| {
            b.iter_custom(|iters| {
                let limiter = make();
                run(&|| limiter.check(), threads, iters)
            })
        });
    }
    ours(&mut g, "ours-token-bucket", &param, threads, || {
        TokenBucket::new(quota(), FastClock::new())
    });
    ours(&mut g, "ours-leaky", &param, threads, || {
        LeakyBucket::new(quota(), FastClock::new())
    });
    ours(&mut g, "ours-sliding-log", &param, threads, || {
        SlidingLog::new(quota(), FastClock::new())
    });
    ours(&mut g, "ours-sliding-counter", &param, threads, || {
        SlidingCounter::new(quota(), FastClock::new())
    });
    g.bench_function(benchkit::id("governor", &param), |b| {
        b.iter_custom(|iters| {
            let q = governor::Quota::with_period(Duration::from_nanos(1))
                .expect("non-zero")
                .allow_burst(NonZeroU32::new(BURST).expect("non-zero"));
            let limiter = governor::RateLimiter::direct(q);
            run(&|| limiter.check().is_ok(), threads, iters)
        })
    });
    g.finish();
}

fn check_1t(c: &mut Criterion) {
    bench(c, 1);
}

fn check_2t(c: &mut Criterion) {
    bench(c, 2);
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = check_1t, check_2t
}
criterion_main!(benches);
