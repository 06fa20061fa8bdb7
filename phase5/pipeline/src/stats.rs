//! Per-stage counters and times, and the report built from them when the pipeline ends.
//!
//! Every counter is a `Relaxed` atomic: each one is a tally with no other memory published through
//! it, and the report reads them only after every stage task has been joined, which orders all
//! their increments before the reads.
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

/// Time spent in one activity (busy, or backpressured) by a stage's tasks, readable while they are
/// still in it: `total_ns` holds the finished intervals; `running` intervals are open, and
/// `since_sum_ns` is the sum of their starts (ns after the stage's `epoch`, times their weight), so
/// the open time at `now` is `running × now − since_sum_ns`. Each field is a `Relaxed` tally (no
/// other data is published through them); a snapshot reads the three one by one, so it may be off
/// by one interval's length and is clamped, while the final report reads them after every task has
/// been joined, when `running` is 0 and `total_ns` is exact.
#[derive(Debug, Default)]
pub(crate) struct Timing {
    total_ns: AtomicU64,
    running: AtomicU64,
    since_sum_ns: AtomicU64,
}

/// The live tallies of one stage (and of the edge in front of it).
#[derive(Debug)]
pub(crate) struct StageStats {
    /// The origin of the `Timing` starts.
    epoch: Instant,
    pub(crate) offered: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) items_in: AtomicU64,
    pub(crate) items_out: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    /// Items in the edge right now (kept under the edge's lock, mirrored here for reading).
    pub(crate) depth: AtomicUsize,
    pub(crate) max_depth: AtomicUsize,
    /// Items its edge wrote to disk (`SpillToDisk`), and their bytes (frames included).
    pub(crate) spilled: AtomicU64,
    pub(crate) spilled_bytes: AtomicU64,
    /// The most bytes of spill segments on disk at once.
    pub(crate) max_spill_bytes: AtomicU64,
    /// Spill writes or reads that failed, and the first one's message.
    pub(crate) spill_errors: AtomicU64,
    pub(crate) first_spill_error: std::sync::OnceLock<String>,
    /// Summed over the stage's workers: time in the stage's function.
    pub(crate) busy: Timing,
    /// Summed over the stage's senders (weighted, see `Sender::weighted`): time waiting for room
    /// downstream.
    pub(crate) backpressured: Timing,
    /// Nanoseconds from the stage's start to its end.
    pub(crate) wall_ns: AtomicU64,
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

impl StageStats {
    pub(crate) fn new() -> Self {
        StageStats {
            epoch: Instant::now(),
            offered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            items_in: AtomicU64::new(0),
            items_out: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            depth: AtomicUsize::new(0),
            max_depth: AtomicUsize::new(0),
            spilled: AtomicU64::new(0),
            spilled_bytes: AtomicU64::new(0),
            max_spill_bytes: AtomicU64::new(0),
            spill_errors: AtomicU64::new(0),
            first_spill_error: std::sync::OnceLock::new(),
            busy: Timing::default(),
            backpressured: Timing::default(),
            wall_ns: AtomicU64::new(0),
        }
    }

