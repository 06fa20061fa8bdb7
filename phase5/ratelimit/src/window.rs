//! The window algorithms: a sliding log (exact), a sliding counter (two fixed windows, weighted) and a
//! fixed window. Each counts admissions in a window of `burst·T` with a budget of `burst`. None of
//! them can reserve: they only know the past window (see [`crate::Reserve`]).
use std::collections::VecDeque;
use std::sync::PoisonError;
use std::time::Duration;

use shim::sync::{Mutex, MutexGuard};

use crate::clock::{Clock, FastClock, now_ns};
use crate::{Denied, InsufficientCapacity, NotUntil, Quota, RateLimiter, Snapshot};

fn too_many(n: u32, burst: u32) -> Result<(), Denied> {
    if n > burst {
        return Err(Denied::InsufficientCapacity(InsufficientCapacity {
            requested: n,
            burst,
        }));
    }
    Ok(())
}

fn not_until(ns: u64) -> Denied {
    Denied::NotUntil(NotUntil::from_nanos(ns.max(1)))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug)]
struct Log {
    /// `(clock reading, permits)` of the admissions in the last window, oldest first.
    entries: VecDeque<(u64, u32)>,
    /// Their permits in all.
    held: u64,
    quota: Quota,
}

impl Log {
    /// Forgets the admissions at or before `now − window`.
    fn expire(&mut self, now: u64) {
        let w = self.quota.window_ns();
        while let Some(&(t, n)) = self.entries.front() {
            if t.saturating_add(w) > now {
                break;
            }
            self.entries.pop_front();
            self.held -= u64::from(n);
        }
    }

    /// How long until `n` more fit: the oldest entries leave one by one.
    fn room_in(&self, n: u32, now: u64) -> u64 {
        let budget = u64::from(self.quota.burst());
        let mut held = self.held;
        for &(t, k) in &self.entries {
            if held + u64::from(n) <= budget {
                break;
            }
            held -= u64::from(k);
            if held + u64::from(n) <= budget {
                return t.saturating_add(self.quota.window_ns()) - now;
            }
        }
        0
    }
}

/// The sliding log: every admission's time is kept for one window (`burst·T`); a request passes when
/// the admissions in the last window plus its own are at most `burst`. Exact, at the cost of memory
/// proportional to the burst. In any closed window of length `e` it admits at most
/// `burst·(floor(e / W) + 1) ≤ floor(e / T) + burst`.
///
/// ```
/// use ratelimit::{Quota, RateLimiter, SlidingLog};
///
/// let log = SlidingLog::new(Quota::per_second(10)?.with_burst(2)?);
/// log.check_n(2)?;
/// assert!(log.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Changing the quota keeps the log: the new window and budget apply to it at once.
#[derive(Debug)]
pub struct SlidingLog<C = FastClock> {
    state: Mutex<Log>,
    clock: C,
}

impl SlidingLog<FastClock> {
    /// An empty log enforcing `quota` on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        SlidingLog::with_clock(quota, FastClock::new())
    }
}

impl<C: Clock> SlidingLog<C> {
    /// An empty log enforcing `quota`, reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        SlidingLog {
            state: Mutex::new(Log {
                entries: VecDeque::new(),
                held: 0,
                quota,
            }),
            clock,
        }
    }
}

impl<C: Clock> RateLimiter for SlidingLog<C> {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        let now = now_ns(&self.clock);
        let mut log = lock(&self.state);
        too_many(n, log.quota.burst())?;
        log.expire(now);
        if log.held + u64::from(n) > u64::from(log.quota.burst()) {
            return Err(not_until(log.room_in(n, now)));
        }
        log.entries.push_back((now, n));
        log.held += u64::from(n);
        Ok(())
    }

    fn snapshot(&self) -> Snapshot {
        let now = now_ns(&self.clock);
        let mut log = lock(&self.state);
        log.expire(now);
        let burst = log.quota.burst();
        let remaining = u64::from(burst).saturating_sub(log.held) as u32;
        let w = log.quota.window_ns();
        Snapshot {
            limit: burst,
            remaining,
            retry_after: Duration::from_nanos(if remaining > 0 {
                0
            } else {
                log.room_in(1, now)
            }),
            reset_after: Duration::from_nanos(
                log.entries
                    .back()
                    .map_or(0, |&(t, _)| t.saturating_add(w) - now),
            ),
        }
    }

    fn quota(&self) -> Quota {
        lock(&self.state).quota
    }

    fn set_quota(&self, quota: Quota) {
        lock(&self.state).quota = quota;
    }

    fn name(&self) -> &'static str {
        "sliding log"
    }
}

