//! Splitting `0..n` among workers: static chunks, dynamic chunks, guided chunks.
//!
//! Go's habit is one goroutine per item and a `WaitGroup`; for CPU-bound loops the question is really
//! OpenMP's `schedule(static | dynamic, k | guided)`. **Static** hands worker `w` the `w`-th contiguous
//! block up front: zero coordination, but if cost is skewed the worker holding the expensive block
//! finishes last while the others idle. **Dynamic** lets every worker claim the next `k` indices from
//! one atomic counter: balanced to within one chunk, at one contended `fetch_add` per chunk.
//! **Guided** claims big chunks first and smaller ones as the work runs out (`remaining / 2·workers`,
//! never below a minimum): few claims, and a fine-grained tail to even out the finish.
//!
//! [`parallel_fold`] is the engine (per-worker state in, per-worker state out, on scoped threads);
//! [`run_skewed`] times it on a cost vector, and `map-reduce` reuses it for its map and merge phases.
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// How indices are handed to workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Worker `w` of `W` gets `[w·n/W, (w+1)·n/W)`, decided before any work starts.
    Static,
    /// Workers claim `chunk` indices at a time from a shared counter.
    Dynamic {
        /// Indices per claim (at least 1).
        chunk: usize,
    },
    /// Workers claim `max(remaining / (2·workers), min_chunk)` indices at a time.
    Guided {
        /// The smallest claim (at least 1).
        min_chunk: usize,
    },
}

impl Scheme {
    /// A short label, e.g. `dynamic k=64`.
    pub fn label(&self) -> String {
        match self {
            Scheme::Static => "static".into(),
            Scheme::Dynamic { chunk } => format!("dynamic k={chunk}"),
            Scheme::Guided { min_chunk } => format!("guided min={min_chunk}"),
        }
    }
}

/// Runs `body` over `0..n` on `workers` scoped threads, handing out ranges by `scheme`. Each worker
/// starts from `init(worker)` and its state is returned, in worker order, once every range is done.
///
/// Every index is passed to `body` exactly once. A panic in `body` propagates to the caller after the
/// other workers finish their current range (the claim counter is not poisoned; they simply drain).
pub fn parallel_fold<S, I, B>(n: usize, workers: usize, scheme: Scheme, init: I, body: B) -> Vec<S>
where
    S: Send,
    I: Fn(usize) -> S + Sync,
    B: Fn(&mut S, Range<usize>) + Sync,
{
    let workers = workers.max(1);
    // The next unclaimed index. Relaxed on every access: claims only need the atomicity of the
    // read-modify-write (no two workers get the same range); the results travel to the caller through
    // the scope's join, which is the synchronisation point.
    let next = AtomicUsize::new(0);
    let worker = |w: usize| {
        let mut state = init(w);
        match scheme {
            Scheme::Static => {
                let range = w * n / workers..(w + 1) * n / workers;
                if !range.is_empty() {
                    body(&mut state, range);
                }
            }
            Scheme::Dynamic { chunk } => {
                let chunk = chunk.max(1);
                loop {
                    let start = next.fetch_add(chunk, Ordering::Relaxed);
                    if start >= n {
                        break;
                    }
                    body(&mut state, start..(start + chunk).min(n));
                }
            }
            Scheme::Guided { min_chunk } => {
                let mut start = next.load(Ordering::Relaxed);
                while start < n {
                    let size = ((n - start) / (2 * workers)).max(min_chunk.max(1));
                    let end = (start + size).min(n);
                    match next.compare_exchange_weak(
                        start,
                        end,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => {
                            body(&mut state, start..end);
                            start = next.load(Ordering::Relaxed);
                        }
                        Err(seen) => start = seen,
                    }
                }
            }
        }
        state
    };
    if workers == 1 {
        return vec![worker(0)];
    }
    std::thread::scope(|s| {
        let worker = &worker;
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                std::thread::Builder::new()
                    .name(format!("partition-{w}"))
                    .spawn_scoped(s, move || worker(w))
                    .expect("spawn a worker")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// `cost` units of dependent integer work seeded by `index`: the result depends on every step, so
/// the optimiser cannot skip it, and on the index, so a lost or duplicated item changes the total.
pub fn burn(index: usize, cost: u32) -> u64 {
    let mut x = (index as u64) ^ 0x9e37_79b9_7f4a_7c15;
    for _ in 0..cost {
        x = x
            .wrapping_mul(0x5851_f42d_4c95_7f2d)
            .wrapping_add(0x1405_7b7e_f767_814f);
        x ^= x >> 29;
    }
    x
}

/// `n` item costs whose mean is about `mean`, rising with the index as `i²` (jittered ±50% from
/// `seed`): the expensive items cluster at the end, as in triangular loops or inputs sorted by size.
pub fn skewed_costs(n: usize, mean: u32, seed: u64) -> Vec<u32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let x = (i as f64 + 0.5) / n as f64;
            let jitter: f64 = rng.random_range(0.5..1.5);
            1 + (3.0 * mean as f64 * x * x * jitter) as u32
        })
        .collect()
}

