//! Per-thread counters, packed into one cache line or padded onto separate lines: false sharing.
//!
//! Two threads that never touch each other's counter still fight when the counters share a cache
//! line: each increment needs the line in the Modified state on its own core, so the line ping-pongs
//! between the cores' caches. Padding each counter to its own line (crossbeam's `CachePadded`: 128
//! bytes on x86_64, because the adjacent-line prefetcher pulls lines in pairs) removes the fight
//! without changing a line of the logic.
use std::hint::black_box;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

/// Most counters a set holds (threads ≤ 4 in this workspace).
pub const MAX_THREADS: usize = 4;

/// A set of per-thread counters.
pub trait CounterSet: Sync + Default {
    /// Name for reports.
    const NAME: &'static str;
    /// Counter `i` (`i < MAX_THREADS`).
    fn counter(&self, i: usize) -> &AtomicU64;
}

/// All counters side by side, 8 bytes apart: one 64-byte line holds them all.
#[derive(Default)]
#[repr(align(64))]
pub struct Packed {
    counters: [AtomicU64; MAX_THREADS],
}

impl CounterSet for Packed {
    const NAME: &'static str = "packed";
    fn counter(&self, i: usize) -> &AtomicU64 {
        &self.counters[i]
    }
}

/// Each counter on its own (pair of) cache line(s).
#[derive(Default)]
pub struct Padded {
    counters: [CachePadded<AtomicU64>; MAX_THREADS],
}

impl CounterSet for Padded {
    const NAME: &'static str = "padded";
    fn counter(&self, i: usize) -> &AtomicU64 {
        &self.counters[i]
    }
}

/// Bytes between counter 0 and counter 1 of a set.
pub fn stride<C: CounterSet>(set: &C) -> usize {
    set.counter(1) as *const AtomicU64 as usize - set.counter(0) as *const AtomicU64 as usize
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct CounterRun {
    /// The slowest thread's time from the common start to its last increment.
    pub elapsed: Duration,
    /// Each counter's final value.
    pub counts: Vec<u64>,
    /// The fraction of the run during which every thread was counting at once (0 to 1): false sharing
    /// only costs while the threads overlap, which a loaded machine does not guarantee.
    pub overlap: f64,
}

/// `threads` threads each add 1 to their own counter `iters` times, starting together.
pub fn hammer<C: CounterSet>(set: &C, threads: usize, iters: u64) -> CounterRun {
    assert!(threads <= MAX_THREADS, "at most {MAX_THREADS} counters");
    // A spinning start line, not a `Barrier`: waking a parked thread takes ~25 µs here, long enough
    // for the first thread to be well ahead before the second one starts.
    let arrived = AtomicUsize::new(0);
    let spans: Vec<(Instant, Instant)> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (counter, arrived) = (set.counter(i), &arrived);
                s.spawn(move || {
                    // AcqRel/Acquire: a start signal only; it orders nothing else.
                    arrived.fetch_add(1, AcqRel);
                    // Spin without yielding (a yield can hand the core to another process and start
                    // us late); only after ~a million spins, yield now and then.
                    let mut spins = 0u32;
                    while arrived.load(Acquire) < threads {
                        spins = spins.saturating_add(1);
                        if spins > 1 << 20 && spins.is_multiple_of(1024) {
                            thread::yield_now();
                        } else {
                            std::hint::spin_loop();
                        }
                    }
                    let t0 = Instant::now();
                    for _ in 0..iters {
                        // A load and a store, not fetch_add: each counter has one writer, so no
                        // update is lost, and without a locked instruction an uncontended increment
                        // costs about a nanosecond: the cache line's travels are what remains.
                        // black_box: otherwise the optimiser may merge the loop's relaxed accesses
                        // into one store of the final value, and there would be nothing to share.
                        // Relaxed: the counter is read only after the join, which orders it.
                        counter.store(black_box(counter.load(Relaxed)) + 1, Relaxed);
                    }
                    (t0, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("counter thread"))
            .collect()
    });
    let first_start = spans.iter().map(|s| s.0).min().expect("threads ≥ 1");
    let last_end = spans.iter().map(|s| s.1).max().expect("threads ≥ 1");
    let all_started = spans.iter().map(|s| s.0).max().expect("threads ≥ 1");
    let first_done = spans.iter().map(|s| s.1).min().expect("threads ≥ 1");
    let together = first_done.saturating_duration_since(all_started);
    let whole = last_end - first_start;
    CounterRun {
        elapsed: spans.iter().map(|(a, b)| *b - *a).max().unwrap_or_default(),
        // Relaxed: the scope joined every writer.
        counts: (0..threads).map(|i| set.counter(i).load(Relaxed)).collect(),
        overlap: if whole.is_zero() {
            1.0
        } else {
            together.as_secs_f64() / whole.as_secs_f64()
        },
    }
}
