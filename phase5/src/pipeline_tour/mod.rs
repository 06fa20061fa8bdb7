//! # The tour of `pipeline` (phase5/exercise4)
//!
//! Go builds a pipeline from goroutines joined by channels. The `pipeline` crate makes that shape a
//! library on tokio: typed stages with a parallelism and an ordered or unordered mode, bounded edges
//! with an overflow policy, and a report that accounts for every item and names the bottleneck. Every
//! section runs on tokio's paused clock, so its checks are about counts and orders, never about how
//! fast this machine is.
mod acks;
mod overflow;
mod spill;
mod stages;
mod stall;
mod telemetry;

use std::future::Future;
use std::time::Duration;

use harness::Section;

/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase5/exercise4",
    title: "Capstone: a streaming pipeline with backpressure (pipeline)",
    goal: "A typed pipeline whose stages keep (or give up) order on purpose, whose in-flight work \
           cannot stall behind its consumer, whose full edges drop, refuse or push back by policy \
           with every item accounted for, and whose report names the slow stage.",
    go_vs_rust: "Go wires goroutines with channels and leaves order, drops and \"which stage is slow\" \
        to the programmer; futures' buffer_unordered polls its work only when its consumer does. Here \
        every stage is spawned tasks behind a bounded edge of its own, and tokio's paused clock makes \
        each run exact and instant.",
    sections: SECTIONS,
};

static SECTIONS: &[Section] = &[
    Section {
        name: "stages",
        summary: "source → map → batch → sink, typed: an ordered parallel stage keeps the order, an unordered one delivers the exact multiset",
        run: stages::run,
    },
    Section {
        name: "stall",
        summary: "futures-rs#2387: buffer_unordered stalls (its timeout fires) where the same workload on the pipeline finishes",
        run: stall::run,
    },
    Section {
        name: "overflow",
        summary: "a producer 2× faster than its sink under block / drop-newest / drop-oldest / reject: drops, refusals, max depth, every item accounted for",
        run: overflow::run,
    },
    Section {
        name: "spill",
        summary: "the same producer and slow sink under spill-to-disk: the backlog goes to checksummed segments and comes back in order; at a disk cap the source waits",
        run: spill::run,
    },
    Section {
        name: "acks",
        summary: "a file source acked end to end: killed mid-run, restarted from its checkpoint — nothing lost, duplicates exactly what run 1 delivered past the checkpoint",
        run: acks::run,
    },
    Section {
        name: "telemetry",
        summary: "busy / idle / backpressured per stage, and the verdict naming the deliberately slow stage",
        run: telemetry::run,
    },
];

/// Runs `f` on a current-thread runtime whose clock is paused (sleeps take no real time and end in
/// a fixed order), under a real-time watchdog so that nothing hangs. `None` if the watchdog fired or
/// the future panicked.
fn paused<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Option<T> {
    match harness::watchdog::run("pipeline-tour", Duration::from_secs(30), move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .ok()?;
        Some(rt.block_on(f))
    }) {
        harness::watchdog::Outcome::Finished(v) => v,
        _ => None,
    }
}

/// `offered = dropped + rejected + completed + failed + cancelled` for every stage.
fn accounted(report: &pipeline::Report) -> bool {
    report
        .stages
        .iter()
        .all(|s| s.offered == s.dropped + s.rejected + s.completed + s.failed + s.cancelled)
}
