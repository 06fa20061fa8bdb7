//! Shared by the consumer tests: the backends (the embedded log, or a throwaway `redis-server`) and
//! the scenario tests written once and run against each.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use harness::tempdir::{TempDir, unique_name};
use harness::wait::poll_until;
use parking_lot::Mutex;
use phase4::consumers::resp::Connection;
use phase4::consumers::scenarios::{self, message_id};
use phase4::consumers::{
    Broker, BrokerError, BrokerObserver, BrokerResult, ConsumerConfig, DeadLetter,
    GroupCoordinator, Handler, MemberReport, MemorySink, Observed, Offset, Probe, Record,
    open_broker, run_member,
};

/// A broker URL to test against, and whatever must stay alive for it.
pub struct Backend {
    pub url: String,
    _server: Option<RedisServer>,
}

pub fn embedded() -> Option<Backend> {
    Some(Backend {
        url: "embedded".into(),
        _server: None,
    })
}

/// A `redis-server` of our own on a free loopback port, with its own temp dir; shut down on drop.
pub struct RedisServer {
    pub port: u16,
    child: Child,
    _dir: TempDir,
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl RedisServer {
    pub fn start(bin: &std::path::Path) -> RedisServer {
        let dir = TempDir::new("redis").expect("temp dir for redis");
        // A port the kernel just handed out and we released: free unless someone races us for it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(dir.path().join("redis.log")).expect("redis log file");
        let child = Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args([
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("start redis-server");
        let mut server = RedisServer {
            port,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pong = Connection::connect(&server.addr(), Duration::from_millis(200))
                .ok()
                .and_then(|mut c| c.cmd(&["PING"]).ok())
                .and_then(|r| r.text());
            if pong.as_deref() == Some("PONG") {
                break;
            }
            if let Ok(Some(st)) = server.child.try_wait() {
                let log = std::fs::read_to_string(server._dir.path().join("redis.log"))
                    .unwrap_or_default();
                panic!("redis-server exited at start ({st}):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING within 10 s"
            );
            thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Ok(mut c) = Connection::connect(&self.addr(), Duration::from_millis(500)) {
            let _ = c.cmd(&["SHUTDOWN", "NOSAVE"]);
        }
        let child = &mut self.child;
        if poll_until(Duration::from_secs(3), || {
            matches!(child.try_wait(), Ok(Some(_)))
        }) {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh Redis backend, or None (with a loud message) when `redis-server` is not installed —
/// unless `REQUIRE_REDIS=1`, which turns the skip into a failure (CI installs redis and sets it).
pub fn redis() -> Option<Backend> {
    match find_on_path("redis-server") {
        Some(bin) => {
            let server = RedisServer::start(&bin);
            Some(Backend {
                url: format!("redis://{}", server.addr()),
                _server: Some(server),
            })
        }
        None => {
            let required = std::env::var("REQUIRE_REDIS").is_ok_and(|v| v == "1");
            // Straight to the stderr handle, not `eprintln!`: the test harness captures the macros'
            // output of a passing test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !! SKIPPED: redis-server is not on PATH, so this Redis Streams test did   !!\n\
                 !! not run. Install it (Debian/Ubuntu: apt-get install -y redis-server;  !!\n\
                 !! macOS: brew install redis). Set REQUIRE_REDIS=1 to make this a failure.!!\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            assert!(
                !required,
                "REQUIRE_REDIS=1 but redis-server is not installed"
            );
            None
        }
    }
}

/// One partition, 40 records; offset 3's work is held until the test lets it go. Offsets after it
/// finish, yet the committed offset must stay at 3 — then reach 40 once 3 is released.
///
/// The oracle is independent of the broker's `committed` (which is the lowest *pending* offset on
/// both backends, so it reads 3 whatever else was acked): the acks the engine sent, recorded by
/// [`Recording`], must be exactly the prefix the sink has applied; and a consumer taking the
/// partition over (as after a crash) must be re-delivered the held offset *and* every finished
/// offset past it, since none of those may have been acknowledged.
pub fn out_of_order_commits_only_the_finished_prefix(url: &str) {
    let inner = open_broker(url).expect("broker");
    let topic = unique_name("prefix");
    scenarios::produce_messages(&*inner, &topic, 1, 40, &[]).expect("produce");
    let recording = Recording::new(inner.clone(), Duration::ZERO);
    let broker: Arc<dyn Broker> = recording.clone();
    let sink = Arc::new(MemorySink::new());
    let release = Arc::new(AtomicBool::new(false));
    let handler: Handler = {
        let (sink, release) = (sink.clone(), release.clone());
        Arc::new(move |r| {
            if r.offset == 3 {
                let t0 = Instant::now();
                // Relaxed: a flag; the sink's lock orders what the test reads.
                while !release.load(Relaxed) && t0.elapsed() < Duration::from_secs(20) {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            sink.apply(&message_id(&r.payload));
            Ok(())
        })
    };
    let mut cfg = ConsumerConfig::new(&topic, "g", "m");
    cfg.workers = 3;
    cfg.max_in_flight = 8;
    cfg.commit_every = 1;
    cfg.exit_when_drained = true;
    let probe = Probe::new(1);
    let stop = Arc::new(AtomicBool::new(false));
    let coord = Arc::new(GroupCoordinator::new(1));
    let (b2, p2) = (broker.clone(), probe.clone());
    let member = thread::spawn(move || run_member(b2, coord, cfg, handler, p2, stop));
    // 0-2 finish and leave the window; the window of 8 is then 3..=10, so 4..=10 finish too: 10 applied.
    assert!(
        poll_until(Duration::from_secs(20), || sink.applied() >= 10),
        "records after the held one never finished"
    );
    thread::sleep(Duration::from_millis(30)); // Give a wrong commit every chance to happen.
    assert_eq!(
        sink.applied(),
        10,
        "the window of 8 bounds what runs past the held offset"
    );
    assert!(!sink.contains("m000003"));
    // What the sink applied, by offset (message i is offset i on the one partition).
    let applied: Vec<Offset> = (0..40)
        .filter(|&o| sink.contains(&format!("m{o:06}")))
        .collect();
    let prefix = (0..40).take_while(|o| applied.contains(o)).count() as Offset;
    assert_eq!(prefix, 3, "the sink applied {applied:?}");
    let mut acked = recording.observer().acked(0);
    acked.sort_unstable();
    assert_eq!(
        acked,
        (0..prefix).collect::<Vec<_>>(),
        "the engine acknowledged offsets past the unfinished one (sink applied {applied:?})"
    );
    // A consumer taking over now (what a restart after a crash does first) is re-delivered every
    // unacknowledged record: the held one and each finished one behind it.
    let redelivered: Vec<Offset> = inner
        .reclaim(&topic, "g", "restarted", 0, Duration::ZERO)
        .expect("reclaim")
        .iter()
        .map(|r| r.offset)
        .collect();
    for o in applied
        .iter()
        .copied()
        .filter(|&o| o > prefix)
        .chain([prefix])
    {
        assert!(
            redelivered.contains(&o),
            "offset {o} would not be re-delivered after a crash: got {redelivered:?}"
        );
    }
    assert_eq!(
        broker.committed(&topic, "g", 0).expect("committed"),
        3,
        "commit went past an unfinished offset"
    );
    assert!(
        probe.out_of_order.load(Relaxed) >= 4,
        "offsets 4.. finished before 3"
    );
    release.store(true, Relaxed);
    member.join().expect("member").expect("member ran");
    assert_eq!(broker.committed(&topic, "g", 0).expect("committed"), 40);
    assert_eq!(sink.applied(), 40);
    assert_eq!(probe.premature_commits.load(Relaxed), 0);
    let mut acked = recording.observer().acked(0);
    acked.sort_unstable();
    assert_eq!(acked, (0..40).collect::<Vec<_>>(), "each offset acked once");
    broker.delete_topic(&topic).expect("cleanup");
}

/// Records delivered to a consumer that never acknowledges stay pending; another consumer claims
/// them only once they have been idle for `min_idle` (XAUTOCLAIM semantics).
pub fn stuck_messages_are_reclaimed_after_min_idle(url: &str) {
    let broker = open_broker(url).expect("broker");
    let topic = unique_name("stuck");
    scenarios::produce_messages(&*broker, &topic, 1, 10, &[]).expect("produce");
    broker.create_group(&topic, "g").expect("group");
    let got = broker.fetch(&topic, "g", "dies", 0, 4).expect("fetch");
    assert_eq!(
        got.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    let idle = Duration::from_millis(200);
    let fresh = broker
        .reclaim(&topic, "g", "alive", 0, idle)
        .expect("reclaim");
    assert!(
        fresh.is_empty(),
        "claimed records idle for less than min_idle: {fresh:?}"
    );
    thread::sleep(idle + Duration::from_millis(20));
    let claimed = broker
        .reclaim(&topic, "g", "alive", 0, idle)
        .expect("reclaim");
    assert_eq!(
        claimed, got,
        "the dead consumer's pending records, payloads intact"
    );
    assert_eq!(broker.committed(&topic, "g", 0).expect("committed"), 0);
    broker.commit(&topic, "g", 0, &[0, 1, 2, 3]).expect("ack");
    assert_eq!(broker.committed(&topic, "g", 0).expect("committed"), 4);
    let next = broker.fetch(&topic, "g", "alive", 0, 100).expect("fetch");
    assert_eq!(next.first().map(|r| r.offset), Some(4));
    assert_eq!(next.len(), 6);
    broker.delete_topic(&topic).expect("cleanup");
}

pub fn in_flight_never_exceeds_its_bound(url: &str) {
    let bounded = scenarios::backpressure_scenario(url, 400, 4, Some(3)).expect("bounded run");
    assert_eq!(bounded.applied, 400);
    assert!(
        bounded.max_in_flight.iter().all(|&m| m <= 3),
        "measured {:?}",
        bounded.max_in_flight
    );
    assert!(
        bounded.max_in_flight.contains(&3),
        "the bound was never reached"
    );
    assert!(bounded.fetch_pauses > 0);
    let open = scenarios::backpressure_scenario(url, 400, 4, None).expect("unbounded run");
    assert_eq!(open.applied, 400);
    assert!(
        open.max_in_flight.iter().any(|&m| m > 3),
        "without a bound the window should grow: {:?}",
        open.max_in_flight
    );
}

pub fn group_rebalances_keep_order_and_apply_once(url: &str) {
    let r = scenarios::rebalance_scenario(url, 300, 6).expect("scenario");
    let events: Vec<&str> = r.generations.iter().map(|g| g.event.as_str()).collect();
    assert_eq!(&events[..4], ["join a", "join b", "join c", "leave b"]);
    assert_eq!(
        r.generations[2].assignment,
        vec![
            ("a".to_string(), vec![0, 1]),
            ("b".to_string(), vec![2, 3]),
            ("c".to_string(), vec![4, 5])
        ]
    );
    assert_eq!(r.applied, 300);
    assert_eq!(r.duplicates, 0, "a clean rebalance redelivers nothing");
    assert_eq!(r.order_violations, 0);
    assert_eq!(r.ownership_errors, 0);
    assert_eq!(r.premature_commits, 0);
    assert_eq!(
        (
            r.audit.acked,
            r.audit.acked_past_unapplied,
            r.audit.unclean_handovers
        ),
        (300, 0, 0),
        "the broker-side audit: acked, acked past an unapplied offset, unclean hand-overs"
    );
    assert!(r.committed_to_end);
    assert!(r.per_member.values().all(|&n| n > 0), "{:?}", r.per_member);
}

/// A decorator that records every acknowledgement the engine sends, in order, so a test can check
/// what was acked against what the sink received — independently of the broker's own `committed`
/// (both backends report the lowest pending offset, which hides an ack past an unfinished one).
/// With a `fetch_delay`, fetches are slow, so completions pile up while the poll loop waits.
pub struct Recording {
    fetch_delay: Duration,
    /// Every commit call: (partition, offsets).
    pub commits: Mutex<Vec<(u32, Vec<Offset>)>>,
}

impl Recording {
    pub fn new(inner: Arc<dyn Broker>, fetch_delay: Duration) -> Arc<Observed<Recording>> {
        let recording = Recording {
            fetch_delay,
            commits: Mutex::new(Vec::new()),
        };
        Arc::new(Observed::new(inner, recording))
    }

    /// Every offset acknowledged on `partition`, in the order the acks were sent.
    pub fn acked(&self, partition: u32) -> Vec<Offset> {
        self.commits
            .lock()
            .iter()
            .filter(|(p, _)| *p == partition)
            .flat_map(|(_, o)| o.iter().copied())
            .collect()
    }
}

impl BrokerObserver for Recording {
    fn before_fetch(&self, _consumer: &str, _partition: u32) {
        if !self.fetch_delay.is_zero() {
            thread::sleep(self.fetch_delay);
        }
    }
    fn before_commit(&self, p: u32, offsets: &[Offset]) {
        self.commits.lock().push((p, offsets.to_vec()));
    }
}

/// One partition, one worker (so completions arrive in offset order), slow fetches (so the poll
/// loop finds many completions at once): every commit must still carry exactly `commit_every`
/// offsets — a commit point that drifts past its boundary is what let the crash scenario's
/// "killed mid-batch" commit everything applied.
pub fn commits_land_exactly_every_commit_every(url: &str) {
    let inner = open_broker(url).expect("broker");
    let topic = unique_name("cadence");
    scenarios::produce_messages(&*inner, &topic, 1, 60, &[]).expect("produce");
    let broker = Recording::new(inner, Duration::from_millis(5));
    let sink = Arc::new(MemorySink::new());
    let handler = applying_to(&sink);
    let mut cfg = ConsumerConfig::new(&topic, "g", "m");
    cfg.workers = 1;
    cfg.max_in_flight = 16;
    cfg.fetch_max = 16;
    cfg.commit_every = 5;
    cfg.exit_when_drained = true;
    let member = spawn_member(
        broker.clone(),
        cfg,
        handler,
        &Arc::new(AtomicBool::new(false)),
    );
    assert!(
        poll_until(Duration::from_secs(30), || member.is_finished()),
        "the member never drained"
    );
    let report = member.join().expect("member").expect("run_member");
    assert_eq!(
        (report.dispatched, report.completed, report.reclaimed),
        (60, 60, 0),
        "the member's report: dispatched, completed, reclaimed"
    );
    assert_eq!(sink.applied(), 60);
    assert_eq!(broker.committed(&topic, "g", 0).expect("committed"), 60);
    let commits: Vec<usize> = broker
        .observer()
        .commits
        .lock()
        .iter()
        .map(|(_, o)| o.len())
        .collect();
    assert_eq!(commits.iter().sum::<usize>(), 60, "{commits:?}");
    assert!(
        commits.iter().all(|&n| n == 5),
        "commits drifted off their commit_every boundaries: {commits:?}"
    );
    let _ = broker.delete_topic(&topic);
}

pub fn killed_consumer_restarts_and_applies_each_message_once(url: &str) {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_exercise3"));
    let r = scenarios::crash_restart_scenario(exe, url, 300, 3).expect("scenario");
    assert!(r.killed_by_sigkill, "{r:?}");
    assert!(r.applied_at_kill as u64 > r.committed_at_kill, "{r:?}");
    assert_eq!(
        r.duplicates_skipped,
        r.applied_at_kill as u64 - r.committed_at_kill,
        "exactly the applied-but-uncommitted are redelivered: {r:?}"
    );
    assert_eq!(
        (r.sink_lines, r.distinct, r.missing),
        (300, 300, 0),
        "{r:?}"
    );
    assert!(r.committed_to_end, "{r:?}");
}

pub fn poison_goes_to_the_dlq_and_replays(url: &str) {
    let r = scenarios::dlq_scenario(url, 50, 2, &[4, 9, 10], 4, Duration::from_millis(1))
        .expect("scenario");
    let mut ids: Vec<String> = r
        .dead_letters
        .iter()
        .map(|d| message_id(&d.payload))
        .collect();
    ids.sort();
    assert_eq!(ids, r.poison);
    for d in &r.dead_letters {
        assert_eq!(d.attempts, 4);
        assert!(d.error.contains("NaN"), "{}", d.error);
    }
    // One list of gaps per poison record (each tried 4 times: 3 gaps); not a vacuous `all`.
    assert_eq!(r.retry_gaps.len(), r.poison.len(), "{:?}", r.retry_gaps);
    assert!(r.retry_gaps.iter().all(|g| g.len() == 3));
    assert_eq!(r.applied_first_pass, 47);
    assert!(r.committed_to_end);
    assert_eq!(r.replayed, 3);
    assert_eq!(r.applied_after_replay, 50);
    assert_eq!(r.dead_letters_after, 0);
}

/// A member taking over a partition first reclaims what a dead consumer left pending, and its report
/// counts those records apart: 10 records, 4 of them delivered to a consumer that never acks; the
/// member reclaims the 4, fetches the other 6, applies all 10 and commits to the end.
pub fn a_member_reclaims_what_a_dead_consumer_left_pending(url: &str) {
    let (broker, topic) = fetched_by(url, "takeover", 10, "dies", 4);
    let sink = Arc::new(MemorySink::new());
    let handler = applying_to(&sink);
    let mut cfg = ConsumerConfig::new(&topic, "g", "m");
    cfg.reclaim_idle = Duration::ZERO;
    cfg.exit_when_drained = true;
    let member = spawn_member(
        broker.clone(),
        cfg,
        handler,
        &Arc::new(AtomicBool::new(false)),
    );
    let report = join_within(member, "the member never drained").expect("run_member");
    assert_eq!(
        (report.dispatched, report.reclaimed, report.completed),
        (10, 4, 10),
        "the member's report: dispatched, reclaimed, completed"
    );
    assert_eq!(sink.applied(), 10);
    assert_eq!(broker.committed(&topic, "g", 0).expect("committed"), 10);
    let _ = broker.delete_topic(&topic);
}

/// A member told to exit once drained, on a topic already consumed to its end (3 records, acked by an
/// earlier consumer), finds nothing to do and returns with an empty report: being idle from the
/// first poll on is what lets it see that it is drained.
pub fn a_member_with_nothing_to_consume_exits_when_drained(url: &str) {
    let (broker, topic) = fetched_by(url, "nothing", 3, "earlier", 3);
    broker.commit(&topic, "g", 0, &[0, 1, 2]).expect("ack");
    let mut cfg = ConsumerConfig::new(&topic, "g", "m");
    cfg.exit_when_drained = true;
    let handler: Handler = Arc::new(|_| Ok(()));
    let member = spawn_member(
        broker.clone(),
        cfg,
        handler,
        &Arc::new(AtomicBool::new(false)),
    );
    let report =
        join_within(member, "a drained member did not exit within 20 s").expect("run_member");
    assert_eq!(
        (report.dispatched, report.reclaimed, report.completed),
        (0, 0, 0)
    );
    assert_eq!(broker.committed(&topic, "g", 0).expect("committed"), 3);
    let _ = broker.delete_topic(&topic);
}

/// Drained means committed to the end, not merely "nothing to fetch": offset 0 stays pending on a
/// consumer that died (and is not idle long enough to be reclaimed), so a member told to exit when
/// drained consumes 1..=3 and must keep running. Checked as: once the sink has applied those three,
/// the member is still running 300 ms later (the correct member cannot return before `stop`; a
/// member that takes an idle poll for the end returns within a few polls of 2 ms) — then stopped.
pub fn a_member_does_not_exit_while_a_record_is_pending_elsewhere(url: &str) {
    let (broker, topic) = fetched_by(url, "pending", 4, "dies", 1);
    let sink = Arc::new(MemorySink::new());
    let handler = applying_to(&sink);
    let mut cfg = ConsumerConfig::new(&topic, "g", "m");
    cfg.reclaim_idle = Duration::from_secs(3600);
    cfg.commit_every = 1;
    cfg.exit_when_drained = true;
    let stop = Arc::new(AtomicBool::new(false));
    let member = spawn_member(broker.clone(), cfg, handler, &stop);
    let deadline = Instant::now() + Duration::from_secs(20);
    while sink.applied() < 3 {
        if Instant::now() >= deadline {
            stop.store(true, Relaxed); // Relaxed: a request flag.
            panic!("the member never applied offsets 1..=3");
        }
        thread::sleep(Duration::from_millis(1));
    }
    let watch_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < watch_until && !member.is_finished() {
        thread::sleep(Duration::from_millis(2));
    }
    let exited_by_itself = member.is_finished();
    stop.store(true, Relaxed); // Relaxed: a request flag.
    let report = join_within(member, "the member ignored stop").expect("run_member");
    assert!(
        !exited_by_itself,
        "the member called itself drained with offset 0 still pending: {report:?}"
    );
    assert_eq!(
        (report.dispatched, report.reclaimed, report.completed),
        (3, 0, 3)
    );
    assert!(!sink.contains("m000000"));
    assert_eq!(broker.committed(&topic, "g", 0).expect("committed"), 0);
    let _ = broker.delete_topic(&topic);
}

/// A broker whose dead-letter stream refuses every record (all else goes to `inner`).
struct NoDeadLetters(Arc<dyn Broker>);

impl Broker for NoDeadLetters {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn create_topic(&self, topic: &str, partitions: u32) -> BrokerResult<()> {
        self.0.create_topic(topic, partitions)
    }
    fn partitions(&self, topic: &str) -> BrokerResult<u32> {
        self.0.partitions(topic)
    }
    fn produce(&self, topic: &str, partition: u32, payload: &[u8]) -> BrokerResult<Offset> {
        self.0.produce(topic, partition, payload)
    }
    fn end_offset(&self, topic: &str, partition: u32) -> BrokerResult<Offset> {
        self.0.end_offset(topic, partition)
    }
    fn create_group(&self, topic: &str, group: &str) -> BrokerResult<()> {
        self.0.create_group(topic, group)
    }
    fn fetch(&self, t: &str, g: &str, c: &str, p: u32, max: usize) -> BrokerResult<Vec<Record>> {
        self.0.fetch(t, g, c, p, max)
    }
    fn reclaim(
        &self,
        t: &str,
        g: &str,
        c: &str,
        p: u32,
        idle: Duration,
    ) -> BrokerResult<Vec<Record>> {
        self.0.reclaim(t, g, c, p, idle)
    }
    fn commit(&self, t: &str, g: &str, p: u32, offsets: &[Offset]) -> BrokerResult<()> {
        self.0.commit(t, g, p, offsets)
    }
    fn committed(&self, topic: &str, group: &str, partition: u32) -> BrokerResult<Offset> {
        self.0.committed(topic, group, partition)
    }
    fn dead_letter(&self, _: &str, r: &Record, _: u32, _: &str) -> BrokerResult<()> {
        Err(BrokerError(format!(
            "dead-letter stream refused offset {}",
            r.offset
        )))
    }
    fn dead_letters(&self, topic: &str) -> BrokerResult<Vec<DeadLetter>> {
        self.0.dead_letters(topic)
    }
    fn remove_dead_letter(&self, topic: &str, id: &str) -> BrokerResult<()> {
        self.0.remove_dead_letter(topic, id)
    }
    fn delete_topic(&self, topic: &str) -> BrokerResult<()> {
        self.0.delete_topic(topic)
    }
}

/// A record that fails every attempt and cannot be dead-lettered either (the broker refuses it) is
/// fatal: the member waits for what it dispatched to report back, hands its partition back without
/// committing past the record, and returns the broker's error — it neither hangs nor succeeds.
/// One partition, one worker, offsets 0..=5 with 5 poison: the fatal report is the last one, after
/// the completions of 0..=4 (committed as they come, `commit_every` 1).
pub fn a_record_that_cannot_be_dead_lettered_fails_the_member(url: &str) {
    let inner = open_broker(url).expect("broker");
    let topic = unique_name("fatal");
    scenarios::produce_messages(&*inner, &topic, 1, 6, &[5]).expect("produce");
    let broker: Arc<dyn Broker> = Arc::new(NoDeadLetters(inner.clone()));
    let handler: Handler = Arc::new(|r| {
        if scenarios::is_poison(&r.payload) {
            Err("poison".to_string())
        } else {
            Ok(())
        }
    });
    let mut cfg = ConsumerConfig::new(&topic, "g", "m");
    cfg.workers = 1;
    cfg.attempts = 1;
    cfg.commit_every = 1;
    cfg.exit_when_drained = true;
    let coord = Arc::new(GroupCoordinator::new(1));
    let (b2, c2) = (broker.clone(), coord.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let member = thread::spawn(move || run_member(b2, c2, cfg, handler, Probe::new(1), stop));
    let got = join_within(member, "the member neither failed nor finished within 20 s");
    assert_eq!(
        got.map(|r| (r.dispatched, r.completed)),
        Err(BrokerError("dead-letter stream refused offset 5".into()))
    );
    assert_eq!(
        inner.committed(&topic, "g", 0).expect("committed"),
        5,
        "the finished prefix before the fatal record is committed, the record itself is not"
    );
    assert_eq!(coord.ownership_errors(), 0);
    let _ = inner.delete_topic(&topic);
}

/// The scenario tests, once per backend: `scenario_tests!(common::embedded);`.
#[macro_export]
macro_rules! scenario_tests {
    ($backend:path) => {
        fn with_backend(f: fn(&str)) {
            if let Some(b) = $backend() {
                f(&b.url);
            }
        }
        #[test]
        fn out_of_order_completion_commits_only_the_finished_prefix() {
            with_backend(common::out_of_order_commits_only_the_finished_prefix);
        }
        #[test]
        fn stuck_messages_are_reclaimed_after_min_idle() {
            with_backend(common::stuck_messages_are_reclaimed_after_min_idle);
        }
        #[test]
        fn in_flight_per_partition_never_exceeds_its_bound() {
            with_backend(common::in_flight_never_exceeds_its_bound);
        }
        #[test]
        fn consumer_group_rebalance_keeps_per_partition_order() {
            with_backend(common::group_rebalances_keep_order_and_apply_once);
        }
        #[test]
        fn commits_land_exactly_every_commit_every() {
            with_backend(common::commits_land_exactly_every_commit_every);
        }
        #[test]
        fn sigkilled_consumer_restarts_and_each_message_is_applied_once() {
            with_backend(common::killed_consumer_restarts_and_applies_each_message_once);
        }
        #[test]
        fn a_member_reclaims_what_a_dead_consumer_left_pending() {
            with_backend(common::a_member_reclaims_what_a_dead_consumer_left_pending);
        }
        #[test]
        fn a_member_with_nothing_to_consume_exits_when_drained() {
            with_backend(common::a_member_with_nothing_to_consume_exits_when_drained);
        }
        #[test]
        fn a_member_does_not_exit_while_a_record_is_pending_elsewhere() {
            with_backend(common::a_member_does_not_exit_while_a_record_is_pending_elsewhere);
        }
        #[test]
        fn a_record_that_cannot_be_dead_lettered_fails_the_member() {
            with_backend(common::a_record_that_cannot_be_dead_lettered_fails_the_member);
        }
        #[test]
        fn poison_message_is_dead_lettered_then_replayed() {
            with_backend(common::poison_goes_to_the_dlq_and_replays);
        }
    };
}

/// A handler that applies each record's message id to `sink`.
fn applying_to(sink: &Arc<MemorySink>) -> Handler {
    let sink = sink.clone();
    Arc::new(move |r| {
        sink.apply(&message_id(&r.payload));
        Ok(())
    })
}

/// One member of a one-member group on `broker`, on its own thread, until it returns or `stop`.
fn spawn_member(
    broker: Arc<dyn Broker>,
    cfg: ConsumerConfig,
    handler: Handler,
    stop: &Arc<AtomicBool>,
) -> thread::JoinHandle<Result<MemberReport, BrokerError>> {
    let stop = stop.clone();
    thread::spawn(move || {
        run_member(
            broker,
            Arc::new(GroupCoordinator::new(1)),
            cfg,
            handler,
            Probe::new(1),
            stop,
        )
    })
}

/// Joins `member`, failing with `what` if it has not returned within 20 s.
fn join_within(
    member: thread::JoinHandle<Result<MemberReport, BrokerError>>,
    what: &str,
) -> Result<MemberReport, BrokerError> {
    assert!(
        poll_until(Duration::from_secs(20), || member.is_finished()),
        "{what}"
    );
    member.join().expect("member thread")
}

/// A one-partition topic of `produced` records on a fresh broker at `url`, with group `g`, of which
/// the consumer `consumer` has fetched the first `fetched` (and not acked them).
fn fetched_by(
    url: &str,
    label: &str,
    produced: usize,
    consumer: &str,
    fetched: usize,
) -> (Arc<dyn Broker>, String) {
    let broker = open_broker(url).expect("broker");
    let topic = unique_name(label);
    scenarios::produce_messages(&*broker, &topic, 1, produced, &[]).expect("produce");
    broker.create_group(&topic, "g").expect("group");
    let got = broker
        .fetch(&topic, "g", consumer, 0, fetched)
        .expect("fetch");
    assert_eq!(got.len(), fetched);
    (broker, topic)
}
