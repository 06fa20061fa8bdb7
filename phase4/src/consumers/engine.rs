//! One member of a consumer group: a poll loop that owns partitions, a few worker threads, a bounded
//! in-flight window per partition, commits of the finished prefix, retries and the dead-letter stream.
//!
//! The poll loop is the only thread that talks to the broker about fetching and committing (as in a
//! Kafka consumer); workers run the handler and report back on a channel. Per partition the loop keeps
//! an [`OffsetTracker`]: at most `max_in_flight` offsets may sit in its window (dispatched and not yet
//! in the finished prefix); a full window pauses fetching that partition — backpressure reaches the
//! broker instead of piling records up in memory.
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, unbounded};
use parking_lot::Mutex;

use super::broker::{Broker, BrokerError, Offset, Record};
use super::group::GroupCoordinator;
use super::tracker::OffsetTracker;

/// What processes one record: `Err(reason)` is a failed attempt.
pub type Handler = Arc<dyn Fn(&Record) -> Result<(), String> + Send + Sync>;

/// How one member consumes.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// The topic.
    pub topic: String,
    /// The consumer group.
    pub group: String,
    /// This member's name (its Redis consumer name).
    pub member: String,
    /// Worker threads running the handler.
    pub workers: usize,
    /// Per partition: most offsets dispatched and not yet in the finished prefix.
    pub max_in_flight: usize,
    /// Most records one fetch asks for.
    pub fetch_max: usize,
    /// Commit after this many completions (and when a partition is released or the member stops).
    pub commit_every: usize,
    /// Attempts per record before it goes to the dead-letter stream.
    pub attempts: u32,
    /// Delay before the first retry; doubled before each next one.
    pub backoff: Duration,
    /// A record pending on another consumer this long is claimed when taking a partition over.
    pub reclaim_idle: Duration,
    /// Stop once every assigned partition is consumed and committed to its end.
    pub exit_when_drained: bool,
}

impl ConsumerConfig {
    /// Defaults for `member` of `group` on `topic`.
    pub fn new(topic: &str, group: &str, member: &str) -> ConsumerConfig {
        ConsumerConfig {
            topic: topic.to_string(),
            group: group.to_string(),
            member: member.to_string(),
            workers: 2,
            max_in_flight: 8,
            fetch_max: 32,
            commit_every: 16,
            attempts: 3,
            backoff: Duration::from_millis(2),
            reclaim_idle: Duration::ZERO,
            exit_when_drained: false,
        }
    }
}

/// One dispatch: a record handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Partition.
    pub partition: u32,
    /// Offset.
    pub offset: Offset,
    /// The member that dispatched it.
    pub member: String,
}

/// Live measurements shared by the members of one run.
pub struct Probe {
    in_flight: Vec<AtomicUsize>,
    max_in_flight: Vec<AtomicUsize>,
    /// Times a fetch was skipped because the partition's window was full.
    pub fetch_pauses: AtomicU64,
    /// Records finished ahead of an earlier offset of their partition.
    pub out_of_order: AtomicU64,
    /// Retries (failed attempts followed by another).
    pub retries: AtomicU64,
    /// Records moved to the dead-letter stream.
    pub dead_lettered: AtomicU64,
    /// Commit calls.
    pub commits: AtomicU64,
    /// Offsets committed that had not finished (must stay 0).
    pub premature_commits: AtomicU64,
    /// Every dispatch, in dispatch order.
    pub deliveries: Mutex<Vec<Delivery>>,
    /// The gaps between attempts of one record, as (partition, offset, gaps).
    pub retry_gaps: Mutex<Vec<(u32, Offset, Vec<Duration>)>>,
    finished: Mutex<HashSet<(u32, Offset)>>,
}

impl Probe {
    /// A probe for a topic of `partitions` partitions.
    pub fn new(partitions: u32) -> Arc<Probe> {
        let n = partitions as usize;
        Arc::new(Probe {
            in_flight: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            max_in_flight: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            fetch_pauses: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            premature_commits: AtomicU64::new(0),
            deliveries: Mutex::new(Vec::new()),
            retry_gaps: Mutex::new(Vec::new()),
            finished: Mutex::new(HashSet::new()),
        })
    }

    /// The largest in-flight window measured on each partition.
    pub fn max_in_flight(&self) -> Vec<usize> {
        // Statistics: read after the members were joined, which orders every update before this.
        self.max_in_flight.iter().map(|a| a.load(Relaxed)).collect()
    }

    fn set_in_flight(&self, p: u32, n: usize) {
        // Relaxed: measurements only; the join of the member threads publishes them.
        self.in_flight[p as usize].store(n, Relaxed);
        self.max_in_flight[p as usize].fetch_max(n, Relaxed);
    }
}

/// What one member did.
#[derive(Debug, Default, Clone)]
pub struct MemberReport {
    /// Records dispatched (fetched or reclaimed).
    pub dispatched: u64,
    /// Of those, reclaimed from another consumer's pending list.
    pub reclaimed: u64,
    /// Records whose handling ended (applied or dead-lettered).
    pub completed: u64,
}

