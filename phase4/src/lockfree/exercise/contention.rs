//! `contention`: two instrumented locks, one hot and one cold; the histograms name the hot one.
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::fmt_duration;

use crate::lockfree::{InstrumentedMutex, LockReport};

/// 3 threads on 2 cores: oversubscribed on purpose, as a real service is; a holder that gets
/// descheduled makes everyone behind it wait, which is what a wait histogram's tail shows.
const THREADS: usize = 3;
/// One iteration in `COLD_EVERY` also takes the cold lock.
const COLD_EVERY: usize = 10;

/// Busy work for `d` (CPU work inside or outside a critical section).
fn spin_for(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        black_box(());
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    let iters = ctx.pick(1_500, 300);
    let hot_work = Duration::from_micros(2);
    let hot_io = Duration::from_micros(20);
    let cold_hold = Duration::from_micros(2);
    ctx.say(format!(
        "{THREADS} threads × {iters} iterations: take `hot` for {} of work plus a {} sleep standing in for \
         a blocking call made under the lock (the classic hot-lock bug), work {} outside it, and every \
         {COLD_EVERY}th iteration take `cold` for {} of work. The locks record wait and hold times \
         (hdrhistogram, ns); the program does not know which is hot — the numbers decide.",
        fmt_duration(hot_work),
        fmt_duration(hot_io),
        fmt_duration(Duration::from_micros(1)),
        fmt_duration(cold_hold)
    ));
    // Listed cold first, so picking the first one would be wrong.
    let locks = [
        InstrumentedMutex::new("cold", 0usize),
        InstrumentedMutex::new("hot", 0usize),
    ];
    let (cold, hot) = (&locks[0], &locks[1]);
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                // Start together: thread start-up is tens of µs, a fair share of a short run.
                start.wait();
                for i in 0..iters {
                    {
                        let mut g = hot.lock();
                        *g += 1;
                        spin_for(hot_work);
                        thread::sleep(hot_io);
                    }
                    spin_for(Duration::from_micros(1));
                    if i % COLD_EVERY == 0 {
                        let mut g = cold.lock();
                        *g += 1;
                        spin_for(cold_hold);
                    }
                }
            });
        }
    });
    let reports: Vec<LockReport> = locks.iter().map(|l| l.report()).collect();
    let total_wait: Duration = reports.iter().map(|r| r.total_wait).sum();
    let mut t = ctx.table(
        "per lock",
        &[
            "lock",
            "acquisitions",
            "waited > 1 µs",
            "wait p50",
            "wait p99",
            "wait max",
            "total wait",
            "share of wait",
            "hold p50",
            "hold p99",
            "total hold",
        ],
    );
    for r in &reports {
        t.row([
            r.name.to_string(),
            r.acquisitions.to_string(),
            r.waited_over_1us.to_string(),
            fmt_duration(r.wait[0]),
            fmt_duration(r.wait[1]),
            fmt_duration(r.wait[2]),
            fmt_duration(r.total_wait),
            format!(
                "{:.0} %",
                100.0 * r.total_wait.as_secs_f64() / total_wait.as_secs_f64().max(1e-12)
            ),
            fmt_duration(r.hold[0]),
            fmt_duration(r.hold[1]),
            fmt_duration(r.total_hold),
        ]);
        ctx.record(
            format!("{}_total_wait_ns", r.name),
            r.total_wait.as_nanos() as u64,
        );
    }
    ctx.show(t);
    let hottest = reports
        .iter()
        .max_by_key(|r| r.total_wait)
        .expect("two locks");
    let expected_hot = (THREADS * iters) as u64;
    let expected_cold = (THREADS * iters.div_ceil(COLD_EVERY)) as u64;
    let (hot_count, cold_count) = (*hot.lock() as u64, *cold.lock() as u64);
    ctx.check_with(
        "protected counters exact",
        hot_count == expected_hot && cold_count == expected_cold,
        format!("hot {hot_count}/{expected_hot}, cold {cold_count}/{expected_cold}"),
    );
    ctx.check_with(
        "every acquisition recorded once in each histogram",
        reports[1].acquisitions == expected_hot
            && reports[0].acquisitions == expected_cold
            && reports.iter().all(|r| r.hold_samples == r.acquisitions),
        format!(
            "hot {} waits / {} holds, cold {} / {}",
            reports[1].acquisitions,
            reports[1].hold_samples,
            reports[0].acquisitions,
            reports[0].hold_samples
        ),
    );
    ctx.check_with(
        "the lock with the most total wait is named, and it is `hot`",
        hottest.name == "hot",
        format!("named: {}", hottest.name),
    );
    ctx.takeaway(format!(
        "`{}` is the hot lock: {:.0} % of all time spent waiting, median wait {} vs {} for `cold` — a \
         blocking call under a lock turns its hold time into everyone else's wait; rank locks by total \
         wait (how many waited × how long), then look at what the holder does.",
        hottest.name,
        100.0 * hottest.total_wait.as_secs_f64() / total_wait.as_secs_f64().max(1e-12),
        fmt_duration(reports[1].wait[0]),
        fmt_duration(reports[0].wait[0])
    ));
}
