//! `results`: a pool of N workers with a bounded queue, jobs returning values, one panicking job.
//! The worker counts jobs in flight, so the bound is measured rather than assumed; every job id
//! must come back exactly once, and after shutdown the worker threads are gone.
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;

use crate::pool::{Outcome, Pool};

/// The job that panics on purpose.
const POISONED: u64 = 17;

/// A job of `micros` of busy work returning `i²`; job `POISONED` panics instead. The panic is
/// raised quietly (the message is captured, then re-raised with `resume_unwind`, which skips the
/// panic hook) so the demo output stays readable; the pool sees an ordinary panic.
fn job(i: u64, micros: u64) -> u64 {
    if i == POISONED {
        let msg =
            harness::exercise::expect_panic(|| panic!("job {i}: bad input")).expect_err("panics");
        std::panic::resume_unwind(Box::new(msg));
    }
    let end = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < end {
        std::hint::spin_loop();
    }
    i * i
}

pub(crate) fn run(ctx: &mut Ctx) {
    let jobs: u64 = ctx.pick(1000, 100);
    ctx.say(format!(
        "{jobs} jobs of ~50 µs busy work (job {POISONED} panics), queue of 8, for 1, 2 and 4 workers."
    ));
    let mut t = ctx.table(
        "one run per pool size",
        &[
            "workers",
            "wall",
            "done",
            "panicked",
            "ids seen once",
            "max in flight",
            "threads after",
        ],
    );
    let mut all_ok = true;
    let mut bound_ok = true;
    let mut panic_ok = true;
    let mut leak_ok = true;
    let mut walls = Vec::new();
    for workers in [1usize, 2, 4] {
        let leak = ThreadLeakCheck::named("p2pool");
        let mut pool = Pool::new("p2pool", workers, 8);
        let start = Instant::now();
        for i in 0..jobs {
            pool.submit(move |_| job(i, 50)).expect("open");
        }
        let mut results = Vec::new();
        while results.len() < jobs as usize {
            results.push(pool.recv().expect("workers alive"));
        }
        let wall = start.elapsed();
        let max = pool.max_in_flight();
        results.extend(pool.shutdown());
        let after = leak.leaked_after(Duration::from_secs(2)).len();

        let mut seen = vec![0u32; jobs as usize];
        let (mut done, mut panicked, mut sum_ok) = (0, 0, true);
        for r in &results {
            seen[r.id as usize] += 1;
            match &r.outcome {
                Outcome::Done(v) => {
                    done += 1;
                    sum_ok &= *v == r.id * r.id;
                }
                Outcome::Panicked(msg) => {
                    panicked += 1;
                    panic_ok &= r.id == POISONED && msg.contains("bad input");
                }
                Outcome::Cancelled => panic_ok = false,
            }
        }
        let once = seen.iter().all(|&n| n == 1);
        all_ok &= once && sum_ok && results.len() == jobs as usize;
        bound_ok &= max <= workers && max >= 1;
        panic_ok &= panicked == 1 && done == jobs - 1;
        leak_ok &= after == 0;
        walls.push(wall);
        t.row([
            workers.to_string(),
            fmt_duration(wall),
            done.to_string(),
            panicked.to_string(),
            once.to_string(),
            max.to_string(),
            after.to_string(),
        ]);
        ctx.record(format!("wall_ns_workers_{workers}"), wall.as_nanos() as u64);
        ctx.record(format!("max_in_flight_workers_{workers}"), max as u64);
    }
    ctx.show(t);
    let two = walls[0].as_secs_f64() / walls[1].as_secs_f64();
    let four = walls[0].as_secs_f64() / walls[2].as_secs_f64();
    ctx.takeaway(format!(
        "on 2 cores, 2 workers ran {two:.1}× and 4 workers {four:.1}× faster than 1 (CPU-bound jobs: \
         the cores, not the pool, are the limit); the panicking job became one Panicked result and \
         its worker kept going."
    ));
    ctx.check("every job id reported exactly once, values correct", all_ok);
    ctx.check("measured max in flight ≤ number of workers", bound_ok);
    ctx.check(
        "one panicking job = one Panicked result, no other result lost",
        panic_ok,
    );
    ctx.check(
        "no worker thread left after shutdown (leak checker)",
        leak_ok,
    );
}
