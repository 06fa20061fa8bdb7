//! Section `blocking`: a blocking call inside async code stalls everything on its worker.
//!
//! Go: a goroutine that makes a blocking syscall hands its P to another M (the runtime notices), and
//! since Go 1.14 a goroutine that computes for too long is preempted. Rust + tokio: neither happens. A
//! task that calls `std::thread::sleep` (or blocking IO, or a long computation) keeps its worker
//! thread until it returns; with 2 workers, two such tasks freeze every other task, timers included.
//! The fixes: await an async version (`tokio::time::sleep`), move the call to the blocking pool
//! (`spawn_blocking`), or hand the worker's queue to another thread first (`block_in_place`).
//!
//! The measurement is the workspace's one blocking-in-async probe, [`harness::lateness`] (phase 4's
//! `syscalls` section runs it too, with the dedicated-thread remedy); this section keeps the workers
//! busy for the whole run, to show the scheduler's view: how often the heartbeat gets a worker at all.
use std::time::Duration;

use harness::exercise::Ctx;
use harness::lateness::{Call, Probe, WORKERS};
use harness::stats::fmt_duration;

/// The section.
pub fn run(ctx: &mut Ctx) {
    let probe = Probe {
        beat: Duration::from_millis(10),
        // Twice the workers, so both are blocked whenever the load blocks them, even while one task
        // is between two calls.
        tasks: 2 * WORKERS,
        call: Duration::from_millis(20),
        span: ctx.pick(Duration::from_millis(500), Duration::from_millis(150)),
    };
    ctx.say(format!(
        "A heartbeat task asks to wake every {} on a {WORKERS}-worker runtime while {} tasks repeat a \
         {} call, {} each way. Lateness = how long after its deadline the heartbeat actually ran.",
        fmt_duration(probe.beat),
        probe.tasks,
        fmt_duration(probe.call),
        fmt_duration(probe.span),
    ));
    let calls = [
        Call::Idle,
        Call::StdSleep,
        Call::TokioSleep,
        Call::SpawnBlocking,
        Call::BlockInPlace,
    ];
    // What the checks below expect; a loaded machine can make the tokio::time::sleep run late too.
    let blocked = |m: &harness::lateness::Measured| {
        let (std_s, tokio_s) = (m.of(Call::StdSleep), m.of(Call::TokioSleep));
        std_s.max > tokio_s.max * 4 && std_s.p50 >= tokio_s.p50 * 3
    };
    let Some(measured) = probe.run_until(
        ctx,
        "heartbeat lateness",
        &calls,
        Duration::from_secs(60),
        3,
        blocked,
    ) else {
        return;
    };
    let (std_s, tokio_s) = (measured.of(Call::StdSleep), measured.of(Call::TokioSleep));
    ctx.takeaway(format!(
        "std::thread::sleep in a task made the heartbeat up to {} late (p50 {}), against {} with \
         tokio::time::sleep: never block a worker; await, spawn_blocking, or block_in_place",
        fmt_duration(std_s.max),
        fmt_duration(std_s.p50),
        fmt_duration(tokio_s.max),
    ));
    ctx.check_with(
        "blocking the workers (std sleep) makes the heartbeat ≥ 4× later at max than tokio::time::sleep",
        std_s.max > tokio_s.max * 4,
        format!("{} vs {}", fmt_duration(std_s.max), fmt_duration(tokio_s.max)),
    );
    ctx.check_with(
        "…and not only at the tail: its median lateness is ≥ 3× tokio::time::sleep's",
        std_s.p50 >= tokio_s.p50 * 3,
        format!(
            "p50 {} vs {}",
            fmt_duration(std_s.p50),
            fmt_duration(tokio_s.p50)
        ),
    );
}
