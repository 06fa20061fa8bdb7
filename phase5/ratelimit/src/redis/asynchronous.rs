//! The same limiter for async code (feature `redis-async`, tokio): one multiplexed connection
//! pipelines the checks of every task, so a check costs a task a round trip and no thread.
use std::fmt;
use std::sync::{Mutex, PoisonError};

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use super::{
    Core, Decision, OnError, RedisConfig, RedisLimit, RedisSetupError, RedisStats, Reply, Source,
    Unavailable, is_noscript,
};
use crate::{Denied, Quota, Snapshot};

/// GCRA on a Redis server, keyed by strings, for tokio tasks; the blocking
/// [`RedisGcra`](super::RedisGcra)'s script, policy, backoff and counters, over one multiplexed
/// connection ([`RedisConfig::connections`] is not used). A check waits at most
/// [`RedisConfig::io_timeout`] for its reply (plus [`RedisConfig::connect_timeout`] when it has to
/// reconnect).
///
/// ```no_run
/// // no_run: needs a Redis server on localhost.
/// use ratelimit::redis::{AsyncRedisGcra, OnError};
/// use ratelimit::Quota;
///
/// # async fn handler() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = AsyncRedisGcra::new("redis://127.0.0.1/", Quota::per_second(10)?, OnError::FailOpen)?;
/// match limiter.check_key_n("user:42", 1).await {
///     Ok(()) => { /* serve */ }
///     Err(denied) => println!("429, retry after {:?}", denied.retry_after()),
/// }
/// # Ok(())
/// # }
/// ```
pub struct AsyncRedisGcra {
    core: Core,
    /// The connection (a handle: clones share it); `None` until the first check and after a failure.
    /// The lock is held only to clone or replace the handle, never across an `.await`.
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl fmt::Debug for AsyncRedisGcra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncRedisGcra")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl AsyncRedisGcra {
    /// A limiter of `quota` per key on the server at `url`, with the default [`RedisConfig`].
    /// Connects lazily, on the first check.
    pub fn new(
        url: &str,
        quota: Quota,
        on_error: OnError,
    ) -> Result<AsyncRedisGcra, RedisSetupError> {
        AsyncRedisGcra::with_config(url, quota, on_error, RedisConfig::default())
    }

    /// As [`AsyncRedisGcra::new`], with `config`.
    pub fn with_config(
        url: &str,
        quota: Quota,
        on_error: OnError,
        config: RedisConfig,
    ) -> Result<AsyncRedisGcra, RedisSetupError> {
        Ok(AsyncRedisGcra {
            core: Core::new(url, quota, on_error, config)?,
            conn: Mutex::new(None),
        })
    }

    /// Takes `n` permits from every one of `limits` if all of them have them now, or none (see
    /// [`RedisGcra::check_all`](super::RedisGcra::check_all)).
    pub async fn check_all(&self, limits: &[RedisLimit], n: u32) -> Decision {
        if let Some(d) = self.core.without_redis(limits, n) {
            return d;
        }
        let cmd = self
            .core
            .command(limits.iter().map(|l| (l.key(), l.quota())), n);
        match self.run(&cmd).await {
            Ok(reply) => self.core.redis_decided(reply, limits),
            Err(Unavailable) => self.core.policy_decided(limits, n),
        }
    }

    /// Takes `n` permits from `key`'s quota (the limiter's) if it has them now; says who decided.
    pub async fn check_key_decision(&self, key: &str, n: u32) -> Decision {
        self.check_all(std::slice::from_ref(&self.core.own_limit(key)), n)
            .await
    }

    /// Takes `n` permits from `key`'s quota if it has them now.
    pub async fn check_key_n(&self, key: &str, n: u32) -> Result<(), Denied> {
        self.check_key_decision(key, n).await.result
    }

    /// `key`'s state, in one round trip that writes nothing (while Redis is unavailable, the
    /// policy's view, as [`RedisGcra`](super::RedisGcra)'s snapshot).
    pub async fn snapshot_key(&self, key: &str) -> Snapshot {
        let reply = self.run(&self.core.snapshot_command(key)).await;
        self.core.snapshot_from(reply, key)
    }

    /// The quota each key has.
    pub fn quota(&self) -> Quota {
        self.core.quota
    }

    /// The counters so far.
    pub fn stats(&self) -> RedisStats {
        self.core.stats()
    }

    /// Who decided the last check or snapshot (of any task); `None` before the first.
    pub fn last_source(&self) -> Option<Source> {
        self.core.last_source()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// EVALSHA, and on NOSCRIPT, SCRIPT LOAD and EVALSHA again.
    async fn run(&self, cmd: &redis::Cmd) -> Result<Reply, Unavailable> {
        let current = self.slot().clone();
        let mut con = match current {
            Some(con) => con,
            None => self.connect().await?,
        };
        let result = match cmd.query_async::<Reply>(&mut con).await {
            Err(e) if is_noscript(&e) => {
                self.core.script_loaded();
                match self.core.script.load_async(&mut con).await {
                    Ok(_) => cmd.query_async::<Reply>(&mut con).await,
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        result.inspect(|_| self.core.answered()).map_err(|e| {
            if self.core.failed(&e) {
                // Another task may have replaced the handle meanwhile; dropping a good one costs a
                // reconnection, keeping a broken one would cost every check until the next failure.
                *self.slot() = None;
            }
            Unavailable
        })
    }

    /// Opens the connection, unless the backoff says not yet (or another task is already trying).
    async fn connect(&self) -> Result<MultiplexedConnection, Unavailable> {
        if !self.core.may_connect() {
            return Err(Unavailable);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.core.config.connect_timeout))
            .set_response_timeout(Some(self.core.config.io_timeout));
        match self
            .core
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(con) => {
                self.core.connected();
                *self.slot() = Some(con.clone());
                Ok(con)
            }
            Err(_) => {
                self.core.connect_failed();
                Err(Unavailable)
            }
        }
    }
}
