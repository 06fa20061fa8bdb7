//! Counters, gauges and two latency histograms kept apart: the time a task waited in the queue and
//! the time it ran. A pool that is slow because it is saturated (long waits) and one that is slow
//! because its tasks are (long runs) look alike in a single "latency" figure; here they do not.
//!
//! What changes on every task is kept per worker — starts, ends, both histograms — behind the
//! worker's own lock, which no other thread takes except a snapshot: recording costs an uncontended
//! lock and never bounces a cache line between cores (one shared counter incremented by every
//! worker cost more than the rest of the bookkeeping together). The rare events (rejections,
//! evictions, cancellations) are plain atomics. Timestamps come from a TSC clock (quanta): on
//! virtual machines the OS clock can cost ~100 ns a read, a fifth of a tiny task's whole overhead.
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::sync::Stamp as Instant;

use hdrhistogram::Histogram;
use shim::sync::Mutex;

use crate::pool::Job;
use crate::state::Lifecycle;
use crate::sync::lock;

/// The pool's counters (monotonic, since the pool was built).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) submitted: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) unstarted: AtomicU64,
    pub(crate) caller_ran: AtomicU64,
    pub(crate) stuck: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

/// The highest value the histograms record: an hour, in nanoseconds (longer saturates).
const HIGHEST_NS: u64 = 3_600_000_000_000;

/// What one worker (or the callers' shared slot) counted: ends, queue wait and run time.
#[derive(Debug, Clone)]
pub(crate) struct Hist {
    pub(crate) completed: u64,
    pub(crate) panicked: u64,
    wait: Histogram<u64>,
    run: Histogram<u64>,
}

impl Hist {
    pub(crate) fn new() -> Hist {
        // Two significant digits: 1 % resolution over 1 ns .. 1 h, about 37 KiB per histogram.
        let h = || Histogram::new_with_bounds(1, HIGHEST_NS, 2).expect("valid histogram bounds");
        Hist {
            completed: 0,
            panicked: 0,
            wait: h(),
            run: h(),
        }
    }

    fn record(&mut self, wait: Duration, run: Duration, panicked: bool) {
        if panicked {
            self.panicked += 1;
        } else {
            self.completed += 1;
        }
        self.wait.saturating_record(nanos(wait));
        self.run.saturating_record(nanos(run));
    }

    pub(crate) fn merge(&mut self, other: &Hist) {
        self.completed += other.completed;
        self.panicked += other.panicked;
        // Same bounds on both sides, so `add` cannot fail.
        let _ = self.wait.add(&other.wait);
        let _ = self.run.add(&other.run);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// The task a worker is running, for the watchdog.
#[derive(Debug)]
pub(crate) struct Current {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) since: Instant,
    pub(crate) seq: u64,
}

/// One worker's own state (also used, shared, for tasks run on callers' threads): its batch of
/// claimed-but-unstarted tasks, what it runs now, and what it has counted — all behind one lock that
/// only its worker takes per task (uncontended), so a snapshot that locks each slot sees every task
/// in exactly one place: waiting in the batch, running, or ended.
#[derive(Debug)]
pub(crate) struct WorkerSlot {
    pub(crate) worker: Option<usize>,
    pub(crate) inner: Mutex<SlotInner>,
}

#[derive(Debug)]
pub(crate) struct SlotInner {
    pub(crate) hist: Hist,
    /// Tasks taken from the queue for this worker, not started yet.
    pub(crate) local: VecDeque<Job>,
    /// Tasks running on this slot now (0 or 1 on a worker; any number on the callers' slot).
    pub(crate) running: usize,
    /// Mean run time of this worker's recent tasks, ns (EWMA, 1/16 per sample).
    pub(crate) mean_run_ns: u64,
    pub(crate) current: Option<Current>,
    /// The `seq` of the last task the watchdog reported on this worker (report once per task).
    pub(crate) reported: u64,
    /// Starts shown to the watchdog on this worker.
    seq: u64,
}

/// How the task a worker ran last ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ended {
    pub(crate) wait: Duration,
    pub(crate) started: Instant,
    pub(crate) panicked: bool,
}

impl SlotInner {
    fn record_end(&mut self, e: Ended, now: Instant) {
        let run = now.saturating_duration_since(e.started);
        self.hist.record(e.wait, run, e.panicked);
        self.running -= 1;
        self.current = None;
        let ns = u64::try_from(run.as_nanos()).unwrap_or(u64::MAX);
        self.mean_run_ns = if self.mean_run_ns == 0 {
            ns
        } else {
            self.mean_run_ns - self.mean_run_ns / 16 + ns / 16
        };
    }

