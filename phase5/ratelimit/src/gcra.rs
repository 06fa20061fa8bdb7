//! GCRA, the generic cell rate algorithm: a whole token bucket in one `AtomicU64`.
//!
//! A token bucket's textbook state is two numbers (tokens, time of the last refill), which needs a
//! lock. GCRA keeps one: the *theoretical arrival time* `tat`, the instant the bucket would be full
//! again if nobody took a permit. At clock reading `now` the bucket is `max(tat, now) − now` short of
//! full, in units of the emission interval `T`; a request of `n` permits passes when, after pushing
//! `tat` on by `n·T`, it is at most `burst·T` ahead of `now`. One number fits an atomic and a CAS loop
//! updates it without a lock; a denial is one load and no write.
use std::sync::PoisonError;
use std::time::Duration;

use shim::sync::Mutex;
use shim::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

use crate::clock::{Clock, FastClock, now_ns};
use crate::reserve::{Ledger, Reservation, Reserve, Ticket};
use crate::{Denied, InsufficientCapacity, NotUntil, Quota, RateLimiter, Snapshot};

/// Bit 63 of the state word: a quota change is in progress; checks wait for it to end.
const CHANGING: u64 = 1 << 63;
/// Bits 60–62 of the state word: the quota's generation, mod 8. Every change moves it on, so a word
/// written under one quota never equals a word written under the next seven, whatever the times.
const GEN_SHIFT: u32 = 60;
const GEN: u64 = 0b111 << GEN_SHIFT;
/// Bits 0–59: `tat` itself. Its largest value (36 years after the clock's origin); arithmetic
/// saturates there.
const MAX_TAT: u64 = (1 << GEN_SHIFT) - 1;

/// The state word on a cache line (a pair of lines: x86 fetches them in pairs) of its own. Every
/// admission writes it; the quota fields beside it are only read, and would otherwise be on the
/// line the other cores keep taking away (measured: 2 threads on one limiter ~10 % slower).
#[derive(Debug)]
#[repr(align(128))]
struct OwnLine(AtomicU64);

