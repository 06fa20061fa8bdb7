//! The async limiter (feature `redis-async`) against a real `redis-server` started by each test on a
//! free loopback port; skipped loudly without one unless `REQUIRE_REDIS=1`. The same oracles as
//! tests/redis_backend.rs: the server's `TIME` around a concurrent run, counts by source, `PTTL`.
use std::sync::Arc;
use std::time::Duration;

use harness::wait::poll_until;
use ratelimit::redis::{AsyncRedisGcra, OnError, RedisLimit, Source};
use ratelimit::{Denied, Quota};

mod redis_common;
use redis_common::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` on a fresh runtime under a 60 s deadline, so a hang fails the test.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(60), f)
            .await
            .expect("the test did not finish within 60 s")
    })
}

#[test]
fn burst_then_denial_and_the_script_reloaded_after_a_flush() {
    let Some(server) = server() else { return };
    let mut con = raw(&server);
    block_on(async {
        let l =
            AsyncRedisGcra::with_config(&server.url(), slow(3), OnError::FailClosed, config("a1:"))
                .unwrap();
        for left in [2, 1, 0] {
            let d = l.check_key_decision("k", 1).await;
            assert_eq!((d.source, d.result), (Source::Redis, Ok(())));
            assert_eq!(d.snapshot.unwrap().remaining, left);
        }
        let d = l.check_key_decision("k", 1).await;
        let wait = d.result.unwrap_err().retry_after().unwrap();
        assert!(
            wait <= Duration::from_secs(10) && wait > Duration::from_secs(5),
            "{wait:?}"
        );
        assert_eq!(l.stats().script_loads, 1);
        let () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut con).unwrap();
        assert_eq!(l.snapshot_key("k").await.remaining, 0);
        assert_eq!(l.stats().script_loads, 2);
        assert!(matches!(
            l.check_key_n("k", 4).await,
            Err(Denied::InsufficientCapacity(_))
        ));
        assert_eq!(l.stats().from_policy, 0);
    });
    let ttl = pttl(&mut con, "a1:k");
    assert!(ttl > 0 && ttl <= 30_000, "PTTL {ttl}");
}

#[test]
fn many_tasks_on_one_key_stay_under_the_bound() {
    let Some(server) = server() else { return };
    let mut con = raw(&server);
    let quota = Quota::with_interval(Duration::from_millis(2))
        .unwrap()
        .with_burst(10)
        .unwrap();
    let l = Arc::new(
        AsyncRedisGcra::with_config(&server.url(), quota, OnError::FailClosed, config("a2:"))
            .unwrap(),
    );
    let start = server_time_ns(&mut con);
    let admitted: u64 = block_on(async {
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    let mut admitted = 0u64;
                    for _ in 0..60 {
                        let d = l.check_key_decision("shared", 1).await;
                        assert_eq!(d.source, Source::Redis, "{d:?}");
                        admitted += u64::from(d.result.is_ok());
                    }
                    admitted
                })
            })
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    let end = server_time_ns(&mut con);
    let elapsed = Duration::from_nanos((end - start) as u64);
    let bound = quota.allowed(elapsed);
    assert!(
        admitted <= bound,
        "admitted {admitted} in {elapsed:?} of server time; the quota allows {bound}"
    );
    assert!(
        (10..3000).contains(&admitted),
        "admitted {admitted} of 3000"
    );
}

/// Killed: the policy decides; restarted on the same port: Redis decides again.
fn outage(policy: OnError, prefix: &str, expected_during: usize) {
    let Some(mut server) = server() else { return };
    let l = AsyncRedisGcra::with_config(&server.url(), slow(3), policy, config(prefix)).unwrap();
    let rt = runtime();
    let count = |key: &'static str, n: usize| {
        rt.block_on(async {
            let mut ok = 0;
            for _ in 0..n {
                ok += usize::from(l.check_key_n(key, 1).await.is_ok());
            }
            ok
        })
    };
    assert_eq!(count("k", 5), 3);
    server.kill();
    assert_eq!(
        count("k", 10),
        expected_during,
        "admitted while Redis was down"
    );
    let stats = l.stats();
    assert_eq!((stats.from_redis, stats.from_policy), (5, 10), "{stats:?}");
    assert_eq!(l.last_source(), Some(Source::Policy));
    server.restart();
    let back = poll_until(Duration::from_secs(10), || {
        rt.block_on(l.check_key_decision("fresh", 1)).source == Source::Redis
    });
    assert!(back, "Redis decisions did not resume: {:?}", l.stats());
    assert_eq!(count("k", 5), 3);
    let limits = [RedisLimit::new("k", slow(3)).unwrap()];
    assert_eq!(rt.block_on(l.check_all(&limits, 1)).source, Source::Redis);
}

#[test]
fn outage_fail_closed_then_recovery() {
    outage(OnError::FailClosed, "a3:", 0);
}

#[test]
fn outage_fallback_then_recovery() {
    outage(
        OnError::Fallback(Arc::new(LocalKeyed::new(slow(2)))),
        "a4:",
        2,
    );
}
