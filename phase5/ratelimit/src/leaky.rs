//! The leaky bucket, both ways the literature uses the name: as a *meter* (a bucket that drains at the
//! rate and overflows past the burst: a request passes if its water fits) and as a *shaping queue*
//! (requests wait in a queue of `burst` places and leave one interval apart).
use std::sync::PoisonError;
use std::time::Duration;

use shim::sync::{Mutex, MutexGuard};

use crate::clock::{Clock, FastClock, now_ns};
use crate::reserve::{Ledger, Reservation, Reserve, Ticket};
use crate::{Denied, InsufficientCapacity, NotUntil, Quota, RateLimiter, Snapshot};

#[derive(Debug)]
struct Meter {
    /// Water in the bucket at `last`, in ns of draining (`n` permits pour `n·T`).
    level: u64,
    last: u64,
    quota: Quota,
    /// Counts pours: a reservation may refund only while it is the last one.
    seq: u64,
    epoch: u64,
}

impl Meter {
    fn drain(&mut self, now: u64) {
        self.level = self.level.saturating_sub(now.saturating_sub(self.last));
        self.last = self.last.max(now);
    }
}

/// The leaky bucket as a meter: each permit pours `T` of water, the bucket drains one ns of water a
/// ns and holds `burst·T`; a request passes when its water fits. The same admissions as GCRA (whose
/// `tat − now` is this level), kept as two numbers behind a lock the way the textbook states it.
///
/// ```
/// use ratelimit::{LeakyBucket, Quota, RateLimiter};
///
/// let meter = LeakyBucket::new(Quota::per_second(10)?.with_burst(2)?);
/// meter.check_n(2)?;
/// assert!(meter.check().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A reservation pours past the brim and is ready when the level is back to the brim. Changing the
/// quota keeps the permits held (room left, converted at the new rate and capped at the new burst).
#[derive(Debug)]
pub struct LeakyBucket<C = FastClock> {
    state: Mutex<Meter>,
    clock: C,
}

impl LeakyBucket<FastClock> {
    /// An empty meter enforcing `quota` on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        LeakyBucket::with_clock(quota, FastClock::new())
    }
}

impl<C: Clock> LeakyBucket<C> {
    /// An empty meter enforcing `quota`, reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        LeakyBucket {
            state: Mutex::new(Meter {
                level: 0,
                last: now_ns(&clock),
                quota,
                seq: 0,
                epoch: 0,
            }),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Meter> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pour(&self, n: u32, max_wait_ns: u64) -> Result<(u64, u64, Ticket), Denied> {
        let now = now_ns(&self.clock);
        let mut m = self.lock();
        let burst = m.quota.burst();
        if n > burst {
            return Err(Denied::InsufficientCapacity(InsufficientCapacity {
                requested: n,
                burst,
            }));
        }
        m.drain(now);
        let level = m
            .level
            .saturating_add(m.quota.interval_ns().saturating_mul(u64::from(n)));
        let wait = level.saturating_sub(m.quota.window_ns());
        if wait > max_wait_ns {
            return Err(Denied::NotUntil(NotUntil::from_nanos(wait)));
        }
        m.level = level;
        m.seq += 1;
        let ticket = Ticket {
            end: m.seq,
            epoch: m.epoch,
            unit: m.quota.interval_ns(),
            permits: n,
        };
        Ok((now, now.saturating_add(wait), ticket))
    }
}

impl<C: Clock> RateLimiter for LeakyBucket<C> {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.pour(n, 0).map(|_| ())
    }

    fn snapshot(&self) -> Snapshot {
        let now = now_ns(&self.clock);
        let mut m = self.lock();
        m.drain(now);
        let (t, w) = (m.quota.interval_ns(), m.quota.window_ns());
        let remaining = w.saturating_sub(m.level) / t;
        Snapshot {
            limit: m.quota.burst(),
            remaining: remaining as u32,
            retry_after: Duration::from_nanos((m.level + t).saturating_sub(w)),
            reset_after: Duration::from_nanos(m.level),
        }
    }

    fn quota(&self) -> Quota {
        self.lock().quota
    }

    fn set_quota(&self, quota: Quota) {
        let now = now_ns(&self.clock);
        let mut m = self.lock();
        m.drain(now);
        let (t_old, w_old) = (
            i128::from(m.quota.interval_ns()),
            i128::from(m.quota.window_ns()),
        );
        let (t_new, w_new) = (
            i128::from(quota.interval_ns()),
            i128::from(quota.window_ns()),
        );
        // Room left (negative: poured past the brim), converted and capped at the new brim.
        let room = ((w_old - i128::from(m.level)) * t_new)
            .div_euclid(t_old)
            .min(w_new);
        m.level = (w_new - room).clamp(0, i128::from(u64::MAX)) as u64;
        m.quota = quota;
        m.epoch += 1;
    }

    fn name(&self) -> &'static str {
        "leaky bucket (meter)"
    }
}

impl<C: Clock> Ledger for LeakyBucket<C> {
    fn ledger_clock(&self) -> &dyn Clock {
        &self.clock
    }

    fn refund(&self, ticket: &Ticket, permits: u32) {
        let now = now_ns(&self.clock);
        let mut m = self.lock();
        if !ticket.is_last(m.seq, m.epoch) {
            return;
        }
        m.drain(now);
        // What has drained already had lapsed; the rest of this pour comes out.
        m.level = m
            .level
            .saturating_sub(ticket.unit.saturating_mul(u64::from(permits)));
        m.seq = ticket.seq_after_refund(permits);
    }

    fn charge(&self, ticket: &Ticket, permits: u32) {
        let now = now_ns(&self.clock);
        let mut m = self.lock();
        m.drain(now);
        let unit = ticket.charge_unit(m.epoch, m.quota.interval_ns());
        m.level = m
            .level
            .saturating_add(unit.saturating_mul(u64::from(permits)));
        m.seq += 1;
    }
}

