//! GCRA on a Redis server: one limit shared by every process that talks to the same server
//! (feature `redis`).
//!
//! In Go, `go-redis/redis_rate` runs GCRA in a Lua script so that the read-modify-write of a key's
//! state is atomic on the server; here [`RedisGcra`] does the same through the `redis` crate. The
//! script (`src/redis_gcra.lua`) reads the server's `TIME`, so every client shares one clock and no
//! client's clock skew matters; it stores each key's theoretical arrival time with a TTL equal to the
//! time until the key is full again, so idle keys vanish; and it checks several keys with their own
//! quotas all or nothing ([`RedisGcra::check_all`]). It runs with `EVALSHA`; when the server answers
//! `NOSCRIPT` (restarted, `SCRIPT FLUSH`, fail-over) the script is loaded with `SCRIPT LOAD` and the
//! call repeated.
//!
//! While Redis cannot be reached (refused connection, timeout, broken connection) decisions follow an
//! [`OnError`] policy: admit, deny, or ask a local limiter. Reconnection is tried with an exponential
//! backoff, by one check at a time; the others decide by the policy at once, without touching the
//! network. When Redis answers again, limiting through it resumes. [`RedisGcra::stats`] counts the
//! decisions of each [`Source`], so a caller (or a test) sees the policy act.
//!
//! [`RedisGcra`] blocks its thread for the round trip (it implements [`KeyedRateLimiter`]); with the
//! feature `redis-async`, `AsyncRedisGcra` does the same for tokio tasks over one multiplexed
//! connection.
//!
//! # How exact
//! Redis runs one script at a time, so the checks of every client on one server are serialized, each
//! at its own reading of `TIME`: counted at those readings, no interval of length `e` admits more
//! than `floor(e / T) + burst` for a key (tests/redis_backend.rs checks it with threads and with
//! processes). Two things loosen it: a check whose reply times out may still have been applied by the
//! server (its permits are spent though the caller got the policy's answer: towards denying), and a
//! fail-over to a replica that had not received the last writes forgets them (towards
//! admitting, by at most what those writes took). While Redis is unreachable the bound is the
//! policy's: none for `FailOpen`, the local limiter's for `Fallback`, per process.
//!
//! ```no_run
//! use ratelimit::redis::{OnError, RedisGcra};
//! use ratelimit::{KeyedRateLimiter, Quota};
//!
//! let limiter = RedisGcra::new("redis://127.0.0.1/", Quota::per_second(10)?, OnError::FailOpen)?;
//! match limiter.check_key("user:42") {
//!     Ok(()) => { /* serve */ }
//!     Err(denied) => println!("429, retry after {:?}", denied.retry_after()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::{Connection, ErrorKind, RedisError, ServerErrorKind};

use crate::{Denied, InsufficientCapacity, KeyedRateLimiter, NotUntil, Quota, Snapshot};

#[cfg(feature = "redis-async")]
mod asynchronous;
#[cfg(feature = "redis-async")]
pub use asynchronous::AsyncRedisGcra;

/// The Lua source of the check (see the comments in it).
const SCRIPT: &str = include_str!("redis_gcra.lua");

/// The longest window (`burst × T`) a Redis quota may have: 2^52 ns, about 52 days. The script
/// computes in Lua's doubles, exact up to 2^53.
pub const MAX_WINDOW: Duration = Duration::from_nanos(1 << 52);

/// What decides while Redis cannot be reached.
///
/// ```
/// use std::sync::Arc;
/// use ratelimit::redis::{OnError, RedisGcra, Source};
/// use ratelimit::{Keyed, KeyedRateLimiter, Quota};
///
/// // Nothing listens on port 1: every check fails to reach Redis (at once: connection refused), and the
/// // local limiter decides instead, with the same quota per key.
/// let quota = Quota::per_second(10)?.with_burst(2)?;
/// let local = Arc::new(Keyed::<String>::new(quota));
/// let limiter = RedisGcra::new("redis://127.0.0.1:1/", quota, OnError::Fallback(local))?;
/// assert!(limiter.check_key("user:42").is_ok());
/// assert!(limiter.check_key("user:42").is_ok());
/// assert!(limiter.check_key("user:42").is_err()); // the local burst is spent
/// assert_eq!(limiter.last_source(), Some(Source::Policy));
/// assert_eq!(limiter.stats().from_policy, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum OnError {
    /// Admit every request: availability over limiting.
    FailOpen,
    /// Deny every request ([`Denied::NotUntil`], retry after the next reconnection attempt).
    FailClosed,
    /// Ask this local limiter, keyed by the same keys (without the prefix). A multi-key check asks it
    /// key by key and stops at the first denial; permits taken from the keys before it are not given
    /// back, so during an outage a multi-key check errs on the side of denying.
    Fallback(Arc<dyn KeyedRateLimiter<str>>),
}

