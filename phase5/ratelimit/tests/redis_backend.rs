//! The Redis backend against a real `redis-server` that each test starts on a free loopback port
//! (harness::redis_server). Without `redis-server` installed the tests say loudly that they were
//! skipped and pass — unless `REQUIRE_REDIS=1` (CI), which makes that a failure.
//!
//! Oracles independent of the backend: the local `Gcra` on a virtual clock for single decisions; the
//! server's own `TIME` read on a separate connection around a concurrent run for the bound; `PTTL`
//! and `GET` on a separate connection for the keys' state; admissions counted by the callers.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;
use std::time::Duration;

use harness::clock::VirtualClock;
use harness::wait::poll_until;
use harness::watchdog;
use ratelimit::redis::{
    MAX_WINDOW, OnError, RedisConfig, RedisGcra, RedisLimit, RedisSetupError, Source,
};
use ratelimit::{Denied, Gcra, KeyedRateLimiter, Quota, RateLimiter};

mod redis_common;
use redis_common::*;

#[test]
fn bad_settings_are_errors() {
    let long = Quota::with_interval(MAX_WINDOW)
        .unwrap()
        .with_burst(2)
        .unwrap();
    assert!(matches!(
        RedisLimit::new("k", long),
        Err(RedisSetupError::WindowTooLong(_))
    ));
    assert!(RedisLimit::new("k", Quota::with_interval(MAX_WINDOW).unwrap()).is_ok());
    assert!(matches!(
        RedisGcra::new("not a url", slow(1), OnError::FailOpen),
        Err(RedisSetupError::Url(_))
    ));
    let zero = RedisConfig {
        connections: 0,
        ..RedisConfig::default()
    };
    assert!(matches!(
        RedisGcra::with_config("redis://127.0.0.1:1/", slow(1), OnError::FailOpen, zero),
        Err(RedisSetupError::Config("connections"))
    ));
}

#[test]
fn decisions_match_the_local_gcra() {
    let Some(server) = server() else { return };
    let quota = slow(5);
    let redis =
        RedisGcra::with_config(&server.url(), quota, OnError::FailClosed, config("t1:")).unwrap();
    let clock = VirtualClock::new();
    let local = Gcra::with_clock(quota, clock.clone());
    let mut con = raw(&server);
    let start = server_time_ns(&mut con);

    for i in 0..5u32 {
        let d = redis.check_key_decision("k", 1);
        assert_eq!(d.source, Source::Redis);
        assert_eq!(d.result, local.check(), "check {i}");
        assert_eq!(d.snapshot.unwrap().remaining, local.snapshot().remaining);
    }
    // The burst is spent: both deny, and both say one interval (the server's clock moved a little).
    let d = redis.check_key_decision("k", 1);
    let local_wait = local.check().unwrap_err().retry_after().unwrap();
    assert_eq!(local_wait, quota.interval());
    let elapsed = Duration::from_nanos((server_time_ns(&mut con) - start) as u64);
    let wait = d.result.unwrap_err().retry_after().unwrap();
    assert!(
        wait <= local_wait && wait + elapsed >= local_wait,
        "redis says retry after {wait:?}, local {local_wait:?}, {elapsed:?} passed"
    );
    let snap = redis.snapshot_key("k");
    let elapsed = Duration::from_nanos((server_time_ns(&mut con) - start) as u64);
    let local_snap = local.snapshot();
    assert_eq!(snap.remaining, 0);
    assert_eq!(snap.limit, local_snap.limit);
    assert!(
        snap.reset_after <= local_snap.reset_after
            && snap.reset_after + elapsed >= local_snap.reset_after,
        "redis says full after {:?}, local {:?}, {elapsed:?} passed",
        snap.reset_after,
        local_snap.reset_after
    );

    // A cost of n: 3 of 5 pass, the next 3 do not (2 left), with the wait for one more permit.
    let d = redis.check_key_decision("n", 3);
    assert_eq!(d.result, local_n(quota, &[3]).0);
    assert_eq!(d.snapshot.unwrap().remaining, 2);
    let d = redis.check_key_decision("n", 3);
    let elapsed = Duration::from_nanos((server_time_ns(&mut con) - start) as u64);
    let local_wait = local_n(quota, &[3, 3]).1.unwrap();
    let wait = d.result.unwrap_err().retry_after().unwrap();
    assert!(
        wait <= local_wait && wait + elapsed >= local_wait,
        "redis says retry after {wait:?}, local {local_wait:?}, {elapsed:?} passed"
    );
    // More than the burst never passes, and needs no round trip.
    let before = redis.stats().from_redis;
    let d = redis.check_key_decision("n", 6);
    assert!(matches!(d.result, Err(Denied::InsufficientCapacity(_))));
    assert_eq!(d.source, Source::Quota);
    assert_eq!(redis.stats().from_redis, before);
    // The key lives as long as it takes to be full again: 3 permits of 10 s.
    let ttl = pttl(&mut con, "t1:n");
    assert!(ttl > 0 && ttl <= 30_000, "PTTL {ttl}");
}

