//! Flink's accounting per stage (busy, backpressured, idle) and the verdict naming the bottleneck,
//! on the paused clock so every share is exact enough to compare.
mod common;

use std::time::Duration;

use pipeline::{Pipeline, Report, Stage};

/// source → parse → enrich → sink, with the given per-item times (ms) and parse's parallelism.
async fn chain(parse_ms: u64, parse_par: usize, enrich_ms: u64, sink_ms: u64) -> Report {
    let ms = Duration::from_millis;
    Pipeline::from_iter(0..200u64)
        .map(
            Stage::new("parse").with_parallelism(parse_par).capacity(8),
            move |x| async move {
                tokio::time::sleep(ms(parse_ms)).await;
                x
            },
        )
        .map(Stage::new("enrich").capacity(8), move |x| async move {
            tokio::time::sleep(ms(enrich_ms)).await;
            x
        })
        .for_each(Stage::new("sink").capacity(8), move |_| async move {
            tokio::time::sleep(ms(sink_ms)).await;
        })
        .run()
        .await
        .unwrap()
}

#[test]
fn a_slow_middle_stage_is_named() {
    let report = common::paused(chain(10, 1, 1, 0));
    common::assert_accounted(&report);
    let (source, parse, enrich) = (
        report.stage("source").unwrap(),
        report.stage("parse").unwrap(),
        report.stage("enrich").unwrap(),
    );
    assert!(parse.busy > 0.9, "{report}");
    assert!(
        source.backpressured > 0.9,
        "the source waits on parse: {report}"
    );
    assert!(
        enrich.busy < 0.2 && enrich.idle > 0.8,
        "enrich waits for input: {report}"
    );
    assert!(
        report
            .verdict()
            .starts_with("parse is the bottleneck: busy 1"),
        "{}",
        report.verdict()
    );
    assert!(
        report
            .verdict()
            .contains("its upstream source backpressured")
    );
}

#[test]
fn a_slow_sink_is_named_and_everything_upstream_backpressured() {
    let report = common::paused(chain(1, 1, 1, 10));
    assert!(
        report.verdict().starts_with("sink is the bottleneck"),
        "{report}"
    );
    for name in ["source", "parse"] {
        let s = report.stage(name).unwrap();
        assert!(s.backpressured > 0.8, "{name} waits on the sink: {report}");
    }
    let enrich = report.stage("enrich").unwrap();
    assert!(enrich.backpressured > 0.8, "{report}");
    assert!(
        report
            .verdict()
            .contains("its upstream enrich backpressured")
    );
}

/// Sixteen parse workers at 10 ms outrun one enrich at 1 ms: the bottleneck moves to enrich.
#[test]
fn enough_parallelism_moves_the_bottleneck() {
    let report = common::paused(chain(10, 16, 1, 0));
    assert!(
        report.verdict().starts_with("enrich is the bottleneck"),
        "{report}"
    );
    // 16 slots at 10 ms can take 1.6 items a ms; enrich passes 1 a ms. So parse's slots are busy
    // 1 / 1.6 = 62.5 % of the time and wait on enrich the other 37.5 % (less the start and the end).
    let parse = report.stage("parse").unwrap();
    assert!((0.55..0.7).contains(&parse.busy), "{report}");
    assert!((0.3..0.45).contains(&parse.backpressured), "{report}");
}

/// A source slower than every stage: nothing is saturated, and the verdict says so.
#[test]
fn a_slow_source_saturates_nothing() {
    let report = common::paused(async {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            for i in 0..100u64 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                tx.send(i).await.unwrap();
            }
        });
        Pipeline::from_receiver(rx)
            .map(Stage::new("parse"), |x| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                x
            })
            .for_each(Stage::new("sink"), |_| async {})
            .run()
            .await
            .unwrap()
    });
    assert!(
        report.verdict().starts_with("no stage is saturated"),
        "{report}"
    );
    assert!(report.stage("parse").unwrap().idle > 0.7, "{report}");
}

/// A snapshot while the sink is held: both edges full, the source waiting; after the join, the
/// report's depths are 0 and every item arrived.
#[test]
fn a_snapshot_shows_the_queues_filling_behind_a_held_sink() {
    use tokio_util::sync::CancellationToken;
    let (live, report) = common::paused(async {
        let (gate, held) = common::Gate::new();
        let sink_gate = std::sync::Arc::clone(&gate);
        let running = Pipeline::from_iter(0..100u64)
            .map(Stage::new("parse").capacity(8), |x| async move { x })
            .for_each(Stage::new("sink").capacity(8), move |x| {
                let wait = (x == 0).then(|| sink_gate.hold());
                async move {
                    if let Some(wait) = wait {
                        wait.await;
                    }
                }
            })
            .spawn(CancellationToken::new(), Duration::from_secs(1));
        held.await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let live = running.snapshot();
        gate.open();
        (live, running.join().await.unwrap())
    });
    let names: Vec<&str> = live.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["source", "parse", "sink"]);
    assert_eq!((live[1].depth, live[2].depth), (8, 8), "{live:?}");
    assert!(live[0].backpressured > 0.9, "the source waits: {live:?}");
    assert_eq!(live[2].completed, 0, "the held item is not done: {live:?}");
    common::assert_accounted(&report);
    assert!(report.stages.iter().all(|s| s.depth == 0));
    assert_eq!(report.stage("sink").unwrap().completed, 100);
}
