//! The token bucket, three ways: lock-free (one `AtomicU64`), behind a mutex, and wrong.
//!
//! A token bucket holds up to `burst` tokens, gains one every `interval`, and an event passes when it
//! can take one. The textbook state is two numbers (tokens, time of the last refill), which needs a
//! lock (Go's `x/time/rate` takes one). But the two collapse into one: the instant the bucket *will be
//! full again* if nobody takes a token. At time `now` the bucket holds
//! `burst − (full_at − now) / interval` tokens (all `burst` once `full_at ≤ now`), and taking one token
//! pushes `full_at` one `interval` further. One number fits an `AtomicU64`, and a CAS loop updates it
//! without a lock. This is GCRA, the algorithm governor runs, seen as a bucket.
use harness::clock::Clock;
use parking_lot::Mutex;

use super::{Quota, RateLimiter, now_ns};
use phase1::shim::sync::atomic::{AtomicU64, Ordering};

/// The lock-free token bucket: the bucket's state is one timestamp, updated by compare-and-swap.
///
/// # How exact, when a thread is preempted
///
/// Counting each admission at the instant its check *read the clock*, no interleaving admits more
/// than `floor(e / interval) + burst` in an interval of length `e`: each successful CAS sets `full_at`
/// at least one `interval` past both the value it replaced and its own reading, so for admissions
/// `i..=m` (in CAS order) whose readings lie in `[a, b]`, `full_at` before `m` is at least
/// `reading_i + (m − i)·interval` and at most `reading_m + (burst − 1)·interval`.
///
/// A check is not one instant, though. One preempted between reading the clock and its CAS spends a
/// token at its older reading (when the bucket may have been fuller). Counting admissions at the
/// instants the checks *completed*, an interval can hold one extra admission per check that read the
/// clock before the interval began and completed inside it, and no more: at most `burst + k` at one
/// instant with `k` such checks, `floor(e / interval) + burst + k` over `e`. Each thread has at most
/// one check in flight, so `k ≤ threads`. The bound is tight: `tests/loom_ratelimit.rs` checks it
/// over every interleaving, and that stating it one smaller fails. No bucket that reads a clock
/// closes this window (reading the clock and taking the token are two steps); it only costs anything
/// when a thread is descheduled in those few instructions.
#[derive(Debug)]
pub struct TokenBucket<C> {
    /// The clock instant (ns) at which the bucket is full again if nobody takes a token; any value
    /// `≤ now` means "full now". Tokens held at `now`: `burst − (max(full_at, now) − now) / interval`.
    full_at: AtomicU64,
    /// `interval` in ns: how far one taken token pushes `full_at`.
    interval: u64,
    /// `(burst − 1) × interval`: a token is left iff `max(full_at, now) − now ≤ slack`.
    slack: u64,
    quota: Quota,
    clock: C,
}

impl<C: Clock> TokenBucket<C> {
    /// A full bucket enforcing `quota`, reading time from `clock`.
    pub fn new(quota: Quota, clock: C) -> Self {
        TokenBucket {
            full_at: AtomicU64::new(0),
            interval: quota.interval_ns(),
            slack: quota.window_ns() - quota.interval_ns(),
            quota,
            clock,
        }
    }

    /// The clock this bucket reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

impl<C: Clock> RateLimiter for TokenBucket<C> {
    #[inline]
    fn check(&self) -> bool {
        let now = now_ns(&self.clock);
        // Relaxed: `full_at` guards no other memory; it only has to be updated atomically. Every CAS on
        // it is ordered in its single modification order, so two threads can never both move it from
        // the same value: each admission is paid for by exactly one successful CAS.
        let mut seen = self.full_at.load(Ordering::Relaxed);
        loop {
            let base = seen.max(now);
            if base - now > self.slack {
                return false; // Empty: a denial costs one load and no write.
            }
            // Relaxed on both outcomes, for the reason above; a failure hands back the fresh value.
            match self.full_at.compare_exchange_weak(
                seen,
                base + self.interval,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => seen = actual,
            }
        }
    }
    fn quota(&self) -> Quota {
        self.quota
    }
    fn name(&self) -> &'static str {
        "token bucket (atomic)"
    }
}

/// The textbook token bucket: `(credit, last refill)` behind a mutex, refilled on every check.
#[derive(Debug)]
pub struct MutexTokenBucket<C> {
    state: Mutex<BucketState>,
    quota: Quota,
    clock: C,
}

#[derive(Debug)]
struct BucketState {
    /// Tokens held, in ns of refill time (`tokens × interval`), so refilling is exact integer
    /// arithmetic: `0 ..= burst × interval`.
    credit: u64,
    /// Clock instant (ns) of the last refill.
    last: u64,
}

impl<C: Clock> MutexTokenBucket<C> {
    /// A full bucket enforcing `quota`, reading time from `clock`.
    pub fn new(quota: Quota, clock: C) -> Self {
        MutexTokenBucket {
            state: Mutex::new(BucketState {
                credit: quota.window_ns(),
                last: 0,
            }),
            quota,
            clock,
        }
    }
}

impl<C: Clock> RateLimiter for MutexTokenBucket<C> {
    fn check(&self) -> bool {
        let mut s = self.state.lock();
        // Read under the lock, so `now` never runs backwards between holders.
        let now = now_ns(&self.clock).max(s.last);
        s.credit = (s.credit + (now - s.last)).min(self.quota.window_ns());
        s.last = now;
        if s.credit >= self.quota.interval_ns() {
            s.credit -= self.quota.interval_ns();
            true
        } else {
            false
        }
    }
    fn quota(&self) -> Quota {
        self.quota
    }
    fn name(&self) -> &'static str {
        "token bucket (mutex)"
    }
}

/// WRONG ON PURPOSE: the atomic token bucket with its CAS replaced by a load and a store.
///
/// Two threads that load the same `full_at` both see a token, both admit, and both store the same
/// new value: one token pays for two events. Loom finds the interleaving
/// (`tests/loom_ratelimit.rs`); the `token-bucket` section measures the over-admission under threads.
#[derive(Debug)]
pub struct NaiveTokenBucket<C> {
    /// As in [`TokenBucket`].
    full_at: AtomicU64,
    quota: Quota,
    clock: C,
}

impl<C: Clock> NaiveTokenBucket<C> {
    /// A full bucket enforcing (it claims) `quota`.
    pub fn new(quota: Quota, clock: C) -> Self {
        NaiveTokenBucket {
            full_at: AtomicU64::new(0),
            quota,
            clock,
        }
    }
}

impl<C: Clock> RateLimiter for NaiveTokenBucket<C> {
    fn check(&self) -> bool {
        let now = now_ns(&self.clock);
        // Relaxed: the ordering is not the bug; the gap between this load and the store below is.
        let seen = self.full_at.load(Ordering::Relaxed);
        let base = seen.max(now);
        if base - now > self.quota.window_ns() - self.quota.interval_ns() {
            return false;
        }
        // Another thread may have taken the same token since the load: its update is overwritten.
        self.full_at
            .store(base + self.quota.interval_ns(), Ordering::Relaxed);
        true
    }
    fn quota(&self) -> Quota {
        self.quota
    }
    fn name(&self) -> &'static str {
        "token bucket (load+store, wrong)"
    }
}
