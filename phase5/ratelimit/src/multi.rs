//! Several quotas checked as one: per-user ∧ per-org ∧ global, all or nothing.
//!
//! A request that must pass three limiters cannot be checked one after another: if the first admits
//! and the third denies, the first has spent a permit on a request that never ran, and a later
//! "refund" is not exact once another caller has built on that state (GCRA moves `tat` to
//! `max(tat, now) + cost`; subtracting the cost afterwards can undo part of *someone else's*
//! admission when theirs started from `now`). x/time/rate users do reserve-all-then-cancel and get
//! exactly that imprecision; governor and redis_rate check one key at a time.
//!
//! # Design: lock ordering on the TAT words themselves
//! A [`QuotaCell`] is GCRA's one `AtomicU64`, whose top bit doubles as a lock. A multi-check locks
//! its cells in one global order (by address, duplicates merged), so two multi-checks never wait on
//! each other in a cycle; with every cell held it reads each TAT, decides all of them at one clock
//! reading, and unlocks each cell with its new TAT (all admitted) or its old one (any denied).
//! Nothing is tentative: no other caller ever sees a permit taken that is later given back, so a
//! denial consumes nothing and no quota is over-admitted whatever the interleaving.
//!
//! A single-cell check ([`MultiLimiter::check`]) stays GCRA's lock-free CAS loop; it only waits
//! (spins) while a multi-check holds that cell, which is a few loads and stores long unless the
//! holder is preempted in it — the price of exactness, paid only by callers of a cell a multi-check
//! is using at that instant. The tentative alternative (CAS every cell, roll back on a denial) never
//! blocks, but its rollback is exact only if nobody touched the cell in between, and a caller that
//! came in between was denied by a permit that was then given back.
use std::time::Duration;

use shim::sync::atomic::{AtomicU64, Ordering};

use crate::clock::{Clock, FastClock, now_ns};
use crate::{Denied, Quota, Snapshot, tat};

/// The lock bit of a [`QuotaCell`]'s word; TATs stay below it (2^63 ns is 292 years).
const LOCKED: u64 = 1 << 63;

/// One quota's GCRA state, checkable alone or together with other cells by a [`MultiLimiter`].
///
/// ```
/// use std::sync::Arc;
/// use ratelimit::{ManualClock, MultiLimiter, Quota, QuotaCell};
///
/// // Two users of one organisation: each has 5, the organisation 2 in all.
/// let limiter = MultiLimiter::with_clock(Arc::new(ManualClock::default()));
/// let org = QuotaCell::new(Quota::per_second(2)?);
/// let (ann, bob) = (QuotaCell::new(Quota::per_second(5)?), QuotaCell::new(Quota::per_second(5)?));
/// limiter.check_all(&[(&ann, 1), (&org, 1)])?;
/// limiter.check_all(&[(&bob, 1), (&org, 1)])?;
/// assert!(limiter.check(&org, 1).is_err()); // the org cell is one state, whoever checks it
/// assert_eq!(limiter.snapshot(&ann).remaining, 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct QuotaCell {
    /// The TAT (ns on the limiter's clock), with [`LOCKED`] set while a multi-check holds the cell.
    word: AtomicU64,
    quota: Quota,
}

impl QuotaCell {
    /// A full cell enforcing `quota`.
    pub fn new(quota: Quota) -> Self {
        QuotaCell {
            word: AtomicU64::new(0),
            quota,
        }
    }

    /// The quota this cell enforces.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Takes the lock bit, returning the TAT it guards. Spins while another multi-check holds it.
    fn lock(&self) -> u64 {
        let mut cur = self.word.load(Ordering::Relaxed);
        loop {
            cur = self.unlocked(cur);
            // Acquire pairs with `unlock`'s Release: whatever the previous holder did is visible,
            // as for any lock. (The TAT lives in the same word, so the value itself needs no
            // ordering: every RMW on the word is in one modification order.)
            match self.word.compare_exchange_weak(
                cur,
                cur | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return cur,
                Err(actual) => cur = actual,
            }
        }
    }

    /// `cur` if it is unlocked, else the word's value once a multi-check has released it (spinning:
    /// a multi-check holds the bits only while it reads the clock and decides, never across a
    /// blocking call).
    fn unlocked(&self, mut cur: u64) -> u64 {
        while cur & LOCKED != 0 {
            shim::hint::spin_loop();
            cur = self.word.load(Ordering::Relaxed);
        }
        cur
    }