enum Outcome {
    Done,
    DeadLettered,
    Fatal(BrokerError),
}

struct Owned {
    tracker: OffsetTracker,
    releasing: bool,
}

/// Runs one member until `stop` is set (it then hands its partitions back and leaves the group), or,
/// with `exit_when_drained`, until its partitions are consumed and committed to the end.
pub fn run_member(
    broker: Arc<dyn Broker>,
    group: Arc<GroupCoordinator>,
    cfg: ConsumerConfig,
    handler: Handler,
    probe: Arc<Probe>,
    stop: Arc<AtomicBool>,
) -> Result<MemberReport, BrokerError> {
    broker.create_group(&cfg.topic, &cfg.group)?;
    let (job_tx, job_rx) = unbounded::<Record>();
    let (done_tx, done_rx) = unbounded::<(u32, Offset, Outcome)>();
    thread::scope(|s| {
        for w in 0..cfg.workers.max(1) {
            let job_rx = job_rx.clone();
            let done_tx = done_tx.clone();
            let (broker, handler, probe, cfg) = (&broker, &handler, &probe, &cfg);
            thread::Builder::new()
                .name(format!("{}-w{w}", cfg.member))
                .spawn_scoped(s, move || {
                    while let Ok(rec) = job_rx.recv() {
                        let outcome = handle(&**broker, handler, probe, cfg, &rec);
                        if matches!(outcome, Outcome::Done | Outcome::DeadLettered) {
                            probe.finished.lock().insert((rec.partition, rec.offset));
                        }
                        if done_tx.send((rec.partition, rec.offset, outcome)).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn a consumer worker");
        }
        drop(done_tx);
        let result = poll_loop(&*broker, &group, &cfg, &probe, &stop, &job_tx, &done_rx);
        drop(job_tx); // Workers finish what they hold, see the channel closed, and exit.
        // Let the workers' last reports drain so none blocks (the channel is unbounded anyway).
        while done_rx.recv().is_ok() {}
        group.leave(&cfg.member);
        result
    })
}

fn handle(
    broker: &dyn Broker,
    handler: &Handler,
    probe: &Probe,
    cfg: &ConsumerConfig,
    rec: &Record,
) -> Outcome {
    let mut attempt = 0;
    let mut gaps = Vec::new();
    let mut last = Instant::now();
    loop {
        attempt += 1;
        match handler(rec) {
            Ok(()) => return Outcome::Done,
            Err(e) if attempt >= cfg.attempts.max(1) => {
                if !gaps.is_empty() {
                    probe
                        .retry_gaps
                        .lock()
                        .push((rec.partition, rec.offset, gaps));
                }
                return match broker.dead_letter(&cfg.topic, rec, attempt, &e) {
                    Ok(()) => {
                        probe.dead_lettered.fetch_add(1, Relaxed); // A statistic.
                        Outcome::DeadLettered
                    }
                    Err(b) => Outcome::Fatal(b),
                };
            }
            Err(_) => {
                probe.retries.fetch_add(1, Relaxed); // A statistic.
                thread::sleep(cfg.backoff * 2u32.saturating_pow(attempt - 1));
                let now = Instant::now();
                gaps.push(now - last);
                last = now;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    owned: &mut Owned,
    recs: Vec<Record>,
    cfg: &ConsumerConfig,
    probe: &Probe,
    jobs: &crossbeam_channel::Sender<Record>,
    report_count: &mut u64,
) {
    for rec in recs {
        owned.tracker.dispatched(rec.offset);
        probe.set_in_flight(rec.partition, owned.tracker.window_len());
        probe.deliveries.lock().push(Delivery {
            partition: rec.partition,
            offset: rec.offset,
            member: cfg.member.clone(),
        });
        *report_count += 1;
        jobs.send(rec).expect("workers outlive the poll loop");
    }
}

fn commit(
    broker: &dyn Broker,
    cfg: &ConsumerConfig,
    probe: &Probe,
    p: u32,
    owned: &mut Owned,
) -> Result<(), BrokerError> {
    let ready = owned.tracker.take_ready();
    if ready.is_empty() {
        return Ok(());
    }
    {
        let finished = probe.finished.lock();
        let early = ready
            .iter()
            .filter(|&&o| !finished.contains(&(p, o)))
            .count();
        probe.premature_commits.fetch_add(early as u64, Relaxed); // A statistic.
    }
    broker.commit(&cfg.topic, &cfg.group, p, &ready)?;
    probe.commits.fetch_add(1, Relaxed); // A statistic.
    Ok(())
}

fn poll_loop(
    broker: &dyn Broker,
    group: &GroupCoordinator,
    cfg: &ConsumerConfig,
    probe: &Probe,
    stop: &AtomicBool,
    jobs: &crossbeam_channel::Sender<Record>,
    done: &crossbeam_channel::Receiver<(u32, Offset, Outcome)>,
) -> Result<MemberReport, BrokerError> {
    group.join(&cfg.member);
    let mut report = MemberReport::default();
    let mut owned: BTreeMap<u32, Owned> = BTreeMap::new();
    let mut since_commit = 0usize;
    let mut leaving = false;
    let mut idle = false;
    let mut fatal: Option<BrokerError> = None;
    let mut reported = 0u64;
    loop {
        // 1. Completions: advance each partition's finished prefix; commit every `commit_every`.
        let mut first = if idle {
            match done.recv_timeout(Duration::from_millis(2)) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            done.try_recv().ok()
        };
        let mut completed_now = 0;
        while let Some((p, o, outcome)) = first.take().or_else(|| done.try_recv().ok()) {
            reported += 1;
            if let Outcome::Fatal(e) = outcome {
                fatal.get_or_insert(e);
                continue;
            }
            completed_now += 1;
            report.completed += 1;
            if let Some(own) = owned.get_mut(&p) {
                if own.tracker.finished(o) == Some(true) {
                    probe.out_of_order.fetch_add(1, Relaxed); // A statistic.
                }
                probe.set_in_flight(p, own.tracker.window_len());
            }
            // Commit the finished prefixes exactly every `commit_every` completions, before taking
            // the next completion: the poll loop often drains several at once (a slow broker call,
            // a descheduled thread), and counting per drain would move each commit point past its
            // boundary — the drift adds up, and a commit could take in completions that belong to
            // the next batch.
            since_commit += 1;
            if since_commit >= cfg.commit_every.max(1) && fatal.is_none() {
                for (&p, own) in owned.iter_mut() {
                    commit(broker, cfg, probe, p, own)?;
                }
                since_commit = 0;
            }
        }
        if fatal.is_some() && reported == report.dispatched {
            // A record could be neither handled nor dead-lettered: it stays uncommitted (and will be
            // delivered again); hand everything back uncommitted and report the error.
            for &p in owned.keys() {
                group.release(&cfg.member, p);
            }
            break;
        }
        if (stop.load(Relaxed) || fatal.is_some()) && !leaving {
            // Relaxed: a request flag; nothing else is read on its account.
            leaving = true;
            group.leave(&cfg.member);
        }

        // 2. Follow the assignment: hand over what is no longer ours, take what became ours.
        let target = if leaving {
            Vec::new()
        } else {
            group.target(&cfg.member)
        };
        for (p, own) in owned.iter_mut() {
            if !target.contains(p) {
                own.releasing = true;
            }
        }
        let drained: Vec<u32> = owned
            .iter()
            .filter(|(_, o)| o.releasing && o.tracker.window_len() == 0)
            .map(|(p, _)| *p)
            .collect();
        for p in drained {
            let mut own = owned.remove(&p).expect("listed above");
            if fatal.is_none() {
                commit(broker, cfg, probe, p, &mut own)?;
            }
            group.release(&cfg.member, p);
        }
        if leaving && owned.is_empty() {
            break;
        }
        for &p in &target {
            if !owned.contains_key(&p) && group.try_acquire(&cfg.member, p) {
                let mut own = Owned {
                    tracker: OffsetTracker::new(),
                    releasing: false,
                };
                let recs =
                    broker.reclaim(&cfg.topic, &cfg.group, &cfg.member, p, cfg.reclaim_idle)?;
                report.reclaimed += recs.len() as u64;
                dispatch(&mut own, recs, cfg, probe, jobs, &mut report.dispatched);
                owned.insert(p, own);
            }
        }

        // 3. Fetch where the window has room; a full window pauses the partition.
        let mut fetched = 0;
        if !leaving {
            for (&p, own) in owned.iter_mut().filter(|(_, o)| !o.releasing) {
                let room = cfg.max_in_flight.saturating_sub(own.tracker.window_len());
                if room == 0 {
                    probe.fetch_pauses.fetch_add(1, Relaxed); // A statistic.
                    continue;
                }
                let recs = broker.fetch(
                    &cfg.topic,
                    &cfg.group,
                    &cfg.member,
                    p,
                    room.min(cfg.fetch_max),
                )?;
                fetched += recs.len();
                dispatch(own, recs, cfg, probe, jobs, &mut report.dispatched);
            }
        }

        idle = fetched == 0 && completed_now == 0;
        if cfg.exit_when_drained
            && idle
            && !leaving
            && !target.is_empty()
            && target.iter().all(|p| owned.contains_key(p))
            && owned.values().all(|o| o.tracker.window_len() == 0)
        {
            for (&p, own) in owned.iter_mut() {
                commit(broker, cfg, probe, p, own)?;
            }
            let mut all_done = true;
            for &p in owned.keys() {
                if broker.committed(&cfg.topic, &cfg.group, p)?
                    < broker.end_offset(&cfg.topic, p)?
                {
                    all_done = false;
                }
            }
            if all_done {
                stop.store(true, Relaxed); // Relaxed: a request flag.
            }
        }
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(report),
    }
}
