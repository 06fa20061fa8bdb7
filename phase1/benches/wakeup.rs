//! `wakeup/round-trip`: one ping-pong round trip (two wake-ups) per iteration, between this thread
//! (pinned to core 0) and a persistent partner (pinned to core 1), so every wake-up crosses cores.
//! Ours (`ours-parker`, `ours-condvar-event`) next to std, crossbeam, tokio and a spin loop. The
//! parameter separates what is comparable: `cross-core` (a sleeping thread is woken), `cross-core-spin`
//! (nobody sleeps) and `task-to-task` (tokio tasks on a 2-worker runtime).
//!
//! `cargo bench -p phase1 --bench wakeup` (add `-- --quick` for a fast sanity run).
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use phase1::scheduler::pingpong::{
    Crossbeam, OursCondvarEvent, OursParker, PingPong, Pinned, Signal, Spin, StdCondvar, StdMpsc,
    StdPark, TokioPingPong,
};

/// The blocking mechanisms: a wake-up is a futex wake of a thread sleeping on the other core.
const PARKED: &str = "cross-core";
/// The spin loop is a different scenario (it burns the other core instead of sleeping), so a ratio
/// report does not take it as the "best peer" of a parking mechanism.
const SPINNING: &str = "cross-core-spin";
/// tokio's tasks hand off inside the runtime; usually no thread sleeps at all.
const TASKS: &str = "task-to-task";

fn bench_signal<S: Signal>(g: &mut BenchmarkGroup<'_, WallTime>, scenario: &str) {
    let _me = Pinned::to(0); // restored on return, so tokio's workers (spawned later) are not pinned
    let mut pp = PingPong::<S>::start_on(Some(1));
    g.bench_function(benchkit::id(S::NAME, scenario), |b| {
        b.iter_custom(|iters| pp.time(iters))
    });
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("wakeup/round-trip");
    bench_signal::<OursParker>(&mut g, PARKED);
    bench_signal::<OursCondvarEvent>(&mut g, PARKED);
    bench_signal::<StdPark>(&mut g, PARKED);
    bench_signal::<StdCondvar>(&mut g, PARKED);
    bench_signal::<Crossbeam>(&mut g, PARKED);
    bench_signal::<StdMpsc>(&mut g, PARKED);
    {
        // Task ↔ task on a 2-worker runtime (workers unpinned: threads inherit their creator's CPU set).
        let tp = TokioPingPong::start();
        g.bench_function(benchkit::id("tokio-notify", TASKS), |b| {
            b.iter_custom(|iters| tp.time(iters))
        });
    }
    bench_signal::<Spin>(&mut g, SPINNING);
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = round_trip
}
criterion_main!(benches);
