//! futures-rs#2387: a consumer of `buffer_unordered` (or `buffered`) that awaits something inside
//! its loop body stops polling the buffered futures. If one of them holds what the body waits for —
//! here the one connection of a pool — nothing moves again. The same workload as a pipeline cannot
//! stall: a stage's in-flight work runs as spawned tasks, polled whatever the sink is doing.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use pipeline::{Pipeline, Stage};
use tokio::sync::Semaphore;

const ITEMS: u64 = 10;
/// Virtual time: far more than the workload needs (ITEMS × 11 ms).
const LIMIT: Duration = Duration::from_secs(60);

/// Fetch an item through the pool's one connection.
async fn fetch(pool: Arc<Semaphore>, i: u64) -> u64 {
    let _conn = pool.acquire().await.expect("pool open");
    tokio::time::sleep(Duration::from_millis(10)).await;
    i
}

/// Store it, through the same pool.
async fn store(pool: &Semaphore) {
    let _conn = pool.acquire().await.expect("pool open");
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// The stream version: times out (returns `None`) when it stalls.
async fn with_stream(ordered: bool) -> Option<u64> {
    let pool = Arc::new(Semaphore::new(1));
    let fetches = stream::iter(0..ITEMS).map({
        let pool = Arc::clone(&pool);
        move |i| fetch(Arc::clone(&pool), i)
    });
    let work = async {
        let mut stored = 0;
        if ordered {
            let mut s = fetches.buffered(4);
            while let Some(_i) = s.next().await {
                store(&pool).await;
                stored += 1;
            }
        } else {
            let mut s = fetches.buffer_unordered(4);
            while let Some(_i) = s.next().await {
                store(&pool).await;
                stored += 1;
            }
        }
        stored
    };
    tokio::time::timeout(LIMIT, work).await.ok()
}

/// The pipeline version: `None` on a timeout too.
async fn with_pipeline(ordered: bool) -> Option<u64> {
    let pool = Arc::new(Semaphore::new(1));
    let stored = Arc::new(AtomicU64::new(0));
    let (fetch_pool, store_pool, count) = (Arc::clone(&pool), pool, Arc::clone(&stored));
    let stage = Stage::new("fetch").with_parallelism(4);
    let stage = if ordered {
        stage.ordered()
    } else {
        stage.unordered()
    };
    let run = Pipeline::from_iter(0..ITEMS)
        .map(stage, move |i| fetch(Arc::clone(&fetch_pool), i))
        .for_each(Stage::new("store"), move |_i| {
            let (pool, count) = (Arc::clone(&store_pool), Arc::clone(&count));
            async move {
                store(&pool).await;
                count.fetch_add(1, Relaxed);
            }
        })
        .run();
    let report = tokio::time::timeout(LIMIT, run)
        .await
        .ok()?
        .expect("valid pipeline");
    assert_eq!(report.stage("store").unwrap().completed, ITEMS);
    Some(stored.load(Relaxed))
}

#[test]
fn buffer_unordered_stalls_and_the_pipeline_does_not() {
    assert_eq!(
        common::paused(with_stream(false)),
        None,
        "buffer_unordered: the timeout fires"
    );
    assert_eq!(
        common::paused(with_pipeline(false)),
        Some(ITEMS),
        "unordered stage: all stored"
    );
}

#[test]
fn buffered_stalls_and_the_ordered_stage_does_not() {
    assert_eq!(
        common::paused(with_stream(true)),
        None,
        "buffered: the timeout fires"
    );
    assert_eq!(
        common::paused(with_pipeline(true)),
        Some(ITEMS),
        "ordered stage: all stored"
    );
}

/// The mechanism behind it: while the sink is held and the stage's output is blocked, the items in
/// the stage's slots still run to completion (they are tasks, not futures waiting to be polled).
#[test]
fn in_flight_items_finish_while_the_output_is_blocked() {
    let (finished_while_held, report) = common::paused(async {
        let finished = Arc::new(AtomicU64::new(0));
        let (gate, held) = common::Gate::new();
        let (count, sink_gate) = (Arc::clone(&finished), Arc::clone(&gate));
        let run = Pipeline::from_iter(0..6u64)
            .map(
                Stage::new("work").with_parallelism(4).capacity(1),
                move |x| {
                    let count = Arc::clone(&count);
                    async move {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        count.fetch_add(1, Relaxed);
                        x
                    }
                },
            )
            .for_each(Stage::new("sink").capacity(1), move |x| {
                let wait = (x == 0).then(|| sink_gate.hold());
                async move {
                    if let Some(wait) = wait {
                        wait.await;
                    }
                }
            })
            .run();
        let run = tokio::spawn(run);
        held.await.unwrap();
        // The sink holds 0, its edge holds 1, the stage's output waits with 2; 3, 4 and 5 are in
        // the stage's four slots with it. Give them all the (virtual) time they need.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let finished_while_held = finished.load(Relaxed);
        gate.open();
        (finished_while_held, run.await.unwrap().unwrap())
    });
    assert_eq!(
        finished_while_held, 6,
        "every item in a slot finished while the sink was held"
    );
    assert_eq!(report.stage("sink").unwrap().completed, 6);
}