#[derive(Debug)]
struct Counter {
    /// Index of the current fixed window (`now / W`).
    index: u64,
    current: u64,
    previous: u64,
    quota: Quota,
}

impl Counter {
    fn roll(&mut self, now: u64) {
        let index = now / self.quota.window_ns();
        if index != self.index {
            self.previous = if index == self.index + 1 {
                self.current
            } else {
                0
            };
            self.current = 0;
            self.index = index;
        }
    }

    /// The weighted count at `now`: the previous window's count scaled by the share of it still inside
    /// the sliding window, plus the current count (rounded up: never under-counts by rounding).
    fn estimate(&self, now: u64) -> u64 {
        let w = u128::from(self.quota.window_ns());
        let into = u128::from(now) - u128::from(self.index) * w;
        let prev = (u128::from(self.previous) * (w - into)).div_ceil(w);
        prev as u64 + self.current
    }

    /// How long until `n` more fit (searching the rest of this window, then the next one).
    fn room_in(&self, n: u32, now: u64) -> u64 {
        let w = self.quota.window_ns();
        let budget = u64::from(self.quota.burst());
        let need = u64::from(n);
        let start = self.index * w;
        if self.current + need <= budget && self.previous > 0 {
            // previous·(W − into)/W ≤ budget − need − current  ⇔  into ≥ W − (budget − need − current)·W/previous
            let slack = u128::from(budget - need - self.current);
            let into = u128::from(w)
                - (slack * u128::from(w) / u128::from(self.previous)).min(u128::from(w));
            return (start + into as u64).saturating_sub(now);
        }
        // Next window: the current count becomes the previous one.
        if need > budget || self.current == 0 {
            return (start + w).saturating_sub(now);
        }
        let slack = u128::from(budget - need);
        let into =
            u128::from(w) - (slack * u128::from(w) / u128::from(self.current)).min(u128::from(w));
        (start + w + into as u64).saturating_sub(now)
    }
}

/// The sliding counter (Cloudflare's): two fixed-window counts, the previous weighted by how much of
/// it the sliding window still covers. Two numbers of memory, at the price of assuming the previous
/// window's admissions were spread evenly: when they were not, it admits other requests than the
/// sliding log would, early or late; the estimate rounds up, and the window-bound property test finds
/// no trace exceeding `floor(e / T) + burst`.
///
/// ```
/// use ratelimit::{Quota, RateLimiter, SlidingCounter};
///
/// let counter = SlidingCounter::new(Quota::per_second(10)?.with_burst(2)?);
/// counter.check_n(2)?;
/// assert!(counter.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Changing the quota keeps both counts; the windows are re-cut at the new length from the change on.
#[derive(Debug)]
pub struct SlidingCounter<C = FastClock> {
    state: Mutex<Counter>,
    clock: C,
}

impl SlidingCounter<FastClock> {
    /// An empty counter enforcing `quota` on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        SlidingCounter::with_clock(quota, FastClock::new())
    }
}

impl<C: Clock> SlidingCounter<C> {
    /// An empty counter enforcing `quota`, reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        let index = now_ns(&clock) / quota.window_ns();
        SlidingCounter {
            state: Mutex::new(Counter {
                index,
                current: 0,
                previous: 0,
                quota,
            }),
            clock,
        }
    }
}

