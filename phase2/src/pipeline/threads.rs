//! The thread version: one OS thread per stage, crossbeam channels between them.
//!
//! Go: `for v := range in { out <- f(v) }` in a goroutine per stage, a `done` channel to cancel.
//! Rust: the same loop on a thread, and cancellation comes from two places at once:
//! - **drop = close**: a stage that returns drops its `Receiver` and its `Sender`, so the stage
//!   upstream gets `Err` from `send` (even while blocked on a full channel) and the stage downstream
//!   sees the channel end once it is drained;
//! - **a stop flag** set by the first error, checked before each item, so the stages downstream of the
//!   failure do not go on draining what is already queued.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::corpus::{self, Counts};
use super::plan::{DepthSample, Plan, Run, Stage, StageError};

/// What the stages share: the first error and the stop flag it raises.
struct Shared {
    /// Set once, by the first stage that fails: the error and when it happened.
    first: Mutex<Option<(StageError, Instant)>>,
    /// false until the first error has been recorded in `first`; then true for good.
    stop: AtomicBool,
}

impl Shared {
    fn fail(&self, e: StageError) {
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.is_none() {
            *first = Some((e, Instant::now()));
        }
        drop(first);
        // Release: publishes the recorded error to every stage that sees the flag set.
        self.stop.store(true, Ordering::Release);
    }

    fn stopped(&self) -> bool {
        // Acquire: pairs with the Release in `fail`; a stage that stops sees the recorded error.
        self.stop.load(Ordering::Acquire)
    }
}

/// The injected failure for `stage` on item `seq`, if the plan asks for it.
fn injected(plan_fail: Option<StageError>, stage: Stage, seq: u64) -> Option<StageError> {
    plan_fail.filter(|e| e.stage == stage && e.seq == seq)
}

fn channel<T>(bound: Option<usize>) -> (Sender<T>, Receiver<T>) {
    match bound {
        Some(n) => crossbeam_channel::bounded(n),
        None => crossbeam_channel::unbounded(),
    }
}

fn spawn<T: Send + 'static>(stage: Stage, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    thread::Builder::new()
        .name(format!("pipe-{}", stage.name()))
        .spawn(f)
        .expect("spawn pipeline stage")
}

/// A middle stage: receive, apply `f`, send on; stops on the flag, on a closed input or output, or
/// on its injected failure.
fn middle<A: Send + 'static, B: Send + 'static>(
    stage: Stage,
    sh: Arc<Shared>,
    fail: Option<StageError>,
    rx: Receiver<(u64, A)>,
    tx: Sender<(u64, B)>,
    f: fn(A) -> B,
) -> JoinHandle<()> {
    spawn(stage, move || {
        for (seq, a) in rx.iter() {
            if sh.stopped() {
                return;
            }
            if let Some(e) = injected(fail, stage, seq) {
                sh.fail(e);
                return;
            }
            if tx.send((seq, f(a))).is_err() {
                return; // downstream has gone: it failed, so we stop too
            }
        }
    })
}

fn parse_line(line: String) -> Vec<String> {
    corpus::parse(&line)
}

/// Runs the four-stage pipeline on threads and joins every stage before returning.
pub fn run(plan: Plan) -> Run {
    let start = Instant::now();
    let sh = Arc::new(Shared {
        first: Mutex::new(None),
        stop: AtomicBool::new(false),
    });
    let fail = plan.fail;
    let (tx_lines, rx_lines) = channel::<(u64, String)>(plan.bound);
    let (tx_tokens, rx_tokens) = channel::<(u64, Vec<String>)>(plan.bound);
    let (tx_words, rx_words) = channel::<(u64, Vec<String>)>(plan.bound);

    // The sampler holds Receiver clones (never Senders, which would keep a channel open); it stops
    // at `done` or at the first error, so its clones never keep a failed stage's upstream blocked.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = plan.sample_every.map(|every| {
        let (a, b, c) = (rx_lines.clone(), rx_tokens.clone(), rx_words.clone());
        let (sh, done) = (sh.clone(), done.clone());
        thread::Builder::new()
            .name("pipe-sampler".into())
            .spawn(move || {
                let mut samples = Vec::new();
                // Acquire: pairs with the Release store of `done` after the stages were joined.
                while !done.load(Ordering::Acquire) && !sh.stopped() {
                    samples.push(DepthSample {
                        at: start.elapsed(),
                        depth: [a.len(), b.len(), c.len()],
                    });
                    thread::sleep(every);
                }
                samples
            })
            .expect("spawn sampler")
    });

    let lines = plan.lines;
    let pace = plan.source_delay;
    let gen_sh = sh.clone();
    let generate = spawn(Stage::Generate, move || {
        for (seq, line) in (0u64..).zip(lines) {
            if gen_sh.stopped() {
                return;
            }
            if let Some(e) = injected(fail, Stage::Generate, seq) {
                gen_sh.fail(e);
                return;
            }
            if !pace.is_zero() {
                thread::sleep(pace);
            }
            if tx_lines.send((seq, line)).is_err() {
                return;
            }
        }
    });
    let parse = middle(
        Stage::Parse,
        sh.clone(),
        fail,
        rx_lines,
        tx_tokens,
        parse_line,
    );
    let transform = middle(
        Stage::Transform,
        sh.clone(),
        fail,
        rx_tokens,
        tx_words,
        corpus::transform,
    );
    let delay = plan.sink_delay;
    let agg_sh = sh.clone();
    let aggregate = spawn(Stage::Aggregate, move || {
        let mut counts = Counts::new();
        let mut delivered = Vec::new();
        for (seq, words) in rx_words.iter() {
            if agg_sh.stopped() {
                break;
            }
            if let Some(e) = injected(fail, Stage::Aggregate, seq) {
                agg_sh.fail(e);
                break;
            }
            if !delay.is_zero() {
                thread::sleep(delay);
            }
            delivered.push(seq);
            corpus::aggregate(&mut counts, words);
        }
        (counts, delivered)
    });

    let mut exited = 0;
    for h in [generate, parse, transform] {
        if h.join().is_ok() {
            exited += 1;
        }
    }
    let (counts, delivered) = match aggregate.join() {
        Ok(r) => {
            exited += 1;
            r
        }
        Err(_) => (Counts::new(), Vec::new()),
    };
    let all_exited_at = Instant::now();
    // Release: the stages are joined; the sampler may stop (pairs with its Acquire load).
    done.store(true, Ordering::Release);
    let samples = sampler
        .map(|s| s.join().expect("sampler"))
        .unwrap_or_default();
    let first = *sh.first.lock().unwrap_or_else(|p| p.into_inner());
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

/// The thread-name prefix of every thread this module spawns (for the leak checker).
pub const THREAD_PREFIX: &str = "pipe-";
