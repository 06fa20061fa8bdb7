//! Load distribution: one shared queue, round-robin per-worker queues, power-of-two choices.
//!
//! Go's fan-out is N goroutines reading one channel — a shared queue, so an idle worker always takes
//! the next task. Handing tasks out in advance (round-robin into per-worker queues) fixes each worker's
//! share of the work before anyone knows what it costs; power-of-two choices looks at two random queues
//! and picks the shorter, using live queue length as the load signal.
//!
//! A task here is a wait of a given length (`thread::sleep`): an I/O-like cost that does not compete
//! for the 2 cores, so the makespan measures the distribution, not the CPU scheduler.
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// How tasks reach the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One queue, every worker takes the next task when it is free (Go's `for t := range jobs`).
    Shared,
    /// One queue fed in decreasing order of cost (longest processing time first): needs the costs in
    /// advance, and bounds the makespan by 4/3 of the optimum instead of total/n + largest.
    SharedLongestFirst,
    /// Task `i` goes to worker `i % n`'s own queue.
    RoundRobin,
    /// Each task goes to the shorter of two randomly chosen per-worker queues (seeded RNG).
    PowerOfTwo,
}

impl Strategy {
    /// All strategies, in table order.
    pub const ALL: [Strategy; 4] = [
        Strategy::Shared,
        Strategy::SharedLongestFirst,
        Strategy::RoundRobin,
        Strategy::PowerOfTwo,
    ];

    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Shared => "shared queue",
            Strategy::SharedLongestFirst => "shared, longest first",
            Strategy::RoundRobin => "round-robin",
            Strategy::PowerOfTwo => "power of two choices",
        }
    }
}

/// Heavy-tailed task costs: a Pareto distribution (shape `alpha`, minimum `min`) capped at `cap`,
/// from a seeded RNG so every run sees the same tasks.
pub fn heavy_tailed(
    n: usize,
    min: Duration,
    alpha: f64,
    cap: Duration,
    seed: u64,
) -> Vec<Duration> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            // Inverse transform: u in (0, 1] → min / u^(1/alpha) is Pareto(min, alpha).
            let u: f64 = 1.0 - rng.random::<f64>();
            min.mul_f64(u.powf(-1.0 / alpha)).min(cap)
        })
        .collect()
}

/// A queued task: its index and when it was enqueued.
type Queued = (usize, Instant);

/// What one run of a strategy measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Start of the run to the completion of the last task.
    pub makespan: Duration,
    /// Per worker: time spent running tasks.
    pub busy: Vec<Duration>,
    /// Per worker: the indices of the tasks it ran, in order.
    pub ran: Vec<Vec<usize>>,
    /// The longest time from a task's enqueue to its completion (queueing + running).
    pub worst_latency: Duration,
}

impl Report {
    /// Per worker: busy time / makespan.
    pub fn utilisation(&self) -> Vec<f64> {
        let m = self.makespan.as_secs_f64().max(f64::MIN_POSITIVE);
        self.busy.iter().map(|b| b.as_secs_f64() / m).collect()
    }

    /// Every task index that ran, sorted (a multiset: a duplicate would show twice).
    pub fn all_ran_sorted(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.ran.iter().flatten().copied().collect();
        all.sort_unstable();
        all
    }
}

/// The makespan a static assignment cannot beat: the largest per-worker sum of costs when task `i`
/// goes to worker `i % workers`. Round-robin is at least this slow, whatever the timing noise.
pub fn round_robin_lower_bound(costs: &[Duration], workers: usize) -> Duration {
    let mut sums = vec![Duration::ZERO; workers];
    for (i, c) in costs.iter().enumerate() {
        sums[i % workers] += *c;
    }
    sums.into_iter().max().unwrap_or_default()
}

/// Greedy list scheduling's guarantee (Graham): a shared queue finishes within total/workers + the
/// largest task, plus per-task overhead.
pub fn shared_queue_upper_bound(costs: &[Duration], workers: usize) -> Duration {
    let total: Duration = costs.iter().sum();
    total / workers as u32 + costs.iter().max().copied().unwrap_or_default()
}

/// Runs every task once on `workers` threads named `fan-dist-<i>`, distributed by `strategy`, all
/// tasks enqueued at the start (a batch, in index order unless the strategy reorders it). Every
/// thread is joined before it returns.
pub fn run(costs: &[Duration], workers: usize, strategy: Strategy, seed: u64) -> Report {
    run_paced(costs, workers, strategy, seed, Duration::ZERO)
}

/// Like [`run`], but task `k` of the dispatch order is enqueued at `start + k × gap` (a stream of
/// arrivals rather than a batch), so queue lengths seen at dispatch reflect the work still pending.
pub fn run_paced(
    costs: &[Duration],
    workers: usize,
    strategy: Strategy,
    seed: u64,
    gap: Duration,
) -> Report {
    assert!(workers > 0, "at least one worker");
    let (queues_tx, queues_rx): (Vec<Sender<Queued>>, Vec<Receiver<Queued>>) = match strategy {
        Strategy::Shared | Strategy::SharedLongestFirst => {
            let (tx, rx) = unbounded();
            (vec![tx], vec![rx; workers])
        }
        Strategy::RoundRobin | Strategy::PowerOfTwo => (0..workers).map(|_| unbounded()).unzip(),
    };
    let start = Instant::now();
    let handles: Vec<_> = queues_rx
        .into_iter()
        .enumerate()
        .map(|(w, rx)| {
            let costs = costs.to_vec();
            thread::Builder::new()
                .name(format!("fan-dist-{w}"))
                .spawn(move || {
                    let mut busy = Duration::ZERO;
                    let mut ran = Vec::new();
                    let mut last = start;
                    let mut worst = Duration::ZERO;
                    for (i, enqueued) in rx.iter() {
                        let t0 = Instant::now();
                        thread::sleep(costs[i]);
                        last = Instant::now();
                        busy += last - t0;
                        worst = worst.max(last - enqueued);
                        ran.push(i);
                    }
                    (busy, ran, last, worst)
                })
                .expect("spawn a distribution worker")
        })
        .collect();
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..costs.len()).collect();
    if strategy == Strategy::SharedLongestFirst {
        order.sort_by_key(|&i| std::cmp::Reverse(costs[i]));
    }
    for (k, i) in order.into_iter().enumerate() {
        if !gap.is_zero() {
            // Pace against the start, not the previous send, so oversleeping does not accumulate.
            let due = start + gap * k as u32;
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
        }
        let q = match strategy {
            Strategy::Shared | Strategy::SharedLongestFirst => 0,
            Strategy::RoundRobin => i % workers,
            Strategy::PowerOfTwo => {
                let a = rng.random_range(0..workers);
                let b = rng.random_range(0..workers);
                if queues_tx[b].len() < queues_tx[a].len() {
                    b
                } else {
                    a
                }
            }
        };
        queues_tx[q]
            .send((i, Instant::now()))
            .expect("workers outlive the dispatch");
    }
    drop(queues_tx); // closes every queue: workers finish what is queued, then exit
    let mut report = Report {
        makespan: Duration::ZERO,
        busy: Vec::new(),
        ran: Vec::new(),
        worst_latency: Duration::ZERO,
    };
    for h in handles {
        let (busy, ran, last, worst) = h.join().expect("a distribution worker panicked");
        report.worst_latency = report.worst_latency.max(worst);
        report.makespan = report.makespan.max(last - start);
        report.busy.push(busy);
        report.ran.push(ran);
    }
    report
}
