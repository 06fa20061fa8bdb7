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
    Quota::new(Duration::from_micros(50), 1_000).expect("non-zero")
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
