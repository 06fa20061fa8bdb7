//! Fan-in: two pipelines merged into one stage deliver the union of their items, each one's in its
//! own order through ordered stages; one token stops both; refusals on either side are reported.
mod common;

use std::time::Duration;

use pipeline::{Overflow, Pipeline, PipelineError, Stage};
use tokio_util::sync::CancellationToken;

#[test]
fn merged_inputs_deliver_the_union_each_in_its_order() {
    let (seen, report) = common::paused(async {
        let (seen, sink) = common::collector();
        let evens = Pipeline::from_iter((0..100u64).map(|x| 2 * x)).map(
            Stage::new("evens").with_parallelism(3),
            |x| async move {
                tokio::time::sleep(Duration::from_millis(x % 5)).await;
                x
            },
        );
        let odds = Pipeline::from_iter((0..50u64).map(|x| 2 * x + 1));
        let thirds = Pipeline::from_iter((0..30u64).map(|x| 1000 + x));
        let report = evens
            .merge(odds.merge(thirds))
            .map(Stage::new("after").with_parallelism(4), |x| async move {
                tokio::time::sleep(Duration::from_millis(x % 3)).await;
                x
            })
            .for_each(Stage::new("sink"), sink)
            .run()
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        (seen, report)
    });
    common::assert_accounted(&report);
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["source", "evens", "source#2", "source#3", "after", "sink"]
    );
    let mut all = seen.clone();
    all.sort_unstable();
    let mut expected: Vec<u64> = (0..100)
        .map(|x| 2 * x)
        .chain((0..50).map(|x| 2 * x + 1))
        .collect();
    expected.extend(1000..1030);
    expected.sort_unstable();
    assert_eq!(all, expected);
    let evens: Vec<u64> = seen
        .iter()
        .copied()
        .filter(|x| *x < 1000 && x % 2 == 0)
        .collect();
    assert_eq!(
        evens,
        (0..100).map(|x| 2 * x).collect::<Vec<_>>(),
        "each input keeps its order"
    );
    let odds: Vec<u64> = seen
        .iter()
        .copied()
        .filter(|x| *x < 1000 && x % 2 == 1)
        .collect();
    assert_eq!(odds, (0..50).map(|x| 2 * x + 1).collect::<Vec<_>>());
    assert_eq!(report.stage("after").unwrap().offered, 180);
}

/// Endless inputs on both sides: the one token stops both, and the run ends (the watchdog fails it
/// otherwise). A Reject edge on the merged-in side reports its refusals in the one report. Its
/// source refuses in a loop that never waits: on this one-thread runtime the run ends only because
/// every push spends tokio's cooperative budget, so the loop yields to the other tasks.
#[test]
fn one_token_stops_every_merged_source_and_nacks_are_gathered() {
    let report = common::paused(async {
        let token = CancellationToken::new();
        let stop = token.clone();
        let left = Pipeline::from_iter(0u64..);
        let right = Pipeline::from_iter(0u64..).map(
            Stage::new("right").capacity(1).overflow(Overflow::Reject),
            |x| async move {
                tokio::task::yield_now().await;
                x
            },
        );
        left.merge(right)
            .for_each(Stage::new("sink"), move |_| {
                stop.cancel();
                async {}
            })
            .run_until(token, Duration::from_secs(1))
            .await
            .unwrap()
    });
    common::assert_accounted(&report);
    assert!(report.cancelled && !report.drain_timed_out, "{report}");
    let right = report.stage("right").unwrap();
    assert!(right.rejected > 0, "{report}");
    assert_eq!(report.nacks.len() as u64, right.rejected);
    assert!(report.nacks.iter().all(|n| n.stage == "right"));
}

#[test]
fn a_name_used_on_both_sides_is_refused() {
    let e = common::paused(async {
        let a = Pipeline::from_iter(0..3u64).map(Stage::new("parse"), |x| async move { x });
        let b = Pipeline::from_iter(0..3u64).map(Stage::new("parse"), |x| async move { x });
        a.merge(b)
            .for_each(Stage::new("sink"), |_| async {})
            .run()
            .await
            .unwrap_err()
    });
    assert_eq!(
        e,
        PipelineError::DuplicateStage {
            stage: "parse".into()
        }
    );
}
