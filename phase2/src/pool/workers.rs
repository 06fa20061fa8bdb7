//! The pool itself: `n` named worker threads taking boxed jobs in batches from a bounded
//! [`Intake`] (one lock-free submitter, takers under their own lock) and handing their results
//! back, also in batches, through an unbounded [`BatchQueue`].
//!
//! Concurrency is bounded by construction (one job per worker at a time) and *measured*: workers
//! count jobs in flight and keep the maximum, so tests check the bound instead of trusting it.
//! Batching changes when a job *starts* relative to its submission, never how many run at once: a
//! job taken into a worker's batch is not running, and it is still reported `Cancelled` if the
//! token is cancelled before its turn.
use std::any::Any;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::intake::{Intake, Submitter, intake};
use super::job::Job;
use super::outcome::{JobResult, Outcome};
use super::queue::{BatchQueue, Take};
use super::token::CancelToken;

/// The most jobs a worker takes at once (its fair share of the queue is usually less).
const MAX_BATCH: usize = 16;

/// A worker hands its kept results over at the end of each batch, or earlier once the oldest has
/// waited this long (so a caller waiting on one result is not held up by a batch of slow jobs).
const FLUSH_AFTER: Duration = Duration::from_micros(100);

/// Counters shared by the workers.
#[derive(Debug)]
struct Gauges {
    /// Jobs currently between "started" and "finished" (panics included).
    in_flight: CachePadded<AtomicUsize>,
    /// The largest value `in_flight` ever reached.
    max_in_flight: CachePadded<AtomicUsize>,
    /// Jobs whose closure was called, one counter per worker (no shared cache line per job).
    started: Vec<CachePadded<AtomicUsize>>,
}

/// A fixed-size worker pool with a bounded submission queue. Dropping it cancels nothing: it closes
/// the queue, lets the workers drain it and joins them (like `shutdown`, discarding the results).
pub struct Pool<T: Send + 'static> {
    /// Where submitted jobs go; closed on shutdown.
    submitter: Submitter<(u64, Job<T>)>,
    /// Every job's result; closed when the last worker exits.
    results: Arc<BatchQueue<JobResult<T>>>,
    /// Results taken from `results` and not yet returned by `recv` (completion order).
    inbox: VecDeque<JobResult<T>>,
    /// Scratch for batch takes from `results`.
    scratch: Vec<JobResult<T>>,
    /// The worker threads; emptied when joined.
    workers: Vec<JoinHandle<()>>,
    /// Shared with every job.
    token: CancelToken,
    /// In-flight counters, updated by the workers.
    gauges: Arc<Gauges>,
    /// The id of the next submitted job.
    next_id: u64,
}

/// `submit` found the queue closed (every worker gone); the job was dropped unrun and got no id.
#[derive(Debug)]
pub struct Closed;

impl<T: Send + 'static> Pool<T> {
    /// `workers` threads named `<name>-<i>` (keep `name` ≤ 10 bytes), a queue of `queue_cap` jobs.
    pub fn new(name: &str, workers: usize, queue_cap: usize) -> Self {
        assert!(workers > 0, "a pool needs at least one worker");
        let (submitter, jobs) = intake(queue_cap, workers);
        let results = Arc::new(BatchQueue::new(usize::MAX, 1, workers));
        let token = CancelToken::new();
        let gauges = Arc::new(Gauges {
            in_flight: CachePadded::new(AtomicUsize::new(0)),
            max_in_flight: CachePadded::new(AtomicUsize::new(0)),
            started: (0..workers)
                .map(|_| CachePadded::new(AtomicUsize::new(0)))
                .collect(),
        });
        let workers = (0..workers)
            .map(|i| {
                let worker = Worker {
                    index: i,
                    jobs: jobs.clone(),
                    report: results.clone(),
                    token: token.clone(),
                    gauges: gauges.clone(),
                };
                thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || worker.run())
                    .expect("spawn a pool worker")
            })
            .collect();
        Pool {
            submitter,
            results,
            inbox: VecDeque::new(),
            scratch: Vec::new(),
            workers,
            token,
            gauges,
            next_id: 0,
        }
    }

    /// Queues a job, blocking while the queue is full (backpressure). Returns its id.
    pub fn submit(
        &mut self,
        job: impl FnOnce(&CancelToken) -> T + Send + 'static,
    ) -> Result<u64, Closed> {
        let id = self.next_id;
        self.submitter
            .push((id, Job::new(job)))
            .map_err(|_| Closed)?;
        self.next_id += 1;
        Ok(id)
    }

    /// The next result in completion order, blocking; `None` once every worker has exited and
    /// every result was taken.
    pub fn recv(&mut self) -> Option<JobResult<T>> {
        if self.inbox.is_empty() && self.results.take(usize::MAX, &mut self.scratch) {
            self.inbox.extend(self.scratch.drain(..));
        }
        self.inbox.pop_front()
    }

    /// The next result if one arrives within `limit`.
    pub fn recv_timeout(&mut self, limit: Duration) -> Option<JobResult<T>> {
        if self.inbox.is_empty() {
            let deadline = Instant::now() + limit;
            if self
                .results
                .take_until(usize::MAX, &mut self.scratch, Some(deadline))
                == Take::Took
            {
                self.inbox.extend(self.scratch.drain(..));
            }
        }
        self.inbox.pop_front()
    }

    /// Jobs submitted and not yet taken by a worker (a snapshot).
    pub fn queued(&self) -> usize {
        self.submitter.len()
    }

    /// Cancels: every job still queued is reported `Cancelled` without running (`Panicked` if a
    /// capture panics as it is discarded); running jobs see
    /// the token. The pool stays usable for collecting results; new submissions are reported
    /// `Cancelled` too.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// The pool's token (what jobs receive).
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    /// The number of jobs submitted so far.
    pub fn submitted(&self) -> u64 {
        self.next_id
    }

    /// The largest number of jobs ever running at once.
    pub fn max_in_flight(&self) -> usize {
        // Relaxed: a statistic; the joins in `shutdown` order the final read after every update.
        self.gauges.max_in_flight.load(Ordering::Relaxed)
    }

    /// The number of job closures that were called.
    pub fn started(&self) -> usize {
        // Relaxed: a statistic, read after the workers are joined for exact figures.
        self.gauges
            .started
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .sum()
    }

    /// Closes the queue, lets the workers finish it, joins every worker and returns the results not
    /// yet taken (completion order).
    pub fn shutdown(mut self) -> Vec<JobResult<T>> {
        self.close_and_join();
        let mut rest: Vec<JobResult<T>> = self.inbox.drain(..).collect();
        rest.extend(self.results.drain_now());
        rest
    }

    fn close_and_join(&mut self) {
        self.submitter.close(); // workers drain the queue, then `take` returns false
        for w in self.workers.drain(..) {
            w.join()
                .expect("workers catch job panics, so they never panic");
        }
    }
}