impl fmt::Debug for OnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnError::FailOpen => f.write_str("FailOpen"),
            OnError::FailClosed => f.write_str("FailClosed"),
            OnError::Fallback(l) => write!(f, "Fallback({:?})", l.quota()),
        }
    }
}

/// Where a decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The script on the Redis server.
    Redis,
    /// The [`OnError`] policy: Redis could not be reached or failed.
    Policy,
    /// The quota alone, without asking anyone: more permits than a burst (never admissible).
    Quota,
}

/// Connection settings of a [`RedisGcra`].
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Prepended to every key (default `"ratelimit:"`), so the limiter's keys are apart from others.
    pub prefix: String,
    /// The longest a connection attempt may take (default 100 ms).
    pub connect_timeout: Duration,
    /// The longest one command's send or reply may take (default 100 ms); after it the connection is
    /// dropped (a late reply would answer the next command) and the policy decides.
    pub io_timeout: Duration,
    /// The first wait before reconnecting after a failure (default 10 ms); doubled after each failed
    /// attempt up to `backoff_max`.
    pub backoff_min: Duration,
    /// The longest wait between reconnection attempts (default 1 s).
    pub backoff_max: Duration,
    /// Connections kept open (default 2); each check uses one, chosen round-robin.
    pub connections: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            prefix: "ratelimit:".into(),
            connect_timeout: Duration::from_millis(100),
            io_timeout: Duration::from_millis(100),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_secs(1),
            connections: 2,
        }
    }
}

/// Why a [`RedisGcra`] or a [`RedisLimit`] could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum RedisSetupError {
    /// The URL does not parse as a Redis connection address.
    Url(RedisError),
    /// The quota's window (`burst × T`) is longer than [`MAX_WINDOW`].
    WindowTooLong(Quota),
    /// A setting is out of range (the field is named).
    Config(&'static str),
}

impl fmt::Display for RedisSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisSetupError::Url(e) => write!(f, "bad Redis URL: {e}"),
            RedisSetupError::WindowTooLong(q) => write!(
                f,
                "quota {q:?}: burst × interval must be at most {MAX_WINDOW:?} on Redis"
            ),
            RedisSetupError::Config(field) => write!(f, "RedisConfig::{field} is out of range"),
        }
    }
}

impl std::error::Error for RedisSetupError {}

/// One key with its quota, for [`RedisGcra::check_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisLimit {
    key: String,
    quota: Quota,
}

impl RedisLimit {
    /// `key` (without the prefix) limited to `quota`; an error when the quota's window is longer than
    /// [`MAX_WINDOW`].
    pub fn new(key: impl Into<String>, quota: Quota) -> Result<RedisLimit, RedisSetupError> {
        check_window(quota)?;
        Ok(RedisLimit {
            key: key.into(),
            quota,
        })
    }

    /// The key, without the prefix.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }
}

fn check_window(quota: Quota) -> Result<(), RedisSetupError> {
    if quota.replenish_all() > MAX_WINDOW {
        return Err(RedisSetupError::WindowTooLong(quota));
    }
    Ok(())
}

/// The outcome of one check, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Admitted, or why not.
    pub result: Result<(), Denied>,
    /// The keys' state after the check as the server saw it (the least remaining, the longest reset);
    /// `None` when Redis did not decide.
    pub snapshot: Option<Snapshot>,
    /// Who decided.
    pub source: Source,
}

/// Counters of a [`RedisGcra`] since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RedisStats {
    /// Checks (and snapshots) the server decided.
    pub from_redis: u64,
    /// Checks (and snapshots) the [`OnError`] policy decided.
    pub from_policy: u64,
    /// Times the script was loaded after the server answered `NOSCRIPT`.
    pub script_loads: u64,
    /// Connections opened.
    pub connects: u64,
    /// Failed connection attempts and failed commands.
    pub failures: u64,
}

