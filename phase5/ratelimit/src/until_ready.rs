//! Waiting asynchronously for permits (feature `async`): [`until_ready`] reserves, sleeps on tokio's
//! timer until the reservation is ready (plus an optional [`Jitter`]), and cancels the reservation if
//! the future is dropped first, so an abandoned wait leaves no permits taken.
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use crate::{Clock, Denied, Reservation, Reserve};

/// A random extra delay in `[0, max]` added after a wait, so clients that were refused together do not
/// all retry in the same instant (the thundering herd). `Jitter::default()` adds nothing.
///
/// ```
/// use std::time::Duration;
/// use ratelimit::Jitter;
///
/// let jitter = Jitter::up_to(Duration::from_millis(50));
/// for _ in 0..100 {
///     assert!(jitter.sample() <= Duration::from_millis(50));
/// }
/// assert_eq!(Jitter::default().sample(), Duration::ZERO);
/// // Pass it to `until_ready(&limiter, n, jitter)`: refused clients wake spread over 50 ms.
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Jitter {
    max: Duration,
}

impl Jitter {
    /// A uniformly random extra delay of at most `max`.
    pub fn up_to(max: Duration) -> Jitter {
        Jitter { max }
    }

    /// The largest extra delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// One draw, in `[0, max]` (seeded per call by std's random hasher keys; no dependency).
    pub fn sample(&self) -> Duration {
        let max = u64::try_from(self.max.as_nanos()).unwrap_or(u64::MAX);
        if max == 0 {
            return Duration::ZERO;
        }
        let r = RandomState::new().hash_one(0u8);
        Duration::from_nanos(r % max.saturating_add(1).max(1))
    }
}

/// Cancels the reservation unless disarmed: what a dropped future leaves behind.
struct CancelOnDrop<'a>(Option<Reservation<'a>>);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.0.take() {
            r.cancel();
        }
    }
}

/// Waits until `n` permits are taken from `limiter`, sleeping on tokio's timer, then `jitter` more.
///
/// The permits are reserved at the first poll; dropping the future before it completes cancels the
/// reservation (what comes back follows [`Reservation::cancel`]: everything, if nothing was taken
/// after it). `n` above the burst is [`Denied::InsufficientCapacity`] at once. The limiter's clock and
/// tokio's must agree: use [`TokioClock`] (as the tests do, with paused time) or a system clock.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use ratelimit::{Gcra, Jitter, Quota, TokioClock, until_ready};
///
/// let limiter = Gcra::with_clock(Quota::per_second(10)?.with_burst(1)?, TokioClock::new());
/// let start = tokio::time::Instant::now();
/// until_ready(&limiter, 1, Jitter::default()).await?; // at once
/// until_ready(&limiter, 1, Jitter::up_to(Duration::from_millis(5))).await?; // 100..=105 ms
/// let waited = start.elapsed();
/// assert!(waited >= Duration::from_millis(100) && waited <= Duration::from_millis(105));
/// # Ok(())
/// # }
/// ```
pub async fn until_ready<L: Reserve + ?Sized>(
    limiter: &L,
    n: u32,
    jitter: Jitter,
) -> Result<(), Denied> {
    let mut guard = CancelOnDrop(Some(limiter.reserve_n(n)?));
    let delay = guard.0.as_ref().map_or(Duration::ZERO, Reservation::delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // Ready: the permits are ours; the jitter only delays acting, which never over-admits.
    guard.0 = None;
    let extra = jitter.sample();
    if !extra.is_zero() {
        tokio::time::sleep(extra).await;
    }
    Ok(())
}

/// A [`Clock`] reading tokio's time (`tokio::time::Instant`), so a limiter follows tokio's paused
/// clock in tests. Its blocking `sleep` is `std::thread::sleep`, as tokio's time cannot be slept on
/// outside a runtime; use [`until_ready`] to wait.
///
/// ```
/// use std::time::Duration;
/// use ratelimit::{Gcra, Quota, RateLimiter, TokioClock};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?.block_on(async {
/// // In a test with tokio's time paused, the limiter follows `tokio::time::advance`.
/// let limiter = Gcra::with_clock(Quota::per_second(1)?, TokioClock::new());
/// limiter.check()?;
/// assert!(limiter.check().is_err());
/// tokio::time::advance(Duration::from_secs(1)).await;
/// assert!(limiter.check().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose origin is tokio's now.
    pub fn new() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}
