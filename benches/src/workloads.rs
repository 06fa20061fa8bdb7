//! Workloads shared by the benches of every phase, so that "ours vs the peer" always runs the same
//! driver code.
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use harness::affinity::{Pinned, allowed_cpus};
use harness::contracts::channel::{ChannelFlavor, ChannelReceiver, ChannelSender};
use harness::contracts::queue::ConcurrentQueue;

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

/// Runs `op(t, i)` for every `i` in `0..iters` on each of `threads` threads (`t` is the thread's
/// index), released together by a barrier; returns the longest of the threads' own times. Where
/// [`on_threads`] splits the iterations and so measures throughput, this gives every thread all of
/// them: criterion's time per iteration is the time of one operation on one thread while the others
/// run too (a latency under contention). `op` is called through `dyn`, so every implementation a
/// bench compares pays the same indirect call. Made for criterion's `iter_custom`.
pub fn each_thread(threads: usize, iters: u64, op: &(dyn Fn(usize, u64) + Sync)) -> Duration {
    let threads = threads.max(1);
    let barrier = Barrier::new(threads);
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        op(t, i);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    #[test]
    fn each_thread_runs_every_iteration_on_every_thread() {
        let seen = [AtomicU64::new(0), AtomicU64::new(0)];
        each_thread(2, 1000, &|t, i| {
            seen[t].fetch_add(i + 1, Relaxed);
        });
        // 1 + 2 + … + 1000 on each thread.
        assert_eq!(seen.map(|s| s.load(Relaxed)), [500_500, 500_500]);
    }

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

/// Retries `attempt` until it succeeds, spinning and yielding the core every 64 failures; returns the
/// value and how many attempts failed.
pub fn retry<T>(mut attempt: impl FnMut() -> Option<T>) -> (T, u64) {
    let mut failures = 0u64;
    loop {
        if let Some(v) = attempt() {
            return (v, failures);
        }
        failures += 1;
        if failures.is_multiple_of(64) {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Pins the calling thread, the `k`-th of `threads`, to the `k`-th CPU it may use when every thread
/// can have a CPU of its own; otherwise (an oversubscribed scenario) leaves placement to the kernel.
/// The pin lasts as long as the returned guard.
pub fn pin_for(k: usize, threads: usize) -> Option<Pinned> {
    let cpus = allowed_cpus();
    (threads <= cpus.len()).then(|| Pinned::to(cpus[k]))
}

/// What one [`transfer`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transfer {
    /// Wall time from the first spawn to the last join.
    pub elapsed: Duration,
    /// Pushes that found the queue full, summed over the producers.
    pub push_failures: u64,
    /// Pops that found the queue empty, summed over the consumers.
    pub pop_failures: u64,
}

/// `producers` × `consumers` threads move the values `0..total` through `q`; with `pin`, each thread
/// is pinned by [`pin_for`]. A thread that finds the queue full (empty) retries with [`retry`].
///
/// The failure counts tell how the run went. Two threads sharing one core take turns: the producer
/// fills the queue, fails 64 times and yields, the consumer drains it, fails 64 times and yields,
/// which shows as exactly 64 / capacity failures per item on both sides.
pub fn transfer<Q: ConcurrentQueue<u64> + ?Sized>(
    q: &Q,
    producers: u64,
    consumers: u64,
    total: u64,
    pin: bool,
) -> Transfer {
    let threads = (producers + consumers) as usize;
    let t0 = Instant::now();
    let (push_failures, pop_failures) = thread::scope(|s| {
        let mut pushers = Vec::new();
        for p in 0..producers {
            pushers.push(s.spawn(move || {
                let _pin = pin.then(|| pin_for(p as usize, threads));
                let mut failed = 0;
                for v in (p..total).step_by(producers as usize) {
                    let mut v = Some(v);
                    failed += retry(|| match q.try_push(v.take().expect("value")) {
                        Ok(()) => Some(()),
                        Err(back) => {
                            v = Some(back);
                            None
                        }
                    })
                    .1;
                }
                failed
            }));
        }
        let mut poppers = Vec::new();
        for c in 0..consumers {
            // Split `total` exactly: consumer c takes its share.
            let share = total / consumers + u64::from(c < total % consumers);
            poppers.push(s.spawn(move || {
                let _pin = pin.then(|| pin_for((producers + c) as usize, threads));
                let (mut sum, mut failed) = (0u64, 0);
                for _ in 0..share {
                    let (v, f) = retry(|| q.try_pop());
                    sum = sum.wrapping_add(v);
                    failed += f;
                }
                std::hint::black_box(sum);
                failed
            }));
        }
        let joined = |hs: Vec<thread::ScopedJoinHandle<'_, u64>>| -> u64 {
            hs.into_iter()
                .map(|h| h.join().expect("a transfer thread panicked"))
                .sum()
        };
        (joined(pushers), joined(poppers))
    });
    Transfer {
        elapsed: t0.elapsed(),
        push_failures,
        pop_failures,
    }
}

/// A channel's capacity in a channel bench; its `Display` is the bench parameter (`cap=0`,
/// `unbounded`), the same in every phase's channel benches so their figures line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelCap {
    /// `bounded(n)`; 0 is a rendezvous.
    Bounded(usize),
    /// `unbounded()`.
    Unbounded,
}

impl std::fmt::Display for ChannelCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelCap::Bounded(n) => write!(f, "cap={n}"),
            ChannelCap::Unbounded => f.write_str("unbounded"),
        }
    }
}

impl ChannelCap {
    /// Messages one [`channel_transfer`] moves: hand-offs at capacity 0 and 1 cost a cross-core
    /// wake-up each (~25 µs on a 2-core VM), so they move fewer, to keep one iteration in the
    /// milliseconds.
    pub fn messages(self) -> usize {
        match self {
            ChannelCap::Bounded(0) | ChannelCap::Bounded(1) => 2_000,
            _ => 20_000,
        }
    }
}

/// Moves `msgs` `u64`s from `producers` threads to `consumers` threads through a channel of flavor
/// `F` and capacity `cap`; returns the wall time from before the first spawn to the last join. The
/// threads are spawned per call, for every flavor alike. More than one consumer needs a flavor whose
/// receiver clones (std's does not: that cell is left out by the caller). Made for criterion's
/// `iter_custom`.
pub fn channel_transfer<F: ChannelFlavor>(
    cap: ChannelCap,
    producers: usize,
    consumers: usize,
    msgs: usize,
) -> Duration {
    let (tx, rx) = match cap {
        ChannelCap::Bounded(n) => F::bounded::<u64>(n),
        ChannelCap::Unbounded => F::unbounded::<u64>(),
    };
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
                    std::hint::black_box(v);
                }
            });
        }
    });
    start.elapsed()
}
