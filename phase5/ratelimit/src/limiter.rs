//! The traits every limiter implements, and the snapshot behind rate-limit headers.
use std::time::Duration;

use crate::{Denied, Quota, QuotaError};

/// A rate limiter: decides, without blocking, whether a request of `n` permits may pass now.
///
/// Implementations are shared between threads (`&self`, `Send + Sync`). Whatever the interleaving,
/// the admissions of all threads together respect [`RateLimiter::quota`].
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use ratelimit::{Gcra, ManualClock, Quota, RateLimiter, SlidingLog, TokenBucket};
///
/// /// How many of `n` requests at one instant pass.
/// fn admitted(limiter: &dyn RateLimiter, n: usize) -> usize {
///     (0..n).filter(|_| limiter.check().is_ok()).count()
/// }
///
/// let clock = Arc::new(ManualClock::default());
/// let quota = Quota::per_second(10)?.with_burst(3)?;
/// let limiters: Vec<Box<dyn RateLimiter>> = vec![
///     Box::new(Gcra::with_clock(quota, clock.clone())),
///     Box::new(TokenBucket::with_clock(quota, clock.clone())),
///     Box::new(SlidingLog::with_clock(quota, clock.clone())),
/// ];
/// for limiter in &limiters {
///     assert_eq!(admitted(&**limiter, 10), 3, "{}", limiter.name()); // the burst, then denials
/// }
/// for limiter in &limiters {
///     limiter.set_burst(5)?; // in place: the same limiter, a new quota
/// }
/// clock.advance(Duration::from_secs(1)); // full again, at the new burst
/// for limiter in &limiters {
///     assert_eq!(admitted(&**limiter, 10), 5, "{}", limiter.name());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RateLimiter: Send + Sync {
    /// Takes `n` permits if the quota has them now. A denial consumes nothing; `n` above the burst is
    /// [`Denied::InsufficientCapacity`], never admissible.
    fn check_n(&self, n: u32) -> Result<(), Denied>;

    /// Takes one permit if the quota has one now.
    #[inline]
    fn check(&self) -> Result<(), Denied> {
        self.check_n(1)
    }

    /// The state as rate-limit headers show it, at the clock's current reading.
    fn snapshot(&self) -> Snapshot;

    /// The quota this limiter enforces.
    fn quota(&self) -> Quota;

    /// Replaces the quota, atomically with respect to concurrent checks (each is decided wholly under
    /// the old quota or wholly under the new one). What the limiter holds carries over as each
    /// algorithm documents; for the rate-based ones: the permits available at the change are kept,
    /// capped at the new burst, and accrual continues at the new rate from the change on.
    fn set_quota(&self, quota: Quota);

    /// Changes the rate to `count` permits per `period`, keeping the burst.
    fn set_rate(&self, count: u32, period: std::time::Duration) -> Result<(), QuotaError> {
        let q = Quota::new(count, period)?.with_burst(self.quota().burst())?;
        self.set_quota(q);
        Ok(())
    }

    /// Changes the burst, keeping the rate.
    fn set_burst(&self, burst: u32) -> Result<(), QuotaError> {
        let q = self.quota().with_burst(burst)?;
        self.set_quota(q);
        Ok(())
    }

    /// The algorithm's name, for tables and logs.
    fn name(&self) -> &'static str;
}

/// A limiter with one state per key (user, IP address, API token): each key has the same quota and is
/// limited independently.
///
/// ```
/// use std::sync::Arc;
/// use ratelimit::{Gcra, Global, Keyed, KeyedRateLimiter, ManualClock, Quota};
///
/// /// The status a handler answers with, whatever the limiter behind it.
/// fn status(limiter: &impl KeyedRateLimiter<str>, user: &str) -> u16 {
///     if limiter.check_key(user).is_ok() { 200 } else { 429 }
/// }
///
/// let clock = Arc::new(ManualClock::default());
/// let quota = Quota::per_second(1)?;
/// let per_user = Keyed::<String, _>::with_clock(quota, clock.clone());
/// assert_eq!([status(&per_user, "ann"), status(&per_user, "bob")], [200, 200]); // one each
/// let shared = Global(Gcra::with_clock(quota, clock.clone()));
/// assert_eq!([status(&shared, "ann"), status(&shared, "bob")], [200, 429]); // one for all
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait KeyedRateLimiter<K: ?Sized>: Send + Sync {
    /// Takes `n` permits from `key`'s quota if it has them now (see [`RateLimiter::check_n`]).
    fn check_key_n(&self, key: &K, n: u32) -> Result<(), Denied>;

    /// Takes one permit from `key`'s quota if it has one now.
    #[inline]
    fn check_key(&self, key: &K) -> Result<(), Denied> {
        self.check_key_n(key, 1)
    }

    /// `key`'s state as rate-limit headers show it (a key never seen is full).
    fn snapshot_key(&self, key: &K) -> Snapshot;

    /// The quota each key has.
    fn quota(&self) -> Quota;
}

/// What a limiter holds at one instant, in the terms of rate-limit response headers
/// (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, `Retry-After`).
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use ratelimit::{Gcra, ManualClock, Quota, RateLimiter, Snapshot};
///
/// let clock = Arc::new(ManualClock::default());
/// let limiter = Gcra::with_clock(Quota::per_second(10)?.with_burst(5)?, clock.clone());
/// limiter.check_n(4)?;
/// let ms = Duration::from_millis;
/// assert_eq!(
///     limiter.snapshot(),
///     Snapshot { limit: 5, remaining: 1, retry_after: ms(0), reset_after: ms(400) }
/// );
/// limiter.check()?;
/// // Empty: the next permit in one interval, full again in five.
/// assert_eq!((limiter.snapshot().retry_after, limiter.snapshot().reset_after), (ms(100), ms(500)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// The burst: the most permits admitted at once.
    pub limit: u32,
    /// Permits a request could take now.
    pub remaining: u32,
    /// How long until one more permit is available: zero when `remaining > 0`.
    pub retry_after: Duration,
    /// How long until the limiter is full again (`remaining == limit`) if nobody takes a permit.
    pub reset_after: Duration,
}