    /// Counts a failed spill write or read, keeping the first one's message.
    pub(crate) fn spill_error(&self, e: &crate::spill::SpillError) {
        Self::add(&self.spill_errors, 1);
        let _ = self.first_spill_error.set(e.to_string());
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Opens an interval of `t` counted `weight` times; returns its start for [`StageStats::end`].
    pub(crate) fn begin(&self, t: &Timing, weight: u64) -> Instant {
        let now = Instant::now();
        let since = nanos(now.saturating_duration_since(self.epoch));
        t.since_sum_ns.fetch_add(since * weight, Relaxed);
        t.running.fetch_add(weight, Relaxed);
        now
    }

    /// Closes the interval opened at `began`.
    pub(crate) fn end(&self, t: &Timing, began: Instant, weight: u64) {
        t.total_ns
            .fetch_add(nanos(began.elapsed()) * weight, Relaxed);
        let since = nanos(began.saturating_duration_since(self.epoch));
        t.running.fetch_sub(weight, Relaxed);
        t.since_sum_ns.fetch_sub(since * weight, Relaxed);
    }

    /// The finished intervals of `t` and, while the stage runs, its open ones up to now.
    fn time_ns(&self, t: &Timing) -> u64 {
        let now = nanos(self.epoch.elapsed());
        let open = (t.running.load(Relaxed) * now).saturating_sub(t.since_sum_ns.load(Relaxed));
        t.total_ns.load(Relaxed) + open
    }
}

/// What one stage did. `offered = dropped + rejected + completed + failed + cancelled` once the
/// pipeline has ended: every item that reached the stage's edge is accounted for exactly once.
#[derive(Clone, Debug, PartialEq)]
pub struct StageReport {
    /// The stage's name (`source` for the source).
    pub name: String,
    /// How many workers it ran.
    pub parallelism: usize,
    /// Items sent to the edge in front of it.
    pub offered: u64,
    /// Items its edge dropped (the arriving one, or the oldest, by its policy).
    pub dropped: u64,
    /// Items its edge refused and reported back to the source.
    pub rejected: u64,
    /// Items it took from its edge.
    pub items_in: u64,
    /// Items it sent on (a filter sends fewer, a flat_map more, a batch one per batch).
    pub items_out: u64,
    /// Items it finished with (sent on, or filtered out).
    pub completed: u64,
    /// Items whose `try_map` returned an error (after every retry: the dead-lettered ones), and
    /// items its spilling edge could not read back.
    pub failed: u64,
    /// Retries made (a retried item counts once per retry; it ends in `completed` or `failed`).
    pub retried: u64,
    /// Items abandoned when the drain deadline passed: in its edge, in flight, or in a partial batch.
    pub cancelled: u64,
    /// Items in its edge now, in memory or spilled (0 once the pipeline has ended: leftovers are
    /// counted as cancelled).
    pub depth: usize,
    /// The most items its edge held at once (in memory and spilled).
    pub max_depth: usize,
    /// Items its [`SpillToDisk`](crate::Overflow::SpillToDisk) edge wrote to disk.
    pub spilled: u64,
    /// The bytes it wrote (record frames included).
    pub spilled_bytes: u64,
    /// The most bytes of spill segments it had on disk at once.
    pub max_spill_bytes: u64,
    /// Spill writes or reads that failed.
    pub spill_errors: u64,
    /// The first of them.
    pub first_spill_error: Option<String>,
    /// Share of its workers' time spent in its function (0 to 1). In a snapshot of a running
    /// pipeline, only the items already finished count.
    pub busy: f64,
    /// Share of its workers' time spent waiting for room in the next edge (0 to 1).
    pub backpressured: f64,
    /// The rest: waiting for input (0 to 1).
    pub idle: f64,
}

impl StageReport {
    /// The stage's row. `live` is the time since the start for a snapshot of a running pipeline
    /// (the stage's own end is not known yet); `None` once every task has ended.
    pub(crate) fn from_stats(
        name: &str,
        parallelism: usize,
        s: &StageStats,
        live: Option<Duration>,
    ) -> Self {
        let wall_ns = match live {
            Some(elapsed) => elapsed.as_nanos() as f64,
            None => s.wall_ns.load(Relaxed) as f64,
        };
        let wall = wall_ns * parallelism as f64;
        let share = |ns: u64| {
            if wall > 0.0 {
                (ns as f64 / wall).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let busy = share(s.time_ns(&s.busy));
        let backpressured = share(s.time_ns(&s.backpressured)).min(1.0 - busy);
        StageReport {
            name: name.to_string(),
            parallelism,
            offered: s.offered.load(Relaxed),
            dropped: s.dropped.load(Relaxed),
            rejected: s.rejected.load(Relaxed),
            items_in: s.items_in.load(Relaxed),
            items_out: s.items_out.load(Relaxed),
            completed: s.completed.load(Relaxed),
            failed: s.failed.load(Relaxed),
            retried: s.retried.load(Relaxed),
            cancelled: s.cancelled.load(Relaxed),
            depth: s.depth.load(Relaxed),
            max_depth: s.max_depth.load(Relaxed),
            spilled: s.spilled.load(Relaxed),
            spilled_bytes: s.spilled_bytes.load(Relaxed),
            max_spill_bytes: s.max_spill_bytes.load(Relaxed),
            spill_errors: s.spill_errors.load(Relaxed),
            first_spill_error: s.first_spill_error.get().cloned(),
            busy,
            backpressured,
            idle: (1.0 - busy - backpressured).max(0.0),
        }
    }
}

/// An item an edge refused under [`Overflow::Reject`](crate::Overflow::Reject): the source's
/// sequence number of the item it came from (the n-th item the source produced, from 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    /// The source item's sequence number.
    pub seq: u64,
    /// The stage whose edge refused it.
    pub stage: String,
}

/// Where a pipeline's edges record their refusals. A pipeline merged into another forwards its log
/// to the other's, so that one list holds every refusal in the order they happened.
#[derive(Debug, Default)]
pub(crate) struct NackLog {
    list: std::sync::Mutex<Vec<Nack>>,
    forward: std::sync::OnceLock<std::sync::Arc<NackLog>>,
}

impl NackLog {
    fn target(&self) -> &NackLog {
        match self.forward.get() {
            Some(to) => to.target(),
            None => self,
        }
    }

    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Nack>> {
        // Only pushes and copies run under this lock: poisoning leaves the list whole.
        self.target().list.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, nack: Nack) {
        self.list().push(nack);
    }

    /// The refusals from the `from`-th on.
    pub(crate) fn since(&self, from: usize) -> Vec<Nack> {
        self.list().get(from..).unwrap_or_default().to_vec()
    }

    pub(crate) fn take(&self) -> Vec<Nack> {
        std::mem::take(&mut *self.list())
    }

