//! Cancellation and drain, panics, bad input, and no task left behind.
mod common;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::leaks::{alive_tasks, alive_tasks_after};
use pipeline::{Pipeline, PipelineError, Stage};
use tokio_util::sync::CancellationToken;

/// An endless source, cancelled once the sink has seen 100 items; the drain has all the time it
/// needs: the sink receives exactly the prefix the source produced, and nothing is cancelled.
#[test]
fn a_drain_in_time_delivers_everything_the_source_produced() {
    let (seen, report) = common::paused(async {
        let token = CancellationToken::new();
        let stop = token.clone();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let report = Pipeline::from_iter(0u64..)
            .map(
                Stage::new("work").with_parallelism(3).capacity(4),
                |x| async move {
                    tokio::time::sleep(Duration::from_millis(x % 3)).await;
                    x
                },
            )
            .map(
                Stage::new("more")
                    .with_parallelism(2)
                    .unordered()
                    .capacity(4),
                |x| async move { x },
            )
            .for_each(Stage::new("sink").capacity(4), move |x| {
                let mut s = sink.lock().unwrap();
                s.push(x);
                if s.len() == 100 {
                    stop.cancel();
                }
                async {}
            })
            .run_until(token, Duration::from_secs(10))
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        (seen, report)
    });
    common::assert_accounted(&report);
    assert!(report.cancelled && !report.drain_timed_out);
    let produced = report.stage("source").unwrap().completed;
    assert!(produced >= 100, "{report}");
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..produced).collect::<Vec<_>>(),
        "every produced item reached the sink"
    );
    assert!(
        report.stages.iter().all(|s| s.cancelled + s.dropped == 0),
        "{report}"
    );
}

/// The sink stops answering after the token: the drain deadline passes, and every item still
/// inside is cancelled and counted where it was. Nothing is lost from the books.
#[test]
fn a_drain_past_its_deadline_cancels_the_rest_and_counts_it() {
    let (delivered, report) = common::paused(async {
        let token = CancellationToken::new();
        let stop = token.clone();
        let delivered = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&delivered);
        let report = Pipeline::from_iter(0u64..)
            .map(
                Stage::new("work").with_parallelism(4).capacity(8),
                |x| async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    x
                },
            )
            .map(
                Stage::new("more")
                    .with_parallelism(2)
                    .unordered()
                    .capacity(8),
                |x| async move { x },
            )
            .for_each(Stage::new("sink").capacity(8), move |x| {
                let n = count.fetch_add(1, Relaxed) + 1;
                if n == 50 {
                    stop.cancel();
                }
                async move {
                    if n > 50 {
                        std::future::pending::<()>().await; // stuck for good
                    }
                    let _ = x;
                }
            })
            .run_until(token, Duration::from_millis(100))
            .await
            .unwrap();
        (delivered.load(Relaxed), report)
    });
    common::assert_accounted(&report);
    assert!(report.cancelled && report.drain_timed_out, "{report}");
    let sink = report.stage("sink").unwrap();
    assert_eq!(
        sink.completed, 50,
        "the sink finished 50 and was stuck on the 51st"
    );
    assert_eq!(delivered, 51);
    assert!(sink.cancelled >= 1, "{report}");
    // Every stage is 1:1, so every produced item ended up completed by the sink or cancelled
    // somewhere (nothing was dropped).
    let produced = report.stage("source").unwrap().completed;
    let cancelled: u64 = report.stages.iter().map(|s| s.cancelled).sum();
    assert_eq!(produced, sink.completed + cancelled, "{report}");
}

/// A panicking stage (ordered and unordered) ends the run with its name and message; every task of
/// the pipeline is gone afterwards.
#[test]
fn a_panic_is_reported_with_its_stage_and_no_task_is_left() {
    for unordered in [false, true] {
        harness::watchdog::within(Duration::from_secs(30), move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let before = alive_tasks(rt.handle());
            let result = rt.block_on(async {
                let stage = Stage::new("boom").with_parallelism(3);
                let stage = if unordered { stage.unordered() } else { stage };
                Pipeline::from_iter(0u64..1000)
                    .map(stage, |x| async move {
                        assert!(x != 5, "item {x} is poison");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        x
                    })
                    .for_each(Stage::new("sink"), |_| async {})
                    .run()
                    .await
            });
            match result {
                Err(PipelineError::StagePanicked { stage, message }) => {
                    assert_eq!(stage, "boom");
                    assert!(message.contains("item 5 is poison"), "{message}");
                }
                other => panic!("expected the panic, got {other:?}"),
            }
            let left = alive_tasks_after(rt.handle(), before, Duration::from_secs(5));
            assert_eq!(left, before, "tasks left behind (unordered: {unordered})");
        });
    }
}

