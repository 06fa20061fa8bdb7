//! [`Global`]: one limiter behind the keyed interface, for every key alike.
use crate::{Denied, KeyedRateLimiter, Quota, RateLimiter, Snapshot};

/// A single [`RateLimiter`] seen as a [`KeyedRateLimiter`] that ignores the key: every key draws
/// from the same quota. It is how a whole service gets one limit where a keyed limiter is expected
/// (the tower layer with any key extractor, for instance).
///
/// ```
/// use ratelimit::{Gcra, Global, KeyedRateLimiter, Quota};
///
/// let limiter = Global(Gcra::new(Quota::per_second(10)?.with_burst(2)?));
/// assert!(limiter.check_key("alice").is_ok());
/// assert!(limiter.check_key("bob").is_ok());
/// assert!(limiter.check_key("carol").is_err()); // the two before spent the shared burst
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Global<L>(pub L);

impl<L: RateLimiter, K: ?Sized> KeyedRateLimiter<K> for Global<L> {
    #[inline]
    fn check_key_n(&self, _key: &K, n: u32) -> Result<(), Denied> {
        self.0.check_n(n)
    }

    #[inline]
    fn snapshot_key(&self, _key: &K) -> Snapshot {
        self.0.snapshot()
    }

    fn quota(&self) -> Quota {
        self.0.quota()
    }
}
