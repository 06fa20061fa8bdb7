//! Issue 3's pipeline properties: both versions equal the sequential result; with a slow sink,
//! bounded channels keep every sampled depth ≤ the bound while unbounded ones grow; the first error
//! cancels every stage and all have exited by a deadline, leaving no thread or task; no item is
//! delivered twice.
#![cfg(not(loom))]
use std::sync::Mutex;
use std::time::Duration;

use harness::leaks::{ThreadLeakCheck, alive_tasks_after};
use harness::watchdog::within;
use phase2::pipeline::corpus::{corpus, sequential};
use phase2::pipeline::{Plan, Run, Stage, StageError, tasks, threads};
use proptest::prelude::*;

const DEADLINE: Duration = Duration::from_secs(20);

/// The leak checks count `pipe-*` threads process-wide: one pipeline test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn run_threads(plan: Plan) -> Run {
    within(DEADLINE, move || threads::run(plan))
}

fn run_tasks(plan: Plan) -> Run {
    within(DEADLINE, move || {
        let rt = tasks::runtime();
        let r = rt.block_on(tasks::run(plan));
        assert_eq!(
            alive_tasks_after(rt.handle(), 0, Duration::from_secs(2)),
            0,
            "tokio tasks left after the run"
        );
        r
    })
}

fn assert_complete(r: &Run, n: usize, what: &str) {
    assert!(r.error.is_none(), "{what}: unexpected error {:?}", r.error);
    assert_eq!(r.stages_exited, 4, "{what}: stages joined");
    assert!(
        r.delivered.iter().copied().eq(0..n as u64),
        "{what}: every item exactly once, in order"
    );
}

#[test]
fn both_versions_equal_the_sequential_result() {
    let _one = serial();
    for (seed, bound) in [(1, Some(1)), (2, Some(64)), (3, None)] {
        let lines = corpus(1_500, seed);
        let want = sequential(&lines);
        let t = run_threads(Plan::new(lines.clone(), bound));
        assert_complete(&t, lines.len(), "threads");
        assert_eq!(t.counts, want, "threads, seed {seed}, bound {bound:?}");
        let a = run_tasks(Plan::new(lines.clone(), bound));
        assert_complete(&a, lines.len(), "tasks");
        assert_eq!(a.counts, want, "tasks, seed {seed}, bound {bound:?}");
    }
}

fn slow_sink(bound: Option<usize>) -> Plan {
    Plan {
        source_delay: Duration::from_millis(1),
        sink_delay: Duration::from_millis(2),
        sample_every: Some(Duration::from_millis(2)),
        ..Plan::new(corpus(150, 9), bound)
    }
}

#[test]
fn slow_sink_bounded_depth_stays_within_bound_while_unbounded_grows() {
    let _one = serial();
    const BOUND: usize = 4;
    let b = run_threads(slow_sink(Some(BOUND)));
    assert_complete(&b, 150, "bounded");
    assert!(b.samples.len() >= 20, "{} samples", b.samples.len());
    for s in &b.samples {
        assert!(
            s.depth.iter().all(|&d| d <= BOUND),
            "depth {:?} over the bound at {:?}",
            s.depth,
            s.at
        );
    }
    // The bound is reached (the producer really is blocked by it), not just never approached.
    assert_eq!(
        b.peak_depth(2),
        BOUND,
        "the channel before the sink fills up"
    );

    let u = run_threads(slow_sink(None));
    assert_complete(&u, 150, "unbounded");
    let first = u.samples.first().map_or(0, |s| s.depth[2]);
    let peak = u.peak_depth(2);
    assert!(
        peak > 4 * BOUND && peak > first + 2 * BOUND,
        "unbounded depth should grow: first {first}, peak {peak}"
    );
    assert_eq!(u.counts, b.counts, "same result either way");

    // The async version, sampled through weak senders: the same bound holds and is reached.
    let a = run_tasks(slow_sink(Some(BOUND)));
    assert_complete(&a, 150, "tasks, bounded");
    assert!(a.samples.len() >= 20, "{} samples", a.samples.len());
    assert!(
        a.samples
            .iter()
            .all(|s| s.depth.iter().all(|&d| d <= BOUND)),
        "tasks: a depth over the bound"
    );
    assert_eq!(
        a.peak_depth(2),
        BOUND,
        "tasks: the channel before the sink fills up"
    );
    assert_eq!(a.counts, b.counts);
}