/// The sequential reference: the wrapping sum of `burn(i, costs[i])`.
pub fn sequential(costs: &[u32]) -> u64 {
    costs
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, &c)| acc.wrapping_add(burn(i, c)))
}

/// What one worker did in [`run_skewed`].
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// Wrapping sum of its items' results.
    pub result: u64,
    /// Items it ran.
    pub items: usize,
    /// Ranges it claimed.
    pub claims: usize,
    /// Sum of its items' costs.
    pub units: u64,
    /// Time spent inside its ranges.
    pub busy: Duration,
    /// CPU time this worker's thread consumed (from its start to its end): less than its wall time
    /// when other processes took the core.
    pub cpu: Duration,
}

/// One timed run of a scheme over a cost vector.
#[derive(Clone, Debug)]
pub struct SkewedRun {
    /// The combined result (equal to [`sequential`] when every item ran once).
    pub result: u64,
    /// Wall time from the first spawn to the last join.
    pub elapsed: Duration,
    /// Per-worker accounts, in worker order.
    pub workers: Vec<WorkerStats>,
}

impl SkewedRun {
    /// Largest over mean of the workers' cost units: 1.0 is perfect balance.
    pub fn unit_imbalance(&self) -> f64 {
        imbalance(self.workers.iter().map(|w| w.units as f64))
    }

    /// Largest over mean of the workers' busy times.
    pub fn busy_imbalance(&self) -> f64 {
        imbalance(self.workers.iter().map(|w| w.busy.as_secs_f64()))
    }

    /// The share of a core each worker actually got while it had work: workers' CPU time / their busy
    /// (wall) time. Near 1.0 on an idle machine; well below when other processes take the cores.
    /// (Not CPU / (elapsed × workers): a worker that finished early and idles is imbalance, not load.)
    pub fn core_share(&self) -> f64 {
        let cpu: f64 = self.workers.iter().map(|w| w.cpu.as_secs_f64()).sum();
        let busy: f64 = self.workers.iter().map(|w| w.busy.as_secs_f64()).sum();
        (cpu / busy.max(1e-12)).min(1.0)
    }

    /// Cores used on average over the run: the workers' CPU time, summed, over the wall time. Static's
    /// run reaches `workers / imbalance` on an idle machine; about 1.0 means the workers ran one after
    /// the other (the machine had one core to give), which [`SkewedRun::core_share`] cannot see.
    pub fn parallelism(&self) -> f64 {
        let cpu: f64 = self.workers.iter().map(|w| w.cpu.as_secs_f64()).sum();
        cpu / self.elapsed.as_secs_f64().max(1e-12)
    }

    /// Items run in total.
    pub fn items(&self) -> usize {
        self.workers.iter().map(|w| w.items).sum()
    }
}

/// max / mean of a non-empty list of non-negative numbers (1.0 for an all-zero list).
pub fn imbalance(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    if mean == 0.0 {
        return 1.0;
    }
    v.iter().copied().fold(0.0, f64::max) / mean
}

/// Runs `burn` over `costs` on `workers` threads by `scheme`, timing each worker.
pub fn run_skewed(costs: &[u32], workers: usize, scheme: Scheme) -> SkewedRun {
    let t0 = Instant::now();
    let accounts = parallel_fold(
        costs.len(),
        workers,
        scheme,
        |_| (WorkerStats::default(), thread_cpu_time()),
        |(st, cpu_at_start), range| {
            let t = Instant::now();
            st.claims += 1;
            st.items += range.len();
            for i in range {
                st.units += u64::from(costs[i]);
                st.result = st.result.wrapping_add(burn(i, costs[i]));
            }
            st.busy += t.elapsed();
            st.cpu = thread_cpu_time().saturating_sub(*cpu_at_start);
        },
    );
    let elapsed = t0.elapsed();
    let stats: Vec<WorkerStats> = accounts.into_iter().map(|(st, _)| st).collect();
    SkewedRun {
        elapsed,
        result: stats.iter().fold(0u64, |a, w| a.wrapping_add(w.result)),
        workers: stats,
    }
}

/// CPU time consumed so far by the calling thread (zero where the clock is unavailable).
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is a clock every Linux and macOS kernel provides.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The cost-unit imbalance static chunking is bound to have on `costs` (no run needed: its split is
/// fixed in advance).
pub fn static_unit_imbalance(costs: &[u32], workers: usize) -> f64 {
    let n = costs.len();
    let w = workers.max(1);
    imbalance((0..w).map(|k| {
        costs[k * n / w..(k + 1) * n / w]
            .iter()
            .map(|&c| u64::from(c))
            .sum::<u64>() as f64
    }))
}
