//! One limiter's `check`, ours (GCRA on one `AtomicU64`, `Gcra`) against governor's direct limiter
//! (the same algorithm on its own `AtomicU64`), both on their TSC clocks.
//!
//! - `ratelimit/check [1-thread]`: one thread checks in a loop.
//! - `ratelimit/check [2-threads]`: two threads check the same limiter at once (the machine has 2
//!   cores); the time is per check of one thread, both running.
//!
//! The quota admits 10^9 a second with a burst of 10^9, so every check admits and moves the TAT
//! with a compare-and-swap: the path that contends. `[1-thread-denying]` measures the other path
//! (a quota of one an hour, spent: one load, no write).
use std::hint::black_box;
use std::num::NonZeroU32;

use benchkit::workloads::each_thread;
use criterion::{Criterion, criterion_group, criterion_main};
use ratelimit::{Gcra, Quota, RateLimiter};

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("non-zero")
}

fn check(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratelimit/check");
    let ours_q = Quota::per_second(1_000_000_000).expect("quota");
    let gov_q = governor::Quota::per_second(nz(1_000_000_000));
    for threads in [1usize, 2] {
        let param = if threads == 1 {
            "1-thread".to_string()
        } else {
            format!("{threads}-threads")
        };
        let ours = Gcra::new(ours_q);
        g.bench_function(benchkit::id("ours", &param), |b| {
            b.iter_custom(|iters| {
                each_thread(threads, iters, &|_, _| {
                    let _ = black_box(ours.check());
                })
            })
        });
        let gov = governor::RateLimiter::direct(gov_q);
        g.bench_function(benchkit::id("governor", &param), |b| {
            b.iter_custom(|iters| {
                each_thread(threads, iters, &|_, _| {
                    let _ = black_box(gov.check());
                })
            })
        });
    }
    let ours = Gcra::new(Quota::per_hour(1).expect("quota"));
    let _ = ours.check();
    g.bench_function(benchkit::id("ours", "1-thread-denying"), |b| {
        b.iter(|| black_box(ours.check()))
    });
    let gov = governor::RateLimiter::direct(governor::Quota::per_hour(nz(1)));
    let _ = gov.check();
    g.bench_function(benchkit::id("governor", "1-thread-denying"), |b| {
        b.iter(|| black_box(gov.check()))
    });
    g.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