/// Tasks counted on the runtime: after a run to the end, after a hard cancel, and after the run's
/// future is dropped midway, the runtime has as many alive tasks as before.
#[test]
fn no_task_is_left_behind() {
    harness::watchdog::within(Duration::from_secs(30), || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let before = alive_tasks(rt.handle());
        let build = || {
            Pipeline::from_iter(0u64..)
                .map(Stage::new("ordered").with_parallelism(4), |x| async move {
                    tokio::time::sleep(Duration::from_millis(1 + x % 3)).await;
                    x
                })
                .map(
                    Stage::new("unordered").with_parallelism(4).unordered(),
                    |x| async move {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        x
                    },
                )
                .batch(Stage::new("batch"), 8, Duration::from_millis(2))
        };
        let stuck = |p: Pipeline<Vec<u64>>, on_first: CancellationToken| {
            p.for_each(Stage::new("sink"), move |_| {
                on_first.cancel();
                std::future::pending::<()>()
            })
        };
        // Cancelled once the sink holds an item it never finishes: the drain deadline passes.
        let token = CancellationToken::new();
        let report = rt
            .block_on(stuck(build(), token.clone()).run_until(token, Duration::from_millis(20)))
            .unwrap();
        assert!(report.drain_timed_out);
        common::assert_accounted(&report);
        assert_eq!(
            alive_tasks_after(rt.handle(), before, Duration::from_secs(5)),
            before
        );
        // The run's future dropped midway.
        rt.block_on(async {
            let run = stuck(build(), CancellationToken::new()).run();
            assert!(
                tokio::time::timeout(Duration::from_millis(30), run)
                    .await
                    .is_err()
            );
        });
        assert_eq!(
            alive_tasks_after(rt.handle(), before, Duration::from_secs(5)),
            before
        );
        // To the end.
        let report = rt.block_on(async {
            Pipeline::from_iter(0u64..200)
                .map(
                    Stage::new("ordered").with_parallelism(4),
                    |x| async move { x },
                )
                .for_each(Stage::new("sink"), |_| async {})
                .run()
                .await
                .unwrap()
        });
        assert_eq!(report.stage("sink").unwrap().completed, 200);
        assert_eq!(
            alive_tasks_after(rt.handle(), before, Duration::from_secs(5)),
            before
        );
    });
}

/// The error a pipeline `0..3 → build → sink` is refused with.
fn refused(
    build: impl FnOnce(Pipeline<u64>) -> pipeline::Runnable + Send + 'static,
) -> PipelineError {
    common::paused(async move { build(Pipeline::from_iter(0..3)).run().await.unwrap_err() })
}

#[test]
fn bad_settings_are_refused_by_name() {
    let sink = |p: Pipeline<u64>| p.for_each(Stage::new("sink"), |_| async {});
    let e =
        refused(move |p| sink(p.map(Stage::new("zero").with_parallelism(0), |x| async move { x })));
    assert_eq!(
        e,
        PipelineError::ZeroParallelism {
            stage: "zero".into()
        }
    );
    let e = refused(|p| p.for_each(Stage::new("sink").capacity(0), |_| async {}));
    assert_eq!(
        e,
        PipelineError::ZeroCapacity {
            stage: "sink".into()
        }
    );
    let e = refused(move |p| {
        let twice = p.map(Stage::new("twice"), |x| async move { x });
        sink(twice.map(Stage::new("twice"), |x| async move { x }))
    });
    assert_eq!(
        e,
        PipelineError::DuplicateStage {
            stage: "twice".into()
        }
    );
    let e = refused(|p| {
        p.batch(Stage::new("b"), 0, Duration::from_millis(1))
            .for_each(Stage::new("sink"), |_| async {})
    });
    assert_eq!(e, PipelineError::ZeroBatch { stage: "b".into() });
    assert_eq!(
        e.to_string(),
        "stage `b`: a batch must hold at least 1 item"
    );
}

/// A hard stop while an ordered stage's output is blocked, with finished items queued behind the
/// blocked one: those are cancelled where they are, so that across the 1:1 stages every item the
/// source produced is completed by the sink or cancelled somewhere, and none is lost from the books.
#[test]
fn a_hard_stop_behind_a_blocked_ordered_stage_loses_nothing_from_the_books() {
    let report = common::paused(async {
        let token = CancellationToken::new();
        let stop = token.clone();
        Pipeline::from_iter(0u64..)
            .map(
                Stage::new("work").with_parallelism(4).capacity(2),
                |x| async move { x },
            )
            .for_each(Stage::new("sink").capacity(1), move |_| {
                stop.cancel(); // the first item: stop the source, and never finish
                std::future::pending::<()>()
            })
            .run_until(token, Duration::from_millis(10))
            .await
            .unwrap()
    });
    common::assert_accounted(&report);
    assert!(report.drain_timed_out);
    let produced = report.stage("source").unwrap().completed;
    let sink = report.stage("sink").unwrap();
    let cancelled: u64 = report.stages.iter().map(|s| s.cancelled).sum();
    assert_eq!(produced, sink.completed + cancelled, "{report}");
    let work = report.stage("work").unwrap();
    assert!(
        work.cancelled >= 3,
        "the finished items behind the blocked one: {report}"
    );
}
