//! The scenarios the exercise runs and the tests repeat against both backends. Each one takes a
//! broker URL (see [`open_broker`]), so the same code runs on the embedded log and on Redis.
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use harness::tempdir::{TempDir, unique_name};
use harness::wait::poll_until;

use super::audit::{Audit, AuditVerdict, AuditedBroker};
use super::broker::{Broker, BrokerError, DeadLetter, open_broker, replay_dead_letters};
use super::engine::{ConsumerConfig, Handler, Probe, run_member};
use super::group::{Generation, GroupCoordinator};
use super::sink::{MemorySink, read_ids};

/// How long any scenario may take before it is abandoned as hung.
pub const SCENARIO_DEADLINE: Duration = Duration::from_secs(40);

/// The payload of message `id`: `m000042|k3|poison` — its id, its key, and whether it is poison.
pub fn message(id: usize, key: usize, poison: bool) -> Vec<u8> {
    format!("m{id:06}|k{key}|{}", if poison { "poison" } else { "ok" }).into_bytes()
}

/// The id of a message payload (the text before the first `|`).
pub fn message_id(payload: &[u8]) -> String {
    let s = String::from_utf8_lossy(payload);
    s.split('|').next().unwrap_or_default().to_string()
}

/// Whether a payload is poison.
pub fn is_poison(payload: &[u8]) -> bool {
    payload.ends_with(b"|poison")
}

/// Produces `n` messages, message i on partition i % partitions; returns the ids.
pub fn produce_messages(
    broker: &dyn Broker,
    topic: &str,
    partitions: u32,
    n: usize,
    poison: &[usize],
) -> Result<Vec<String>, BrokerError> {
    broker.create_topic(topic, partitions)?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let payload = message(i, i % partitions as usize, poison.contains(&i));
        broker.produce(topic, (i % partitions as usize) as u32, &payload)?;
        ids.push(message_id(&payload));
    }
    Ok(ids)
}

/// A little work whose length depends on the offset, so records of one partition finish out of order.
fn simulated_work(offset: u64, unit: Duration) {
    let k = (offset.wrapping_mul(2_654_435_761) >> 7) % 4;
    thread::sleep(unit * k as u32);
}

/// Deletes the topic when dropped (Redis keys would otherwise outlive the run).
struct TopicGuard<'a>(&'a dyn Broker, String);

impl Drop for TopicGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.delete_topic(&self.1);
    }
}

