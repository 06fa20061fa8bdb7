//! Time: the [`Clock`] trait every limiter reads, and [`FastClock`], the default.
//!
//! `Instant::now()` is a vDSO `clock_gettime`, ~20-25 ns on many virtual machines: as much as a whole
//! lock-free check. [`FastClock`] reads the CPU's time-stamp counter through `quanta` (as governor
//! does) and falls back to the OS clock where the TSC is unusable. Tests and replays inject a virtual
//! clock instead: any [`Clock`] works.
use std::time::Duration;

pub use shim::clock::{Clock, SystemClock};

/// A monotonic clock read from the TSC (`quanta`), measured from its own origin.
///
/// It counts in nanoseconds: [`Clock::now_ns`] is one counter read and one multiply-shift, with no
/// `Duration` on the way (a limiter's check reads it once).
///
/// ```
/// use ratelimit::{Clock, FastClock, Gcra, Quota, RateLimiter};
///
/// let clock = FastClock::new();
/// let (a, b) = (clock.now(), clock.now());
/// assert!(b >= a); // monotonic
/// // `Gcra::new` uses one already; pass one explicitly to share its origin.
/// let limiter = Gcra::with_clock(Quota::per_second(10)?, clock.clone());
/// assert!(limiter.check().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FastClock {
    clock: quanta::Clock,
    /// The raw counter at the origin.
    origin: u64,
}

impl FastClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.raw();
        FastClock { clock, origin }
    }
}

impl Default for FastClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FastClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_ns())
    }
    #[inline]
    fn now_ns(&self) -> u64 {
        // The counter's delta scaled to nanoseconds (0 if the counter reads below the origin).
        self.clock.delta_as_nanos(self.origin, self.clock.raw())
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// The clock's reading in whole nanoseconds (saturating at `u64::MAX`, 584 years after its origin).
#[inline]
pub(crate) fn now_ns<C: Clock + ?Sized>(clock: &C) -> u64 {
    clock.now_ns()
}

/// A clock that moves only when told to: for tests, simulations and trace replays
/// ([`verify`](crate::verify)). Shared through an `Arc` (an `Arc<ManualClock>` is a [`Clock`]).
///
/// ```
/// use std::time::Duration;
/// use ratelimit::{Gcra, ManualClock, Quota, RateLimiter};
///
/// let clock = std::sync::Arc::new(ManualClock::default());
/// let limiter = Gcra::with_clock(Quota::per_second(1)?, clock.clone());
/// assert!(limiter.check().is_ok());
/// assert!(limiter.check().is_err());
/// clock.advance(Duration::from_secs(1));
/// assert!(limiter.check().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ns: std::sync::atomic::AtomicU64,
}

impl ManualClock {
    /// A clock reading `at`.
    pub fn starting_at(at: Duration) -> Self {
        let c = ManualClock::default();
        c.set(at);
        c
    }

    /// Moves the clock forward by `d` (saturating).
    pub fn advance(&self, d: Duration) {
        let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: the reading guards no other memory; callers order their own threads.
        let _ = self.now_ns.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |t| Some(t.saturating_add(d)),
        );
    }

    /// Sets the reading to `at`. Moving a clock backwards is the caller's choice; the limiters assume
    /// a monotonic clock (the trace replay only moves it forward).
    pub fn set(&self, at: Duration) {
        let at = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        self.now_ns.store(at, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_ns())
    }
    fn now_ns(&self) -> u64 {
        self.now_ns.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Sleeping on a manual clock moves it: the sleeper is the only one who could.
    fn sleep(&self, d: Duration) {
        self.advance(d);
    }
}
