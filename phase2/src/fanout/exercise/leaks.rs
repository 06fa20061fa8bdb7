//! `leaks`: the first error returns early; what happens to the workers still running.
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::stats::fmt_duration;

use crate::fanout::early_return::{Leaky, first_error_fixed};

const GRACE: Duration = Duration::from_millis(300);

pub(crate) fn run(ctx: &mut Ctx) {
    let workers = 8u64;
    let inputs: Vec<u64> = (0..workers).collect();
    let fails = [3u64]; // fails at once; the others take `cost`
    let cost = Duration::from_millis(ctx.pick(40, 20));
    let mut t = ctx.table(
        format!(
            "{workers} workers, input 3 fails at once, the others take {}",
            fmt_duration(cost)
        ),
        &[
            "version",
            "result",
            "returned in",
            "threads alive after return + grace",
            "after release",
        ],
    );

    // Naive: the receiver lives in the struct, so the senders block forever.
    let check = ThreadLeakCheck::named("fan-naive");
    let mut naive = Leaky::new();
    let t0 = Instant::now();
    let result = naive.first_error(&inputs, &fails, cost);
    let took = t0.elapsed();
    // Wait until the other workers finished their work and sit blocked on send.
    thread::sleep(cost + GRACE);
    let leaked = check.alive_now().len();
    let refused = naive.release();
    let after = check.alive_after(0, Duration::from_secs(2));
    t.row([
        "naive (receiver outlives the call)".to_string(),
        format!("{result:?}"),
        fmt_duration(took),
        leaked.to_string(),
        format!("{after} ({refused} sends refused once the receiver dropped)"),
    ]);
    ctx.record("naive_leaked", leaked);

    // Fixed: scoped threads + cancellation flag + receiver dropped on the first error.
    let check = ThreadLeakCheck::named("fan-fixed");
    let t0 = Instant::now();
    let out = first_error_fixed(&inputs, &fails, cost);
    let fixed_took = t0.elapsed();
    let fixed_left = check.leaked_after(GRACE).len();
    t.row([
        "fixed (scope + cancel + drop rx)".to_string(),
        format!("{:?}", out.result),
        fmt_duration(fixed_took),
        fixed_left.to_string(),
        format!(
            "— ({} cancelled mid-work, {} sends refused)",
            out.cancelled, out.refused
        ),
    ]);
    ctx.show(t);
    ctx.record("fixed_leaked", fixed_left);
    ctx.takeaway(format!(
        "the naive fan-out returned Err in {} and left {leaked} of {} workers blocked on a send nobody \
         reads; dropping the receiver freed them all. The fixed one returned in {} with {fixed_left} left: \
         the scope joins every worker, the flag stops them mid-work, the dropped receiver fails their sends",
        fmt_duration(took),
        workers - 1,
        fmt_duration(fixed_took),
    ));
    ctx.check("naive: returned the error", result == Err(3));
    ctx.check_with(
        "naive: every other worker leaked (blocked on send), counted by name",
        leaked == (workers - 1) as usize,
        format!("{leaked} alive"),
    );
    ctx.check(
        "naive: after release (drop the receiver, join) none is left",
        after == 0,
    );
    ctx.check("fixed: returned the error", out.result == Err(3));
    ctx.check(
        "fixed: no worker thread left after it returned",
        fixed_left == 0,
    );
}
