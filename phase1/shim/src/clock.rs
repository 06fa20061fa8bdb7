//! Time behind a trait, so time-based logic (backoff schedules, rate limiters, tickers) is tested
//! exactly, not with sleeps and tolerances.
//!
//! Go code reaches for `time.Now()` and `time.Sleep` directly and tests with real time; tokio offers a
//! paused test clock for async code only. [`Clock`] covers blocking code too: [`SystemClock`] reads the
//! monotonic clock; the harness adds a virtual clock that moves only when a test says so.
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A monotonic clock measured from its own origin.
pub trait Clock: Send + Sync {
    /// Time since this clock's origin.
    fn now(&self) -> Duration;
    /// [`now`](Clock::now) in whole nanoseconds, saturating at `u64::MAX` (584 years). Code that
    /// counts in nanoseconds (a rate limiter's hot path) calls this; a clock that keeps nanoseconds
    /// overrides it to skip the round trip through `Duration` (a division by 10^9 and back).
    fn now_ns(&self) -> u64 {
        let d = self.now();
        d.as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(d.subsec_nanos()))
    }
    /// Blocks the calling thread until `now()` has moved on by at least `d`.
    fn sleep(&self, d: Duration);
}

/// The machine's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A shared clock is a clock (a virtual clock is usually held in an `Arc` by the test and the code).
impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Duration {
        (**self).now()
    }
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
    fn sleep(&self, d: Duration) {
        (**self).sleep(d)
    }
}