/// The local GCRA's decision on a stopped clock after the costs in `costs`: the last result, and its
/// retry-after if denied.
fn local_n(quota: Quota, costs: &[u32]) -> (Result<(), Denied>, Option<Duration>) {
    let local = Gcra::with_clock(quota, VirtualClock::new());
    let mut last = Ok(());
    for &c in costs {
        last = local.check_n(c);
    }
    (last, last.err().and_then(|d| d.retry_after()))
}

#[test]
fn multi_quota_is_all_or_nothing() {
    let Some(server) = server() else { return };
    let redis =
        RedisGcra::with_config(&server.url(), slow(1), OnError::FailClosed, config("t2:")).unwrap();
    let mut con = raw(&server);
    let user = |u: &str| RedisLimit::new(format!("user:{u}"), slow(3)).unwrap();
    let org = RedisLimit::new("org", slow(5)).unwrap();

    for _ in 0..3 {
        assert_eq!(redis.check_all(&[user("a"), org.clone()], 1).result, Ok(()));
    }
    // user a is spent: denied, and the org keeps its 2 permits.
    let org_before: String = redis::cmd("GET").arg("t2:org").query(&mut con).unwrap();
    let d = redis.check_all(&[user("a"), org.clone()], 1);
    assert!(matches!(d.result, Err(Denied::NotUntil(_))));
    let org_after: String = redis::cmd("GET").arg("t2:org").query(&mut con).unwrap();
    assert_eq!(org_before, org_after, "a denied check wrote the org's key");
    // user b takes the org's last 2; the third is denied by the org, and user b keeps its permit.
    for _ in 0..2 {
        assert_eq!(redis.check_all(&[user("b"), org.clone()], 1).result, Ok(()));
    }
    let b_before: String = redis::cmd("GET").arg("t2:user:b").query(&mut con).unwrap();
    let d = redis.check_all(&[user("b"), org.clone()], 1);
    assert!(d.result.is_err());
    assert_eq!(d.snapshot.unwrap().remaining, 0);
    let b_after: String = redis::cmd("GET").arg("t2:user:b").query(&mut con).unwrap();
    assert_eq!(b_before, b_after, "a denied check wrote user b's key");
    let alone =
        RedisGcra::with_config(&server.url(), slow(3), OnError::FailClosed, config("t2:")).unwrap();
    assert_eq!(alone.snapshot_key("user:b").remaining, 1);

    // A key listed twice is charged twice: 2 permits a check from a burst of 5, so 2 checks pass.
    let twice = [
        RedisLimit::new("twice", slow(5)).unwrap(),
        RedisLimit::new("twice", slow(5)).unwrap(),
    ];
    assert_eq!(redis.check_all(&twice, 1).result, Ok(()));
    assert_eq!(redis.check_all(&twice, 1).result, Ok(()));
    let d = redis.check_all(&twice, 1);
    assert!(d.result.is_err(), "{d:?}");
    let five =
        RedisGcra::with_config(&server.url(), slow(5), OnError::FailClosed, config("t2:")).unwrap();
    assert_eq!(five.snapshot_key("twice").remaining, 1);
}