    fn record_start(&mut self, job: &Job, now: Instant, watch: bool) {
        self.running += 1;
        if watch {
            self.seq += 1;
            self.current = Some(Current {
                name: job.header().name().cloned(),
                since: now,
                seq: self.seq,
            });
        }
    }
}

impl WorkerSlot {
    pub(crate) fn new(worker: Option<usize>) -> WorkerSlot {
        WorkerSlot {
            worker,
            inner: Mutex::new(SlotInner {
                hist: Hist::new(),
                local: VecDeque::new(),
                running: 0,
                mean_run_ns: 0,
                current: None,
                reported: 0,
                seq: 0,
            }),
        }
    }

    /// One lock per task boundary: records how the previous task ended and claims the next one of
    /// the batch (`try_start`), with the one timestamp that serves as the end of the one and the
    /// start of the other. Entries that left `QUEUED` meanwhile (cancelled) are counted and handed
    /// back in `dead`, for the caller to release outside the lock.
    pub(crate) fn next(
        &self,
        ended: Option<Ended>,
        watch: bool,
        counters: &Counters,
        dead: &mut Vec<Job>,
    ) -> Option<(Job, Instant)> {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        if let Some(e) = ended {
            inner.record_end(e, now);
        }
        while let Some(job) = inner.local.pop_front() {
            if job.header().state.try_start() {
                inner.record_start(&job, now, watch);
                return Some((job, now));
            }
            if job.header().state.lifecycle() == Lifecycle::Abandoned {
                bump(&counters.cancelled);
            }
            dead.push(job);
        }
        None
    }

    /// A task claimed elsewhere starts on this slot (a caller's thread).
    pub(crate) fn begin(&self, job: &Job, watch: bool) -> Instant {
        let now = Instant::now();
        lock(&self.inner).record_start(job, now, watch);
        now
    }

    /// … and ends.
    pub(crate) fn end(&self, ended: Ended) {
        let now = Instant::now();
        lock(&self.inner).record_end(ended, now);
    }
}

/// A summary of one latency histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// Tasks recorded.
    pub count: u64,
    /// Their mean.
    pub mean: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// The largest recorded (1 % resolution).
    pub max: Duration,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let q = |q: f64| Duration::from_nanos(h.value_at_quantile(q));
        Latency {
            count: h.len(),
            mean: Duration::from_nanos(h.mean() as u64),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: Duration::from_nanos(h.max()),
        }
    }
}

/// A snapshot of a pool's counters, gauges and latencies ([`Pool::metrics`](crate::Pool::metrics)).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks admitted (including those run on the caller's thread by `CallerRuns`).
    pub submitted: u64,
    /// Tasks that started running.
    pub started: u64,
    /// Tasks that ran to the end and returned (a group member's `Err` included).
    pub completed: u64,
    /// Group members that returned `Err` (a subset of `completed`).
    pub failed: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Tasks cancelled before they started (handle or group). Counted when the pool reaches the
    /// cancelled entry in its queue, or discards it at shutdown.
    pub cancelled: u64,
    /// Submissions refused (`Full`, `TimedOut`, `DeadlineUnmeetable`, `ShutDown`).
    pub rejected: u64,
    /// Tasks evicted by `DropOldest`.
    pub dropped: u64,
    /// Tasks a shutdown discarded unstarted.
    pub unstarted: u64,
    /// Tasks run on the submitting thread (`CallerRuns`, or a worker submitting to its own full pool).
    pub caller_ran: u64,
    /// Tasks the watchdog found running past `stuck_after`.
    pub stuck: u64,
    /// Worker threads alive now.
    pub workers: usize,
    /// The most worker threads alive at once.
    pub peak_workers: usize,
    /// Workers waiting for work now.
    pub idle: usize,
    /// Tasks running now.
    pub running: usize,
    /// Entries in the queue now (cancelled ones included until a worker reaches them).
    pub queued: usize,
    /// Time from submission to start.
    pub queue_wait: Latency,
    /// Time from start to end.
    pub run_time: Latency,
}

impl Metrics {
    pub(crate) fn fill(&mut self, c: &Counters, hist: &Hist) {
        self.submitted = c.submitted.load(Relaxed);
        self.completed = hist.completed;
        self.failed = c.failed.load(Relaxed);
        self.panicked = hist.panicked;
        self.cancelled = c.cancelled.load(Relaxed);
        self.rejected = c.rejected.load(Relaxed);
        self.dropped = c.dropped.load(Relaxed);
        self.unstarted = c.unstarted.load(Relaxed);
        self.caller_ran = c.caller_ran.load(Relaxed);
        self.stuck = c.stuck.load(Relaxed);
        self.queue_wait = Latency::of(&hist.wait);
        self.run_time = Latency::of(&hist.run);
    }
}
