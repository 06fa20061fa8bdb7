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
    fn sleep(&self, d: Duration) {
        (**self).sleep(d)
    }
}
