//! The pool itself: `n` named worker threads pulling boxed jobs from a bounded queue (our phase 1
//! channel) and sending one [`JobResult`] each to an unbounded result channel.
//!
//! Concurrency is bounded by construction (one job per worker at a time) and *measured*: workers
//! count jobs in flight and keep the maximum, so tests check the bound instead of trusting it.
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

use phase1::channels::{Receiver, Sender, bounded, unbounded};

use super::outcome::{JobResult, Outcome};
use super::token::CancelToken;

/// A job: receives the pool's token so a long job can stop early.
pub type Job<T> = Box<dyn FnOnce(&CancelToken) -> T + Send + 'static>;

/// Counters shared by the workers.
#[derive(Debug, Default)]
struct Gauges {
    /// Jobs currently between "started" and "finished" (panics included).
    in_flight: AtomicUsize,
    /// The largest value `in_flight` ever reached.
    max_in_flight: AtomicUsize,
    /// Jobs whose closure was called.
    started: AtomicUsize,
}

/// A fixed-size worker pool with a bounded submission queue. Dropping it cancels nothing: it closes
/// the queue, lets the workers drain it and joins them (like `shutdown`, discarding the results).
pub struct Pool<T: Send + 'static> {
    /// `None` once the queue is closed (shutdown in progress).
    queue: Option<Sender<(u64, Job<T>)>>,
    /// Every job's result, in completion order.
    results: Receiver<JobResult<T>>,
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
        let (queue, jobs) = bounded::<(u64, Job<T>)>(queue_cap);
        let (report, results) = unbounded();
        let token = CancelToken::new();
        let gauges = Arc::new(Gauges::default());
        let workers = (0..workers)
            .map(|i| {
                let (jobs, report, token, gauges) =
                    (jobs.clone(), report.clone(), token.clone(), gauges.clone());
                thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || work(jobs, report, token, gauges))
                    .expect("spawn a pool worker")
            })
            .collect();
        Pool {
            queue: Some(queue),
            results,
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
        let queue = self.queue.as_ref().ok_or(Closed)?;
        let id = self.next_id;
        queue.send((id, Box::new(job))).map_err(|_| Closed)?;
        self.next_id += 1;
        Ok(id)
    }

    /// The next result in completion order, blocking; `None` once every worker has exited and
    /// every result was taken.
    pub fn recv(&self) -> Option<JobResult<T>> {
        self.results.recv().ok()
    }

    /// The next result if one arrives within `limit`.
    pub fn recv_timeout(&self, limit: std::time::Duration) -> Option<JobResult<T>> {
        self.results.recv_timeout(limit).ok()
    }

    /// Cancels: every job still queued is reported `Cancelled` without running; running jobs see
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
        self.gauges.started.load(Ordering::Relaxed)
    }

    /// Closes the queue, lets the workers finish it, joins every worker and returns the results not
    /// yet taken (completion order).
    pub fn shutdown(mut self) -> Vec<JobResult<T>> {
        self.close_and_join();
        self.results.try_iter().collect()
    }

    fn close_and_join(&mut self) {
        self.queue = None; // the last Sender: workers drain the queue, then `recv` fails
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

/// A worker's loop: one job at a time until the queue is closed and empty.
fn work<T>(
    jobs: Receiver<(u64, Job<T>)>,
    report: Sender<JobResult<T>>,
    token: CancelToken,
    gauges: Arc<Gauges>,
) {
    while let Ok((id, job)) = jobs.recv() {
        let outcome = if token.is_cancelled() {
            Outcome::Cancelled
        } else {
            // Relaxed (all three): counters only; each RMW is atomic, which is all the maximum needs.
            let now = gauges.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            gauges.max_in_flight.fetch_max(now, Ordering::Relaxed);
            gauges.started.fetch_add(1, Ordering::Relaxed);
            let ran = catch_unwind(AssertUnwindSafe(|| job(&token)));
            gauges.in_flight.fetch_sub(1, Ordering::Relaxed);
            match ran {
                Ok(v) => Outcome::Done(v),
                Err(payload) => Outcome::Panicked(harness::exercise::panic_message(&*payload)),
            }
        };
        // The result channel is unbounded: a worker never blocks on a slow collector. An error
        // means the pool is gone and nobody wants the result.
        let _ = report.send(JobResult { id, outcome });
    }
}
