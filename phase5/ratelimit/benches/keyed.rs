//! Keyed checks, ours (`Keyed`: 64 mutex-guarded hashbrown shards, one `u64` a key) against
//! governor's keyed limiter (`RateLimiter::keyed`: a `DashMap` of `AtomicU64`), both hashing with
//! std's `RandomState` on their TSC clocks.
//!
//! - `ratelimit/keyed [100-keys]` and `[1M-keys]`: the keys are all tracked before the clock starts;
//!   each check picks the next key of a fixed pseudo-random walk over them (so the 10^6-key case
//!   misses the caches as a real key space does). The quota admits 10^9 a second per key: every
//!   check admits and writes.
//! - `[1M-keys-2-threads]`: the same with two threads walking from different starting points.
use std::hint::black_box;
use std::num::{NonZeroU32, NonZeroUsize};

use benchkit::workloads::each_thread;
use criterion::{Criterion, criterion_group, criterion_main};
use ratelimit::{AtCap, Bounds, FastClock, Keyed, KeyedRateLimiter, Quota};

const MILLION: u64 = if cfg!(debug_assertions) {
    10_000
} else {
    1_000_000
};

/// The `i`-th key of a walk that visits every key of `0..n` once per `n` steps (`n` and the odd
/// multiplier are coprime when `n` is not a multiple of it).
#[inline]
fn key(i: u64, n: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9) % n
}

/// Where thread `t` starts its walk over `n` keys: the two threads of a 2-thread case walk far apart.
#[inline]
fn start(t: usize, n: u64) -> u64 {
    t as u64 * (n / 2 + 1)
}

fn keyed(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratelimit/keyed");
    let ours_q = Quota::per_second(1_000_000_000).expect("quota");
    let gov_q = governor::Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"));
    for (param, n, threads) in [
        ("100-keys", 100, 1),
        ("1M-keys", MILLION, 1),
        ("1M-keys-2-threads", MILLION, 2),
    ] {
        let bounds = Bounds {
            max_keys: NonZeroUsize::new(1 << 21).expect("non-zero"),
            at_cap: AtCap::DenyNewKeys,
            ..Bounds::default()
        };
        let ours =
            Keyed::<u64, _>::with_bounds(ours_q, bounds, FastClock::new(), Default::default());
        for k in 0..n {
            let _ = ours.check_key(&k);
        }
        g.bench_function(benchkit::id("ours", param), |b| {
            b.iter_custom(|iters| {
                each_thread(threads, iters, &|t, i| {
                    let _ = black_box(ours.check_key(&key(i + start(t, n), n)));
                })
            })
        });
        drop(ours);
        let gov = governor::RateLimiter::<u64, _, _>::keyed(gov_q);
        for k in 0..n {
            let _ = gov.check_key(&k);
        }
        g.bench_function(benchkit::id("governor", param), |b| {
            b.iter_custom(|iters| {
                each_thread(threads, iters, &|t, i| {
                    let _ = black_box(gov.check_key(&key(i + start(t, n), n)));
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, keyed);
criterion_main!(benches);
