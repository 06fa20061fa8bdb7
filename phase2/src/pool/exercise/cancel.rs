//! `cancel`: cancel a pool while jobs run and more are queued. Queued jobs are reported
//! `Cancelled` and never run; running jobs see the token at their next checkpoint and stop early;
//! every id comes back exactly once; the workers are joined and the thread count returns to its
//! baseline.
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;

use crate::pool::{Outcome, Pool};

/// How a job ended, as the job itself saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Finished,
    Stopped,
}

pub(crate) fn run(ctx: &mut Ctx) {
    let jobs: u64 = ctx.pick(60, 30);
    let workers = 2;
    let step = Duration::from_millis(2);
    ctx.say(format!(
        "{workers} workers, {jobs} jobs of 10 × 2 ms checkpoints, queue of {jobs}; cancel after the 4th result."
    ));
    let leak = ThreadLeakCheck::named("p2cancel");
    let baseline = harness::leaks::live_thread_count();
    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..jobs).map(|_| AtomicU32::new(0)).collect());
    let mut pool = Pool::new("p2cancel", workers, jobs as usize);
    for i in 0..jobs {
        let runs = runs.clone();
        pool.submit(move |token| {
            // Relaxed: a counter read after the workers are joined (the join orders it).
            runs[i as usize].fetch_add(1, Ordering::Relaxed);
            for _ in 0..10 {
                if token.is_cancelled() {
                    return Ran::Stopped;
                }
                std::thread::sleep(step);
            }
            Ran::Finished
        })
        .expect("open");
    }
    let mut results = Vec::new();
    while results.len() < 4 {
        results.push(pool.recv().expect("workers alive"));
    }
    let during = leak.alive_now().len();
    pool.cancel();
    let started = Instant::now();
    results.extend(pool.shutdown());
    let drained = started.elapsed();
    let after = leak.leaked_after(Duration::from_secs(2)).len();
    let back = harness::leaks::live_thread_count();

    let (mut finished, mut stopped, mut cancelled) = (0, 0, 0);
    let mut exclusive = true;
    let mut seen = vec![0u32; jobs as usize];
    for r in &results {
        seen[r.id as usize] += 1;
        // Relaxed: the workers were joined in `shutdown`, which orders their increments before this.
        let ran = runs[r.id as usize].load(Ordering::Relaxed);
        match r.outcome {
            Outcome::Done(Ran::Finished) => finished += 1,
            Outcome::Done(Ran::Stopped) => stopped += 1,
            Outcome::Cancelled => cancelled += 1,
            Outcome::Panicked(_) => exclusive = false,
        }
        // A cancelled job must never have run; a finished/stopped one ran exactly once.
        exclusive &= if r.outcome.is_cancelled() {
            ran == 0
        } else {
            ran == 1
        };
    }
    let once = seen.iter().all(|&n| n == 1) && results.len() == jobs as usize;
    let mut t = ctx.table(
        "after cancel",
        &[
            "jobs",
            "finished",
            "stopped at a checkpoint",
            "cancelled (never ran)",
            "ids once",
            "cancel → all joined",
        ],
    );
    t.row([
        jobs.to_string(),
        finished.to_string(),
        stopped.to_string(),
        cancelled.to_string(),
        once.to_string(),
        fmt_duration(drained),
    ]);
    ctx.show(t);
    let mut t = ctx.table(
        "threads",
        &[
            "workers alive before cancel",
            "after shutdown",
            "process threads: start → end",
        ],
    );
    t.row([
        during.to_string(),
        after.to_string(),
        format!("{baseline} → {back}"),
    ]);
    ctx.show(t);
    ctx.record("cancelled", cancelled);
    ctx.record("stopped", stopped);
    ctx.record("drain_ns", drained.as_nanos() as u64);
    ctx.takeaway(format!(
        "{cancelled} queued jobs were dropped without running and {stopped} running ones stopped at a \
         checkpoint: cancel-to-joined took {} (checkpoints every 2 ms), not the {} the queue held.",
        fmt_duration(drained),
        fmt_duration(step * 10 * (jobs as u32) / workers as u32),
    ));
    ctx.check("every job reported exactly once", once);
    ctx.check(
        "a cancelled job never ran; every other job ran exactly once",
        exclusive,
    );
    ctx.check("queued jobs were cancelled (count > 0)", cancelled > 0);
    ctx.check_with(
        "no worker thread left after cancel + shutdown",
        during == workers && after == 0,
        format!("{during} alive before, {after} after"),
    );
}