impl<C: Clock> Reserve for LeakyBucket<C> {
    fn reserve_within(&self, n: u32, max_wait: Duration) -> Result<Reservation<'_>, Denied> {
        let max_wait_ns = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
        let (now, ready, ticket) = self.pour(n, max_wait_ns)?;
        Ok(Reservation::new(
            self,
            n,
            Duration::from_nanos(now),
            Duration::from_nanos(ready),
            ticket,
        ))
    }
}

#[derive(Debug)]
struct Queue {
    /// The clock reading at which the queue is empty again (the next free departure slot).
    next: u64,
    quota: Quota,
    seq: u64,
    epoch: u64,
}

/// The leaky bucket as a shaping queue: requests never leave closer than one interval apart; up to
/// `burst` permits wait in the queue, more are refused. A request's reservation says when it leaves.
///
/// ```
/// use std::time::Duration;
/// use ratelimit::{LeakyQueue, Quota, Reserve};
///
/// let queue = LeakyQueue::new(Quota::per_second(10)?.with_burst(3)?);
/// let first = queue.reserve()?;
/// let second = queue.reserve()?;
/// assert_eq!(second.ready_at() - first.ready_at(), Duration::from_millis(100));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A check passes only when the queue is empty (no burst: spacing is the point). Changing the quota
/// keeps the departures already scheduled and spaces the next ones at the new interval.
#[derive(Debug)]
pub struct LeakyQueue<C = FastClock> {
    state: Mutex<Queue>,
    clock: C,
}

impl LeakyQueue<FastClock> {
    /// An empty queue enforcing `quota` on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        LeakyQueue::with_clock(quota, FastClock::new())
    }
}

impl<C: Clock> LeakyQueue<C> {
    /// An empty queue enforcing `quota`, reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        LeakyQueue {
            state: Mutex::new(Queue {
                next: 0,
                quota,
                seq: 0,
                epoch: 0,
            }),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enqueue(&self, n: u32, max_wait_ns: u64) -> Result<(u64, u64, Ticket), Denied> {
        let now = now_ns(&self.clock);
        let mut q = self.lock();
        let (t, burst) = (q.quota.interval_ns(), q.quota.burst());
        if n > burst {
            return Err(Denied::InsufficientCapacity(InsufficientCapacity {
                requested: n,
                burst,
            }));
        }
        let slot = q.next.max(now);
        let wait = slot - now;
        // Permits queued ahead (a partly departed one counts whole) must leave room for `n`: the
        // queue has room once `wait ≤ (burst − n)·T`, one permit leaving every interval.
        let room_in = wait.saturating_sub(t.saturating_mul(u64::from(burst - n)));
        let too_late = wait.saturating_sub(max_wait_ns);
        if room_in > 0 || too_late > 0 {
            return Err(Denied::NotUntil(NotUntil::from_nanos(
                room_in.max(too_late),
            )));
        }
        q.next = slot.saturating_add(t.saturating_mul(u64::from(n)));
        q.seq += 1;
        let ticket = Ticket {
            end: q.seq,
            epoch: q.epoch,
            unit: t,
            permits: n,
        };
        Ok((now, slot, ticket))
    }
}

impl<C: Clock> RateLimiter for LeakyQueue<C> {
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.enqueue(n, 0).map(|_| ())
    }

    fn snapshot(&self) -> Snapshot {
        let now = now_ns(&self.clock);
        let q = self.lock();
        let burst = q.quota.burst();
        let wait = q.next.saturating_sub(now);
        Snapshot {
            limit: burst,
            // A request leaves at once only from an empty queue, and then up to the burst can.
            remaining: if wait == 0 { burst } else { 0 },
            retry_after: Duration::from_nanos(wait),
            reset_after: Duration::from_nanos(wait),
        }
    }

    fn quota(&self) -> Quota {
        self.lock().quota
    }

    fn set_quota(&self, quota: Quota) {
        let mut q = self.lock();
        q.quota = quota;
        q.epoch += 1;
    }

    fn name(&self) -> &'static str {
        "leaky bucket (shaping queue)"
    }
}

impl<C: Clock> Ledger for LeakyQueue<C> {
    fn ledger_clock(&self) -> &dyn Clock {
        &self.clock
    }

    fn refund(&self, ticket: &Ticket, permits: u32) {
        let now = now_ns(&self.clock);
        let mut q = self.lock();
        if !ticket.is_last(q.seq, q.epoch) {
            return;
        }
        // The last in the queue leaves it: its departure slots free up, those in the past excepted.
        let freed = ticket.unit.saturating_mul(u64::from(permits));
        q.next = q.next.saturating_sub(freed).max(now.min(q.next));
        q.seq = ticket.seq_after_refund(permits);
    }

    fn charge(&self, ticket: &Ticket, permits: u32) {
        let now = now_ns(&self.clock);
        let mut q = self.lock();
        let unit = ticket.charge_unit(q.epoch, q.quota.interval_ns());
        q.next = q
            .next
            .max(now)
            .saturating_add(unit.saturating_mul(u64::from(permits)));
        q.seq += 1;
    }
}

impl<C: Clock> Reserve for LeakyQueue<C> {
    fn reserve_within(&self, n: u32, max_wait: Duration) -> Result<Reservation<'_>, Denied> {
        let max_wait_ns = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
        let (now, ready, ticket) = self.enqueue(n, max_wait_ns)?;
        Ok(Reservation::new(
            self,
            n,
            Duration::from_nanos(now),
            Duration::from_nanos(ready),
            ticket,
        ))
    }
}