impl<C: Clock> RateLimiter for SlidingCounter<C> {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        let now = now_ns(&self.clock);
        let mut c = lock(&self.state);
        too_many(n, c.quota.burst())?;
        c.roll(now);
        if c.estimate(now) + u64::from(n) > u64::from(c.quota.burst()) {
            return Err(not_until(c.room_in(n, now)));
        }
        c.current += u64::from(n);
        Ok(())
    }

    fn snapshot(&self) -> Snapshot {
        let now = now_ns(&self.clock);
        let mut c = lock(&self.state);
        c.roll(now);
        let burst = c.quota.burst();
        let remaining = u64::from(burst).saturating_sub(c.estimate(now)) as u32;
        let w = c.quota.window_ns();
        Snapshot {
            limit: burst,
            remaining,
            retry_after: Duration::from_nanos(if remaining > 0 { 0 } else { c.room_in(1, now) }),
            // Both counts are gone once the next window has passed entirely.
            reset_after: Duration::from_nanos(if c.current + c.previous == 0 {
                0
            } else {
                ((c.index + 2) * w).saturating_sub(now)
            }),
        }
    }

    fn quota(&self) -> Quota {
        lock(&self.state).quota
    }

    fn set_quota(&self, quota: Quota) {
        let now = now_ns(&self.clock);
        let mut c = lock(&self.state);
        c.quota = quota;
        c.index = now / quota.window_ns();
    }

    fn name(&self) -> &'static str {
        "sliding counter"
    }
}

#[derive(Debug)]
struct Fixed {
    index: u64,
    count: u64,
    quota: Quota,
}

/// The fixed window: `burst` permits per window of `burst·T`, the windows cut at multiples of the
/// length from the clock's origin. One counter; but a closed interval straddling a boundary can hold
/// two windows' budgets, `2·burst` in an instant: its bound is `burst·(floor(e / W) + 2)`, not
/// `floor(e / T) + burst` (the conformance tests show the boundary burst).
///
/// ```
/// use ratelimit::{FixedWindow, Quota, RateLimiter};
///
/// let window = FixedWindow::new(Quota::per_second(10)?.with_burst(2)?);
/// window.check_n(2)?;
/// assert!(window.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Changing the quota keeps the current count; windows are re-cut at the new length.
#[derive(Debug)]
pub struct FixedWindow<C = FastClock> {
    state: Mutex<Fixed>,
    clock: C,
}

impl FixedWindow<FastClock> {
    /// An empty window enforcing `quota` on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        FixedWindow::with_clock(quota, FastClock::new())
    }
}

impl<C: Clock> FixedWindow<C> {
    /// An empty window enforcing `quota`, reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        let index = now_ns(&clock) / quota.window_ns();
        FixedWindow {
            state: Mutex::new(Fixed {
                index,
                count: 0,
                quota,
            }),
            clock,
        }
    }
}

impl Fixed {
    fn roll(&mut self, now: u64) {
        let index = now / self.quota.window_ns();
        if index != self.index {
            self.index = index;
            self.count = 0;
        }
    }

    fn next_window_in(&self, now: u64) -> u64 {
        ((self.index + 1) * self.quota.window_ns()).saturating_sub(now)
    }
}

impl<C: Clock> RateLimiter for FixedWindow<C> {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        let now = now_ns(&self.clock);
        let mut f = lock(&self.state);
        too_many(n, f.quota.burst())?;
        f.roll(now);
        if f.count + u64::from(n) > u64::from(f.quota.burst()) {
            return Err(not_until(f.next_window_in(now)));
        }
        f.count += u64::from(n);
        Ok(())
    }

    fn snapshot(&self) -> Snapshot {
        let now = now_ns(&self.clock);
        let mut f = lock(&self.state);
        f.roll(now);
        let burst = f.quota.burst();
        let remaining = u64::from(burst).saturating_sub(f.count) as u32;
        let next = f.next_window_in(now);
        Snapshot {
            limit: burst,
            remaining,
            retry_after: Duration::from_nanos(if remaining > 0 { 0 } else { next }),
            reset_after: Duration::from_nanos(if f.count == 0 { 0 } else { next }),
        }
    }

    fn quota(&self) -> Quota {
        lock(&self.state).quota
    }

    fn set_quota(&self, quota: Quota) {
        let now = now_ns(&self.clock);
        let mut f = lock(&self.state);
        f.quota = quota;
        f.index = now / quota.window_ns();
    }

    fn name(&self) -> &'static str {
        "fixed window"
    }
}