    /// From now on, refusals recorded here go to `to` (set once, before the pipeline runs).
    pub(crate) fn forward_to(&self, to: std::sync::Arc<NackLog>) {
        let _ = self.forward.set(to);
    }
}

/// How a pipeline ended, and what every stage did.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The stages in flow order, the source first.
    pub stages: Vec<StageReport>,
    /// The refused items, in the order they were refused.
    pub nacks: Vec<Nack>,
    /// Whether the cancellation token was cancelled before the pipeline ended (the source was then
    /// stopped, and the items inside drained).
    pub cancelled: bool,
    /// Whether the drain deadline passed and the items still inside were cancelled.
    pub drain_timed_out: bool,
    /// From the start to the last stage's end.
    pub elapsed: Duration,
    /// One entry per source that acks ([`Pipeline::from_file`](crate::Pipeline::from_file)), in
    /// the order of the sources.
    pub acks: Vec<SourceAcks>,
}

/// What a source that acks read, and what was acked and checkpointed, in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceAcks {
    /// The input file.
    pub input: std::path::PathBuf,
    /// The checkpoint file.
    pub checkpoint: std::path::PathBuf,
    /// The line (from 0) this run started at: the checkpoint it found.
    pub resumed_at_line: u64,
    /// Lines read in this run.
    pub read: u64,
    /// Of those, the lines acked: the contiguous prefix every sink finished.
    pub acked: u64,
    /// Lines read and not acked (cancelled, refused, or behind one that was): a restart reads
    /// them again.
    pub unacked: u64,
    /// The line the durable checkpoint stands at now (where the next run resumes).
    pub checkpoint_line: u64,
    /// The first unacked line was abandoned (cancelled or refused), so the acked prefix stopped
    /// there for the rest of the run.
    pub stuck: bool,
}

impl Report {
    /// The stage named `name`.
    pub fn stage(&self, name: &str) -> Option<&StageReport> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// One line naming the bottleneck and why, from Flink's accounting: the stage busiest in its
    /// function is the bottleneck when it is busy most of the time, and the evidence is that its
    /// upstream waits on it (backpressured). When no stage is busy most of the time the stages wait
    /// for input, and the source is what limits the pipeline.
    ///
    /// ```
    /// # use pipeline::{Report, StageReport};
    /// # fn stage(name: &str, busy: f64, backpressured: f64) -> StageReport {
    /// #     StageReport { name: name.into(), parallelism: 1, offered: 0, dropped: 0, rejected: 0,
    /// #         items_in: 0, items_out: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, depth: 0, max_depth: 0,
    /// #         spilled: 0, spilled_bytes: 0, max_spill_bytes: 0, spill_errors: 0, first_spill_error: None,
    /// #         busy, backpressured, idle: 1.0 - busy - backpressured }
    /// # }
    /// let report = Report {
    ///     stages: vec![stage("source", 0.01, 0.95), stage("parse", 0.97, 0.0), stage("sink", 0.2, 0.0)],
    ///     nacks: vec![], cancelled: false, drain_timed_out: false, elapsed: Default::default(), acks: vec![],
    /// };
    /// assert_eq!(report.verdict(), "parse is the bottleneck: busy 97 %, its upstream source backpressured 95 % of the time");
    /// ```
    pub fn verdict(&self) -> String {
        let Some((i, worst)) = self
            .stages
            .iter()
            .enumerate()
            .skip(1)
            .max_by(|a, b| a.1.busy.total_cmp(&b.1.busy))
        else {
            return "no stage ran".to_string();
        };
        let pct = |x: f64| (x * 100.0).round() as u64;
        if worst.busy < 0.5 {
            return format!(
                "no stage is saturated (the busiest, {}, is busy {} %): the source limits the pipeline",
                worst.name,
                pct(worst.busy)
            );
        }
        let up = &self.stages[i - 1];
        format!(
            "{} is the bottleneck: busy {} %, its upstream {} backpressured {} % of the time",
            worst.name,
            pct(worst.busy),
            up.name,
            pct(up.backpressured)
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:>3} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>6}",
            "stage",
            "par",
            "in",
            "out",
            "done",
            "dropped",
            "rejected",
            "cancel",
            "busy",
            "bp",
            "idle"
        )?;
        for s in &self.stages {
            writeln!(
                f,
                "{:<12} {:>3} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5.0}% {:>5.0}% {:>5.0}%",
                s.name,
                s.parallelism,
                s.items_in,
                s.items_out,
                s.completed,
                s.dropped,
                s.rejected,
                s.cancelled,
                s.busy * 100.0,
                s.backpressured * 100.0,
                s.idle * 100.0
            )?;
        }
        for s in self
            .stages
            .iter()
            .filter(|s| s.spilled > 0 || s.spill_errors > 0)
        {
            writeln!(
                f,
                "{} spilled {} items ({} bytes, at most {} on disk at once){}",
                s.name,
                s.spilled,
                s.spilled_bytes,
                s.max_spill_bytes,
                match (s.spill_errors, &s.first_spill_error) {
                    (0, _) | (_, None) => String::new(),
                    (n, Some(first)) => format!(", {n} spill errors, the first: {first}"),
                }
            )?;
        }
        write!(f, "{}", self.verdict())
    }
}
