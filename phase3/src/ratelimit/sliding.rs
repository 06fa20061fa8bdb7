//! Sliding windows: the exact log and the approximate counter.
//!
//! Both limit events to `L = burst` per window `W = burst × interval`. The **log** keeps the instant
//! of every admission still inside the window and admits when fewer than `L` are: exact (no window of
//! length `W` ever holds more than `L`), at `L` timestamps of memory. The **counter** keeps two fixed
//! windows' counts and assumes the previous window's events were spread evenly: at offset `x` into the
//! current window it estimates `prev × (W − x)/W + cur` and admits while the estimate stays `≤ L`.
//! O(1) memory; its error is bounded: it never admits more than `L` in one fixed window, and never more
//! than `2L − 1` in any window of length `W` (the previous window's share it forgets is at most `x/W` of
//! its count). It can also be stricter than the log (when the previous window's events were early).
use std::collections::VecDeque;

use harness::clock::Clock;
use parking_lot::Mutex;

use super::{Quota, RateLimiter, now_ns};

/// The sliding-window log: exact, one timestamp per admission in the window.
#[derive(Debug)]
pub struct SlidingLog<C> {
    /// Admission instants (ns) inside the current window, oldest first; at most `burst` of them.
    log: Mutex<VecDeque<u64>>,
    quota: Quota,
    clock: C,
}

impl<C: Clock> SlidingLog<C> {
    /// An empty log enforcing `quota` (`burst` per `burst × interval`), reading time from `clock`.
    pub fn new(quota: Quota, clock: C) -> Self {
        SlidingLog {
            log: Mutex::new(VecDeque::with_capacity(quota.burst() as usize)),
            quota,
            clock,
        }
    }
}

impl<C: Clock> RateLimiter for SlidingLog<C> {
    fn check(&self) -> bool {
        let mut log = self.log.lock();
        let now = now_ns(&self.clock).max(log.back().copied().unwrap_or(0));
        let window = self.quota.window_ns();
        // The window is (now − W, now]: an admission at `t` leaves it once `t + W ≤ now`.
        while log
            .front()
            .is_some_and(|&t| t.saturating_add(window) <= now)
        {
            log.pop_front();
        }
        if log.len() < self.quota.burst() as usize {
            log.push_back(now);
            true
        } else {
            false
        }
    }
    fn quota(&self) -> Quota {
        self.quota
    }
    fn name(&self) -> &'static str {
        "sliding log"
    }
}

/// The sliding-window counter: two fixed-window counts, blended.
#[derive(Debug)]
pub struct SlidingCounter<C> {
    state: Mutex<Counts>,
    quota: Quota,
    clock: C,
}

#[derive(Debug, Default)]
struct Counts {
    /// Index of the current fixed window (`now / W`).
    window: u64,
    /// Admissions in the previous fixed window (0 when it is older than one window).
    prev: u64,
    /// Admissions so far in the current fixed window.
    cur: u64,
}

impl<C: Clock> SlidingCounter<C> {
    /// Empty counters enforcing `quota` (`burst` per `burst × interval`), reading time from `clock`.
    pub fn new(quota: Quota, clock: C) -> Self {
        SlidingCounter {
            state: Mutex::new(Counts::default()),
            quota,
            clock,
        }
    }
}

impl<C: Clock> RateLimiter for SlidingCounter<C> {
    fn check(&self) -> bool {
        let mut c = self.state.lock();
        let w = self.quota.window_ns();
        let now = now_ns(&self.clock);
        let index = (now / w).max(c.window);
        if index == c.window + 1 {
            c.prev = c.cur;
            c.cur = 0;
        } else if index > c.window {
            c.prev = 0;
            c.cur = 0;
        }
        c.window = index;
        let x = now.saturating_sub(index * w).min(w); // offset into the current window
        // Admit iff prev·(W − x)/W + (cur + 1) ≤ L, multiplied through by W (u128: no overflow, no
        // rounding).
        let (w, x) = (u128::from(w), u128::from(x));
        let estimate = u128::from(c.prev) * (w - x) + u128::from(c.cur + 1) * w;
        if estimate <= u128::from(self.quota.burst()) * w {
            c.cur += 1;
            true
        } else {
            false
        }
    }
    fn quota(&self) -> Quota {
        self.quota
    }
    fn name(&self) -> &'static str {
        "sliding counter"
    }
}
