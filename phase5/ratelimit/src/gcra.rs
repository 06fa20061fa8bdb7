//! GCRA, the generic cell rate algorithm: a whole token bucket in one `AtomicU64`.
//!
//! A token bucket's textbook state is two numbers (tokens, time of the last refill), which needs a
//! lock. GCRA keeps one: the *theoretical arrival time* `tat`, the instant the bucket would be full
//! again if nobody took a permit. At clock reading `now` the bucket is `max(tat, now) − now` short of
//! full, in units of the emission interval `T`; a request of `n` permits passes when, after pushing
//! `tat` on by `n·T`, it is at most `burst·T` ahead of `now`. One number fits an atomic and a CAS loop
//! updates it without a lock; a denial is one load and no write.
use std::time::Duration;

use shim::sync::atomic::{AtomicU64, Ordering};

use crate::clock::{Clock, FastClock, now_ns};
use crate::{Denied, InsufficientCapacity, NotUntil, Quota, RateLimiter, Snapshot};

/// The lock-free GCRA limiter.
///
/// ```
/// use ratelimit::{Gcra, Quota, RateLimiter};
///
/// let limiter = Gcra::new(Quota::per_second(10)?.with_burst(2)?);
/// assert!(limiter.check().is_ok());
/// assert!(limiter.check().is_ok());
/// let denied = limiter.check().unwrap_err();
/// assert!(denied.retry_after().unwrap() <= std::time::Duration::from_millis(100));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # How exact
/// Counting each admission at the instant its check read the clock, no interleaving admits more than
/// `floor(e / T) + burst` in an interval of length `e`: each successful CAS moves `tat` at least `n·T`
/// past both the value it replaced and its own reading. A check preempted between reading the clock
/// and its CAS spends permits at its older reading, so counted at completion an interval can hold one
/// extra request per thread that was preempted there.
#[derive(Debug)]
pub struct Gcra<C = FastClock> {
    /// The theoretical arrival time (ns on `clock`); any value `≤ now` means "full now".
    tat: AtomicU64,
    quota: Quota,
    clock: C,
}

impl Gcra<FastClock> {
    /// A full limiter enforcing `quota` on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        Gcra::with_clock(quota, FastClock::new())
    }
}

impl<C: Clock> Gcra<C> {
    /// A full limiter enforcing `quota`, reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Gcra {
            tat: AtomicU64::new(0),
            quota,
            clock,
        }
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

impl<C: Clock> RateLimiter for Gcra<C> {
    #[inline]
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        let burst = self.quota.burst();
        if n > burst {
            return Err(Denied::InsufficientCapacity(InsufficientCapacity {
                requested: n,
                burst,
            }));
        }
        let t = self.quota.interval_ns();
        let cost = t * u64::from(n); // n ≤ burst, so cost ≤ window: no overflow
        let window = self.quota.window_ns();
        let now = now_ns(&self.clock);
        // Relaxed: `tat` guards no other memory; it only has to change atomically. The CASes on it are
        // totally ordered, so two checks never both move it from the same value: each admission is paid
        // for by exactly one successful CAS.
        let mut seen = self.tat.load(Ordering::Relaxed);
        loop {
            let base = seen.max(now);
            let next = base.saturating_add(cost);
            if next - now > window {
                return Err(Denied::NotUntil(NotUntil {
                    retry_after: Duration::from_nanos(next - now - window),
                }));
            }
            match self
                .tat
                .compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => seen = actual,
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        let t = self.quota.interval_ns();
        let window = self.quota.window_ns();
        let now = now_ns(&self.clock);
        let behind = self
            .tat
            .load(Ordering::Relaxed)
            .saturating_sub(now)
            .min(window);
        let remaining = (window - behind) / t;
        let retry_after = if remaining > 0 {
            0
        } else {
            // One permit is back once `tat` is no more than `(burst − 1)·T` ahead.
            behind - (window - t)
        };
        Snapshot {
            limit: self.quota.burst(),
            remaining: remaining as u32,
            retry_after: Duration::from_nanos(retry_after),
            reset_after: Duration::from_nanos(behind),
        }
    }

    fn quota(&self) -> Quota {
        self.quota
    }

    fn name(&self) -> &'static str {
        "GCRA (one atomic)"
    }
}
