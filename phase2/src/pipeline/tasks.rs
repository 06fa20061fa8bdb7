//! The async version: one tokio task per stage, bounded `tokio::sync::mpsc` channels between them.
//!
//! Go's pipeline maps one to one: goroutine → task, `chan` → `mpsc`, `done` → a
//! `CancellationToken`. Every await point (`recv`, `send`, the slow sink's `sleep`) is raced against
//! `token.cancelled()` in a `select!`, so a task parked anywhere leaves as soon as the first error
//! cancels the token; drop = close still works as in the thread version.
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::corpus::{self, Counts};
use super::plan::{DepthSample, Plan, Run, Stage, StageError};

/// The first error (and when), then the token every stage watches.
#[derive(Clone)]
struct Cancel {
    first: Arc<Mutex<Option<(StageError, Instant)>>>,
    token: CancellationToken,
}

impl Cancel {
    fn fail(&self, e: StageError) {
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some((e, Instant::now()));
        }
        drop(first);
        self.token.cancel();
    }
}

fn injected(plan_fail: Option<StageError>, stage: Stage, seq: u64) -> Option<StageError> {
    plan_fail.filter(|e| e.stage == stage && e.seq == seq)
}

/// Sends `v` unless cancelled first; false means "stop" (cancelled, or downstream gone).
async fn send<T>(tx: &mpsc::Sender<T>, v: T, token: &CancellationToken) -> bool {
    tokio::select! {
        biased;
        _ = token.cancelled() => false,
        r = tx.send(v) => r.is_ok(),
    }
}

/// Receives the next item unless cancelled first; `None` means "stop".
async fn recv<T>(rx: &mut mpsc::Receiver<T>, token: &CancellationToken) -> Option<T> {
    tokio::select! {
        biased;
        _ = token.cancelled() => None,
        v = rx.recv() => v,
    }
}

async fn middle<A, B>(
    stage: Stage,
    c: Cancel,
    fail: Option<StageError>,
    mut rx: mpsc::Receiver<(u64, A)>,
    tx: mpsc::Sender<(u64, B)>,
    f: fn(A) -> B,
) {
    while let Some((seq, a)) = recv(&mut rx, &c.token).await {
        if let Some(e) = injected(fail, stage, seq) {
            c.fail(e);
            return;
        }
        if !send(&tx, (seq, f(a)), &c.token).await {
            return;
        }
    }
}

fn parse_line(line: String) -> Vec<String> {
    corpus::parse(&line)
}

/// Runs the four-stage pipeline as tokio tasks on the current runtime and awaits every task.
///
/// The channels are bounded by `plan.bound` (an unbounded plan uses a bound of 2^20: tokio's
/// unbounded channel is a different type, without a depth to sample). With `plan.sample_every`, a
/// sampler task reads each channel's depth as `max_capacity() - capacity()` through a `WeakSender`
/// (upgraded for the instant of the read only, so it never keeps a channel open).
pub async fn run(plan: Plan) -> Run {
    let start = Instant::now();
    let c = Cancel {
        first: Arc::new(Mutex::new(None)),
        token: CancellationToken::new(),
    };
    let fail = plan.fail;
    let cap = plan.bound.unwrap_or(1 << 20).max(1);
    let (tx_lines, rx_lines) = mpsc::channel::<(u64, String)>(cap);
    let (tx_tokens, rx_tokens) = mpsc::channel::<(u64, Vec<String>)>(cap);
    let (tx_words, mut rx_words) = mpsc::channel::<(u64, Vec<String>)>(cap);

    let sampler = plan.sample_every.map(|every| {
        let (w0, w1, w2) = (
            tx_lines.downgrade(),
            tx_tokens.downgrade(),
            tx_words.downgrade(),
        );
        let token = c.token.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let d0 = w0.upgrade().map(|s| s.max_capacity() - s.capacity());
                let d1 = w1.upgrade().map(|s| s.max_capacity() - s.capacity());
                let d2 = w2.upgrade().map(|s| s.max_capacity() - s.capacity());
                if d0.is_none() && d1.is_none() && d2.is_none() {
                    break; // every stage that sends has returned
                }
                samples.push(DepthSample {
                    at: start.elapsed(),
                    depth: [d0.unwrap_or(0), d1.unwrap_or(0), d2.unwrap_or(0)],
                });
                tokio::select! {
                    biased;
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(every) => {}
                }
            }
            samples
        })
    });

    let lines = plan.lines;
    let pace = plan.source_delay;
    let gc = c.clone();
    let generate = tokio::spawn(async move {
        for (seq, line) in (0u64..).zip(lines) {
            if let Some(e) = injected(fail, Stage::Generate, seq) {
                gc.fail(e);
                return;
            }
            if !pace.is_zero() {
                tokio::select! {
                    biased;
                    _ = gc.token.cancelled() => return,
                    _ = tokio::time::sleep(pace) => {}
                }
            }
            if !send(&tx_lines, (seq, line), &gc.token).await {
                return;
            }
        }
    });
    let parse = tokio::spawn(middle(
        Stage::Parse,
        c.clone(),
        fail,
        rx_lines,
        tx_tokens,
        parse_line,
    ));
    let transform = tokio::spawn(middle(
        Stage::Transform,
        c.clone(),
        fail,
        rx_tokens,
        tx_words,
        corpus::transform,
    ));
    let delay = plan.sink_delay;
    let ac = c.clone();
    let aggregate = tokio::spawn(async move {
        let mut counts = Counts::new();
        let mut delivered = Vec::new();
        while let Some((seq, words)) = recv(&mut rx_words, &ac.token).await {
            if let Some(e) = injected(fail, Stage::Aggregate, seq) {
                ac.fail(e);
                break;
            }
            if !delay.is_zero() {
                tokio::select! {
                    biased;
                    _ = ac.token.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            delivered.push(seq);
            corpus::aggregate(&mut counts, words);
        }
        (counts, delivered)
    });

    let mut exited = 0;
    for h in [generate, parse, transform] {
        if h.await.is_ok() {
            exited += 1;
        }
    }
    let (counts, delivered) = match aggregate.await {
        Ok(r) => {
            exited += 1;
            r
        }
        Err(_) => (Counts::new(), Vec::new()),
    };
    let all_exited_at = Instant::now();
    let samples = match sampler {
        Some(s) => s.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let first = *c.first.lock().unwrap_or_else(|p| p.into_inner());
    Run {
        counts,
        delivered,
        error: first.map(|f| f.0),
        failed_at: first.map(|f| f.1),
        all_exited_at,
        stages_exited: exited,
        samples,
        elapsed: start.elapsed(),
    }
}

/// A two-worker multi-thread runtime (the machine has 2 cores), for the exercise, tests and bench.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tokio-pipe")
        .enable_all()
        .build()
        .expect("tokio runtime")
}
