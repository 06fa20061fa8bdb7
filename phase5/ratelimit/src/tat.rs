//! GCRA's arithmetic on a bare theoretical arrival time, for the limiters that keep many of them
//! (the keyed limiter's table, the multi-quota cells): the same decision [`Gcra`](crate::Gcra) makes
//! on its atomic, as pure functions of `(tat, now, n, quota)`.
use std::time::Duration;

use crate::{Denied, InsufficientCapacity, NotUntil, Quota, Snapshot};

/// `n` above the burst: never admissible.
#[inline]
pub(crate) fn over_burst(quota: &Quota, n: u32) -> Option<Denied> {
    let burst = quota.burst();
    (n > burst).then_some(Denied::InsufficientCapacity(InsufficientCapacity {
        requested: n,
        burst,
    }))
}

/// The TAT after admitting `n` (≤ burst) permits at `now`, or the denial (with its retry-after).
/// Any `tat ≤ now` is "full": the result does not depend on how far in the past it is.
#[inline]
pub(crate) fn admit(tat: u64, now: u64, n: u32, quota: &Quota) -> Result<u64, Denied> {
    debug_assert!(n <= quota.burst());
    let cost = quota.interval_ns().saturating_mul(u64::from(n)); // ≤ window
    let window = quota.window_ns();
    let next = tat.max(now).saturating_add(cost);
    if next - now > window {
        return Err(Denied::NotUntil(NotUntil::from_nanos(next - now - window)));
    }
    Ok(next)
}

/// The snapshot of a limiter whose TAT is `tat`, at `now`. A TAT more than the window ahead (a
/// reservation's debt) shows as no permits, a retry-after past one interval, a reset past the window.
pub(crate) fn snapshot(tat: u64, now: u64, quota: &Quota) -> Snapshot {
    let t = quota.interval_ns();
    let window = quota.window_ns();
    let behind = tat.saturating_sub(now);
    let remaining = window.saturating_sub(behind) / t;
    let retry_after = if remaining > 0 {
        0
    } else {
        // One permit is back once `tat` is no more than `(burst − 1)·T` ahead.
        behind - (window - t)
    };
    Snapshot {
        limit: quota.burst(),
        remaining: remaining as u32,
        retry_after: Duration::from_nanos(retry_after),
        reset_after: Duration::from_nanos(behind),
    }
}
