//! Workloads shared by the benches of every phase, so that "ours vs the peer" always runs the same
//! driver code.
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// One step of xorshift64: a cheap, well-mixed pseudo-random stream per thread (no shared RNG state to
/// contend on, no allocation, a handful of cycles).
#[inline]
pub fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// Runs `op` `iters` times in total, split evenly over `threads` threads released together by a
/// barrier; returns the wall time from the release until the last thread finished. Each call of `op`
/// gets the thread's next pseudo-random number ([`xorshift`], seeded per thread), to pick a key or
/// decide read vs write. Made for criterion's `iter_custom`.
pub fn on_threads(threads: usize, iters: u64, op: impl Fn(u64) + Sync) -> Duration {
    let threads = threads.max(1);
    let per = iters.div_ceil(threads as u64);
    let barrier = Barrier::new(threads + 1);
    thread::scope(|s| {
        for t in 0..threads {
            let (op, barrier) = (&op, &barrier);
            s.spawn(move || {
                barrier.wait();
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
                for _ in 0..per {
                    x = xorshift(x);
                    op(x);
                }
            });
        }
        barrier.wait();
        // The scope joins every worker before returning, so `elapsed` below covers all of them.
        Instant::now()
    })
    .elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    #[test]
    fn runs_every_iteration_across_threads() {
        let n = AtomicU64::new(0);
        on_threads(2, 1000, |_| {
            n.fetch_add(1, Relaxed);
        });
        assert_eq!(n.load(Relaxed), 1000);
    }

    #[test]
    fn xorshift_never_sticks_at_zero_from_a_nonzero_seed() {
        let mut x = 1;
        for _ in 0..1000 {
            x = xorshift(x);
            assert_ne!(x, 0);
        }
    }
}
