//! `syscalls`: a blocking call (`nanosleep` through `std::thread::sleep`) inside async code, four ways.
//!
//! Go: a goroutine in a blocking syscall keeps its M, and sysmon hands the P to another M, so the
//! other goroutines keep running. tokio cannot see the syscall: a task that blocks holds its worker,
//! and the remedy is to take the call off the workers yourself — the blocking pool, `block_in_place`,
//! or a thread of its own. The measurement is the workspace's one blocking-in-async probe,
//! [`harness::lateness`] (phase 1's `blocking` section runs it for the scheduler's view).
use std::time::Duration;

use harness::Ctx;
use harness::lateness::{Call, Probe, WORKERS};
use harness::stats::fmt_ms;

pub(super) fn run(ctx: &mut Ctx) {
    let call = ctx.pick(Duration::from_millis(60), Duration::from_millis(30));
    let probe = Probe {
        beat: Duration::from_millis(1),
        // One job per worker, so the inline call blocks the whole runtime.
        tasks: WORKERS,
        call,
        // Two calls each, back to back.
        span: call * 2,
    };
    ctx.say(format!(
        "A {WORKERS}-worker tokio runtime runs a 1 ms ticker; {} jobs each make two {} blocking \
         calls in a row (a syscall). We measure how late the ticker's ticks fire.",
        probe.tasks,
        fmt_ms(call)
    ));
    let remedies = [
        ("spawn_blocking", Call::SpawnBlocking),
        ("block_in_place", Call::BlockInPlace),
        ("a dedicated thread", Call::Thread),
    ];
    let mut calls = vec![Call::Idle, Call::StdSleep];
    calls.extend(remedies.map(|(_, c)| c));
    let title = "ticker lateness while the jobs block";
    // What the checks below expect; a loaded machine can make a remedy's run late too.
    let separated = |m: &harness::lateness::Measured| {
        let inline = m.of(Call::StdSleep).max;
        inline >= call / 2 && remedies.iter().all(|(_, r)| m.of(*r).max * 2 < inline)
    };
    let Some(measured) = probe.run_until(ctx, title, &calls, Duration::from_secs(20), 3, separated)
    else {
        return;
    };
    let inline = measured.of(Call::StdSleep).max;
    ctx.check_with(
        "blocking inline stalls the ticker for at least half the blocking call",
        inline >= call / 2,
        format!("max late {} vs call {}", fmt_ms(inline), fmt_ms(call)),
    );
    for (name, remedy) in remedies {
        let m = measured.of(remedy).max;
        ctx.check_with(
            format!("with {name} the ticker's worst lateness is under half the inline call's"),
            m * 2 < inline,
            format!("{} vs {}", fmt_ms(m), fmt_ms(inline)),
        );
    }
    ctx.takeaway(format!(
        "A blocking call inside a task holds its worker (max lateness {} for a {} call); move it to \
         spawn_blocking, block_in_place or a thread of its own, which Go's runtime does for you.",
        fmt_ms(inline),
        fmt_ms(call)
    ));
}