    /// Releases the lock bit, leaving `tat`.
    fn unlock(&self, tat: u64) {
        debug_assert!(tat & LOCKED == 0);
        self.word.store(tat, Ordering::Release);
    }

    /// GCRA's lock-free check of this cell alone at `now`, waiting out a multi-check holding it.
    fn check_n_at(&self, now: u64, n: u32) -> Result<(), Denied> {
        if let Some(d) = tat::over_burst(&self.quota, n) {
            return Err(d);
        }
        let mut cur = self.word.load(Ordering::Relaxed);
        loop {
            cur = self.unlocked(cur);
            let next = tat::admit(cur, now, n, &self.quota)?.min(LOCKED - 1);
            // Relaxed suffices: the cell guards no other memory, and a CAS from an unlocked value
            // cannot succeed while a multi-check holds the cell (the word then has LOCKED set).
            match self
                .word
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }
}

/// Why a multi-check denied: which part (its index in the request) and its denial. When several
/// parts deny, the one with the longest wait is reported: the whole request passes no earlier.
///
/// ```
/// use std::sync::Arc;
/// use ratelimit::{Denied, ManualClock, MultiLimiter, Quota, QuotaCell};
///
/// let limiter = MultiLimiter::with_clock(Arc::new(ManualClock::default()));
/// let user = QuotaCell::new(Quota::per_second(10)?);
/// let org = QuotaCell::new(Quota::per_second(1)?);
/// limiter.check(&org, 1)?;
/// let denied = limiter.check_all(&[(&user, 1), (&org, 1)]).unwrap_err();
/// assert_eq!(denied.part, 1); // the org's quota said no
/// assert!(matches!(denied.denied, Denied::NotUntil(_)));
/// assert_eq!(limiter.snapshot(&user).remaining, 10); // and the user's was not charged
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiDenied {
    /// Index of the denying part in the slice given to [`MultiLimiter::check_all`].
    pub part: usize,
    /// Its denial.
    pub denied: Denied,
}

impl std::fmt::Display for MultiDenied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "quota {} of the request: {}", self.part, self.denied)
    }
}

impl std::error::Error for MultiDenied {}

/// The most parts a multi-check sorts on the stack; more fall back to a `Vec`.
const INLINE_PARTS: usize = 8;

/// Checks [`QuotaCell`]s on one clock, alone or several at once, all or nothing.
///
/// ```
/// use ratelimit::{MultiLimiter, Quota, QuotaCell};
///
/// let limiter = MultiLimiter::new();
/// let user = QuotaCell::new(Quota::per_second(2)?);
/// let org = QuotaCell::new(Quota::per_second(3)?);
/// let global = QuotaCell::new(Quota::per_second(1000)?);
/// assert!(limiter.check_all(&[(&user, 1), (&org, 1), (&global, 1)]).is_ok());
/// assert!(limiter.check_all(&[(&user, 1), (&org, 1), (&global, 1)]).is_ok());
/// // The user's quota is spent: the request is denied and the org and global quotas keep theirs.
/// let denied = limiter.check_all(&[(&user, 1), (&org, 1), (&global, 1)]).unwrap_err();
/// assert_eq!(denied.part, 0);
/// assert_eq!(limiter.snapshot(&org).remaining, 1);
/// assert_eq!(limiter.snapshot(&global).remaining, 998);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MultiLimiter<C = FastClock> {
    clock: C,
}

impl MultiLimiter<FastClock> {
    /// A limiter on the TSC clock.
    pub fn new() -> Self {
        MultiLimiter::with_clock(FastClock::new())
    }
}

