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
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod clock;
mod error;
mod gcra;
mod global;
mod limiter;
mod quota;
#[cfg(feature = "tower")]
pub mod tower;

pub use clock::{Clock, FastClock, SystemClock};
pub use error::{Denied, InsufficientCapacity, NotUntil};
pub use gcra::Gcra;
pub use global::Global;
pub use limiter::{KeyedRateLimiter, RateLimiter, Snapshot};
pub use quota::{Quota, QuotaError};

// Limiters are shared between threads; errors cross threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Gcra>();
    send_sync::<Denied>();
    send_sync::<Quota>();
    send_sync::<Snapshot>();
};