impl std::ops::Deref for OwnLine {
    type Target = AtomicU64;
    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

/// The lock-free GCRA limiter.
///
/// ```
/// use ratelimit::{Gcra, Quota, RateLimiter};
///
/// let limiter = Gcra::new(Quota::per_second(10)?.with_burst(2)?);
/// assert!(limiter.check().is_ok());
/// assert!(limiter.check().is_ok());
/// let denied = limiter.check().unwrap_err();
/// assert!(denied.retry_after().unwrap() <= std::time::Duration::from_millis(100));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # How exact
/// Counting each admission at the instant its check read the clock, no interleaving admits more than
/// `floor(e / T) + burst` in an interval of length `e`: each successful CAS moves `tat` at least `n·T`
/// past both the value it replaced and its own reading. A check preempted between reading the clock
/// and its CAS spends permits at its older reading, so counted at completion an interval can hold one
/// extra request per thread that was preempted there.
///
/// # Reservations
/// A reservation of `n` permits is a check without the "at most `burst·T` ahead" condition: `tat`
/// moves on by `n·T` (the reservation's *slot*, ending at the `tat` it wrote) and the holder may act
/// once `tat − burst·T` is reached. Admissions then hold disjoint slots, each starting no earlier than
/// its action time and ending at most `burst·T` after it, which is what bounds any window.
///
/// Cancelling (or settling below the estimate) gives back the freed part of the slot that is still in
/// the future, *only if nothing was taken after it* (`tat` still equals its end): then `tat` moves
/// back by that much and the slots stay disjoint. Reservations cancelled in reverse order come back
/// whole; one with reservations or checks behind it comes back with nothing, because their slots
/// were placed after its slot, and one word cannot remember a hole below them.
///
/// x/time/rate's `CancelAt` instead restores the reserved tokens less those reserved after (measured
/// as the time between their action times, which counts idle time too: golang/go#69419, or under-counts
/// as golang/go#56924 complains). Moving `tat` back under later reservations lets a later caller's
/// slot alias theirs; this crate's window-bound property test finds traces where that admits more
/// than `burst` in a window, one of which is the test `xtime_rate_refund_rule_over_admits`.
///
/// # Changing the quota
/// [`RateLimiter::set_quota`] keeps the permits held at the change (capped at the new burst; a
/// negative balance, from reservations in the future, is kept too, converted at the new rate) and
/// accrues at the new rate from then on. It is atomic with respect to checks: the setter sets bit 63
/// of `tat` (a check that reads it waits), writes the quota under a sequence lock, and stores the
/// converted `tat` with Release. A check reads `tat`, then the quota, then CASes `tat`; if a change
/// began after its read, its CAS fails and it starts again under the new quota: the word now has bit
/// 63, or a new generation in bits 60–62, so it cannot equal what the check read even when the
/// converted `tat` is the same nanosecond (an ABA would need eight changes inside one check). A
/// check reads the quota fields without a lock of their own: the CAS from the word it read, or for
/// a denial a second load of the word, shows that no change began in between. A reservation made
/// under an older quota refunds nothing.
#[derive(Debug)]
pub struct Gcra<C = FastClock> {
    /// The theoretical arrival time (ns on `clock`, bits 0–59; any value `≤ now` means "full now"),
    /// the quota's generation (bits 60–62), and bit 63 while the quota changes.
    tat: OwnLine,
    /// The quota's interval in ns (under the `epoch` sequence lock).
    interval_ns: AtomicU64,
    /// The quota's burst (under the `epoch` sequence lock).
    burst: AtomicU32,
    /// `interval_ns × burst` (saturating), kept so a check does not multiply (same lock).
    window_ns: AtomicU64,
    /// Sequence lock over the quota: odd while a change writes it; counts changes.
    epoch: AtomicU64,
    /// Serialises quota changes.
    setter: Mutex<()>,
    clock: C,
}

impl Gcra<FastClock> {
    /// A full limiter enforcing `quota` on the TSC clock: the whole burst is available at once.
    ///
    /// ```
    /// use ratelimit::{Gcra, Quota, RateLimiter};
    ///
    /// let limiter = Gcra::new(Quota::per_hour(3)?);
    /// assert_eq!(limiter.snapshot().remaining, 3); // full from the start
    /// assert!(limiter.check_n(3).is_ok());
    /// assert!(limiter.check().is_err()); // the next permit is 20 minutes away
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(quota: Quota) -> Self {
        Gcra::with_clock(quota, FastClock::new())
    }
}

/// A granted request: when it may act and what it wrote.
struct Grant {
    now: u64,
    ready: u64,
    ticket: Ticket,
}

impl<C: Clock> Gcra<C> {
    /// A full limiter enforcing `quota`, reading time from `clock`: a [`ManualClock`](crate::ManualClock)
    /// in tests and replays, so that admissions are exact.
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use ratelimit::{Gcra, ManualClock, Quota, RateLimiter};
    ///
    /// let clock = Arc::new(ManualClock::default());
    /// let limiter = Gcra::with_clock(Quota::per_second(10)?, clock.clone()); // one per 100 ms
    /// limiter.check_n(10)?;
    /// clock.advance(Duration::from_millis(99));
    /// assert_eq!(limiter.check().unwrap_err().retry_after(), Some(Duration::from_millis(1)));
    /// clock.advance(Duration::from_millis(1));
    /// assert!(limiter.check().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Gcra {
            tat: OwnLine(AtomicU64::new(0)),
            interval_ns: AtomicU64::new(quota.interval_ns()),
            burst: AtomicU32::new(quota.burst()),
            window_ns: AtomicU64::new(quota.window_ns()),
            epoch: AtomicU64::new(0),
            setter: Mutex::new(()),
            clock,
        }
    }

    /// The clock this limiter reads.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ratelimit::{Clock, Gcra, ManualClock, Quota};
    ///
    /// let limiter = Gcra::with_clock(Quota::per_second(1)?, ManualClock::default());
    /// limiter.clock().advance(Duration::from_secs(2));
    /// assert_eq!(limiter.clock().now(), Duration::from_secs(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(&self) -> &C {
        &self.clock
    }

    fn now(&self) -> u64 {
        now_ns(&self.clock).min(MAX_TAT)
    }

    /// `tat` once no quota change is in progress. Acquire: a value stored by a setter (Release), or
    /// written by a CAS after it (a release sequence), makes that setter's quota visible.
    fn settled_tat(&self) -> u64 {
        loop {
            let v = self.tat.load(Ordering::Acquire);
            if v & CHANGING == 0 {
                return v;
            }
            shim::hint::spin_loop();
            shim::thread::yield_now();
        }
    }

    /// `(interval_ns, burst, epoch)`, consistent: a sequence-lock read (the epoch is even and the same
    /// before and after the fields).
    fn read_quota(&self) -> (u64, u32, u64) {
        loop {
            let e1 = self.epoch.load(Ordering::Acquire);
            if e1 & 1 == 1 {
                shim::hint::spin_loop();
                shim::thread::yield_now();
                continue;
            }
            let t = self.interval_ns.load(Ordering::Relaxed);
            let b = self.burst.load(Ordering::Relaxed);
            // The fence keeps the field loads before the second epoch load.
            fence(Ordering::Acquire);
            if self.epoch.load(Ordering::Relaxed) == e1 {
                return (t, b, e1);
            }
        }
    }

    /// `(interval_ns, burst, window_ns, epoch)` as they were when `tat` read `seen`, provided `tat` still reads
    /// `seen` afterwards: the caller's compare-and-swap from `seen`, or [`Self::unchanged`], is the
    /// check. No sequence lock on the hot path: `tat` itself is the version.
    ///
    /// Why that is enough: a setter freezes `tat` (`fetch_or`) *before* a Release fence and its field
    /// stores. If a load below reads a field a setter stored, the Acquire fence here makes that
    /// setter's freeze visible to every later access of `tat` by this thread, so the CAS from `seen`
    /// fails (the word is frozen, or holds the setter's converted value, never `seen` again: see
    /// `set_quota`), and the torn reading is never acted on. If no load reads a setter's store, the
    /// fields are those of the last setter whose `tat` store `seen` (or an earlier Acquire of `tat`)
    /// made visible: one quota, consistent.
    #[inline]
    fn quota_at<const RESERVE: bool>(&self) -> (u64, u32, u64, u64) {
        let t = self.interval_ns.load(Ordering::Relaxed);
        let b = self.burst.load(Ordering::Relaxed);
        let w = self.window_ns.load(Ordering::Relaxed);
        // Only a reservation's ticket needs the epoch: a check saves the load (and a register).
        let e = if RESERVE {
            self.epoch.load(Ordering::Relaxed)
        } else {
            0
        };
        fence(Ordering::Acquire);
        (t, b, w, e)
    }

    /// Whether `tat` still reads `seen`: validates a [`Self::quota_at`] reading that is acted on
    /// without a CAS (a denial). Relaxed: the fence in `quota_at` orders it after the field loads.
    #[inline]
    fn unchanged(&self, seen: u64) -> bool {
        self.tat.load(Ordering::Relaxed) == seen
    }

    /// Takes `n` permits ready within `max_wait_ns` of now, or nothing; `RESERVE` when the caller
    /// keeps the ticket (a reservation). Always inlined: a check
    /// then builds no `Grant` and the loop sits in the caller (measured: 2–3 ns a check on the
    /// project machine).
    #[inline(always)]
    fn take<const RESERVE: bool>(&self, n: u32, max_wait_ns: u64) -> Result<Grant, Denied> {
        // Not clamped to `MAX_TAT` (one step less before the CAS): past it, `next` saturates there
        // and `limit` beyond it, so every check passes, as with a clamped reading.
        let now = self.clock.now_ns();
        let mut seen = self.settled_tat();
        loop {
            let (t, burst, window, epoch) = self.quota_at::<RESERVE>();
            if n > burst {
                if !self.unchanged(seen) {
                    seen = self.settled_tat();
                    continue;
                }
                return Err(Denied::InsufficientCapacity(InsufficientCapacity {
                    requested: n,
                    burst,
                }));
            }
            let cost = t.saturating_mul(u64::from(n));
            // Admitted when the new `tat` is at most `window + max_wait` ahead of now. The bound
            // does not depend on `tat`, so the chain from the clock reading to the CAS is short.
            let limit = now.saturating_add(window).saturating_add(max_wait_ns);
            let next = (seen & MAX_TAT).max(now).saturating_add(cost).min(MAX_TAT);
            if next > limit {
                if !self.unchanged(seen) {
                    seen = self.settled_tat();
                    continue;
                }
                // `next − window > now + max_wait ≥ now`: never zero.
                return Err(Denied::NotUntil(NotUntil::from_nanos(next - window - now)));
            }
            let ready = next.saturating_sub(window).max(now);
            // Success Relaxed: `tat` guards no other memory, and a CAS continues the release sequence
            // of the setter's store, so later Acquire loads still see that quota. Failure Acquire: the
            // value read may be a setter's. The CASes on `tat` are totally ordered, so two checks never
            // both move it from the same value: each admission is paid for by one successful CAS.
            let word = next | (seen & GEN);
            match self
                .tat
                .compare_exchange_weak(seen, word, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => {
                    return Ok(Grant {
                        now,
                        ready,
                        ticket: Ticket {
                            end: word,
                            epoch,
                            unit: t,
                            permits: n,
                        },
                    });
                }
                Err(actual) if actual & CHANGING != 0 => seen = self.settled_tat(),
                Err(actual) => seen = actual,
            }
        }
    }
}