fn failing(stage: Stage, seq: u64, bound: Option<usize>, source_delay_ms: u64) -> Plan {
    Plan {
        source_delay: Duration::from_millis(source_delay_ms),
        sink_delay: Duration::from_millis(1),
        fail: Some(StageError { stage, seq }),
        ..Plan::new(corpus(1_000, 5), bound)
    }
}

fn assert_cancelled(r: &Run, fail: StageError, what: &str) {
    assert_eq!(
        r.error,
        Some(fail),
        "{what}: the first error is the injected one"
    );
    assert_eq!(r.stages_exited, 4, "{what}: every stage exited");
    assert_eq!(r.duplicates(), 0, "{what}: no item delivered twice");
    assert!(r.strictly_increasing(), "{what}: FIFO through the stages");
    assert!(
        r.delivered.iter().all(|&s| s < fail.seq),
        "{what}: nothing at or past the failing item reached the sink: {:?}",
        r.delivered.last()
    );
    if fail.stage == Stage::Aggregate {
        assert!(
            r.delivered.iter().copied().eq(0..fail.seq),
            "{what}: the sink had everything before its failure"
        );
    }
}

#[test]
fn first_error_cancels_every_stage_by_a_deadline_threads() {
    let _one = serial();
    let leaks = ThreadLeakCheck::named(threads::THREAD_PREFIX);
    for stage in Stage::ALL {
        for (bound, pace) in [(Some(4), 0), (None, 0), (Some(4), 3)] {
            let plan = failing(stage, 25, bound, pace);
            let fail = plan.fail.unwrap();
            // A 2 s deadline for a run whose cancellation takes milliseconds (the full run would
            // take 1 s of sink sleeps alone, more with the paced source).
            let r = within(Duration::from_secs(2), move || threads::run(plan));
            assert_cancelled(&r, fail, &format!("threads {stage} {bound:?} pace {pace}"));
        }
    }
    leaks.assert_no_leak(Duration::from_secs(1));
}

#[test]
fn first_error_cancels_every_stage_by_a_deadline_tasks() {
    let _one = serial();
    let rt = tasks::runtime();
    for stage in Stage::ALL {
        for (bound, pace) in [(Some(4), 0), (Some(4), 3)] {
            let plan = failing(stage, 25, bound, pace);
            let fail = plan.fail.unwrap();
            let h = rt.handle().clone();
            let r = within(Duration::from_secs(2), move || h.block_on(tasks::run(plan)));
            assert_cancelled(&r, fail, &format!("tasks {stage} {bound:?} pace {pace}"));
            assert_eq!(
                alive_tasks_after(rt.handle(), 0, Duration::from_secs(1)),
                0,
                "tasks {stage}: no task left"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any stage failing on any item, any bound: never a duplicate, never an item past the failure,
    /// always the injected error, always all four stages joined.
    #[test]
    fn cancel_never_duplicates_threads(
        stage in 0usize..4,
        seq in 0u64..120,
        bound in prop_oneof![Just(None), (1usize..16).prop_map(Some)],
        seed in 0u64..1_000,
    ) {
        let _one = serial();
        let fail = StageError { stage: Stage::ALL[stage], seq };
        let plan = Plan { fail: Some(fail), ..Plan::new(corpus(100 + seq as usize, seed), bound) };
        let r = run_threads(plan);
        assert_cancelled(&r, fail, "proptest threads");
    }

    /// The same for the async version.
    #[test]
    fn cancel_never_duplicates_tasks(
        stage in 0usize..4,
        seq in 0u64..120,
        bound in 1usize..16,
        seed in 0u64..1_000,
    ) {
        let _one = serial();
        let fail = StageError { stage: Stage::ALL[stage], seq };
        let plan = Plan { fail: Some(fail), ..Plan::new(corpus(100 + seq as usize, seed), Some(bound)) };
        let r = run_tasks(plan);
        assert_cancelled(&r, fail, "proptest tasks");
    }
}
