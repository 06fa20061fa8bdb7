//! The tasks a stage runs: its workers (unordered), its dispatcher and collector (ordered), a batcher,
//! and the source. Every one of them is a spawned tokio task, and in an ordered stage every item's work
//! is a spawned task of its own: work in flight makes progress whether or not anything downstream is
//! polling, so the stall of futures' `buffered` / `buffer_unordered` (futures-rs#2387: futures held in
//! the buffer are not polled while the consumer awaits something else) cannot happen here.
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ack::Ack;
use crate::edge::{Edge, Item, Pushed, Sender};
use crate::stats::StageStats;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What one item became in a stage.
pub(crate) enum Out<U> {
    /// Nothing to send on (filtered out, or consumed by a sink).
    Nothing,
    /// One item.
    One(U),
    /// Zero or more items, in order (flat_map).
    Many(Vec<U>),
    /// `try_map` returned an error.
    Failed,
}

/// A stage's function, type-erased.
/// It is given the item's source sequence number too (for a dead letter).
pub(crate) type Step<T, U> = Arc<dyn Fn(u64, T) -> BoxFuture<Out<U>> + Send + Sync>;

/// The tokens every task watches.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tokens {
    /// Stops the source (the user's token, or a failure).
    pub(crate) source_stop: CancellationToken,
    /// Stops everything: the drain deadline passed, or a stage panicked.
    pub(crate) hard: CancellationToken,
}

/// Records the stage's end: its wall time is the latest end of its tasks.
pub(crate) fn record_end(stats: &StageStats, start: Instant) {
    let ns = start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
    stats.wall_ns.fetch_max(ns, Relaxed);
}

/// Sends a stage's output on, with the input's claims (`ack`): split among the outputs of a
/// flat_map, finished where nothing goes on (filtered out, failed or dead-lettered, or consumed by
/// the sink). Returns `false` once the pipeline is stopping hard.
async fn emit<U: Send>(
    out: &Sender<U>,
    seq: u64,
    o: Out<U>,
    ack: Ack,
    hard: &CancellationToken,
) -> bool {
    match o {
        Out::One(value) => out.push(Item { seq, value, ack }, hard).await != Pushed::Stopped,
        Out::Many(values) => {
            let acks = ack.split(values.len());
            for (value, ack) in values.into_iter().zip(acks) {
                if out.push(Item { seq, value, ack }, hard).await == Pushed::Stopped {
                    return false; // the parts not sent are dropped unfinished: abandoned
                }
            }
            true
        }
        Out::Nothing | Out::Failed => {
            ack.finish();
            true
        }
    }
}

fn tally<U>(stats: &StageStats, o: &Out<U>) {
    match o {
        Out::Failed => StageStats::add(&stats.failed, 1),
        _ => StageStats::add(&stats.completed, 1),
    }
}

/// An unordered stage's worker: take, work, send on, until the input ends or the pipeline stops.
pub(crate) async fn unordered_worker<T: Send + 'static, U: Send + 'static>(
    input: Arc<Edge<T>>,
    out: Sender<U>,
    step: Step<T, U>,
    stats: Arc<StageStats>,
    tokens: Tokens,
    start: Instant,
) {
    let hard = &tokens.hard;
    while let Some(Item { seq, value, ack }) = input.pop(hard).await {
        let Some(o) = run_step(&step, seq, value, &stats, hard).await else {
            StageStats::add(&stats.cancelled, 1);
            break; // `ack` is dropped unfinished: the item is abandoned
        };
        tally(&stats, &o);
        if !emit(&out, seq, o, ack, hard).await {
            break;
        }
    }
    record_end(&stats, start);
}

/// Runs a stage's function on one item, its time counted as busy; `None` if `hard` stops it first.
async fn run_step<T, U>(
    step: &Step<T, U>,
    seq: u64,
    value: T,
    stats: &StageStats,
    hard: &CancellationToken,
) -> Option<Out<U>> {
    let began = stats.begin(&stats.busy, 1);
    let o = tokio::select! {
        biased;
        _ = hard.cancelled() => None,
        o = step(seq, value) => Some(o),
    };
    stats.end(&stats.busy, began, 1);
    o
}

