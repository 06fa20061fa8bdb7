//! `stall`: futures-rs#2387. A consumer of `buffer_unordered` that awaits, in its loop body,
//! something one of the buffered futures holds (here the one connection of a pool) stops polling
//! them, and nothing moves again. The same workload as a pipeline finishes: a stage's in-flight work
//! is spawned tasks, polled whatever the sink is doing.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use harness::Ctx;
use pipeline::{Pipeline, Stage};
use tokio::sync::Semaphore;

/// Virtual time allowed: far more than the workload needs (items × 11 ms).
const LIMIT: Duration = Duration::from_secs(60);

/// Fetch an item through the pool's one connection (10 ms).
async fn fetch(pool: Arc<Semaphore>, i: u64) -> Option<u64> {
    let _conn = pool.acquire().await.ok()?;
    tokio::time::sleep(Duration::from_millis(10)).await;
    Some(i)
}

/// Store it through the same pool (1 ms).
async fn store(pool: &Semaphore) {
    if let Ok(_conn) = pool.acquire().await {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `buffer_unordered(4)` then a loop that stores each item: `Err(stored)` when the timeout fired.
async fn with_stream(items: u64) -> Result<u64, u64> {
    let pool = Arc::new(Semaphore::new(1));
    let stored = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&stored);
    let fetch_pool = Arc::clone(&pool);
    let work = async move {
        let mut s = stream::iter(0..items)
            .map(move |i| fetch(Arc::clone(&fetch_pool), i))
            .buffer_unordered(4);
        while let Some(_i) = s.next().await {
            store(&pool).await;
            count.fetch_add(1, Relaxed);
        }
    };
    match tokio::time::timeout(LIMIT, work).await {
        Ok(()) => Ok(stored.load(Relaxed)),
        Err(_) => Err(stored.load(Relaxed)),
    }
}

/// The same as a pipeline: an unordered stage of 4 workers, then the storing sink.
async fn with_pipeline(items: u64) -> Result<(u64, u64), u64> {
    let pool = Arc::new(Semaphore::new(1));
    let stored = Arc::new(AtomicU64::new(0));
    let (fetch_pool, store_pool, count) = (Arc::clone(&pool), pool, Arc::clone(&stored));
    let run = Pipeline::from_iter(0..items)
        .map(
            Stage::new("fetch").with_parallelism(4).unordered(),
            move |i| fetch(Arc::clone(&fetch_pool), i),
        )
        .for_each(Stage::new("store"), move |_i| {
            let (pool, count) = (Arc::clone(&store_pool), Arc::clone(&count));
            async move {
                store(&pool).await;
                count.fetch_add(1, Relaxed);
            }
        })
        .run();
    match tokio::time::timeout(LIMIT, run).await {
        Ok(Ok(report)) => Ok((
            stored.load(Relaxed),
            report.stage("store").map_or(0, |s| s.completed),
        )),
        _ => Err(stored.load(Relaxed)),
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    let items: u64 = ctx.pick(50, 10);
    ctx.say(format!(
        "{items} items; a pool of ONE connection (a Semaphore(1)); fetch holds it 10 ms, store holds \
         it 1 ms. Each version gets {LIMIT:?} of virtual time (paused clock) — the work needs about \
         {} ms.",
        items * 11
    ));
    let stream = super::paused(with_stream(items));
    let pipe = super::paused(with_pipeline(items));
    let mut table = ctx.table(
        "the same workload, two ways",
        &["version", "outcome", "items stored"],
    );
    let row = |r: &Option<Result<u64, u64>>| match r {
        Some(Ok(n)) => ("finished".to_string(), n.to_string()),
        Some(Err(n)) => (format!("timed out after {LIMIT:?}"), n.to_string()),
        None => ("watchdog fired".to_string(), "-".to_string()),
    };
    let (o, n) = row(&stream);
    table.row(["stream::buffer_unordered(4)".to_string(), o, n]);
    let (o, n) = row(&pipe.map(|r| r.map(|(s, _)| s)));
    table.row(["pipeline, unordered stage ×4".to_string(), o, n]);
    ctx.show(table);
    ctx.check_with(
        "buffer_unordered stalls: the timeout fires, with items left unstored",
        matches!(stream, Some(Err(n)) if n < items),
        format!("{stream:?}"),
    );
    ctx.check_with(
        "the pipeline finishes: every item stored, and its report says so",
        pipe == Some(Ok((items, items))),
        format!("{pipe:?}"),
    );
    ctx.takeaway(
        "A stream's buffered futures move only while their consumer polls the stream; a stage whose \
         in-flight work is spawned tasks keeps moving while its consumer waits on the same resource.",
    );
}