/// What the consumer-group scenario measured.
#[derive(Debug, Clone)]
pub struct RebalanceReport {
    /// The broker used.
    pub broker: String,
    /// Messages produced.
    pub messages: usize,
    /// Every generation: join a, join b, join c, leave b, …
    pub generations: Vec<Generation>,
    /// Distinct messages applied.
    pub applied: usize,
    /// Deliveries the sink saw twice (a clean rebalance should cause none).
    pub duplicates: u64,
    /// Records dispatched per member.
    pub per_member: BTreeMap<String, usize>,
    /// Per partition, dispatches whose offset was not above the previous one (must be 0).
    pub order_violations: usize,
    /// Releases of a partition by a member that did not own it (must be 0).
    pub ownership_errors: u64,
    /// Records that finished ahead of an earlier offset of their partition.
    pub out_of_order: u64,
    /// Offsets committed before they finished, as the engine counts them (must be 0).
    pub premature_commits: u64,
    /// What the broker-side audit saw, from the broker calls and the sink alone.
    pub audit: AuditVerdict,
    /// Commit calls.
    pub commits: u64,
    /// Every partition's committed offset reached its end.
    pub committed_to_end: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// Members a, b, c join one after another while `messages` records are consumed; b leaves before the
/// end. Records of a partition finish out of order (variable work, 2 workers per member).
pub fn rebalance_scenario(
    url: &str,
    messages: usize,
    partitions: u32,
) -> Result<RebalanceReport, BrokerError> {
    let raw = open_broker(url)?;
    let topic = unique_name("group");
    let _cleanup = TopicGuard(&*raw, topic.clone());
    produce_messages(&*raw, &topic, partitions, messages, &[])?;
    let coord = Arc::new(GroupCoordinator::new(partitions));
    let probe = Probe::new(partitions);
    let sink = Arc::new(MemorySink::new());
    let audited = Arc::new(AuditedBroker::new(
        raw.clone(),
        Audit::new(sink.clone(), partitions),
    ));
    let broker: Arc<dyn Broker> = audited.clone();
    let handler: Handler = {
        let sink = sink.clone();
        Arc::new(move |r| {
            simulated_work(r.offset, Duration::from_micros(150));
            sink.apply(&message_id(&r.payload));
            Ok(())
        })
    };
    let t0 = Instant::now();
    let deadline = t0 + SCENARIO_DEADLINE;
    let stops: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let results = thread::scope(|s| {
        let mut handles = Vec::new();
        let mut start = |name: &str, stop: &Arc<AtomicBool>| {
            let mut cfg = ConsumerConfig::new(&topic, "billing", name);
            cfg.workers = 2;
            cfg.max_in_flight = 6;
            cfg.commit_every = 8;
            let (b, c, h, p, st) = (
                broker.clone(),
                coord.clone(),
                handler.clone(),
                probe.clone(),
                stop.clone(),
            );
            handles.push(s.spawn(move || run_member(b, c, cfg, h, p, st)));
        };
        let applied_at_least = |n: usize| {
            let left = deadline.saturating_duration_since(Instant::now());
            poll_until(left, || sink.applied() >= n)
        };
        // A member joins on its own thread: wait for its join before the next event, or a member
        // told to leave could leave before the previous one has joined (the events would swap).
        let joined = |name: &str| {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = format!("join {name}");
            poll_until(left, || {
                coord.generations().iter().any(|g| g.event == event)
            })
        };
        start("a", &stops[0]);
        let mut on_time = joined("a") && applied_at_least(messages / 4);
        if on_time {
            start("b", &stops[1]);
            on_time = joined("b") && applied_at_least(messages / 2);
        }
        if on_time {
            start("c", &stops[2]);
            on_time = joined("c") && applied_at_least(3 * messages / 4);
        }
        if on_time {
            stops[1].store(true, Relaxed); // Relaxed: a request flag.
            on_time = applied_at_least(messages);
        }
        let _ = on_time; // A late run is reported by the counts below, not by hanging.
        // Stopping makes each member drain, commit and release its partitions before it leaves.
        for s in &stops {
            s.store(true, Relaxed); // Relaxed: a request flag.
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("member thread"))
            .collect::<Vec<_>>()
    });
    for r in results {
        r?;
    }
    let deliveries = probe.deliveries.lock().clone();
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    let mut order_violations = 0;
    let mut per_member: BTreeMap<String, usize> = BTreeMap::new();
    for d in &deliveries {
        if last.get(&d.partition).is_some_and(|&prev| d.offset <= prev) {
            order_violations += 1;
        }
        last.insert(d.partition, d.offset);
        *per_member.entry(d.member.clone()).or_default() += 1;
    }
    let mut committed_to_end = true;
    for p in 0..partitions {
        committed_to_end &=
            broker.committed(&topic, "billing", p)? == broker.end_offset(&topic, p)?;
    }
    Ok(RebalanceReport {
        broker: broker.describe(),
        messages,
        generations: coord.generations(),
        applied: sink.applied(),
        duplicates: sink.duplicates(),
        per_member,
        order_violations,
        ownership_errors: coord.ownership_errors(),
        out_of_order: probe.out_of_order.load(Relaxed),
        premature_commits: probe.premature_commits.load(Relaxed),
        audit: audited.observer().verdict(),
        commits: probe.commits.load(Relaxed),
        committed_to_end,
        elapsed: t0.elapsed(),
    })
}

/// One backpressure run.
#[derive(Debug, Clone)]
pub struct BackpressureRun {
    /// The per-partition bound (None: unbounded).
    pub bound: Option<usize>,
    /// The largest in-flight window measured on each partition.
    pub max_in_flight: Vec<usize>,
    /// Fetches skipped because a window was full.
    pub fetch_pauses: u64,
    /// Distinct messages applied.
    pub applied: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// One member with 2 workers drains `messages` slow records, the in-flight window per partition
/// bounded by `bound` (or not at all).
pub fn backpressure_scenario(
    url: &str,
    messages: usize,
    partitions: u32,
    bound: Option<usize>,
) -> Result<BackpressureRun, BrokerError> {
    let broker = open_broker(url)?;
    let topic = unique_name("backpressure");
    let _cleanup = TopicGuard(&*broker, topic.clone());
    produce_messages(&*broker, &topic, partitions, messages, &[])?;
    let probe = Probe::new(partitions);
    let sink = Arc::new(MemorySink::new());
    let handler: Handler = {
        let sink = sink.clone();
        Arc::new(move |r| {
            simulated_work(r.offset, Duration::from_micros(100));
            sink.apply(&message_id(&r.payload));
            Ok(())
        })
    };
    let mut cfg = ConsumerConfig::new(&topic, "audit", "solo");
    cfg.workers = 2;
    cfg.max_in_flight = bound.unwrap_or(usize::MAX);
    cfg.fetch_max = bound.unwrap_or(10_000);
    cfg.exit_when_drained = true;
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let watchdog_stop = stop.clone();
    let finished = Arc::new(AtomicBool::new(false));
    let fin = finished.clone();
    let timer = thread::spawn(move || {
        let deadline = Instant::now() + SCENARIO_DEADLINE;
        // Relaxed flags: requests only.
        while !fin.load(Relaxed) {
            if Instant::now() > deadline {
                watchdog_stop.store(true, Relaxed);
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
    });
    let coord = Arc::new(GroupCoordinator::new(partitions));
    let result = run_member(broker.clone(), coord, cfg, handler, probe.clone(), stop);
    finished.store(true, Relaxed);
    let _ = timer.join();
    result?;
    Ok(BackpressureRun {
        bound,
        max_in_flight: probe.max_in_flight(),
        fetch_pauses: probe.fetch_pauses.load(Relaxed),
        applied: sink.applied(),
        elapsed: t0.elapsed(),
    })
}

/// What the poison-message scenario measured.
#[derive(Debug, Clone)]
pub struct DlqReport {
    /// Messages produced.
    pub messages: usize,
    /// The poison messages' ids.
    pub poison: Vec<String>,
    /// The dead-letter stream after the first pass.
    pub dead_letters: Vec<DeadLetter>,
    /// Gaps between attempts of each dead-lettered record.
    pub retry_gaps: Vec<Vec<Duration>>,
    /// Distinct messages applied by the first pass.
    pub applied_first_pass: usize,
    /// The first pass committed every partition to its end (poison did not block it).
    pub committed_to_end: bool,
    /// Dead letters replayed.
    pub replayed: usize,
    /// Distinct messages applied after the replay and the handler fix.
    pub applied_after_replay: usize,
    /// Dead letters left after the replay pass.
    pub dead_letters_after: usize,
}

fn drain_once(
    broker: &Arc<dyn Broker>,
    topic: &str,
    partitions: u32,
    handler: Handler,
    attempts: u32,
    backoff: Duration,
    probe: &Arc<Probe>,
) -> Result<(), BrokerError> {
    let mut cfg = ConsumerConfig::new(topic, "ledger", "worker");
    cfg.attempts = attempts;
    cfg.backoff = backoff;
    cfg.exit_when_drained = true;
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let t0 = Instant::now();
    thread::scope(|s| {
        let h = s.spawn(|| {
            run_member(
                broker.clone(),
                Arc::new(GroupCoordinator::new(partitions)),
                cfg,
                handler,
                probe.clone(),
                stop,
            )
        });
        while !h.is_finished() {
            if t0.elapsed() > SCENARIO_DEADLINE {
                s2.store(true, Relaxed); // Relaxed: a request flag.
            }
            thread::sleep(Duration::from_millis(2));
        }
        h.join().expect("member thread")
    })
    .map(|_| ())
}

/// `messages` records, the ones in `poison` failing every attempt: they go to the dead-letter stream
/// after `attempts` tries with exponential backoff, the rest are applied and every partition
/// progresses. Then the handler is "fixed", the dead letters replayed, and they are applied too.
pub fn dlq_scenario(
    url: &str,
    messages: usize,
    partitions: u32,
    poison: &[usize],
    attempts: u32,
    backoff: Duration,
) -> Result<DlqReport, BrokerError> {
    let broker = open_broker(url)?;
    let topic = unique_name("payments");
    let _cleanup = TopicGuard(&*broker, topic.clone());
    let ids = produce_messages(&*broker, &topic, partitions, messages, poison)?;
    let sink = Arc::new(MemorySink::new());
    let fixed = Arc::new(AtomicBool::new(false));
    let handler: Handler = {
        let (sink, fixed) = (sink.clone(), fixed.clone());
        Arc::new(move |r| {
            let id = message_id(&r.payload);
            // Relaxed: set before the second pass's threads are spawned, which orders it.
            if is_poison(&r.payload) && !fixed.load(Relaxed) {
                return Err(format!("{id}: amount field is not a number (\"NaN\")"));
            }
            sink.apply(&id);
            Ok(())
        })
    };
    let probe = Probe::new(partitions);
    drain_once(
        &broker,
        &topic,
        partitions,
        handler.clone(),
        attempts,
        backoff,
        &probe,
    )?;
    let dead_letters = broker.dead_letters(&topic)?;
    let applied_first_pass = sink.applied();
    let mut committed_to_end = true;
    for p in 0..partitions {
        committed_to_end &=
            broker.committed(&topic, "ledger", p)? == broker.end_offset(&topic, p)?;
    }
    let retry_gaps = probe
        .retry_gaps
        .lock()
        .iter()
        .map(|(_, _, g)| g.clone())
        .collect();
    fixed.store(true, Relaxed); // Relaxed: see the load above.
    let replayed = replay_dead_letters(&*broker, &topic)?;
    drain_once(
        &broker, &topic, partitions, handler, attempts, backoff, &probe,
    )?;
    Ok(DlqReport {
        messages,
        poison: poison.iter().map(|&i| ids[i].clone()).collect(),
        dead_letters,
        retry_gaps,
        applied_first_pass,
        committed_to_end,
        replayed,
        applied_after_replay: sink.applied(),
        dead_letters_after: broker.dead_letters(&topic)?.len(),
    })
}

/// What the crash-and-restart scenario measured.
#[derive(Debug, Clone, Default)]
pub struct CrashReport {
    /// Messages produced.
    pub messages: usize,
    /// The child stalls (waiting for its SIGKILL) once this many are applied.
    pub stall_after: usize,
    /// The first child died of SIGKILL.
    pub killed_by_sigkill: bool,
    /// Messages in the sink when the first child was killed.
    pub applied_at_kill: usize,
    /// Sum over partitions of the committed offsets when it was killed.
    pub committed_at_kill: u64,
    /// Deliveries the second child's sink skipped as already applied (at-least-once at work).
    pub duplicates_skipped: u64,
    /// Records the second child reclaimed from the first one's pending list (Redis) — the embedded
    /// log re-reads from the committed offset instead.
    pub reclaimed: u64,
    /// Lines in the sink file at the end.
    pub sink_lines: usize,
    /// Distinct ids in it.
    pub distinct: usize,
    /// Produced ids missing from the sink.
    pub missing: usize,
    /// Every partition committed to its end after the restart.
    pub committed_to_end: bool,
}

fn spawn_child(
    exe: &Path,
    args: &[String],
    stderr_to: &Path,
) -> Result<std::process::Child, String> {
    let err = std::fs::File::create(stderr_to).map_err(|e| format!("stderr file: {e}"))?;
    Command::new(exe)
        .arg("consume-child")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))
}

/// Produces `messages` records; a child process (`exe consume-child …`) consumes them into a file
/// sink and is SIGKILLed mid-batch (it stalls after `stall_after` applied, with a commit pending);
/// a second child restarts, and the sink must end with every id exactly once.
pub fn crash_restart_scenario(
    exe: &Path,
    url: &str,
    messages: usize,
    partitions: u32,
) -> Result<CrashReport, String> {
    let scratch = TempDir::new("crash").map_err(|e| format!("temp dir: {e}"))?;
    let url = if url == "embedded" {
        format!("file://{}", scratch.path().join("log").display())
    } else {
        url.to_string()
    };
    let topic = unique_name("orders");
    let group = "fulfilment";
    let commit_every = 25;
    let stall_after = (messages / 3 / commit_every) * commit_every + commit_every / 2;
    let sink_path = scratch.path().join("sink.txt");
    let ids = {
        let broker = open_broker(&url).map_err(|e| e.to_string())?;
        produce_messages(&*broker, &topic, partitions, messages, &[]).map_err(|e| e.to_string())?
    };
    let common = |member: &str| -> Vec<String> {
        [
            "--broker", &url, "--topic", &topic, "--group", group, "--member", member, "--sink",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            sink_path.display().to_string(),
            "--commit-every".into(),
            commit_every.to_string(),
        ])
        .collect()
    };
    let mut report = CrashReport {
        messages,
        stall_after,
        ..CrashReport::default()
    };

