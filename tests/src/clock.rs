//! Time behind a trait, so time-based logic (backoff schedules, rate limiters, tickers) is tested
//! exactly, not with sleeps and tolerances.
//!
//! Go code reaches for `time.Now()` and `time.Sleep` directly and tests with real time; tokio offers a
//! paused test clock for async code only. [`Clock`] covers blocking code too: [`SystemClock`] reads the
//! monotonic clock, [`VirtualClock`] moves only when a test calls [`VirtualClock::advance`], waking
//! exactly the sleepers whose deadline has come.
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

pub use shim::clock::{Clock, SystemClock};

/// A clock that moves only when told to. Sleepers block until an [`advance`](Self::advance) reaches
/// their deadline.
#[derive(Debug, Default)]
pub struct VirtualClock {
    state: Mutex<VirtualState>,
    moved: Condvar,
}

#[derive(Debug, Default)]
struct VirtualState {
    /// Current virtual time.
    now: Duration,
    /// Threads blocked in `sleep` right now.
    sleepers: usize,
}

impl VirtualClock {
    /// A virtual clock at time zero, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Moves time forward by `d` and wakes the sleepers whose deadline has come.
    pub fn advance(&self, d: Duration) {
        let mut s = self.state.lock();
        s.now += d;
        self.moved.notify_all();
    }

    /// How many threads are blocked in [`Clock::sleep`] right now.
    pub fn sleepers(&self) -> usize {
        self.state.lock().sleepers
    }

    /// Waits (in real time, up to `limit`) until at least `n` threads sleep on this clock; true if so.
    /// Lets a test advance time only once the code under test is actually waiting.
    pub fn wait_for_sleepers(&self, n: usize, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        let mut s = self.state.lock();
        while s.sleepers < n {
            if self.moved.wait_until(&mut s, end).timed_out() {
                return s.sleepers >= n;
            }
        }
        true
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        self.state.lock().now
    }
    fn sleep(&self, d: Duration) {
        let mut s = self.state.lock();
        let wake_at = s.now + d;
        s.sleepers += 1;
        self.moved.notify_all(); // tell `wait_for_sleepers`
        while s.now < wake_at {
            self.moved.wait(&mut s);
        }
        s.sleepers -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watchdog::within;

    #[test]
    fn virtual_time_moves_only_when_advanced() {
        let c = VirtualClock::new();
        assert_eq!(c.now(), Duration::ZERO);
        c.advance(Duration::from_millis(5));
        assert_eq!(c.now(), Duration::from_millis(5));
    }

    #[test]
    fn a_sleeper_wakes_exactly_at_its_deadline() {
        within(Duration::from_secs(10), || {
            let c = VirtualClock::new();
            let c2 = c.clone();
            let h = std::thread::spawn(move || {
                c2.sleep(Duration::from_secs(10));
                c2.now()
            });
            assert!(c.wait_for_sleepers(1, Duration::from_secs(5)));
            c.advance(Duration::from_secs(9));
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(c.sleepers(), 1, "woke before its deadline");
            c.advance(Duration::from_secs(1));
            assert_eq!(h.join().unwrap(), Duration::from_secs(10));
        });
    }

    #[test]
    fn system_clock_is_monotonic() {
        let c = SystemClock::new();
        let a = c.now();
        c.sleep(Duration::from_millis(1));
        assert!(c.now() > a);
    }
}