/// Redis did not decide (it failed, or the backoff after a failure spared it the attempt): the policy
/// does.
#[derive(Debug)]
pub(crate) struct Unavailable;

/// The script's reply: allowed, remaining, retry_after_ns, reset_after_ns, first denying key.
pub(crate) type Reply = (i64, i64, i64, i64, i64);

/// What the blocking and the async limiter share: the settings, the script, the policy, the backoff
/// and the counters. Everything but the connections.
pub(crate) struct Core {
    pub(crate) client: redis::Client,
    pub(crate) quota: Quota,
    pub(crate) on_error: OnError,
    pub(crate) config: RedisConfig,
    pub(crate) script: redis::Script,
    /// The zero of `retry_at`.
    origin: Instant,
    /// 0 while Redis answers; after a failure, the instant (ns since `origin`, ≥ 1) before which no
    /// check tries to connect. Advisory, like `backoff`: it spares an unreachable server (and the
    /// callers) a connection attempt per check, and guards no other memory, so Relaxed suffices.
    retry_at: AtomicU64,
    /// The current wait between reconnection attempts, ns.
    backoff: AtomicU64,
    /// The [`Source`] of the last decision: 0 none yet, 1 Redis, 2 policy, 3 quota.
    last_source: AtomicU8,
    from_redis: AtomicU64,
    from_policy: AtomicU64,
    script_loads: AtomicU64,
    connects: AtomicU64,
    failures: AtomicU64,
}

