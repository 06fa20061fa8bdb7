//! Reservations: permits taken now for an action that may only happen later, which can be cancelled or
//! settled at their real cost.
//!
//! A check answers "now or not"; a reservation answers "when": [`Reserve::reserve_n`] always takes its
//! permits (unless more than the burst are asked for) and says at which clock reading the holder may
//! act. That is how a blocking [`Reserve::wait_n`] and an async `until_ready` are built, and how a
//! caller that does not yet know the cost of its work charges an estimate first and the truth later
//! ([`Reservation::settle`]).
//!
//! # Which algorithms can reserve
//! Reserving needs an algorithm whose state can *schedule the future*: one that can say, at the moment of
//! the request, the instant at which `n` more permits will have accrued, and record them as taken. GCRA
//! (the theoretical arrival time moves forward), the token bucket (tokens go negative) and the leaky
//! bucket as a meter (the level rises past the brim, drained at a known rate) all can. The window
//! algorithms cannot: a sliding log or counter and a fixed window only know what happened in the past
//! window, and a permit "borrowed" from a future window would need that window's count to exist before
//! its start (a log of future entries, a counter for every future window). A concurrency limiter has no
//! time at all: a permit comes back when a request ends, at an instant nobody can predict.
use std::fmt;
use std::time::Duration;

use crate::{Clock, Denied, RateLimiter};

/// What an algorithm records about a reservation so it can refund or charge it later; its fields mean
/// what the algorithm that made it says (for GCRA: the theoretical arrival time after it, and its cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    /// The algorithm's state just after this reservation (GCRA: the `tat` it wrote).
    pub(crate) end: u64,
    /// The quota epoch at reservation time (a refund under another quota is not attempted).
    pub(crate) epoch: u64,
    /// Cost of one permit in the algorithm's unit at reservation time (GCRA: the interval in ns).
    pub(crate) unit: u64,
    /// The permits reserved.
    pub(crate) permits: u32,
}

/// The rules shared by the limiters that number their reservations under a lock (token bucket,
/// leaky meter, leaky queue): each reservation or charge adds one to the limiter's `seq`, and a
/// ticket's `end` is the `seq` its reservation left.
impl Ticket {
    /// Whether this is the last reservation made (`seq` unchanged since), under the quota epoch in
    /// force: only then can its permits come back without a later reservation relying on them.
    pub(crate) fn is_last(&self, seq: u64, epoch: u64) -> bool {
        seq == self.end && epoch == self.epoch
    }

    /// The limiter's `seq` after refunding `permits` of this, the last reservation: wholly undone,
    /// the one before it is the last again; partly, this one still is.
    pub(crate) fn seq_after_refund(&self, permits: u32) -> u64 {
        if permits == self.permits {
            self.end - 1
        } else {
            self.end
        }
    }

    /// The cost of one permit charged to this reservation: its own unit under the quota it was made
    /// with, else the interval of the quota in force (`interval_ns`).
    pub(crate) fn charge_unit(&self, epoch: u64, interval_ns: u64) -> u64 {
        if epoch == self.epoch {
            self.unit
        } else {
            interval_ns
        }
    }
}

/// The operations a [`Reservation`] calls back into its limiter. Private: only the algorithms in this
/// crate make reservations, so their tickets can be trusted.
pub(crate) trait Ledger: Send + Sync {
    /// The limiter's clock: a reservation reads it (`delay`) and blocks on it (`wait`).
    fn ledger_clock(&self) -> &dyn Clock;
    /// Gives back `permits` of the reservation described by `ticket`, as far as nobody relied on them.
    fn refund(&self, ticket: &Ticket, permits: u32);
    /// Takes `permits` more for the reservation described by `ticket` (debt: no burst check).
    fn charge(&self, ticket: &Ticket, permits: u32);
}

/// Permits taken from a limiter for an action allowed at [`Reservation::ready_at`].
///
/// Dropping a reservation keeps its permits (the action is assumed to happen); [`Reservation::cancel`]
/// gives them back and [`Reservation::settle`] corrects the count to what the action really cost.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use ratelimit::{Gcra, ManualClock, Quota, RateLimiter, Reserve};
///
/// let clock = Arc::new(ManualClock::default());
/// let limiter = Gcra::with_clock(Quota::per_second(10)?.with_burst(1)?, clock.clone());
/// let first = limiter.reserve()?;
/// let second = limiter.reserve()?; // behind the first, one interval later
/// assert_eq!(first.delay(), Duration::ZERO);
/// assert_eq!(second.delay(), Duration::from_millis(100));
/// second.cancel(); // nothing was scheduled behind it: its permit comes back
/// first.wait(); // ready: returns at once
/// clock.advance(Duration::from_millis(100));
/// assert!(limiter.check().is_ok()); // the cancelled permit, free again
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a reservation holds permits: act at ready_at, or cancel it"]
pub struct Reservation<'a> {
    ledger: &'a dyn Ledger,
    permits: u32,
    made_at: Duration,
    ready_at: Duration,
    ticket: Ticket,
}

impl fmt::Debug for Reservation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("permits", &self.permits)
            .field("made_at", &self.made_at)
            .field("ready_at", &self.ready_at)
            .finish_non_exhaustive()
    }
}

