//! Time: the [`Clock`] trait every limiter reads, and [`FastClock`], the default.
//!
//! `Instant::now()` is a vDSO `clock_gettime`, ~20-25 ns on many virtual machines: as much as a whole
//! lock-free check. [`FastClock`] reads the CPU's time-stamp counter through `quanta` (as governor
//! does) and falls back to the OS clock where the TSC is unusable. Tests and replays inject a virtual
//! clock instead: any [`Clock`] works.
use std::time::Duration;

pub use shim::clock::{Clock, SystemClock};

/// A monotonic clock read from the TSC (`quanta`), measured from its own origin.
#[derive(Debug, Clone)]
pub struct FastClock {
    clock: quanta::Clock,
    origin: quanta::Instant,
}

impl FastClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        let clock = quanta::Clock::new();
        let origin = clock.now();
        FastClock { clock, origin }
    }
}

impl Default for FastClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FastClock {
    #[inline]
    fn now(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// The clock's reading in whole nanoseconds (saturating at `u64::MAX`, 584 years after its origin).
#[inline]
pub(crate) fn now_ns<C: Clock + ?Sized>(clock: &C) -> u64 {
    let d = clock.now();
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}