impl Default for MultiLimiter<FastClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> MultiLimiter<C> {
    /// A limiter reading time from `clock`; every cell it checks must only ever be checked on it.
    pub fn with_clock(clock: C) -> Self {
        MultiLimiter { clock }
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Takes `n` permits from `cell` alone (GCRA's lock-free check).
    pub fn check(&self, cell: &QuotaCell, n: u32) -> Result<(), Denied> {
        cell.check_n_at(now_ns(&self.clock), n)
    }

    /// `cell`'s state as rate-limit headers show it.
    pub fn snapshot(&self, cell: &QuotaCell) -> Snapshot {
        let now = now_ns(&self.clock);
        let word = cell.word.load(Ordering::Relaxed) & !LOCKED;
        tat::snapshot(word, now, &cell.quota)
    }

    /// Takes `n` permits from every cell of `parts`, or none: when any part denies, no cell changes.
    /// A cell listed twice is charged the sum. Under any interleaving with other checks, each cell's
    /// admissions respect its quota as if every multi-check were one instant.
    pub fn check_all(&self, parts: &[(&QuotaCell, u32)]) -> Result<(), MultiDenied> {
        for (part, &(cell, n)) in parts.iter().enumerate() {
            if let Some(denied) = tat::over_burst(&cell.quota, n) {
                return Err(MultiDenied { part, denied });
            }
        }
        if parts.len() <= INLINE_PARTS {
            let mut order = [0usize; INLINE_PARTS];
            self.locked(parts, &mut order[..parts.len()])
        } else {
            let mut order = vec![0usize; parts.len()];
            self.locked(parts, &mut order)
        }
    }

    /// Locks the cells in address order (`order` is scratch space of `parts.len()`), decides, unlocks.
    fn locked(&self, parts: &[(&QuotaCell, u32)], order: &mut [usize]) -> Result<(), MultiDenied> {
        for (i, o) in order.iter_mut().enumerate() {
            *o = i;
        }
        let addr = |i: usize| std::ptr::from_ref::<QuotaCell>(parts[i].0) as usize;
        order.sort_unstable_by_key(|&i| addr(i));
        // Lock each distinct cell once, in address order: no two multi-checks wait on each other in a
        // cycle. `tats[k]` is the TAT of the k-th distinct cell, `costs[k]` its summed permits.
        let mut held = [(0u64, 0u64, 0usize); INLINE_PARTS];
        let mut held_vec = Vec::new();
        let held: &mut [(u64, u64, usize)] = if order.len() <= INLINE_PARTS {
            &mut held[..order.len()]
        } else {
            held_vec.resize(order.len(), (0, 0, 0));
            &mut held_vec
        };
        // held[k] = (tat before, permits, first part index) per distinct cell.
        let mut distinct = 0;
        for (j, &i) in order.iter().enumerate() {
            if j > 0 && addr(i) == addr(order[j - 1]) {
                held[distinct - 1].1 += u64::from(parts[i].1);
                continue;
            }
            held[distinct] = (parts[i].0.lock(), u64::from(parts[i].1), i);
            distinct += 1;
        }
        let held = &mut held[..distinct];
        let now = now_ns(&self.clock);
        let mut worst: Option<MultiDenied> = None;
        for h in held.iter_mut() {
            let (before, permits, part) = *h;
            let cell = parts[part].0;
            // A cell listed twice may ask for more than its burst in total.
            let decided = match u32::try_from(permits) {
                Ok(n) if n <= cell.quota.burst() => tat::admit(before, now, n, &cell.quota),
                _ => Err(Denied::InsufficientCapacity(crate::InsufficientCapacity {
                    requested: u32::try_from(permits).unwrap_or(u32::MAX),
                    burst: cell.quota.burst(),
                })),
            };
            match decided {
                Ok(next) => h.1 = next.min(LOCKED - 1),
                Err(denied) => {
                    let wait = denied.retry_after().unwrap_or(Duration::MAX);
                    if worst.is_none_or(|w| w.denied.retry_after().unwrap_or(Duration::MAX) < wait)
                    {
                        worst = Some(MultiDenied { part, denied });
                    }
                }
            }
        }
        for &(before, next, part) in held.iter() {
            let cell = parts[part].0;
            cell.unlock(if worst.is_some() { before } else { next });
        }
        worst.map_or(Ok(()), Err)
    }

    /// A deliberately broken multi-check for the loom model's twin: checks every cell, then takes
    /// from each with its own single-cell check. Between the two, another caller can take the
    /// permits; a later part then denies after earlier parts were charged.
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn check_all_then_take_each(&self, parts: &[(&QuotaCell, u32)]) -> Result<(), MultiDenied> {
        let now = now_ns(&self.clock);
        for (part, &(cell, n)) in parts.iter().enumerate() {
            let tat = cell.word.load(Ordering::Relaxed) & !LOCKED;
            if let Err(denied) = tat::admit(tat, now, n, &cell.quota) {
                return Err(MultiDenied { part, denied });
            }
        }
        for (part, &(cell, n)) in parts.iter().enumerate() {
            cell.check_n_at(now, n)
                .map_err(|denied| MultiDenied { part, denied })?;
        }
        Ok(())
    }
}
