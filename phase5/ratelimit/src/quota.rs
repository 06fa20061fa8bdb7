//! The quota every limiter enforces: `count` permits per `period`, at most `burst` at one instant.
use std::fmt;
use std::time::Duration;

/// `count` permits per `period`, bursts of at most `burst`: the contract every limiter enforces.
///
/// Internally a quota is its *emission interval* `T = period / count` (whole nanoseconds, rounded
/// down; `Quota::interval`) and its burst. In any closed interval of length `e` a limiter admits at
/// most `floor(e / T) + burst` permits ([`Quota::allowed`]); the burst defaults to `count`.
///
/// ```
/// use std::time::Duration;
/// use ratelimit::Quota;
///
/// let q = Quota::per_second(100)?.with_burst(10)?;
/// assert_eq!(q.interval(), Duration::from_millis(10));
/// assert_eq!(q.burst(), 10);
/// assert_eq!(q.allowed(Duration::from_secs(1)), 110);
/// # Ok::<(), ratelimit::QuotaError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    interval_ns: u64,
    burst: u32,
}

/// Why a [`Quota`] could not be built.
///
/// ```
/// use std::time::Duration;
/// use ratelimit::{Quota, QuotaError};
///
/// assert_eq!(Quota::per_second(0), Err(QuotaError::ZeroCount));
/// assert_eq!(Quota::per_second(10)?.with_burst(0), Err(QuotaError::ZeroBurst));
/// // 10^10 permits a second: an interval under 1 ns.
/// assert_eq!(Quota::new(u32::MAX, Duration::from_millis(1)), Err(QuotaError::IntervalOutOfRange));
/// # Ok::<(), QuotaError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaError {
    /// The count of permits per period was zero.
    ZeroCount,
    /// The burst was zero: no request could ever pass.
    ZeroBurst,
    /// `period / count` is below one nanosecond, or the period does not fit in `u64` nanoseconds.
    IntervalOutOfRange,
}

impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaError::ZeroCount => write!(f, "a quota needs at least one permit per period"),
            QuotaError::ZeroBurst => write!(f, "a quota needs a burst of at least one"),
            QuotaError::IntervalOutOfRange => write!(
                f,
                "period / count must be between 1 ns and u64::MAX ns (584 years)"
            ),
        }
    }
}

impl std::error::Error for QuotaError {}

impl Quota {
    /// `count` permits per `period`, burst `count`.
    pub fn new(count: u32, period: Duration) -> Result<Quota, QuotaError> {
        if count == 0 {
            return Err(QuotaError::ZeroCount);
        }
        let period_ns =
            u64::try_from(period.as_nanos()).map_err(|_| QuotaError::IntervalOutOfRange)?;
        let interval_ns = period_ns / u64::from(count);
        if interval_ns == 0 {
            return Err(QuotaError::IntervalOutOfRange);
        }
        Ok(Quota {
            interval_ns,
            burst: count,
        })
    }

    /// One permit every `interval`, burst 1 (add one with [`Quota::with_burst`]).
    pub fn with_interval(interval: Duration) -> Result<Quota, QuotaError> {
        Quota::new(1, interval)
    }

    /// `count` permits a second, burst `count`.
    pub fn per_second(count: u32) -> Result<Quota, QuotaError> {
        Quota::new(count, Duration::from_secs(1))
    }

    /// `count` permits a minute, burst `count`.
    pub fn per_minute(count: u32) -> Result<Quota, QuotaError> {
        Quota::new(count, Duration::from_secs(60))
    }

    /// `count` permits an hour, burst `count`.
    pub fn per_hour(count: u32) -> Result<Quota, QuotaError> {
        Quota::new(count, Duration::from_secs(3600))
    }

    /// The same rate with bursts of at most `burst`.
    pub fn with_burst(self, burst: u32) -> Result<Quota, QuotaError> {
        if burst == 0 {
            return Err(QuotaError::ZeroBurst);
        }
        Ok(Quota { burst, ..self })
    }

    /// A quota from its parts, already validated (`interval_ns ≥ 1`, `burst ≥ 1`).
    pub(crate) fn from_parts(interval_ns: u64, burst: u32) -> Quota {
        debug_assert!(interval_ns >= 1 && burst >= 1);
        Quota { interval_ns, burst }
    }

    /// The time one permit takes to replenish (the emission interval `T`).
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// [`Quota::interval`] in nanoseconds.
    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    /// The most permits admitted at one instant.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The time an empty limiter takes to be full again: `burst × T` (saturating).
    pub fn replenish_all(&self) -> Duration {
        Duration::from_nanos(self.window_ns())
    }

    /// [`Quota::replenish_all`] in nanoseconds (saturating); also the window of the sliding and fixed
    /// window algorithms, whose budget is `burst` permits.
    pub fn window_ns(&self) -> u64 {
        self.interval_ns.saturating_mul(u64::from(self.burst))
    }

    /// The most permits any closed interval of length `elapsed` may hold: `floor(elapsed / T) + burst`.
    pub fn allowed(&self, elapsed: Duration) -> u64 {
        let e = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        e / self.interval_ns + u64::from(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_quotas_are_errors_not_panics() {
        assert_eq!(Quota::per_second(0), Err(QuotaError::ZeroCount));
        assert_eq!(
            Quota::per_second(1).unwrap().with_burst(0),
            Err(QuotaError::ZeroBurst)
        );
        assert_eq!(
            Quota::new(2, Duration::from_nanos(1)),
            Err(QuotaError::IntervalOutOfRange)
        );
        assert_eq!(
            Quota::with_interval(Duration::MAX),
            Err(QuotaError::IntervalOutOfRange)
        );
    }

    #[test]
    fn interval_is_period_over_count_rounded_down() {
        let q = Quota::per_second(3).unwrap();
        assert_eq!(q.interval_ns(), 333_333_333);
        assert_eq!(q.burst(), 3);
        assert_eq!(q.window_ns(), 999_999_999);
    }
}