impl<C: Clock> RateLimiter for Gcra<C> {
    #[inline]
    fn check_n(&self, n: u32) -> Result<(), Denied> {
        self.take::<false>(n, 0).map(|_| ())
    }

    fn snapshot(&self) -> Snapshot {
        let now = self.now();
        let tat = self.settled_tat() & MAX_TAT;
        let (t, burst, _) = self.read_quota();
        crate::tat::snapshot(tat, now, &Quota::from_parts(t, burst))
    }

    fn quota(&self) -> Quota {
        let (t, b, _) = self.read_quota();
        Quota::from_parts(t, b)
    }

    fn set_quota(&self, quota: Quota) {
        let _only_setter = self.setter.lock().unwrap_or_else(PoisonError::into_inner);
        // Freeze: from here no check's CAS can succeed on the value it read before.
        let old = self.tat.fetch_or(CHANGING, Ordering::Acquire);
        let now = self.now();
        let (t_old, b_old, epoch) = self.read_quota();
        let w_old = i128::from(t_old) * i128::from(b_old);
        let (t_new, b_new) = (quota.interval_ns(), quota.burst());
        let w_new = i128::from(t_new) * i128::from(b_new);
        // Held, in ns of the old quota (negative: reservations in the future), converted to the new
        // rate rounding toward fewer permits, capped at the new burst.
        let held_old = w_old - i128::from((old & MAX_TAT).saturating_sub(now));
        let held_new = (held_old * i128::from(t_new))
            .div_euclid(i128::from(t_old))
            .min(w_new);
        let debt = (w_new - held_new).clamp(0, i128::from(MAX_TAT)) as u64;
        let new_tat = now.saturating_add(debt).min(MAX_TAT);
        // The next generation: never the frozen word, so a stale check's CAS fails.
        let generation = (old & GEN).wrapping_add(1 << GEN_SHIFT) & GEN;
        // Sequence lock: odd while the fields change. The Release fence orders the odd epoch before
        // the field stores for a reader that sees a new field.
        self.epoch.store(epoch + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.interval_ns.store(t_new, Ordering::Relaxed);
        self.burst.store(b_new, Ordering::Relaxed);
        self.window_ns.store(quota.window_ns(), Ordering::Relaxed);
        self.epoch.store(epoch + 2, Ordering::Release);
        // Unfreeze with the converted state; Release publishes the new quota to checks that read it.
        self.tat.store(new_tat | generation, Ordering::Release);
    }

    fn name(&self) -> &'static str {
        "GCRA (one atomic)"
    }
}