impl Core {
    pub(crate) fn new(
        url: &str,
        quota: Quota,
        on_error: OnError,
        config: RedisConfig,
    ) -> Result<Core, RedisSetupError> {
        check_window(quota)?;
        let client = redis::Client::open(url).map_err(RedisSetupError::Url)?;
        if config.connections == 0 {
            return Err(RedisSetupError::Config("connections"));
        }
        if config.connect_timeout.is_zero() {
            return Err(RedisSetupError::Config("connect_timeout"));
        }
        if config.io_timeout.is_zero() {
            return Err(RedisSetupError::Config("io_timeout"));
        }
        if config.backoff_min.is_zero() || config.backoff_max < config.backoff_min {
            return Err(RedisSetupError::Config("backoff_min"));
        }
        Ok(Core {
            client,
            quota,
            on_error,
            script: redis::Script::new(SCRIPT),
            origin: Instant::now(),
            retry_at: AtomicU64::new(0),
            backoff: AtomicU64::new(duration_ns(config.backoff_min)),
            config,
            last_source: AtomicU8::new(0),
            from_redis: AtomicU64::new(0),
            from_policy: AtomicU64::new(0),
            script_loads: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    /// The decision that needs nobody: more than a burst, or no limits at all.
    pub(crate) fn without_redis(&self, limits: &[RedisLimit], n: u32) -> Option<Decision> {
        let quota = |result| Decision {
            result,
            snapshot: None,
            source: Source::Quota,
        };
        for l in limits {
            if n > l.quota.burst() {
                return Some(self.decided(quota(Err(Denied::InsufficientCapacity(
                    InsufficientCapacity {
                        requested: n,
                        burst: l.quota.burst(),
                    },
                )))));
            }
        }
        limits.is_empty().then(|| self.decided(quota(Ok(()))))
    }

    /// The script's call for `limits` and cost `n` (0: a snapshot).
    pub(crate) fn command<'k>(
        &self,
        limits: impl Iterator<Item = (&'k str, Quota)>,
        n: u32,
    ) -> redis::Cmd {
        let mut keys = Vec::new();
        let mut args = vec![u64::from(n)];
        for (key, quota) in limits {
            keys.push(format!("{}{}", self.config.prefix, key));
            args.push(quota.interval_ns());
            args.push(u64::from(quota.burst()));
        }
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.script.get_hash())
            .arg(keys.len())
            .arg(&keys)
            .arg(&args);
        cmd
    }

    /// The server's decision, counted.
    pub(crate) fn redis_decided(&self, reply: Reply, limits: &[RedisLimit]) -> Decision {
        let burst = limits.iter().map(|l| l.quota.burst()).min().unwrap_or(0);
        self.decided(from_reply(reply, burst))
    }

    /// The policy's decision while Redis is unavailable, counted.
    pub(crate) fn policy_decided(&self, limits: &[RedisLimit], n: u32) -> Decision {
        let result = match &self.on_error {
            OnError::FailOpen => Ok(()),
            OnError::FailClosed => Err(Denied::NotUntil(NotUntil::new(self.until_retry()))),
            OnError::Fallback(local) => {
                limits.iter().try_for_each(|l| local.check_key_n(&l.key, n))
            }
        };
        self.decided(Decision {
            result,
            snapshot: None,
            source: Source::Policy,
        })
    }

    /// `key` with the limiter's own quota: what a single-key check asks for.
    pub(crate) fn own_limit(&self, key: &str) -> RedisLimit {
        RedisLimit {
            key: key.to_owned(),
            quota: self.quota,
        }
    }

    /// The script call that reads `key`'s state and writes nothing (a check of 0 permits).
    pub(crate) fn snapshot_command(&self, key: &str) -> redis::Cmd {
        self.command(std::iter::once((key, self.quota)), 0)
    }

    /// `key`'s snapshot from the reply to [`Core::snapshot_command`], or from the policy when Redis
    /// did not answer; counted either way.
    pub(crate) fn snapshot_from(&self, reply: Result<Reply, Unavailable>, key: &str) -> Snapshot {
        match reply {
            Ok(reply) => {
                self.count(Source::Redis);
                from_reply(reply, self.quota.burst())
                    .snapshot
                    .expect("a reply has one")
            }
            Err(Unavailable) => self.policy_snapshot(key),
        }
    }

    /// `key`'s snapshot as the policy sees it while Redis is unavailable, counted.
    pub(crate) fn policy_snapshot(&self, key: &str) -> Snapshot {
        self.count(Source::Policy);
        let limit = self.quota.burst();
        match &self.on_error {
            OnError::FailOpen => Snapshot {
                limit,
                remaining: limit,
                retry_after: Duration::ZERO,
                reset_after: Duration::ZERO,
            },
            OnError::FailClosed => Snapshot {
                limit,
                remaining: 0,
                retry_after: self.until_retry(),
                reset_after: self.quota.replenish_all(),
            },
            OnError::Fallback(local) => local.snapshot_key(key),
        }
    }

    fn decided(&self, d: Decision) -> Decision {
        self.count(d.source);
        d
    }

    // Relaxed counters: statistics, read after the fact; nothing is published through them.
    pub(crate) fn count(&self, source: Source) {
        let tag = match source {
            Source::Redis => {
                self.from_redis.fetch_add(1, Relaxed);
                1
            }
            Source::Policy => {
                self.from_policy.fetch_add(1, Relaxed);
                2
            }
            Source::Quota => 3,
        };
        self.last_source.store(tag, Relaxed);
    }

    pub(crate) fn stats(&self) -> RedisStats {
        RedisStats {
            from_redis: self.from_redis.load(Relaxed),
            from_policy: self.from_policy.load(Relaxed),
            script_loads: self.script_loads.load(Relaxed),
            connects: self.connects.load(Relaxed),
            failures: self.failures.load(Relaxed),
        }
    }

    pub(crate) fn last_source(&self) -> Option<Source> {
        match self.last_source.load(Relaxed) {
            1 => Some(Source::Redis),
            2 => Some(Source::Policy),
            3 => Some(Source::Quota),
            _ => None,
        }
    }

    /// The wait until the next reconnection attempt, at least 1 ms (a denial's retry-after is never
    /// zero).
    fn until_retry(&self) -> Duration {
        let at = self.retry_at.load(Relaxed);
        Duration::from_nanos(at.saturating_sub(self.now_ns())).max(Duration::from_millis(1))
    }

    fn now_ns(&self) -> u64 {
        duration_ns(self.origin.elapsed())
    }

    /// Whether this check may try to connect: always while Redis is up; after a failure, once the
    /// backoff has passed, and then only the one check that claims the attempt.
    pub(crate) fn may_connect(&self) -> bool {
        let at = self.retry_at.load(Relaxed);
        if at == 0 {
            return true;
        }
        let now = self.now_ns();
        // Claim the attempt: the checks that see the new instant skip the network until then.
        now >= at
            && self
                .retry_at
                .compare_exchange(at, now + self.backoff.load(Relaxed), Relaxed, Relaxed)
                .is_ok()
    }

    pub(crate) fn connected(&self) {
        self.connects.fetch_add(1, Relaxed);
        self.backoff
            .store(duration_ns(self.config.backoff_min), Relaxed);
        self.retry_at.store(0, Relaxed);
    }

    /// A connection attempt failed: no attempt for the current backoff, which then doubles (up to
    /// the maximum). While Redis is down only the check that claimed the attempt connects, so it
    /// doubles once a try.
    pub(crate) fn connect_failed(&self) {
        self.failures.fetch_add(1, Relaxed);
        let wait = self.backoff.load(Relaxed);
        self.retry_at.store((self.now_ns() + wait).max(1), Relaxed);
        let max = duration_ns(self.config.backoff_max);
        self.backoff.store(wait.saturating_mul(2).min(max), Relaxed);
    }

    pub(crate) fn script_loaded(&self) {
        self.script_loads.fetch_add(1, Relaxed);
    }

    /// Redis answered: any backoff is over. Read first, so the common case writes nothing to a line
    /// every check shares.
    pub(crate) fn answered(&self) {
        if self.retry_at.load(Relaxed) != 0 {
            self.retry_at.store(0, Relaxed);
        }
    }

    /// A command failed; whether its connection must be dropped. An error the server sent leaves the
    /// connection in step; any other (I/O, timeout, a reply that did not parse) may leave a reply in
    /// flight, and starts a backoff.
    pub(crate) fn failed(&self, e: &RedisError) -> bool {
        self.failures.fetch_add(1, Relaxed);
        let drop = !matches!(e.kind(), ErrorKind::Server(_) | ErrorKind::Extension);
        // The first failure since Redis last answered starts the backoff at its current (least)
        // wait. The other checks in flight on the lost server fail too; they neither double it
        // nor push it back.
        if drop && self.retry_at.load(Relaxed) == 0 {
            let at = (self.now_ns() + self.backoff.load(Relaxed)).max(1);
            let _ = self.retry_at.compare_exchange(0, at, Relaxed, Relaxed);
        }
        drop
    }
}

pub(crate) fn is_noscript(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("quota", &self.quota)
            .field("on_error", &self.on_error)
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// GCRA on a Redis server, keyed by strings, blocking; see the [module docs](self).
///
/// A check waits for one round trip to the server, at most [`RedisConfig::io_timeout`] (plus
/// [`RedisConfig::connect_timeout`] when it has to reconnect, and a second round trip when the script
/// must be reloaded). Shared between threads; checks on one connection are serialized,
/// [`RedisConfig::connections`] of them run at once.
///
/// ```no_run
/// // no_run: needs a Redis server on localhost.
/// use ratelimit::redis::{OnError, RedisGcra, RedisLimit, Source};
/// use ratelimit::Quota;
///
/// let limiter = RedisGcra::new("redis://127.0.0.1/", Quota::per_second(10)?, OnError::FailClosed)?;
/// // Per user and per organisation, all or nothing, in one round trip.
/// let limits = [
///     RedisLimit::new("user:42", Quota::per_second(10)?)?,
///     RedisLimit::new("org:7", Quota::per_second(100)?)?,
/// ];
/// let decision = limiter.check_all(&limits, 1);
/// assert_eq!(decision.source, Source::Redis, "the server decided, not the policy");
/// if let Some(s) = decision.snapshot {
///     println!("{} of {} left", s.remaining, s.limit);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedisGcra {
    core: Core,
    /// The open connections; `None`: not connected (yet, or since a failure).
    slots: Box<[Mutex<Option<Connection>>]>,
    /// Round-robin over `slots`.
    next_slot: AtomicUsize,
}

impl fmt::Debug for RedisGcra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisGcra")
            .field("core", &self.core)
            .field("connections", &self.slots.len())
            .finish()
    }
}

