//! # ratelimit — every rate limiter in one library, and across machines
//!
//! Go programs use `golang.org/x/time/rate` (a token bucket behind a mutex, with reservations);
//! Rust's governor runs GCRA on one atomic, with keyed limiters. This crate puts the algorithms behind
//! one trait, [`RateLimiter`], each reading time through an injectable [`Clock`], so tests and trace
//! replays run on virtual time and check exact admissions.
//!
//! ## Checking
//! ```
//! use ratelimit::{Denied, Gcra, Quota, RateLimiter};
//!
//! let limiter = Gcra::new(Quota::per_second(50)?.with_burst(5)?);
//! for _ in 0..5 {
//!     limiter.check()?; // the burst passes at once
//! }
//! match limiter.check() {
//!     Err(Denied::NotUntil(wait)) => assert!(wait.retry_after().as_millis() <= 20),
//!     other => panic!("expected a denial, got {other:?}"),
//! }
//! // More than the burst is an error of its own: waiting would never help.
//! assert!(matches!(limiter.check_n(6), Err(Denied::InsufficientCapacity(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Reserving, cancelling, settling, waiting
//! [`Reserve`] (GCRA, token bucket, leaky bucket) takes permits *now* for an action that may only
//! happen later: a [`Reservation`] says when. Cancel it and the permits nobody was scheduled behind come
//! back; settle it once the real cost is known. `wait_n` blocks until ready, or returns at once when
//! that would take longer than its timeout.
//! ```
//! use std::time::Duration;
//! use ratelimit::{Gcra, Quota, RateLimiter, Reserve};
//!
//! let limiter = Gcra::new(Quota::per_second(10)?.with_burst(1)?);
//! let now = limiter.reserve()?;
//! let later = limiter.reserve()?; // behind `now`: ready about 100 ms from now
//! assert!(later.delay() > Duration::from_millis(50));
//! later.cancel(); // nothing was scheduled behind it: its permit is back
//! now.wait(); // ready at once
//! // An estimate of 1 permit whose work turned out to cost nothing: settle gives it back.
//! let estimate = limiter.reserve_within(1, Duration::from_secs(1))?;
//! estimate.settle(0);
//! limiter.wait_n(1, Duration::from_secs(1))?; // sleeps until the next permit (≤ 100 ms)
//! assert!(limiter.check().is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With feature `async`, `until_ready(&limiter, n, Jitter::up_to(d))` does the same on tokio's timer;
//! dropping the future before it is ready cancels its reservation, and `TokioClock` lets a limiter
//! follow tokio's paused clock in tests.
//!
//! ## The algorithms
//! | type | state | reserves | notes |
//! |---|---|---|---|
//! | [`Gcra`] | one `AtomicU64` | yes | lock-free; the default |
//! | [`TokenBucket`] | tokens + last, a lock | yes | x/time/rate's semantics |
//! | [`LeakyBucket`] | level + last, a lock | yes | the meter: GCRA's admissions |
//! | [`LeakyQueue`] | next departure, a lock | yes | shapes: one interval apart, queue of `burst` |
//! | [`SlidingLog`] | one entry per admission | no | exact window |
//! | [`SlidingCounter`] | two counts | no | weighted estimate |
//! | [`FixedWindow`] | one count | no | two budgets across a boundary |
//!
//! Every one of them changes its quota in place ([`RateLimiter::set_quota`]). A
//! [`ConcurrencyLimiter`] bounds requests in flight rather than per second: its [`Permit`] comes back
//! when dropped, so it is not a [`RateLimiter`].
//! ```
//! use ratelimit::{ConcurrencyLimiter, Quota, RateLimiter, SlidingLog};
//!
//! let per_window = SlidingLog::new(Quota::per_minute(600)?.with_burst(10)?);
//! per_window.check_n(10)?;
//! per_window.set_burst(20)?; // the log is kept; 10 more fit now
//! per_window.check_n(10)?;
//!
//! let in_flight = ConcurrencyLimiter::new(1);
//! let permit = in_flight.acquire()?;
//! assert!(in_flight.acquire().is_err());
//! drop(permit);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod clock;
mod concurrency;
mod error;
mod gcra;
mod global;
mod keyed;
mod leaky;
mod limiter;
mod multi;
mod quota;
#[cfg(feature = "redis")]
pub mod redis;
mod reserve;
mod tat;
mod token_bucket;
#[cfg(feature = "tower")]
pub mod tower;
#[cfg(feature = "async")]
mod until_ready;
pub mod verify;
mod window;

pub use clock::{Clock, FastClock, ManualClock, SystemClock};
pub use concurrency::{ConcurrencyLimiter, Permit};
pub use error::{Denied, InsufficientCapacity, NotUntil, Saturated};
pub use gcra::Gcra;
pub use global::Global;
pub use keyed::{AtCap, Bounds, Evictions, Keyed};
pub use leaky::{LeakyBucket, LeakyQueue};
pub use limiter::{KeyedRateLimiter, RateLimiter, Snapshot};
pub use multi::{MultiDenied, MultiLimiter, QuotaCell};
pub use quota::{Quota, QuotaError};
pub use reserve::{Reservation, Reserve};
pub use token_bucket::TokenBucket;
#[cfg(feature = "async")]
pub use until_ready::{Jitter, TokioClock, until_ready};
pub use window::{FixedWindow, SlidingCounter, SlidingLog};

// Limiters are shared between threads; errors cross threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Gcra>();
    send_sync::<TokenBucket>();
    send_sync::<LeakyBucket>();
    send_sync::<LeakyQueue>();
    send_sync::<SlidingLog>();
    send_sync::<SlidingCounter>();
    send_sync::<FixedWindow>();
    send_sync::<ConcurrencyLimiter>();
    send_sync::<Permit<'static>>();
    send_sync::<Keyed<String>>();
    send_sync::<MultiLimiter>();
    send_sync::<QuotaCell>();
    send_sync::<Denied>();
    send_sync::<Quota>();
    send_sync::<Snapshot>();
    send_sync::<Reservation<'static>>();
};