impl<'a> Reservation<'a> {
    pub(crate) fn new(
        ledger: &'a dyn Ledger,
        permits: u32,
        made_at: Duration,
        ready_at: Duration,
        ticket: Ticket,
    ) -> Self {
        Reservation {
            ledger,
            permits,
            made_at,
            ready_at,
            ticket,
        }
    }

    /// The permits this reservation holds.
    pub fn permits(&self) -> u32 {
        self.permits
    }

    /// The clock reading at which the reservation was made.
    pub fn made_at(&self) -> Duration {
        self.made_at
    }

    /// The clock reading (on the limiter's clock) from which the holder may act.
    pub fn ready_at(&self) -> Duration {
        self.ready_at
    }

    /// How long from the limiter's clock reading now until the holder may act (zero once ready).
    pub fn delay(&self) -> Duration {
        self.delay_from(self.ledger.ledger_clock().now())
    }

    /// How long from the clock reading `now` until the holder may act (zero once ready).
    pub fn delay_from(&self, now: Duration) -> Duration {
        self.ready_at.saturating_sub(now)
    }

    /// Blocks on the limiter's clock until the reservation is ready; its permits stay taken.
    pub fn wait(self) {
        let d = self.delay();
        if !d.is_zero() {
            self.ledger.ledger_clock().sleep(d);
        }
    }

    /// The action will not happen: gives back the permits that a later caller can still use.
    ///
    /// What comes back is the part of this reservation still in the future (the rest had accrued and
    /// would have lapsed), and only while nothing was taken after it: permits scheduled behind it were
    /// placed on the assumption that these were taken, and handing these out again would let a newcomer
    /// act alongside them past the burst. Cancelling in reverse order returns everything. A limiter whose
    /// quota changed since the reservation refunds nothing. [`crate::Gcra`]'s docs give the argument.
    pub fn cancel(self) {
        self.ledger.refund(&self.ticket, self.permits);
    }

    /// The action cost `actual` permits, not [`Reservation::permits`]: refunds the difference (as
    /// [`Reservation::cancel`] would, for that many permits) or charges it (as debt: the extra is taken
    /// even past the burst, and later callers wait for it).
    pub fn settle(self, actual: u32) {
        match actual.cmp(&self.permits) {
            std::cmp::Ordering::Less => self.ledger.refund(&self.ticket, self.permits - actual),
            std::cmp::Ordering::Equal => {}
            std::cmp::Ordering::Greater => self.ledger.charge(&self.ticket, actual - self.permits),
        }
    }
}

/// A [`RateLimiter`] that can schedule permits in the future: reservations, and waiting built on them.
///
/// Implemented by the algorithms whose state can record permits not yet accrued (see the module docs
/// of `reserve` for why the window algorithms and the concurrency limiter cannot).
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use ratelimit::{Clock, Denied, ManualClock, Quota, RateLimiter, Reserve, TokenBucket};
///
/// // Sleeping on a ManualClock moves it, so the wait is visible and takes no real time.
/// let clock = Arc::new(ManualClock::default());
/// let limiter = TokenBucket::with_clock(Quota::per_second(10)?.with_burst(1)?, clock.clone());
/// limiter.check()?;
/// limiter.wait(Duration::from_secs(1))?; // the next token is 100 ms away: sleeps that long
/// assert_eq!(clock.now(), Duration::from_millis(100));
/// // Too far off for the timeout: returns at once, nothing taken.
/// assert!(matches!(limiter.wait(Duration::from_millis(50)), Err(Denied::NotUntil(_))));
/// assert_eq!(clock.now(), Duration::from_millis(100));
/// // A reservation takes the permits now for an action at `ready_at`.
/// let job = limiter.reserve_within(1, Duration::from_millis(100))?;
/// assert_eq!(job.ready_at(), Duration::from_millis(200));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Reserve: RateLimiter {
    /// Takes `n` permits for an action allowed within `max_wait` of now, or nothing: when the permits
    /// would only be ready later than that, [`Denied::NotUntil`] says how long they would take.
    /// `max_wait = Duration::ZERO` is a check; `n` above the burst is [`Denied::InsufficientCapacity`].
    fn reserve_within(&self, n: u32, max_wait: Duration) -> Result<Reservation<'_>, Denied>;

    /// Takes `n` permits however far in the future they are ready (x/time/rate's `ReserveN`).
    fn reserve_n(&self, n: u32) -> Result<Reservation<'_>, Denied> {
        self.reserve_within(n, Duration::MAX)
    }

    /// Takes one permit however far in the future it is ready.
    fn reserve(&self) -> Result<Reservation<'_>, Denied> {
        self.reserve_n(1)
    }

    /// Blocks on the limiter's clock until `n` permits are taken, if that happens within `timeout`.
    /// When it would not, returns at once with [`Denied::NotUntil`] and takes nothing (x/time/rate's
    /// `WaitN` does the same when the reservation's delay exceeds the context's deadline).
    fn wait_n(&self, n: u32, timeout: Duration) -> Result<(), Denied> {
        self.reserve_within(n, timeout)?.wait();
        Ok(())
    }

    /// Blocks until one permit is taken, if that happens within `timeout`.
    fn wait(&self, timeout: Duration) -> Result<(), Denied> {
        self.wait_n(1, timeout)
    }
}
