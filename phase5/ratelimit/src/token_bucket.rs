//! The token bucket with x/time/rate's semantics: `tokens` and the time `last` they were counted,
//! behind a lock; tokens accrue continuously (a fractional part carries over) up to the burst, and a
//! reservation may take them below zero.
//!
//! x/time/rate keeps `tokens` as a float64 and rounds when it converts to durations; the window-bound
//! property test caught exactly that here (a first version with `f64` made a reservation ready 1 ns
//! late, the next one on time: two permits 99.999999 ms apart at burst 1). So tokens are counted in
//! nanoseconds of accrual (`tokens × T`), where the fractional carry is exact.
use std::sync::PoisonError;
use std::time::Duration;

use shim::sync::Mutex;

use crate::clock::{Clock, FastClock, now_ns};
use crate::reserve::{Ledger, Reservation, Reserve, Ticket};
use crate::{Denied, InsufficientCapacity, NotUntil, Quota, RateLimiter, Snapshot};

/// A token bucket as `golang.org/x/time/rate` keeps it: full at the start, `1 / T` tokens a
/// nanosecond, at most `burst` held, negative while reservations are outstanding.
///
/// ```
/// use ratelimit::{Quota, RateLimiter, TokenBucket};
///
/// let bucket = TokenBucket::new(Quota::per_second(10)?.with_burst(3)?);
/// bucket.check_n(3)?;
/// assert!(bucket.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Changing the quota counts the tokens at the old rate up to now, caps them at the new burst and
/// accrues at the new rate from then on; the lock makes it atomic. A cancel or a settle below the
/// estimate refunds (capped at the burst) only if nothing was taken since the reservation, the rule
/// [`crate::Gcra`]'s docs argue.
#[derive(Debug)]
pub struct TokenBucket<C = FastClock> {
    state: Mutex<State>,
    clock: C,
}

#[derive(Debug)]
struct State {
    /// Tokens × T: nanoseconds of accrual held (negative while reservations wait).
    tokens: i128,
    last: u64,
    quota: Quota,
    /// Counts takes: a reservation may refund only while it is the last one.
    seq: u64,
    /// Counts quota changes.
    epoch: u64,
}

impl State {
    fn unit(&self) -> i128 {
        i128::from(self.quota.interval_ns())
    }

    fn full(&self) -> i128 {
        self.unit() * i128::from(self.quota.burst())
    }

    /// Tokens (× T) at `now` (never counting backwards if the clock did).
    fn tokens_at(&self, now: u64) -> i128 {
        let elapsed = i128::from(now.saturating_sub(self.last));
        (self.tokens + elapsed).min(self.full())
    }

    fn advance(&mut self, now: u64) {
        self.tokens = self.tokens_at(now);
        self.last = self.last.max(now);
    }

    /// Nanoseconds until `tokens` (× T) reaches `target` whole tokens.
    fn time_to(&self, tokens: i128, target: u32) -> u64 {
        let want = self.unit() * i128::from(target);
        (want - tokens).clamp(0, i128::from(u64::MAX)) as u64
    }
}

impl TokenBucket<FastClock> {
    /// A full bucket enforcing `quota` on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        TokenBucket::with_clock(quota, FastClock::new())
    }
}

impl<C: Clock> TokenBucket<C> {
    /// A full bucket enforcing `quota`, reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        let now = now_ns(&clock);
        TokenBucket {
            state: Mutex::new(State {
                tokens: i128::from(quota.interval_ns()) * i128::from(quota.burst()),
                last: now,
                quota,
                seq: 0,
                epoch: 0,
            }),
            clock,
        }
    }

    /// The tokens held now (fractional; negative while reservations wait).
    pub fn tokens(&self) -> f64 {
        let now = now_ns(&self.clock);
        let s = self.lock();
        s.tokens_at(now) as f64 / s.unit() as f64
    }

    fn lock(&self) -> shim::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, n: u32, max_wait_ns: u64) -> Result<(u64, u64, Ticket), Denied> {
        let now = now_ns(&self.clock);
        let mut s = self.lock();
        let burst = s.quota.burst();
        if n > burst {
            return Err(Denied::InsufficientCapacity(InsufficientCapacity {
                requested: n,
                burst,
            }));
        }
        let left = s.tokens_at(now) - s.unit() * i128::from(n);
        let wait = s.time_to(left, 0);
        if wait > max_wait_ns {
            return Err(Denied::NotUntil(NotUntil::from_nanos(wait)));
        }
        s.advance(now);
        s.tokens = left;
        s.seq += 1;
        Ok((
            now,
            now.saturating_add(wait),
            Ticket {
                end: s.seq,
                epoch: s.epoch,
                unit: 0,
                permits: n,
            },
        ))
    }
}

impl<C: Clock> RateLimiter for TokenBucket<C> {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.take(n, 0).map(|_| ())
    }

    fn snapshot(&self) -> Snapshot {
        let now = now_ns(&self.clock);
        let s = self.lock();
        let tokens = s.tokens_at(now);
        let burst = s.quota.burst();
        Snapshot {
            limit: burst,
            remaining: (tokens.max(0) / s.unit()) as u32,
            retry_after: Duration::from_nanos(s.time_to(tokens, 1)),
            reset_after: Duration::from_nanos(s.time_to(tokens, burst)),
        }
    }

    fn quota(&self) -> Quota {
        self.lock().quota
    }

    fn set_quota(&self, quota: Quota) {
        let now = now_ns(&self.clock);
        let mut s = self.lock();
        s.advance(now);
        // Whole and fractional tokens convert to the new interval (rounding toward fewer).
        let tokens = (s.tokens * i128::from(quota.interval_ns())).div_euclid(s.unit());
        s.quota = quota;
        s.tokens = tokens.min(s.full());
        s.epoch += 1;
    }

    fn name(&self) -> &'static str {
        "token bucket (x/time/rate)"
    }
}

impl<C: Clock> Ledger for TokenBucket<C> {
    fn ledger_clock(&self) -> &dyn Clock {
        &self.clock
    }

    fn refund(&self, ticket: &Ticket, permits: u32) {
        let now = now_ns(&self.clock);
        let mut s = self.lock();
        if !ticket.is_last(s.seq, s.epoch) {
            return;
        }
        s.advance(now);
        s.tokens = (s.tokens + s.unit() * i128::from(permits)).min(s.full());
        s.seq = ticket.seq_after_refund(permits);
    }

    fn charge(&self, _ticket: &Ticket, permits: u32) {
        let now = now_ns(&self.clock);
        let mut s = self.lock();
        s.advance(now);
        s.tokens -= s.unit() * i128::from(permits);
        s.seq += 1;
    }
}

impl<C: Clock> Reserve for TokenBucket<C> {
    fn reserve_within(&self, n: u32, max_wait: Duration) -> Result<Reservation<'_>, Denied> {
        let max_wait_ns = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
        let (now, ready, ticket) = self.take(n, max_wait_ns)?;
        Ok(Reservation::new(
            self,
            n,
            Duration::from_nanos(now),
            Duration::from_nanos(ready),
            ticket,
        ))
    }
}
