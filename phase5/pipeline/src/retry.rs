//! Per-stage retry with exponential backoff, then a dead letter.
//!
//! Go code retries in a loop around the call, sleeping between attempts; Akka Streams restarts a
//! failed stage with backoff, and Benthos sends what still fails to a dead-letter output. Here a
//! `try_map` stage may retry each item ([`Retry`]) and hand the item, its last error and the number of
//! attempts to a dead-letter sink ([`DeadLetter`]) when every attempt failed. The backoff sleeps in the
//! item's own slot: it counts as the stage's busy time, as the item occupies a slot meanwhile.
use std::time::Duration;

/// How often, and how far apart, a failing item is tried again.
///
/// ```
/// use pipeline::Retry;
/// use std::time::Duration;
///
/// let retry = Retry::exponential(4, Duration::from_millis(10), Duration::from_millis(25));
/// let waits: Vec<_> = (1..4).map(|n| retry.backoff(n)).collect();
/// assert_eq!(waits, [Duration::from_millis(10), Duration::from_millis(20), Duration::from_millis(25)]);
/// assert_eq!(Retry::none().attempts(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    attempts: u32,
    first: Duration,
    max: Duration,
}

impl Retry {
    /// One attempt: a failure goes to the dead letter at once.
    pub fn none() -> Self {
        Retry {
            attempts: 1,
            first: Duration::ZERO,
            max: Duration::ZERO,
        }
    }

    /// Up to `attempts` tries in all (0 is taken as 1); the n-th retry waits `first × 2^(n-1)`, at
    /// most `max`.
    pub fn exponential(attempts: u32, first: Duration, max: Duration) -> Self {
        Retry {
            attempts: attempts.max(1),
            first,
            max,
        }
    }

    /// Tries in all, the first one included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The wait before retry number `n` (from 1).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// An item every attempt failed on, handed to the dead-letter sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter<T, E> {
    /// The source item's sequence number.
    pub seq: u64,
    /// The item as the stage received it.
    pub item: T,
    /// The last attempt's error.
    pub error: E,
    /// How many attempts were made.
    pub attempts: u32,
}
