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
/// The capstone library's quota, used here as it is (a lesson's copy would be the same code twice):
/// `Quota::with_interval(interval)?.with_burst(burst)?`. In any closed interval of length `e`, a
/// limiter with this quota admits at most `floor(e / interval) + burst` permits ([`Quota::allowed`]).
pub use ratelimit::{Quota, QuotaError};

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
