//! The accuracy table: admitted vs allowed when threads hammer one limiter on the real (TSC) clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::clock::Clock;
use harness::stats::fmt_rate;

use crate::ratelimit::{FastClock, Quota, RateLimiter};

/// The quota every accuracy run uses: 20 000 permits/s, bursts of 1000. The burst (50 ms of permits)
/// is what a thread preempted for up to 50 ms on a busy machine can still claim on its return; with a
/// small burst, permits not claimed while every thread is off the CPU are lost, not over-admitted.
pub(super) fn quota() -> Quota {
    Quota::with_interval(Duration::from_micros(50))
        .and_then(|q| q.with_burst(1_000))
        .expect("a valid quota")
}

/// Thread counts of the table. 4 oversubscribes the 2-core machine on purpose: a thread preempted
/// inside a lock holds everyone else up, one preempted inside a CAS loop does not.
pub(super) const THREADS: [usize; 3] = [1, 2, 4];

/// One measured run.
pub(super) struct Run {
    pub threads: usize,
    pub checks: u64,
    pub admitted: u64,
    pub allowed: u64,
    pub wall: Duration,
}

impl Run {
    pub fn over(&self) -> u64 {
        self.admitted.saturating_sub(self.allowed)
    }
}

/// `threads` threads call `check` on one limiter until `run_for` has passed. `allowed` is the quota's
/// bound for the time from the limiter's creation (its clock's origin) to the end of the last check.
pub(super) fn hammer<L: RateLimiter>(
    make: impl Fn(FastClock) -> L,
    threads: usize,
    run_for: Duration,
) -> Run {
    let clock = FastClock::new();
    let limiter = make(clock.clone());
    let stop = AtomicBool::new(false);
    let t0 = Instant::now();
    let counts: Vec<(u64, u64)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let (mut checks, mut admitted) = (0u64, 0u64);
                    // Relaxed: a stop flag; nothing is published through it.
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..256 {
                            admitted += u64::from(limiter.check());
                        }
                        checks += 256;
                    }
                    (checks, admitted)
                })
            })
            .collect();
        std::thread::sleep(run_for);
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .map(|w| w.join().expect("hammer thread"))
            .collect()
    });
    let wall = t0.elapsed();
    // Read after every thread joined: every admission happened before this instant.
    let elapsed = clock.now();
    Run {
        threads,
        checks: counts.iter().map(|c| c.0).sum(),
        admitted: counts.iter().map(|c| c.1).sum(),
        allowed: quota().allowed(elapsed),
        wall,
    }
}

/// Runs `make` at every thread count, adds its rows to `table`, returns the runs.
pub(super) fn rows<L: RateLimiter>(
    ctx: &Ctx,
    table: &mut harness::exercise::TableBuilder,
    name: &str,
    make: impl Fn(FastClock) -> L + Copy,
) -> Vec<Run> {
    let run_for = ctx.pick(Duration::from_millis(150), Duration::from_millis(20));
    THREADS
        .iter()
        .map(|&threads| {
            let r = hammer(make, threads, run_for);
            table.row([
                name.to_string(),
                threads.to_string(),
                fmt_rate(r.checks as f64 / r.wall.as_secs_f64()),
                r.admitted.to_string(),
                r.allowed.to_string(),
                format!("{:.3}", r.admitted as f64 / r.allowed as f64),
                r.over().to_string(),
            ]);
            r
        })
        .collect()
}

/// The accuracy table's headers.
pub(super) const HEADERS: &[&str] = &[
    "limiter",
    "threads",
    "checks/s (all threads)",
    "admitted",
    "allowed (rate × elapsed + burst)",
    "admitted / allowed",
    "over-admitted",
];

/// The check every correct limiter must pass: never more than allowed, at any thread count.
pub(super) fn check_bound(ctx: &mut Ctx, name: &str, runs: &[Run]) {
    let worst = runs.iter().map(|r| r.over()).max().unwrap_or(0);
    let detail = runs
        .iter()
        .map(|r| format!("{}t: {}/{}", r.threads, r.admitted, r.allowed))
        .collect::<Vec<_>>()
        .join(", ");
    ctx.check_with(
        format!("{name}: admitted ≤ rate × elapsed + burst at 1, 2 and 4 threads"),
        worst == 0,
        detail,
    );
}

/// A clock stopped at its origin: every check of a run happens at one instant, so the exact budget
/// is known (`burst` for every algorithm here) and any excess is a lost update, not timing noise.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frozen;

impl Clock for Frozen {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Budget per round on the frozen clock.
const FROZEN_BURST: u32 = 100_000;

/// The frozen-clock table's headers.
pub(super) const FROZEN_HEADERS: &[&str] = &[
    "limiter",
    "threads",
    "rounds",
    "admitted",
    "budget",
    "over-admitted",
];

/// `threads` threads, started together, each make `FROZEN_BURST` checks on a fresh limiter of burst
/// `FROZEN_BURST` at one frozen instant; `rounds` rounds. Adds one row per thread count (2 and 4) and
/// returns (threads, admitted, budget) for each.
pub(super) fn frozen_rows<L: RateLimiter>(
    ctx: &Ctx,
    table: &mut harness::exercise::TableBuilder,
    name: &str,
    make: impl Fn(Quota, Frozen) -> L,
) -> Vec<(usize, u64, u64)> {
    let rounds = ctx.pick(10, 2);
    let q = Quota::with_interval(Duration::from_micros(50))
        .and_then(|q| q.with_burst(FROZEN_BURST))
        .expect("a valid quota");
    [2usize, 4]
        .iter()
        .map(|&threads| {
            let mut admitted = 0u64;
            for _ in 0..rounds {
                let limiter = make(q, Frozen);
                // A spinning start line, not a Barrier: parked threads wake ~25 µs apart here, long
                // enough for the first one to drain the bucket before the others arrive.
                let ready = std::sync::atomic::AtomicUsize::new(0);
                admitted += std::thread::scope(|s| {
                    let hs: Vec<_> = (0..threads)
                        .map(|_| {
                            s.spawn(|| {
                                // Relaxed: a start line; the limiter's own atomics/locks order the rest.
                                ready.fetch_add(1, Ordering::Relaxed);
                                while ready.load(Ordering::Relaxed) < threads {
                                    std::thread::yield_now();
                                }
                                (0..FROZEN_BURST).filter(|_| limiter.check()).count() as u64
                            })
                        })
                        .collect();
                    hs.into_iter()
                        .map(|h| h.join().expect("frozen thread"))
                        .sum::<u64>()
                });
            }
            let budget = u64::from(FROZEN_BURST) * rounds as u64;
            table.row([
                name.to_string(),
                threads.to_string(),
                rounds.to_string(),
                admitted.to_string(),
                budget.to_string(),
                admitted.saturating_sub(budget).to_string(),
            ]);
            (threads, admitted, budget)
        })
        .collect()
}

/// The exact-budget check: on the frozen clock a correct limiter admits the budget, no more, no less.
pub(super) fn check_exact(ctx: &mut Ctx, name: &str, runs: &[(usize, u64, u64)]) {
    let detail = runs
        .iter()
        .map(|(t, a, b)| format!("{t}t: {a}/{b}"))
        .collect::<Vec<_>>()
        .join(", ");
    ctx.check_with(
        format!("{name}: exactly the budget at one instant under 2 and 4 threads"),
        runs.iter().all(|(_, a, b)| a == b),
        detail,
    );
}
