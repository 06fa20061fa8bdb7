//! A clock cheap enough to read on every check.
//!
//! `Instant::now()` is a vDSO `clock_gettime` (~20-25 ns on many VMs): as much as the whole check of a
//! lock-free limiter. [`FastClock`] reads the CPU's time-stamp counter through `quanta` (the clock
//! governor uses too), scaled to nanoseconds, and falls back to the OS clock where the TSC is unusable.
use std::time::Duration;

use harness::clock::Clock;

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
