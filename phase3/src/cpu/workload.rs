//! The timed multi-thread workloads the `sharding` section and `benches/sharding.rs` share.
use std::sync::Barrier;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Runs `body(t)` on `threads` scoped threads released together by a barrier; returns the time from
/// the first thread's start to the last thread's finish, each read by the worker itself (so a main
/// thread descheduled after the barrier cannot shorten the measurement; thread start-up is excluded).
pub fn timed_threads<F>(threads: usize, body: F) -> Duration
where
    F: Fn(usize) + Sync,
{
    let threads = threads.max(1);
    let start = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (start, body) = (&start, &body);
                std::thread::Builder::new()
                    .name(format!("shard-{t}"))
                    .spawn_scoped(s, move || {
                        start.wait();
                        let t0 = Instant::now();
                        body(t);
                        (t0, Instant::now())
                    })
                    .expect("spawn a worker")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let first = spans.iter().map(|s| s.0).min().expect("threads ≥ 1");
    let last = spans.iter().map(|s| s.1).max().expect("threads ≥ 1");
    last - first
}

/// `ops` keys in `0..key_space`, uniformly drawn, deterministic in `(seed, thread)`.
pub fn key_stream(seed: u64, thread: usize, ops: usize, key_space: u64) -> Vec<u64> {
    let mut rng =
        SmallRng::seed_from_u64(seed ^ (thread as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..ops)
        .map(|_| rng.random_range(0..key_space.max(1)))
        .collect()
}

/// The exact per-key counts that adding 1 for every key of every stream must produce.
pub fn expected_counts(streams: &[Vec<u64>]) -> std::collections::HashMap<u64, u64> {
    let mut m = std::collections::HashMap::new();
    for k in streams.iter().flatten() {
        *m.entry(*k).or_insert(0) += 1;
    }
    m
}