    // The first consumer: killed mid-batch.
    let mut args = common("c1");
    args.extend(["--stall-after".to_string(), stall_after.to_string()]);
    let err1 = scratch.path().join("child1.err");
    let mut child = spawn_child(exe, &args, &err1)?;
    let deadline = Instant::now() + SCENARIO_DEADLINE;
    let reached = loop {
        if read_ids(&sink_path).map_or(0, |v| v.len()) >= stall_after {
            break true;
        }
        if let Ok(Some(st)) = child.try_wait() {
            let e = std::fs::read_to_string(&err1).unwrap_or_default();
            return Err(format!("first child exited early ({st}): {}", e.trim()));
        }
        if Instant::now() > deadline {
            break false;
        }
        thread::sleep(Duration::from_millis(2));
    };
    // Let the commit that would follow a batch boundary have its chance (none is due: the child
    // stalls mid-batch); then SIGKILL, which no handler can catch.
    thread::sleep(Duration::from_millis(30));
    let _ = child.kill();
    let status = child.wait().map_err(|e| format!("wait: {e}"))?;
    if !reached {
        return Err("first child never reached its stall point".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        report.killed_by_sigkill = status.signal() == Some(libc::SIGKILL);
    }
    report.applied_at_kill = read_ids(&sink_path).map_err(|e| e.to_string())?.len();
    {
        let broker = open_broker(&url).map_err(|e| e.to_string())?;
        broker
            .create_group(&topic, group)
            .map_err(|e| e.to_string())?;
        for p in 0..partitions {
            report.committed_at_kill += broker
                .committed(&topic, group, p)
                .map_err(|e| e.to_string())?;
        }
    }

    // The restart.
    let err2 = scratch.path().join("child2.err");
    let mut child = spawn_child(exe, &common("c2"), &err2)?;
    let mut out = child.stdout.take().expect("piped stdout");
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("wait: {e}"))? {
            break st;
        }
        if Instant::now() > deadline + SCENARIO_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err("restarted child did not finish in time".into());
        }
        thread::sleep(Duration::from_millis(5));
    };
    let stdout = reader.join().unwrap_or_default();
    if !status.success() {
        let e = std::fs::read_to_string(&err2).unwrap_or_default();
        return Err(format!("restarted child failed ({status}): {}", e.trim()));
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("consume-child:"))
        .ok_or_else(|| format!("restarted child printed no report: {stdout:?}"))?;
    let num = |key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    report.duplicates_skipped = num("duplicates");
    report.reclaimed = num("reclaimed");
    let lines = read_ids(&sink_path).map_err(|e| e.to_string())?;
    let distinct: HashSet<&String> = lines.iter().collect();
    report.sink_lines = lines.len();
    report.distinct = distinct.len();
    report.missing = ids.iter().filter(|i| !distinct.contains(i)).count();
    {
        let broker = open_broker(&url).map_err(|e| e.to_string())?;
        report.committed_to_end = true;
        for p in 0..partitions {
            report.committed_to_end &= broker
                .committed(&topic, group, p)
                .map_err(|e| e.to_string())?
                == broker.end_offset(&topic, p).map_err(|e| e.to_string())?;
        }
        let _ = broker.delete_topic(&topic);
    }
    Ok(report)
}
