//! Why a request was not admitted.
use std::fmt;
use std::time::Duration;

/// Why a check did not admit its request. Nothing was consumed.
///
/// ```
/// use ratelimit::{ConcurrencyLimiter, Denied, Gcra, Quota, RateLimiter};
///
/// /// The HTTP status each denial calls for.
/// fn status(denied: Denied) -> u16 {
///     match denied {
///         Denied::NotUntil(_) => 429,             // later: Retry-After
///         Denied::InsufficientCapacity(_) => 413, // never: the request is too large
///         Denied::KeyCapacity(_) | Denied::Saturated(_) => 503,
///         _ => 500, // non-exhaustive
///     }
/// }
///
/// let limiter = Gcra::new(Quota::per_minute(60)?.with_burst(2)?);
/// assert_eq!(limiter.check_n(3).map_err(status), Err(413));
/// limiter.check_n(2)?;
/// assert_eq!(limiter.check().map_err(status), Err(429));
/// let in_flight = ConcurrencyLimiter::new(1);
/// let _held = in_flight.acquire()?;
/// assert_eq!(in_flight.acquire().map(drop).map_err(status), Err(503));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denied {
    /// Not now: the same request would pass after [`NotUntil::retry_after`], if nobody else takes
    /// the permits first.
    NotUntil(NotUntil),
    /// Never: the request asks for more permits than the burst, which no amount of waiting provides.
    /// An error rather than a silent deny, so a caller cannot retry forever.
    InsufficientCapacity(InsufficientCapacity),
    /// A keyed limiter tracks as many keys as it may, all of them in debt, and turns away keys it does
    /// not track ([`AtCap::DenyNewKeys`](crate::AtCap)); a slot frees up after
    /// [`NotUntil::retry_after`] at the earliest.
    KeyCapacity(NotUntil),
    /// A concurrency limiter has all its permits held: one comes back when a request ends, at an
    /// instant nobody can predict, so there is no retry-after.
    Saturated(Saturated),
}

/// All of a concurrency limiter's permits are held.
///
/// ```
/// use ratelimit::{ConcurrencyLimiter, Denied, Saturated};
///
/// let limiter = ConcurrencyLimiter::new(3);
/// let _batch = limiter.acquire_n(2)?;
/// assert_eq!(
///     limiter.acquire_n(2).map(drop),
///     Err(Denied::Saturated(Saturated { in_use: 2, limit: 3 }))
/// );
/// # Ok::<(), Denied>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saturated {
    /// Permits held when the request was refused.
    pub in_use: u32,
    /// The limiter's limit.
    pub limit: u32,
}

/// A request that would pass later.
///
/// It holds the wait in nanoseconds and makes the `Duration` when asked: a denial is the cheap
/// path of a check (one load, no write), and a `Duration` costs a division by 10^9.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use ratelimit::{Denied, Gcra, ManualClock, Quota, RateLimiter};
///
/// let clock = Arc::new(ManualClock::default());
/// let limiter = Gcra::with_clock(Quota::per_second(4)?.with_burst(1)?, clock.clone());
/// limiter.check()?;
/// let Err(Denied::NotUntil(wait)) = limiter.check() else { panic!("expected a wait") };
/// assert_eq!(wait.retry_after(), Duration::from_millis(250));
/// clock.advance(wait.retry_after()); // exactly as long as it said
/// assert!(limiter.check().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NotUntil {
    retry_after_ns: u64,
}

impl NotUntil {
    /// A denial that would pass after `retry_after` (saturating at `u64::MAX` nanoseconds).
    pub fn new(retry_after: Duration) -> NotUntil {
        NotUntil::from_nanos(u64::try_from(retry_after.as_nanos()).unwrap_or(u64::MAX))
    }

    /// A denial that would pass after `retry_after_ns` nanoseconds.
    #[inline]
    pub(crate) fn from_nanos(retry_after_ns: u64) -> NotUntil {
        NotUntil { retry_after_ns }
    }

    /// How long after the check's clock reading the same request would pass (the `Retry-After` of an
    /// HTTP 429); never zero.
    pub fn retry_after(&self) -> Duration {
        Duration::from_nanos(self.retry_after_ns)
    }
}

impl fmt::Debug for NotUntil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotUntil")
            .field("retry_after", &self.retry_after())
            .finish()
    }
}

/// A request larger than the burst.
///
/// ```
/// use ratelimit::{Denied, Gcra, InsufficientCapacity, Quota, RateLimiter};
///
/// let limiter = Gcra::new(Quota::per_second(100)?.with_burst(10)?);
/// assert_eq!(
///     limiter.check_n(11),
///     Err(Denied::InsufficientCapacity(InsufficientCapacity { requested: 11, burst: 10 }))
/// );
/// assert!(limiter.check_n(10).is_ok()); // the refusal took nothing
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsufficientCapacity {
    /// Permits asked for.
    pub requested: u32,
    /// The most the quota ever admits at once.
    pub burst: u32,
}

impl Denied {
    /// The wait after which the request would pass, or `None` when it never would.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Denied::NotUntil(n) | Denied::KeyCapacity(n) => Some(n.retry_after()),
            Denied::InsufficientCapacity(_) | Denied::Saturated(_) => None,
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::NotUntil(n) => write!(f, "rate limited: retry after {:?}", n.retry_after()),
            Denied::InsufficientCapacity(c) => write!(
                f,
                "{} permits requested, more than the burst of {}: never admissible",
                c.requested, c.burst
            ),
            Denied::Saturated(s) => write!(
                f,
                "concurrency limit reached: {} of {} permits held",
                s.in_use, s.limit
            ),
            Denied::KeyCapacity(n) => write!(
                f,
                "rate limiter tracks all the keys it may: retry after {:?}",
                n.retry_after()
            ),
        }
    }
}

impl std::error::Error for Denied {}
