//! Counters, gauges and two latency histograms kept apart: the time a task waited in the queue and
//! the time it ran. A pool that is slow because it is saturated (long waits) and one that is slow
//! because its tasks are (long runs) look alike in a single "latency" figure; here they do not.
//!
//! Counters are plain atomics (statistics, not synchronisation: Relaxed). Each worker records into
//! its own histograms behind its own lock, which no other thread takes except a snapshot, so
//! recording costs an uncontended lock; a snapshot merges them.
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use shim::sync::Mutex;

use crate::sync::lock;

/// The pool's counters (monotonic, since the pool was built).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) submitted: AtomicU64,
    pub(crate) started: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) panicked: AtomicU64,
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

/// Queue wait and run time of the tasks one worker ran.
#[derive(Debug, Clone)]
pub(crate) struct Hist {
    wait: Histogram<u64>,
    run: Histogram<u64>,
}

impl Hist {
    pub(crate) fn new() -> Hist {
        // Two significant digits: 1 % resolution over 1 ns .. 1 h, about 37 KiB per histogram.
        let h = || Histogram::new_with_bounds(1, HIGHEST_NS, 2).expect("valid histogram bounds");
        Hist {
            wait: h(),
            run: h(),
        }
    }

    fn record(&mut self, wait: Duration, run: Duration) {
        self.wait.saturating_record(nanos(wait));
        self.run.saturating_record(nanos(run));
    }

    pub(crate) fn merge(&mut self, other: &Hist) {
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

/// One worker's own statistics (also used, shared, for tasks run on a caller's thread).
#[derive(Debug)]
pub(crate) struct WorkerSlot {
    pub(crate) worker: Option<usize>,
    pub(crate) inner: Mutex<SlotInner>,
}

#[derive(Debug)]
pub(crate) struct SlotInner {
    pub(crate) hist: Hist,
    pub(crate) current: Option<Current>,
    /// The `seq` of the last task the watchdog reported on this worker (report once per task).
    pub(crate) reported: u64,
}

impl WorkerSlot {
    pub(crate) fn new(worker: Option<usize>) -> WorkerSlot {
        WorkerSlot {
            worker,
            inner: Mutex::new(SlotInner {
                hist: Hist::new(),
                current: None,
                reported: 0,
            }),
        }
    }

    pub(crate) fn begin(&self, name: Option<Cow<'static, str>>, since: Instant, seq: u64) {
        lock(&self.inner).current = Some(Current { name, since, seq });
    }

    pub(crate) fn end(&self, wait: Duration, run: Duration) {
        let mut inner = lock(&self.inner);
        inner.current = None;
        inner.hist.record(wait, run);
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
        self.started = c.started.load(Relaxed);
        self.completed = c.completed.load(Relaxed);
        self.failed = c.failed.load(Relaxed);
        self.panicked = c.panicked.load(Relaxed);
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
