//! # Rate limiting, throttling, debouncing (phase3/exercise3)
//!
//! Go programs reach for `golang.org/x/time/rate` (a token bucket behind a mutex) or a `time.Ticker`
//! feeding a channel; Rust has no limiter in std, and the ecosystem's `governor` runs GCRA on one
//! atomic. This module builds the classic algorithms from scratch, every one behind the same
//! [`RateLimiter`] trait, every one reading time through an injectable [`harness::clock::Clock`] so the
//! tests drive them on a virtual clock and check exact admissions instead of sleeping:
//!
//! - [`TokenBucket`]: lock-free; the bucket's two numbers (tokens, last refill) collapse into one
//!   timestamp held in an `AtomicU64` and updated by CAS. [`MutexTokenBucket`] is the textbook version
//!   behind a lock, [`NaiveTokenBucket`] the load-then-store mistake (over-admits; loom finds it).
//! - [`LeakyBucket`]: the leaky bucket as a meter (the token bucket's mirror image: same decisions) and
//!   [`ShapingQueue`], the leaky bucket as a queue: it delays instead of dropping and smooths a burst
//!   into an evenly spaced stream.
//! - [`SlidingLog`] (exact: one timestamp per admission) and [`SlidingCounter`] (two fixed-window
//!   counters blended; O(1) memory, a bounded error).
//! - [`throttle`] and [`debounce`] (async, tokio): leading and trailing edge throttle; debounce of bursts.
//!
//! Every limiter takes the same [`Quota`]: one permit per `interval`, at most `burst` at once. So any
//! interval of length `e` admits at most `e / interval + burst` permits under every algorithm
//! (the property tests check it), and the sliding windows use the window `burst × interval`.

mod leaky;
mod sliding;
mod token_bucket;

#[cfg(not(loom))]
mod exercise;
#[cfg(not(loom))]
mod throttle;

use std::time::Duration;

pub use leaky::{LeakyBucket, ShapingQueue};
pub use sliding::{SlidingCounter, SlidingLog};
pub use token_bucket::{MutexTokenBucket, NaiveTokenBucket, TokenBucket};

/// The TSC clock the limiters read on the hot path (`Instant::now()` is a vDSO call of ~20-25 ns on
/// many VMs, as much as a whole lock-free check): the capstone library's, used here as it is.
#[cfg(not(loom))]
pub use ratelimit::FastClock;
#[cfg(not(loom))]
pub use throttle::{Edge, debounce, throttle};

/// One permit per `interval`, at most `burst` at once: the contract every limiter here enforces.
///
/// In any closed interval of length `e`, a limiter with this quota admits at most
/// `floor(e / interval) + burst` permits ([`Quota::allowed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    interval_ns: u64,
    burst: u32,
}

impl Quota {
    /// One permit every `interval`, bursts of up to `burst`. `None` when either is zero or the interval
    /// does not fit in `u64` nanoseconds.
    pub fn new(interval: Duration, burst: u32) -> Option<Quota> {
        let interval_ns = u64::try_from(interval.as_nanos()).ok()?;
        (interval_ns > 0 && burst > 0).then_some(Quota { interval_ns, burst })
    }

    /// `per_second` permits a second (interval `1 s / per_second`, rounded down to whole ns), bursts of
    /// `burst`. `None` when either is zero or the rate exceeds one permit per nanosecond.
    pub fn per_second(per_second: u64, burst: u32) -> Option<Quota> {
        if per_second == 0 {
            return None;
        }
        Quota::new(Duration::from_nanos(1_000_000_000 / per_second), burst)
    }

    /// The time one permit takes to replenish.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// [`Quota::interval`] in nanoseconds.
    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    /// The largest number of permits admitted at one instant.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The sliding window whose budget is `burst` permits: `burst × interval`.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.window_ns())
    }

    /// [`Quota::window`] in nanoseconds (saturating).
    pub fn window_ns(&self) -> u64 {
        self.interval_ns.saturating_mul(u64::from(self.burst))
    }

    /// The most permits any closed interval of length `elapsed` may hold: `floor(elapsed / interval) +
    /// burst`.
    pub fn allowed(&self, elapsed: Duration) -> u64 {
        let e = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        e / self.interval_ns + u64::from(self.burst)
    }
}

/// A rate limiter: decides, without blocking, whether one more event may pass now.
///
/// Implementations are shared between threads (`&self`, `Send + Sync`). Whatever the interleaving,
/// the admissions of all threads together respect [`RateLimiter::quota`], each counted at the instant
/// its check read the clock (counted when checks complete, a check preempted in between can add one:
/// see [`TokenBucket`]).
pub trait RateLimiter: Send + Sync {
    /// Takes one permit if the quota has one now; `true` when the event is admitted.
    fn check(&self) -> bool;
    /// The quota this limiter enforces.
    fn quota(&self) -> Quota;
    /// The algorithm's name, for tables.
    fn name(&self) -> &'static str;
}

impl<L: RateLimiter + ?Sized> RateLimiter for std::sync::Arc<L> {
    fn check(&self) -> bool {
        (**self).check()
    }
    fn quota(&self) -> Quota {
        (**self).quota()
    }
    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// The clock's reading in whole nanoseconds (saturating at `u64::MAX`, 584 years after its origin).
#[inline]
pub(crate) fn now_ns<C: harness::clock::Clock + ?Sized>(clock: &C) -> u64 {
    let d = clock.now();
    // `as_nanos` is a u128; the saturation never triggers for a clock younger than five centuries.
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise3",
    title: "Rate limiting, throttling, debouncing",
    goal: "Build the classic rate limiters behind one trait, know what each one admits (exactly, on a \
        virtual clock) and what it costs per check, and tell throttling from debouncing.",
    go_vs_rust: "Go has golang.org/x/time/rate (a token bucket behind a mutex) and time.Ticker; Rust's \
        std has neither, governor runs GCRA on one atomic. Here every algorithm reads an injectable \
        clock, so tests check exact admissions on virtual time; the fast token bucket is one \
        AtomicU64 updated by CAS, and the async throttle/debounce run on tokio's (pausable) timers.",
    sections: exercise::SECTIONS,
};