impl<C: Clock> Ledger for Gcra<C> {
    fn ledger_clock(&self) -> &dyn Clock {
        &self.clock
    }

    fn refund(&self, ticket: &Ticket, permits: u32) {
        let now = self.now();
        // Only from the top: if anything was taken after this reservation, `tat` moved past its end and
        // nothing comes back (see the type's docs for why). `ticket.end` is the whole word (with the
        // generation): a CAS from it fails after a quota change.
        let end = ticket.end & MAX_TAT;
        let mut cur = ticket.end;
        loop {
            if self.read_quota().2 != ticket.epoch {
                return;
            }
            let freed = ticket.unit.saturating_mul(u64::from(permits));
            // Only the part still in the future: the rest had accrued by now and would have lapsed.
            let refund = freed.min(end.saturating_sub(now));
            if refund == 0 {
                return;
            }
            // Success Relaxed, failure Acquire: as in `take`.
            match self.tat.compare_exchange_weak(
                cur,
                ticket.end - refund,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                // Spurious failure, or a quota change in progress: look again.
                Err(actual) if actual & !CHANGING == ticket.end => {
                    cur = self.settled_tat();
                    if cur != ticket.end {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }

    fn charge(&self, ticket: &Ticket, permits: u32) {
        let now = self.now();
        let mut cur = self.settled_tat();
        loop {
            let (t, _, epoch) = self.read_quota();
            let unit = if epoch == ticket.epoch {
                ticket.unit
            } else {
                t
            };
            let new = (cur & MAX_TAT)
                .max(now)
                .saturating_add(unit.saturating_mul(u64::from(permits)))
                .min(MAX_TAT)
                | (cur & GEN);
            match self
                .tat
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(actual) if actual & CHANGING != 0 => cur = self.settled_tat(),
                Err(actual) => cur = actual,
            }
        }
    }
}

impl<C: Clock> Reserve for Gcra<C> {
    fn reserve_within(&self, n: u32, max_wait: Duration) -> Result<Reservation<'_>, Denied> {
        let max_wait_ns = u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX);
        let g = self.take::<true>(n, max_wait_ns)?;
        Ok(Reservation::new(
            self,
            n,
            Duration::from_nanos(g.now),
            Duration::from_nanos(g.ready),
            g.ticket,
        ))
    }
}
