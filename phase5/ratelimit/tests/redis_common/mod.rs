//! What the Redis tests share: the server each test starts, a plain connection to look at it, the
//! server's clock, a config with a short backoff, a quota that does not replenish during a test, and a
//! local keyed limiter for the fallback policy.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::clock::VirtualClock;
use harness::redis_server::RedisServer;
use ratelimit::redis::RedisConfig;
use ratelimit::{Denied, Gcra, KeyedRateLimiter, Quota, RateLimiter, Snapshot};

pub fn server() -> Option<RedisServer> {
    RedisServer::start_or_skip("ratelimit's Redis backend (tests/redis_backend.rs)")
}

/// A plain connection to the server, for the test's own look at it.
pub fn raw(server: &RedisServer) -> redis::Connection {
    let con = redis::Client::open(server.url())
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect to the test's redis-server");
    con.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    con.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    con
}

/// The server's clock, in ns since the Unix epoch.
pub fn server_time_ns(con: &mut redis::Connection) -> u128 {
    let (s, us): (u64, u64) = redis::cmd("TIME").query(con).unwrap();
    u128::from(s) * 1_000_000_000 + u128::from(us) * 1000
}

pub fn pttl(con: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(con).unwrap()
}

/// A config for tests: a short backoff, so recovery is seen quickly; a generous I/O timeout, so a
/// loaded machine does not turn a slow reply into a policy decision.
pub fn config(prefix: &str) -> RedisConfig {
    RedisConfig {
        prefix: prefix.into(),
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_secs(2),
        backoff_min: Duration::from_millis(1),
        backoff_max: Duration::from_millis(20),
        connections: 2,
    }
}

/// A slow quota: 1 permit per 10 s, burst `burst` — nothing replenishes while a test runs, so the
/// decisions are those of a stopped clock.
pub fn slow(burst: u32) -> Quota {
    Quota::with_interval(Duration::from_secs(10))
        .unwrap()
        .with_burst(burst)
        .unwrap()
}

/// A local keyed limiter for the fallback: one GCRA per key, on a virtual clock that never moves.
pub struct LocalKeyed {
    quota: Quota,
    clock: Arc<VirtualClock>,
    keys: Mutex<HashMap<String, Arc<Gcra<Arc<VirtualClock>>>>>,
}

impl LocalKeyed {
    pub fn new(quota: Quota) -> LocalKeyed {
        LocalKeyed {
            quota,
            clock: VirtualClock::new(),
            keys: Mutex::new(HashMap::new()),
        }
    }
    fn get(&self, key: &str) -> Arc<Gcra<Arc<VirtualClock>>> {
        let mut keys = self.keys.lock().unwrap();
        keys.entry(key.to_owned())
            .or_insert_with(|| Arc::new(Gcra::with_clock(self.quota, self.clock.clone())))
            .clone()
    }
}

impl KeyedRateLimiter<str> for LocalKeyed {
    fn check_key_n(&self, key: &str, n: u32) -> Result<(), Denied> {
        self.get(key).check_n(n)
    }
    fn snapshot_key(&self, key: &str) -> Snapshot {
        self.get(key).snapshot()
    }
    fn quota(&self) -> Quota {
        self.quota
    }
}
