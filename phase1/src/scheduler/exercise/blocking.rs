//! Section `blocking`: a blocking call inside async code stalls everything on its worker.
//!
//! Go: a goroutine that makes a blocking syscall hands its P to another M (the runtime notices), and
//! since Go 1.14 a goroutine that computes for too long is preempted. Rust + tokio: neither happens. A
//! task that calls `std::thread::sleep` (or blocking IO, or a long computation) keeps its worker
//! thread until it returns; with 2 workers, two such tasks freeze every other task, timers included.
//! The fixes: await an async version (`tokio::time::sleep`), move the call to the blocking pool
//! (`spawn_blocking`), or hand the worker's queue to another thread first (`block_in_place`).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::time::{Duration, Instant};

use harness::exercise::Ctx;
use harness::stats::{Summary, fmt_duration};
use harness::watchdog::{self, Outcome};

/// How the load tasks perform their 20 ms "call".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// No load at all: the heartbeat's baseline.
    Idle,
    /// `std::thread::sleep` inside the task (the bug).
    StdSleep,
    /// `tokio::time::sleep(..).await`.
    TokioSleep,
    /// `tokio::task::spawn_blocking(|| std::thread::sleep(..)).await`.
    SpawnBlocking,
    /// `tokio::task::block_in_place(|| std::thread::sleep(..))`.
    BlockInPlace,
}

impl Load {
    /// The label used in the table.
    pub fn label(self) -> &'static str {
        match self {
            Load::Idle => "no load (baseline)",
            Load::StdSleep => "std::thread::sleep in a task",
            Load::TokioSleep => "tokio::time::sleep(..).await",
            Load::SpawnBlocking => "spawn_blocking(std sleep).await",
            Load::BlockInPlace => "block_in_place(std sleep)",
        }
    }
}

/// The heartbeat's period.
pub const BEAT: Duration = Duration::from_millis(10);
/// The length of each blocking call of the load.
pub const CALL: Duration = Duration::from_millis(20);
/// Load tasks: twice the workers, so both workers are busy whenever the load blocks them.
pub const LOAD_TASKS: usize = 4;

/// Runs a heartbeat (a task sleeping `BEAT` then noting how late it woke) for `span` on a fresh
/// 2-worker runtime, next to `LOAD_TASKS` tasks that loop on `how`. Returns the heartbeat's lateness
/// samples, one per beat (plus the beat that ends the run).
pub fn heartbeat_lateness(how: Load, span: Duration) -> Vec<Duration> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(LOAD_TASKS)
        .thread_name("sched-beat")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let samples = rt.block_on(async {
        let end = Instant::now() + span;
        let heartbeat = tokio::spawn(async move {
            let mut late = Vec::new();
            loop {
                let due = Instant::now() + BEAT;
                tokio::time::sleep_until(due.into()).await;
                let now = Instant::now();
                late.push(now.saturating_duration_since(due));
                if now >= end {
                    return late;
                }
            }
        });
        let load: Vec<_> = (0..if how == Load::Idle { 0 } else { LOAD_TASKS })
            .map(|_| {
                let stop = stop.clone();
                tokio::spawn(async move {
                    // Relaxed: a plain stop request, no data rides on it.
                    while !stop.load(Relaxed) {
                        match how {
                            Load::Idle => return,
                            Load::StdSleep => std::thread::sleep(CALL),
                            Load::TokioSleep => tokio::time::sleep(CALL).await,
                            Load::SpawnBlocking => {
                                tokio::task::spawn_blocking(|| std::thread::sleep(CALL))
                                    .await
                                    .expect("blocking call")
                            }
                            Load::BlockInPlace => {
                                tokio::task::block_in_place(|| std::thread::sleep(CALL))
                            }
                        }
                        // Between calls the task returns to the scheduler once, as a request loop
                        // would between requests (without this, StdSleep would never let go at all).
                        tokio::task::yield_now().await;
                        if Instant::now() >= end {
                            return;
                        }
                    }
                })
            })
            .collect();
        let late = heartbeat.await.expect("heartbeat");
        stop.store(true, Relaxed);
        for l in load {
            l.await.expect("load task");
        }
        late
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    samples
}

/// The section.
pub fn run(ctx: &mut Ctx) {
    let span = ctx.pick(Duration::from_millis(500), Duration::from_millis(150));
    ctx.say(format!(
        "A heartbeat task asks to wake every {} on a 2-worker runtime while {LOAD_TASKS} tasks repeat a \
         {} call, {} each way. Lateness = how long after its deadline the heartbeat actually ran.",
        fmt_duration(BEAT),
        fmt_duration(CALL),
        fmt_duration(span),
    ));
    let mut t = ctx.table(
        "heartbeat lateness",
        &["load does", "beats", "p50", "p99", "max"],
    );
    // A runtime whose workers are all blocked could stall forever in a buggy variant: watched.
    let measured = watchdog::run("beat-measure", Duration::from_secs(60), move || {
        [
            Load::Idle,
            Load::StdSleep,
            Load::TokioSleep,
            Load::SpawnBlocking,
            Load::BlockInPlace,
        ]
        .map(|how| (how, Summary::of(&mut heartbeat_lateness(how, span))))
    });
    let Outcome::Finished(maxes) = measured else {
        ctx.check("the heartbeat measurement finished within 60 s", false);
        return;
    };
    for (how, sum) in &maxes {
        t.row([
            how.label().to_string(),
            sum.n.to_string(),
            fmt_duration(sum.p50),
            fmt_duration(sum.p99),
            fmt_duration(sum.max),
        ]);
        ctx.record(
            format!("lateness_max_us/{how:?}"),
            sum.max.as_micros() as u64,
        );
        ctx.record(
            format!("lateness_p50_us/{how:?}"),
            sum.p50.as_micros() as u64,
        );
    }
    ctx.show(t);
    let get = |b: Load| {
        maxes
            .iter()
            .find(|m| m.0 == b)
            .map(|m| m.1)
            .expect("measured")
    };
    let (std_s, tokio_s) = (get(Load::StdSleep), get(Load::TokioSleep));
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
