//! The concurrency limiter: at most `limit` requests in flight at once, whatever their rate.
//!
//! It is not a [`crate::RateLimiter`]: those take permits that time gives back, so `check_n` is all a
//! caller does; here a permit comes back when the request ends, which only the caller knows. So
//! [`ConcurrencyLimiter::acquire`] returns a [`Permit`] that releases on drop (RAII), and there is no
//! quota, retry-after or reservation: nobody can say when a slot frees up.
use std::fmt;

use shim::sync::atomic::{AtomicU32, Ordering};

use crate::{Denied, Saturated};

/// At most `limit` permits held at once.
///
/// ```
/// use ratelimit::ConcurrencyLimiter;
///
/// let limiter = ConcurrencyLimiter::new(2);
/// let a = limiter.acquire()?;
/// let _b = limiter.acquire()?;
/// assert!(limiter.acquire().is_err());
/// drop(a); // the request ended
/// assert!(limiter.acquire().is_ok());
/// # Ok::<(), ratelimit::Denied>(())
/// ```
pub struct ConcurrencyLimiter {
    in_use: AtomicU32,
    limit: AtomicU32,
}

impl fmt::Debug for ConcurrencyLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimiter")
            .field("in_use", &self.in_use())
            .field("limit", &self.limit())
            .finish()
    }
}

impl ConcurrencyLimiter {
    /// A limiter of `limit` concurrent permits (0 admits nothing).
    pub fn new(limit: u32) -> Self {
        ConcurrencyLimiter {
            in_use: AtomicU32::new(0),
            limit: AtomicU32::new(limit),
        }
    }

    /// Takes one permit if fewer than `limit` are held; released when the [`Permit`] drops.
    pub fn acquire(&self) -> Result<Permit<'_>, Denied> {
        self.acquire_n(1)
    }

    /// Takes `n` permits at once, or none.
    pub fn acquire_n(&self, n: u32) -> Result<Permit<'_>, Denied> {
        let limit = self.limit.load(Ordering::Relaxed);
        if n > limit {
            return Err(Denied::Saturated(Saturated {
                in_use: self.in_use(),
                limit,
            }));
        }
        // Acquire on success: pairs with the Release of the permit's drop, so the work a previous
        // holder did under its permit happens before ours (a permit may guard a resource).
        let mut seen = self.in_use.load(Ordering::Relaxed);
        loop {
            let limit = self.limit.load(Ordering::Relaxed);
            if seen.saturating_add(n) > limit {
                return Err(Denied::Saturated(Saturated {
                    in_use: seen,
                    limit,
                }));
            }
            match self.in_use.compare_exchange_weak(
                seen,
                seen + n,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(Permit { limiter: self, n }),
                Err(actual) => seen = actual,
            }
        }
    }

    /// Permits held now.
    pub fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// The most permits held at once.
    pub fn limit(&self) -> u32 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Changes the limit. Lowering it takes no permit back: acquisitions fail until enough are
    /// released.
    pub fn set_limit(&self, limit: u32) {
        self.limit.store(limit, Ordering::Relaxed);
    }
}

/// Permits held from a [`ConcurrencyLimiter`]; dropping it releases them.
///
/// ```
/// use ratelimit::ConcurrencyLimiter;
///
/// let uploads = ConcurrencyLimiter::new(4);
/// {
///     let big = uploads.acquire_n(3)?;
///     assert_eq!(big.permits(), 3);
///     assert!(uploads.acquire_n(2).is_err()); // 3 + 2 > 4
/// } // the upload ended: its 3 permits are back
/// assert!(uploads.acquire_n(4).is_ok());
/// # Ok::<(), ratelimit::Denied>(())
/// ```
#[must_use = "dropping the permit releases it at once"]
pub struct Permit<'a> {
    limiter: &'a ConcurrencyLimiter,
    n: u32,
}

impl Permit<'_> {
    /// The permits held.
    pub fn permits(&self) -> u32 {
        self.n
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("n", &self.n).finish()
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // Release: the holder's work happens before the next acquirer's (see `acquire_n`).
        self.limiter.in_use.fetch_sub(self.n, Ordering::Release);
    }
}