/// Aborts the task when dropped, so no item's task outlives the stage that spawned it.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An ordered stage: the dispatcher spawns one task per item (at most `parallelism` unfinished or
/// unsent at once, by a semaphore whose permit travels with the result) and hands the join handles,
/// in input order, to the collector, which sends the results on in that order.
pub(crate) fn ordered_stage<T: Send + 'static, U: Send + 'static>(
    input: Arc<Edge<T>>,
    out: Sender<U>,
    step: Step<T, U>,
    parallelism: usize,
    stats: Arc<StageStats>,
    tokens: Tokens,
) -> (
    impl FnOnce(Instant) -> BoxFuture<()>,
    impl FnOnce(Instant) -> BoxFuture<()>,
) {
    type Done<U> = (Option<Out<U>>, tokio::sync::OwnedSemaphorePermit);
    // The claims stay with the handle, in order; the item's task gets only its value.
    let (tx, mut rx) = mpsc::channel::<(u64, Ack, AbortOnDrop<Done<U>>)>(parallelism);
    let permits = Arc::new(Semaphore::new(parallelism));
    let d_stats = Arc::clone(&stats);
    let d_tokens = tokens.clone();
    let dispatcher = move |start: Instant| -> BoxFuture<()> {
        Box::pin(async move {
            let hard = &d_tokens.hard;
            loop {
                // A free slot first, then an item: an item never waits between the edge and a slot,
                // so the edge and `parallelism` bound exactly what the stage holds.
                let permit = tokio::select! {
                    biased;
                    _ = hard.cancelled() => None,
                    p = Arc::clone(&permits).acquire_owned() => p.ok(),
                };
                let Some(permit) = permit else { break };
                let Some(Item { seq, value, ack }) = input.pop(hard).await else {
                    break;
                };
                let (step, stats, hard2) = (Arc::clone(&step), Arc::clone(&d_stats), hard.clone());
                let task = tokio::spawn(async move {
                    (run_step(&step, seq, value, &stats, &hard2).await, permit)
                });
                if tx.send((seq, ack, AbortOnDrop(task))).await.is_err() {
                    break; // the collector is gone: the pipeline is stopping
                }
            }
            record_end(&d_stats, start);
        })
    };
    let collector = move |start: Instant| -> BoxFuture<()> {
        Box::pin(async move {
            let hard = &tokens.hard;
            let mut sending = true;
            while let Some((seq, ack, mut task)) = rx.recv().await {
                // Every path but `emit` drops `ack` unfinished: a cancelled item is abandoned.
                match (&mut task.0).await {
                    Ok((Some(o), permit)) => {
                        if sending {
                            tally(&stats, &o);
                            sending = emit(&out, seq, o, ack, hard).await;
                        } else {
                            // Its output can no longer be sent on: the item is cancelled here, so
                            // that it is not counted done by this stage and then seen by none.
                            StageStats::add(&stats.cancelled, 1);
                        }
                        drop(permit);
                    }
                    Ok((None, _)) => StageStats::add(&stats.cancelled, 1),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_) => StageStats::add(&stats.cancelled, 1),
                }
            }
            record_end(&stats, start);
        })
    };
    (dispatcher, collector)
}

/// A batch stage: up to `max_items` items, or whatever arrived within `max_wait` of a batch's first.
pub(crate) async fn batcher<T: Send + 'static>(
    input: Arc<Edge<T>>,
    out: Sender<Vec<T>>,
    max_items: usize,
    max_wait: Duration,
    stats: Arc<StageStats>,
    tokens: Tokens,
    start: Instant,
) {
    let hard = &tokens.hard;
    'outer: while let Some(first) = input.pop(hard).await {
        let seq = first.seq;
        let mut ack = first.ack; // the batch carries every item's claims
        let mut batch = Vec::with_capacity(max_items);
        batch.push(first.value);
        let deadline = Instant::now() + max_wait;
        while batch.len() < max_items {
            match tokio::time::timeout_at(deadline, input.pop(hard)).await {
                Ok(Some(item)) => {
                    batch.push(item.value);
                    ack.merge(item.ack);
                }
                Ok(None) if hard.is_cancelled() => {
                    StageStats::add(&stats.cancelled, batch.len() as u64);
                    break 'outer;
                }
                Ok(None) | Err(_) => break, // the input ended, or the batch's time is up
            }
        }
        StageStats::add(&stats.completed, batch.len() as u64);
        if !emit(&out, seq, Out::One(batch), ack, hard).await {
            break;
        }
    }
    record_end(&stats, start);
}

/// The source: pulls items from an iterator and sends them on until it runs dry or is stopped. A
/// stopped source takes no new item; the one it holds still goes in (unless the drain deadline passes).
pub(crate) async fn iter_source<T: Send + 'static>(
    iter: impl Iterator<Item = T> + Send,
    out: Sender<T>,
    stats: Arc<StageStats>,
    tokens: Tokens,
    start: Instant,
) {
    let stop = &tokens.source_stop;
    for (seq, value) in (0u64..).zip(iter) {
        if stop.is_cancelled() {
            break;
        }
        if !push_plain(&out, seq, value, &stats, &tokens.hard).await {
            break;
        }
    }
    record_end(&stats, start);
}

/// The source: receives items from a channel until it closes or the source is stopped.
pub(crate) async fn channel_source<T: Send + 'static>(
    mut rx: mpsc::Receiver<T>,
    out: Sender<T>,
    stats: Arc<StageStats>,
    tokens: Tokens,
    start: Instant,
) {
    let stop = &tokens.source_stop;
    let mut seq = 0u64;
    loop {
        let value = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            v = rx.recv() => match v { Some(v) => v, None => break },
        };
        if !push_plain(&out, seq, value, &stats, &tokens.hard).await {
            break;
        }
        seq += 1;
    }
    record_end(&stats, start);
}

/// A source without acks sends item `seq` on, counted in its own row; `false` once the pipeline is
/// stopping hard. An item already taken drains like any other: only the deadline stops its push.
async fn push_plain<T: Send>(
    out: &Sender<T>,
    seq: u64,
    value: T,
    stats: &StageStats,
    hard: &CancellationToken,
) -> bool {
    source_tally(stats);
    let item = Item {
        seq,
        value,
        ack: Ack::none(),
    };
    out.push(item, hard).await != Pushed::Stopped
}

/// The source's own row: every item it produced is offered and completed there.
pub(crate) fn source_tally(stats: &StageStats) {
    StageStats::add(&stats.offered, 1);
    StageStats::add(&stats.items_in, 1);
    StageStats::add(&stats.completed, 1);
}