impl<T: Send + 'static> Drop for Pool<T> {
    fn drop(&mut self) {
        self.close_and_join();
    }
}

/// What one worker thread owns.
struct Worker<T> {
    index: usize,
    jobs: Arc<Intake<(u64, Job<T>)>>,
    report: Arc<BatchQueue<JobResult<T>>>,
    token: CancelToken,
    gauges: Arc<Gauges>,
}

impl<T> Worker<T> {
    /// Batches of jobs until the queue is closed and empty; then detaches from the results queue
    /// (the last worker out closes it, so a blocked `recv` returns `None`).
    fn run(self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut kept: Vec<JobResult<T>> = Vec::with_capacity(MAX_BATCH);
        let mut oldest = Instant::now();
        while self.jobs.take(MAX_BATCH, &mut batch) {
            for (id, job) in batch.drain(..) {
                let outcome = self.run_one(job);
                if kept.is_empty() {
                    oldest = Instant::now();
                }
                kept.push(JobResult { id, outcome });
                // The clock is read at 2, 4, 8… kept results only: a flush check per job would
                // cost more than a tiny job.
                if kept.len().is_power_of_two() && kept.len() > 1 && oldest.elapsed() >= FLUSH_AFTER
                {
                    self.flush(&mut kept);
                }
            }
            self.flush(&mut kept);
        }
        self.report.close_one();
    }

    /// Runs (or, once cancelled, discards) one job. Everything here that runs user code — the
    /// body, the captures' `Drop` when the body returns or when a cancelled job is discarded, the
    /// `Drop` of a caught panic's payload — runs under `catch_unwind`: no job can kill the worker.
    fn run_one(&self, job: Job<T>) -> Outcome<T> {
        if self.token.is_cancelled() {
            // Discarding the job drops its captures: user code, caught like a run.
            return match catch_unwind(AssertUnwindSafe(move || drop(job))) {
                Ok(()) => Outcome::Cancelled,
                Err(payload) => Outcome::Panicked(message_of(payload)),
            };
        }
        // Relaxed (all): counters only; each RMW is atomic, which is all the maximum needs.
        let now = self.gauges.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        if now > self.gauges.max_in_flight.load(Ordering::Relaxed) {
            self.gauges.max_in_flight.fetch_max(now, Ordering::Relaxed);
        }
        self.gauges.started[self.index].fetch_add(1, Ordering::Relaxed);
        let ran = catch_unwind(AssertUnwindSafe(|| job.run(&self.token)));
        self.gauges.in_flight.fetch_sub(1, Ordering::Relaxed);
        match ran {
            Ok(v) => Outcome::Done(v),
            Err(payload) => Outcome::Panicked(message_of(payload)),
        }
    }

    /// Hands the kept results over under one lock. An error means the results queue was closed
    /// and nobody wants them; their values are user types, so they are dropped under a catch.
    fn flush(&self, kept: &mut Vec<JobResult<T>>) {
        if !kept.is_empty() && self.report.push_all(kept).is_err() {
            for r in kept.drain(..) {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(r))) {
                    drop_payload(payload);
                }
            }
        }
    }
}

/// The message of a caught panic. The payload is consumed here: it is a user value too.
fn message_of(payload: Box<dyn Any + Send>) -> String {
    let message = harness::exercise::panic_message(&*payload);
    drop_payload(payload);
    message
}

/// Drops a panic payload, whose `Drop` may panic in turn (`panic_any` with any type): each new
/// payload is dropped the same way, so nothing unwinds into the worker and nothing leaks.
fn drop_payload(mut payload: Box<dyn Any + Send>) {
    while let Err(next) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        payload = next;
    }
}