#[test]
fn concurrent_checks_never_exceed_the_bound() {
    let Some(server) = server() else { return };
    // 500 a second, burst 10: a run of a few hundred ms admits a few hundred of the thousands asked.
    let quota = Quota::with_interval(Duration::from_millis(2))
        .unwrap()
        .with_burst(10)
        .unwrap();
    let redis = Arc::new(
        RedisGcra::with_config(&server.url(), quota, OnError::FailClosed, config("t3:")).unwrap(),
    );
    let mut con = raw(&server);
    let admitted = Arc::new(AtomicU64::new(0));
    let start = server_time_ns(&mut con);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (redis, admitted) = (redis.clone(), admitted.clone());
            thread::spawn(move || {
                for _ in 0..1500 {
                    let d = redis.check_key_decision("shared", 1);
                    assert_eq!(d.source, Source::Redis, "{d:?}");
                    if d.result.is_ok() {
                        // Relaxed: a count read after the joins, which order it.
                        admitted.fetch_add(1, Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let end = server_time_ns(&mut con);
    let elapsed = Duration::from_nanos((end - start) as u64);
    let admitted = admitted.load(Relaxed);
    let bound = quota.allowed(elapsed);
    assert!(
        admitted <= bound,
        "admitted {admitted} in {elapsed:?} of server time; the quota allows {bound}"
    );
    // Not vacuous: the limiter admitted (the burst at least) and denied.
    assert!(
        (10..6000).contains(&admitted),
        "admitted {admitted} of 6000"
    );
}

#[test]
fn script_flush_mid_run_reloads_the_script() {
    let Some(server) = server() else { return };
    let redis =
        RedisGcra::with_config(&server.url(), slow(4), OnError::FailClosed, config("t4:")).unwrap();
    let mut con = raw(&server);
    assert_eq!(redis.check_key("k"), Ok(()));
    // The script was not on the server before the first check: loaded once.
    assert_eq!(redis.stats().script_loads, 1);
    assert_eq!(redis.check_key("k"), Ok(()));
    assert_eq!(redis.stats().script_loads, 1);
    let () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut con).unwrap();
    // Both connections meet NOSCRIPT in turn; the state survived: 2 of 4 are left.
    let d = redis.check_key_decision("k", 1);
    assert_eq!(d.source, Source::Redis);
    assert_eq!(d.result, Ok(()));
    assert_eq!(d.snapshot.unwrap().remaining, 1);
    assert_eq!(redis.stats().script_loads, 2);
    let d = redis.check_key_decision("k", 1);
    assert_eq!((d.source, d.result), (Source::Redis, Ok(())));
    assert!(redis.check_key("k").is_err());
    assert_eq!(redis.stats().from_policy, 0);
}

/// Runs `checks` checks of `key`, returns how many passed.
fn admitted(redis: &RedisGcra, key: &str, checks: u32) -> u32 {
    (0..checks).filter(|_| redis.check_key(key).is_ok()).count() as u32
}

/// Redis killed mid-run: the policy decides (seen in the counts); restarted on the same port: Redis
/// decides again, and limits.
fn outage(policy: OnError, prefix: &str, expected_during: u32) {
    let Some(mut server) = server() else { return };
    let redis = RedisGcra::with_config(&server.url(), slow(3), policy, config(prefix)).unwrap();
    assert_eq!(admitted(&redis, "k", 5), 3);
    assert_eq!(redis.stats().from_redis, 5);

    server.kill();
    let during = admitted(&redis, "k", 10);
    let stats = redis.stats();
    assert_eq!(stats.from_policy, 10, "{stats:?}");
    assert_eq!(stats.from_redis, 5, "{stats:?}");
    assert_eq!(redis.last_source(), Some(Source::Policy));
    assert_eq!(during, expected_during, "admitted while Redis was down");

    server.restart();
    let back = poll_until(Duration::from_secs(10), || {
        redis.check_key_decision("fresh", 1).source == Source::Redis
    });
    assert!(back, "Redis decisions did not resume: {:?}", redis.stats());
    // The restarted server is empty: the key's burst is back, and spent again through Redis.
    let before = redis.stats().from_redis;
    assert_eq!(admitted(&redis, "k", 5), 3);
    assert_eq!(redis.stats().from_redis, before + 5);
    let mut con = raw(&server);
    assert!(pttl(&mut con, &format!("{prefix}k")) > 0);
}

#[test]
fn outage_fail_open_admits() {
    outage(OnError::FailOpen, "t5:", 10);
}

#[test]
fn outage_fail_closed_denies() {
    outage(OnError::FailClosed, "t6:", 0);
}

#[test]
fn outage_fallback_limits_locally() {
    // The local limiter has a burst of 4: 4 of the 10 pass while Redis is down.
    outage(
        OnError::Fallback(Arc::new(LocalKeyed::new(slow(4)))),
        "t7:",
        4,
    );
}

#[test]
fn every_key_has_a_ttl_and_idle_keys_vanish() {
    let Some(server) = server() else { return };
    let fast = Quota::with_interval(Duration::from_millis(20)).unwrap();
    let redis =
        RedisGcra::with_config(&server.url(), slow(2), OnError::FailClosed, config("t8:")).unwrap();
    let mut con = raw(&server);
    for i in 0..20 {
        let _ = redis.check_key(&format!("slow{i}"));
        let limits = [
            RedisLimit::new(format!("fast{i}"), fast).unwrap(),
            RedisLimit::new(format!("slow{i}"), slow(2)).unwrap(),
        ];
        let _ = redis.check_all(&limits, 1);
    }
    let keys: Vec<String> = redis::cmd("KEYS").arg("t8:*").query(&mut con).unwrap();
    assert!(!keys.is_empty());
    for key in &keys {
        let ttl = pttl(&mut con, key);
        assert!(ttl > 0 && ttl <= 20_000, "{key}: PTTL {ttl}");
    }
    // A fast key is full again 20 ms after its permit: it expires by itself.
    let gone = poll_until(Duration::from_secs(5), || {
        redis::cmd("EXISTS")
            .arg("t8:fast0")
            .query::<i64>(&mut con)
            .unwrap()
            == 0
    });
    assert!(gone, "an idle key outlived its TTL");
}

#[test]
fn a_hung_server_costs_a_check_its_timeout_then_limiting_resumes() {
    let Some(server) = server() else { return };
    let redis = Arc::new(
        RedisGcra::with_config(&server.url(), slow(3), OnError::FailClosed, config("t9:")).unwrap(),
    );
    assert_eq!(redis.check_key("k"), Ok(()));
    // Stopped, not killed: the connections stay open and no reply comes. Without the I/O timeout the
    // check would wait for ever (the watchdog fails the test instead).
    server.pause();
    let r = redis.clone();
    let d = watchdog::within(Duration::from_secs(20), move || {
        (0..3)
            .map(|_| r.check_key_decision("k", 1))
            .collect::<Vec<_>>()
    });
    server.resume();
    for d in &d {
        assert_eq!(d.source, Source::Policy, "{d:?}");
        assert!(matches!(d.result, Err(Denied::NotUntil(_))), "{d:?}");
    }
    let back = poll_until(Duration::from_secs(10), || {
        redis.check_key_decision("other", 1).source == Source::Redis
    });
    assert!(back, "Redis decisions did not resume: {:?}", redis.stats());
}

/// Set in the processes that `several_processes_share_one_limit` starts: `url prefix checks threads`.
const WORKER_ENV: &str = "RATELIMIT_REDIS_WORKER";

/// Not a test of its own: the body of each process `several_processes_share_one_limit` starts (this
/// test binary again, running only this function). Without the variable it returns at once.
#[test]
fn process_worker() {
    let Ok(spec) = std::env::var(WORKER_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(' ').collect();
    let [url, prefix, checks, threads] = parts[..] else {
        panic!("bad {WORKER_ENV}: {spec:?}");
    };
    let (checks, threads): (u32, u32) = (checks.parse().unwrap(), threads.parse().unwrap());
    let redis = Arc::new(
        RedisGcra::with_config(url, shared_quota(), OnError::FailClosed, config(prefix)).unwrap(),
    );
    let admitted: u32 = (0..threads)
        .map(|_| {
            let redis = redis.clone();
            thread::spawn(move || {
                (0..checks)
                    .filter(|_| {
                        let d = redis.check_key_decision("shared", 1);
                        assert_eq!(d.source, Source::Redis, "{d:?}");
                        d.result.is_ok()
                    })
                    .count() as u32
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .sum();
    println!("ADMITTED {admitted}");
}

/// 500 a second, burst 10.
fn shared_quota() -> Quota {
    Quota::with_interval(Duration::from_millis(2))
        .unwrap()
        .with_burst(10)
        .unwrap()
}

#[test]
fn several_processes_share_one_limit() {
    let Some(server) = server() else { return };
    let mut con = raw(&server);
    let exe = std::env::current_exe().unwrap();
    let start = server_time_ns(&mut con);
    let mut children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "process_worker",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_ENV, format!("{} t10: 500 2", server.url()))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("start a worker process")
        })
        .collect();
    let finished = poll_until(Duration::from_secs(60), || {
        children
            .iter_mut()
            .all(|c| matches!(c.try_wait(), Ok(Some(_))))
    });
    if !finished {
        for c in &mut children {
            let _ = c.kill();
        }
    }
    assert!(finished, "worker processes did not finish within 60 s");
    let end = server_time_ns(&mut con);
    let mut admitted = 0u64;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed: {:?}", out.status);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let n: u64 = stdout
            .lines()
            .find_map(|l| l.split_once("ADMITTED ").map(|(_, n)| n))
            .and_then(|n| n.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no count in the worker's output:\n{stdout}"));
        admitted += n;
    }
    let elapsed = Duration::from_nanos((end - start) as u64);
    let bound = shared_quota().allowed(elapsed);
    assert!(
        admitted <= bound,
        "3 processes admitted {admitted} in {elapsed:?} of server time; the quota allows {bound}"
    );
    assert!(
        (10..3000).contains(&admitted),
        "admitted {admitted} of 3000"
    );
}
