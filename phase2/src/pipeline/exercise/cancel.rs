//! `cancel`: an error injected in one stage must stop all four — the ones upstream (often blocked on
//! a full channel), the ones downstream (often blocked on an empty one, or sleeping in the slow sink)
//! — and every stage must have exited by a deadline. Each run is watched by a watchdog; afterwards the
//! leak checker looks for `pipe-*` threads and tokio counts alive tasks.
use std::time::Duration;

use harness::Ctx;
use harness::leaks::{ThreadLeakCheck, alive_tasks_after};
use harness::stats::fmt_duration;
use harness::watchdog::{self, Outcome};

use crate::pipeline::corpus;
use crate::pipeline::{Plan, Run, Stage, StageError, tasks, threads};

/// Every stage must have exited this long after the run starts (the runs take ~0.1 s).
const DEADLINE: Duration = Duration::from_secs(3);
const BOUND: usize = 16;
const FAIL_AT: u64 = 40;

pub(crate) fn run(ctx: &mut Ctx) {
    let n = ctx.pick(2_000, 1_000);
    let lines = corpus::corpus(n, 11);
    ctx.say(format!(
        "{n} lines, bound {BOUND}, a sink sleeping 1 ms per item; one stage fails on item {FAIL_AT}. \
         Deadline for every stage to have exited: {}.",
        fmt_duration(DEADLINE)
    ));
    let leaks = ThreadLeakCheck::named(threads::THREAD_PREFIX);
    let rt = tasks::runtime();

    let mut t = ctx.table(
        "first error → every stage stopped",
        &[
            "version",
            "failing stage",
            "error reported",
            "stages exited",
            "error → all exited",
            "items delivered",
            "delivered twice",
            "all before the failing item",
        ],
    );
    let mut all_exited = true;
    let mut right_error = true;
    let mut no_dupes = true;
    let mut none_past = true;
    let mut worst = Duration::ZERO;
    for version in ["threads", "tokio tasks"] {
        for stage in [
            Stage::Generate,
            Stage::Parse,
            Stage::Transform,
            Stage::Aggregate,
        ] {
            let fail = StageError {
                stage,
                seq: FAIL_AT,
            };
            let plan = Plan {
                sink_delay: Duration::from_millis(1),
                fail: Some(fail),
                ..Plan::new(lines.clone(), Some(BOUND))
            };
            let outcome = if version == "threads" {
                watchdog::run("wd-cancel", DEADLINE, move || threads::run(plan))
            } else {
                let h = rt.handle().clone();
                watchdog::run("wd-cancel", DEADLINE, move || h.block_on(tasks::run(plan)))
            };
            let r: Run = match outcome {
                Outcome::Finished(r) => r,
                Outcome::Panicked(m) => {
                    all_exited = false;
                    t.row([version.into(), stage.to_string(), format!("panicked: {m}")]);
                    continue;
                }
                Outcome::TimedOut(_) => {
                    all_exited = false;
                    t.row([version.into(), stage.to_string(), "DEADLINE MISSED".into()]);
                    continue;
                }
            };
            let latency = r.cancel_latency().unwrap_or(Duration::MAX);
            worst = worst.max(latency);
            all_exited &= r.stages_exited == 4;
            right_error &= r.error == Some(fail);
            no_dupes &= r.duplicates() == 0 && r.strictly_increasing();
            let past = r.delivered.iter().filter(|&&s| s >= FAIL_AT).count();
            none_past &= past == 0;
            t.row([
                version.to_string(),
                stage.to_string(),
                r.error.map_or("none".into(), |e| e.to_string()),
                format!("{}/4", r.stages_exited),
                fmt_duration(latency),
                format!("{} of {n}", r.delivered.len()),
                r.duplicates().to_string(),
                if past == 0 {
                    "yes".into()
                } else {
                    format!("NO ({past})")
                },
            ]);
        }
    }
    ctx.show(t);

    let threads_left = leaks.leaked_after(Duration::from_secs(1)).len();
    let tasks_left = alive_tasks_after(rt.handle(), 0, Duration::from_secs(1));
    drop(rt);
    let mut l = ctx.table("left running afterwards", &["what", "count"]);
    l.row(["pipe-* threads alive", &threads_left.to_string()]);
    l.row(["tokio tasks alive", &tasks_left.to_string()]);
    ctx.show(l);

    ctx.record("worst_cancel_latency_s", worst.as_secs_f64());
    ctx.record("threads_left", threads_left);
    ctx.record("tasks_left", tasks_left);
    ctx.check(
        "every run reported exactly the injected error as the first error",
        right_error,
    );
    ctx.check_with(
        "all 4 stages exited, by the deadline, in every run",
        all_exited,
        format!("deadline {}", fmt_duration(DEADLINE)),
    );
    ctx.check(
        "no item reached the sink twice (and arrivals stayed in order)",
        no_dupes,
    );
    ctx.check(
        "nothing at or past the failing item reached the sink",
        none_past,
    );
    ctx.check_with(
        "nothing left running: no pipe-* thread, no tokio task",
        threads_left == 0 && tasks_left == 0,
        format!("{threads_left} threads, {tasks_left} tasks"),
    );
    ctx.takeaway(format!(
        "Wherever the error happened, every stage was gone at most {} after it — upstream stages blocked on \
         a full channel were released by the dropped Receiver (threads) or the cancelled token (tasks), \
         downstream ones by the stop signal — well inside the {} deadline, with nothing left running.",
        fmt_duration(worst),
        fmt_duration(DEADLINE)
    ));
}