impl RedisGcra {
    /// A limiter of `quota` per key on the server at `url` (`redis://host:port/db`), with the default
    /// [`RedisConfig`]. Connects lazily: building it succeeds while the server is down.
    pub fn new(url: &str, quota: Quota, on_error: OnError) -> Result<RedisGcra, RedisSetupError> {
        RedisGcra::with_config(url, quota, on_error, RedisConfig::default())
    }

    /// As [`RedisGcra::new`], with `config`.
    pub fn with_config(
        url: &str,
        quota: Quota,
        on_error: OnError,
        config: RedisConfig,
    ) -> Result<RedisGcra, RedisSetupError> {
        let core = Core::new(url, quota, on_error, config)?;
        Ok(RedisGcra {
            slots: (0..core.config.connections)
                .map(|_| Mutex::new(None))
                .collect(),
            next_slot: AtomicUsize::new(0),
            core,
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.core.config.prefix
    }

    /// Takes `n` permits from every one of `limits` if all of them have them now, or none. One round
    /// trip: the keys are checked and updated in one script. A key listed twice is charged twice.
    pub fn check_all(&self, limits: &[RedisLimit], n: u32) -> Decision {
        if let Some(d) = self.core.without_redis(limits, n) {
            return d;
        }
        let cmd = self
            .core
            .command(limits.iter().map(|l| (l.key.as_str(), l.quota)), n);
        match self.run(&cmd) {
            Ok(reply) => self.core.redis_decided(reply, limits),
            Err(Unavailable) => self.core.policy_decided(limits, n),
        }
    }

    /// Takes `n` permits from `key`'s quota (the limiter's) if it has them now; says who decided.
    pub fn check_key_decision(&self, key: &str, n: u32) -> Decision {
        self.check_all(std::slice::from_ref(&self.core.own_limit(key)), n)
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisStats {
        self.core.stats()
    }

    /// Who decided the last check or snapshot (of any thread); `None` before the first.
    pub fn last_source(&self) -> Option<Source> {
        self.core.last_source()
    }

    /// Runs the script on one connection: EVALSHA, and on NOSCRIPT, SCRIPT LOAD and EVALSHA again.
    fn run(&self, cmd: &redis::Cmd) -> Result<Reply, Unavailable> {
        // Relaxed: only spreads the load; any slot is correct.
        let i = self.next_slot.fetch_add(1, Relaxed) % self.slots.len();
        let mut slot = self.slots[i].lock().unwrap_or_else(PoisonError::into_inner);
        let con = match &mut *slot {
            Some(con) => con,
            None => slot.insert(self.connect()?),
        };
        let result = match cmd.query::<Reply>(con) {
            Err(e) if is_noscript(&e) => {
                self.core.script_loaded();
                self.core
                    .script
                    .load(con)
                    .and_then(|_| cmd.query::<Reply>(con))
            }
            other => other,
        };
        result.inspect(|_| self.core.answered()).map_err(|e| {
            if self.core.failed(&e) {
                *slot = None;
            }
            Unavailable
        })
    }

    /// Opens a connection, unless the backoff says not yet (or another check is already trying).
    fn connect(&self) -> Result<Connection, Unavailable> {
        if !self.core.may_connect() {
            return Err(Unavailable);
        }
        let io = self.core.config.io_timeout;
        self.core
            .client
            .get_connection_with_timeout(self.core.config.connect_timeout)
            .and_then(|con| {
                con.set_read_timeout(Some(io))?;
                con.set_write_timeout(Some(io))?;
                Ok(con)
            })
            .inspect(|_| self.core.connected())
            .map_err(|_| {
                self.core.connect_failed();
                Unavailable
            })
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The script's reply as a decision of the server.
fn from_reply((allowed, remaining, retry_ns, reset_ns, _denier): Reply, limit: u32) -> Decision {
    let nanos = |v: i64| Duration::from_nanos(u64::try_from(v).unwrap_or(0));
    let remaining = u32::try_from(remaining.max(0)).unwrap_or(u32::MAX);
    let snapshot = Snapshot {
        limit,
        remaining,
        retry_after: if remaining > 0 {
            Duration::ZERO
        } else {
            nanos(retry_ns)
        },
        reset_after: nanos(reset_ns),
    };
    let result = if allowed == 1 {
        Ok(())
    } else {
        Err(Denied::NotUntil(NotUntil::new(
            nanos(retry_ns).max(Duration::from_nanos(1)),
        )))
    };
    Decision {
        result,
        snapshot: Some(snapshot),
        source: Source::Redis,
    }
}

impl KeyedRateLimiter<str> for RedisGcra {
    fn check_key_n(&self, key: &str, n: u32) -> Result<(), Denied> {
        self.check_key_decision(key, n).result
    }

    /// One round trip that writes nothing; while Redis is unavailable, the policy's view: full
    /// (fail-open), empty (fail-closed), or the fallback limiter's snapshot.
    fn snapshot_key(&self, key: &str) -> Snapshot {
        let reply = self.run(&self.core.snapshot_command(key));
        self.core.snapshot_from(reply, key)
    }

    fn quota(&self) -> Quota {
        self.core.quota
    }
}
