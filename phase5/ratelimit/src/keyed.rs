//! A keyed GCRA limiter whose memory is bounded: one `u64` per tracked key, idle keys forgotten, and
//! a hard cap on how many keys are tracked.
//!
//! governor's keyed limiter keeps an `AtomicU64` per key in a `DashMap` and never drops a key by
//! itself: a client that sends one request from each of a million addresses leaves a million entries
//! behind until the user calls `retain_recent` (governor#171). Here the table looks after itself.
//!
//! - **Forgetting a full key changes nothing.** A key whose TAT is at or before `now` is full, and a
//!   key never seen is full too: dropping it cannot change any later decision. Each shard sweeps
//!   such keys when it has doubled since its last sweep (amortised O(1) a new key) and before it
//!   refuses or evicts anything at its cap.
//! - **A hard cap.** At most `max_keys` keys are tracked (each of the `shards` shards holds its share).
//!   When a shard is full of keys that are all in debt, a new key meets the [`AtCap`] policy:
//!   [`AtCap::DenyNewKeys`] answers [`Denied::KeyCapacity`] with the exact instant a slot frees up,
//!   in O(1); [`AtCap::EvictLeastDebt`] forgets the keys closest to full (about 1/32 of the shard at
//!   once, so the scan is paid once per many new keys).
//!
//! # What eviction costs
//! Forgetting a key that is still in debt (`tat > now`) lets it start again full: it may be admitted
//! up to `(tat − now) / T` permits more than its quota allowed (never more than the burst). The
//! limiter counts it in [`Keyed::evictions`] (`debt_forgiven / interval` is that bound, summed over
//! the evicted keys), and it evicts the keys with the *least* debt, not the least recently used: a key
//! that was hammered a while ago can carry more debt than one touched a moment ago, and forgetting the
//! latter costs less. [`AtCap::DenyNewKeys`] never over-admits; it turns away keys it does not know
//! while the table is full of keys that are all being limited.
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, RandomState};
use std::num::NonZeroUsize;
use std::time::Duration;

use hashbrown::HashTable;
use shim::sync::Mutex;
use shim::sync::atomic::{AtomicU64, Ordering};

use crate::clock::{Clock, FastClock, now_ns};
use crate::{Denied, KeyedRateLimiter, NotUntil, Quota, Snapshot, tat};

/// What a keyed limiter does with a key it does not track when its table (the key's shard) is full
/// of keys that are all still in debt.
///
/// ```
/// use std::{hash::RandomState, num::NonZeroUsize, sync::Arc, time::Duration};
/// use ratelimit::{AtCap, Bounds, Denied, Keyed, KeyedRateLimiter, ManualClock, Quota};
///
/// // Room for one key; every admitted key owes 1 s.
/// let one_key = |at_cap| Bounds { max_keys: NonZeroUsize::MIN, at_cap, shards: NonZeroUsize::MIN };
/// let clock = Arc::new(ManualClock::default());
/// let quota = Quota::per_second(1)?;
///
/// let deny: Keyed<u64, _> =
///     Keyed::with_bounds(quota, one_key(AtCap::DenyNewKeys), clock.clone(), RandomState::new());
/// deny.check_key(&1)?;
/// match deny.check_key(&2) {
///     // Key 1 is full again (and forgotten) in 1 s: key 2 may come back then.
///     Err(Denied::KeyCapacity(wait)) => assert_eq!(wait.retry_after(), Duration::from_secs(1)),
///     other => panic!("expected KeyCapacity, got {other:?}"),
/// }
///
/// let evict: Keyed<u64, _> =
///     Keyed::with_bounds(quota, one_key(AtCap::EvictLeastDebt), clock.clone(), RandomState::new());
/// evict.check_key(&1)?;
/// evict.check_key(&2)?; // key 1 is forgotten, debt and all...
/// assert_eq!(evict.len(), 1);
/// assert!(evict.check_key(&1).is_ok()); // ...so it passes again at once: the price of evicting
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtCap {
    /// Forget the tracked keys with the least debt (those nearest to full) to make room. Never loses
    /// a request, may over-admit an evicted key by up to its forgotten debt (see the module docs).
    EvictLeastDebt,
    /// Deny the new key with [`Denied::KeyCapacity`], whose retry-after is when the first tracked key
    /// of its shard is full again. Never over-admits.
    DenyNewKeys,
}

/// The bounds of a [`Keyed`] limiter's table.
///
/// ```
/// use std::{hash::RandomState, num::NonZeroUsize, sync::Arc, time::Duration};
/// use ratelimit::{AtCap, Bounds, Keyed, KeyedRateLimiter, ManualClock, Quota};
///
/// let bounds = Bounds {
///     max_keys: NonZeroUsize::new(1000).unwrap(),
///     at_cap: AtCap::DenyNewKeys,
///     shards: NonZeroUsize::new(1).unwrap(),
/// };
/// let clock = Arc::new(ManualClock::default());
/// let per_user: Keyed<u64, _> =
///     Keyed::with_bounds(Quota::per_second(1)?, bounds, clock.clone(), RandomState::new());
/// for user in 0..100 {
///     per_user.check_key(&user)?;
/// }
/// assert_eq!(per_user.len(), 100); // all in debt: all tracked
/// clock.advance(Duration::from_secs(1)); // all full again: nothing left worth remembering
/// per_user.sweep();
/// assert!(per_user.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The most keys tracked at once (split evenly between the shards).
    pub max_keys: NonZeroUsize,
    /// What happens to a new key when its shard is full.
    pub at_cap: AtCap,
    /// How many independently locked shards (clamped to `1..=max_keys`).
    pub shards: NonZeroUsize,
}

impl Default for Bounds {
    /// 2^20 keys (about 16 MiB of `u64` keys and TATs), [`AtCap::EvictLeastDebt`], 64 shards.
    fn default() -> Self {
        Bounds {
            max_keys: NonZeroUsize::new(1 << 20).expect("non-zero"),
            at_cap: AtCap::EvictLeastDebt,
            shards: NonZeroUsize::new(64).expect("non-zero"),
        }
    }
}

/// What eviction has forgotten so far: the price of [`AtCap::EvictLeastDebt`].
///
/// ```
/// use std::{hash::RandomState, num::NonZeroUsize, sync::Arc, time::Duration};
/// use ratelimit::{AtCap, Bounds, Evictions, Keyed, KeyedRateLimiter, ManualClock, Quota};
///
/// let bounds = Bounds { max_keys: NonZeroUsize::MIN, at_cap: AtCap::EvictLeastDebt, shards: NonZeroUsize::MIN };
/// let quota = Quota::per_second(10)?.with_burst(5)?; // T = 100 ms
/// let limiter: Keyed<u64, _> =
///     Keyed::with_bounds(quota, bounds, Arc::new(ManualClock::default()), RandomState::new());
/// limiter.check_key_n(&1, 5)?; // key 1 owes 500 ms
/// limiter.check_key(&2)?; // no room: key 1 is evicted
/// let forgotten = limiter.evictions();
/// assert_eq!(forgotten, Evictions { in_debt: 1, debt_forgiven: Duration::from_millis(500) });
/// // At most 500 ms / 100 ms = 5 permits admitted beyond the quota because of it.
/// assert_eq!(forgotten.debt_forgiven.as_nanos() / quota.interval().as_nanos(), 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Evictions {
    /// Keys forgotten while still in debt.
    pub in_debt: u64,
    /// Their debt, summed: divided by the quota's interval, the most permits the evictions can have
    /// over-admitted.
    pub debt_forgiven: Duration,
}

/// A shard sweeps no earlier than at this many keys.
const MIN_SWEEP: usize = 8;
/// At its cap, a shard evicts `cap / EVICT_FRACTION` keys (at least one) in one scan.
const EVICT_FRACTION: usize = 32;

/// One lock's worth of keys, on its own cache lines.
#[repr(align(128))]
struct Shard<K> {
    inner: Mutex<ShardState<K>>,
}

struct ShardState<K> {
    /// Key and TAT (ns on the limiter's clock).
    table: HashTable<(K, u64)>,
    /// This shard's share of `max_keys`.
    cap: usize,
    /// Sweep full keys when a new key finds `len ≥ sweep_at`.
    sweep_at: usize,
    /// No tracked key's TAT is below this: TATs only grow, and every insertion lowers it if needed.
    /// Until the clock reaches it, no key of the shard is full and a sweep would find nothing.
    floor: u64,
}

/// The keyed GCRA limiter with bounded memory.
///
/// ```
/// use ratelimit::{Denied, Keyed, KeyedRateLimiter, Quota};
///
/// let per_ip = Keyed::<String>::new(Quota::per_second(2)?);
/// assert!(per_ip.check_key("10.0.0.1").is_ok());
/// assert!(per_ip.check_key("10.0.0.1").is_ok());
/// assert!(matches!(per_ip.check_key("10.0.0.1"), Err(Denied::NotUntil(_))));
/// assert!(per_ip.check_key("10.0.0.2").is_ok()); // another key, its own quota
/// assert_eq!(per_ip.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Keyed<K, C = FastClock, S = RandomState> {
    shards: Box<[Shard<K>]>,
    quota: Quota,
    bounds: Bounds,
    clock: C,
    hasher: S,
    evicted_in_debt: AtomicU64,
    debt_forgiven_ns: AtomicU64,
}

impl<K, C, S> std::fmt::Debug for Keyed<K, C, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyed")
            .field("quota", &self.quota)
            .field("bounds", &self.bounds)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq> Keyed<K> {
    /// A limiter giving every key `quota`, with the default [`Bounds`], on the TSC clock.
    pub fn new(quota: Quota) -> Self {
        Keyed::with_bounds(
            quota,
            Bounds::default(),
            FastClock::new(),
            RandomState::new(),
        )
    }
}

impl<K: Hash + Eq, C: Clock> Keyed<K, C> {
    /// A limiter with the default [`Bounds`] reading time from `clock`.
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Keyed::with_bounds(quota, Bounds::default(), clock, RandomState::new())
    }
}

impl<K: Hash + Eq, C: Clock, S: BuildHasher> Keyed<K, C, S> {
    /// A limiter with explicit bounds, clock and hasher.
    pub fn with_bounds(quota: Quota, bounds: Bounds, clock: C, hasher: S) -> Self {
        let max = bounds.max_keys.get();
        let n = bounds.shards.get().min(max);
        let shards = (0..n)
            .map(|i| {
                // Shard i gets max/n keys, the first max%n one more: the caps add up to `max_keys`.
                let cap = max / n + usize::from(i < max % n);
                Shard {
                    inner: Mutex::new(ShardState {
                        table: HashTable::new(),
                        cap,
                        sweep_at: MIN_SWEEP.min(cap),
                        floor: u64::MAX,
                    }),
                }
            })
            .collect();
        let bounds = Bounds {
            shards: NonZeroUsize::new(n).expect("n ≥ 1"),
            ..bounds
        };
        Keyed {
            shards,
            quota,
            bounds,
            clock,
            hasher,
            evicted_in_debt: AtomicU64::new(0),
            debt_forgiven_ns: AtomicU64::new(0),
        }
    }

    /// The bounds in force (`shards` after clamping).
    pub fn bounds(&self) -> Bounds {
        self.bounds
    }

    /// The clock this limiter reads.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// How many keys are tracked now (a sum over the shards, each read under its lock).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| self.lock(s).table.len()).sum()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many keys the shards' tables can hold without growing: what the table's memory is
    /// proportional to (a slot is the key, the 8-byte TAT and a control byte). At its cap a shard's
    /// table holds at most about 3.5 slots a key: the deleted slots (tombstones) that churn leaves
    /// make hashbrown double it once, after which it rehashes in place.
    pub fn capacity(&self) -> usize {
        self.shards
            .iter()
            .map(|s| self.lock(s).table.capacity())
            .sum()
    }

    /// What [`AtCap::EvictLeastDebt`] has forgotten so far.
    pub fn evictions(&self) -> Evictions {
        Evictions {
            in_debt: self.evicted_in_debt.load(Ordering::Relaxed),
            debt_forgiven: Duration::from_nanos(self.debt_forgiven_ns.load(Ordering::Relaxed)),
        }
    }

    /// Forgets every full key now and releases the memory the tables no longer need. Never changes a
    /// decision; the limiter also does this by itself as keys arrive.
    pub fn sweep(&self) {
        let now = now_ns(&self.clock);
        for shard in self.shards.iter() {
            let mut st = self.lock(shard);
            st.sweep_full(now);
            let len = st.table.len();
            st.table.shrink_to(len, |e| self.hasher.hash_one(&e.0));
        }
    }

    #[inline]
    fn shard_of(&self, hash: u64) -> &Shard<K> {
        // Bits 25..57 of the hash, mapped onto 0..n by multiply-shift: hashbrown uses the top 7 bits
        // (tags) and the low bits (buckets), so the shard index correlates with neither.
        let mid = (hash << 7) >> 32;
        let i = (mid * self.shards.len() as u64) >> 32;
        &self.shards[i as usize]
    }

    #[inline]
    fn lock<'a>(&self, shard: &'a Shard<K>) -> shim::sync::MutexGuard<'a, ShardState<K>> {
        // A panic under the lock can only come from the key's Hash or Eq; the table is still a
        // table of valid (key, TAT) pairs, so the poison is ignored.
        shard.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_hashed<Q>(&self, key: &Q, n: u32) -> Result<(), Denied>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(d) = tat::over_burst(&self.quota, n) {
            return Err(d);
        }
        let hash = self.hasher.hash_one(key);
        let shard = self.shard_of(hash);
        let mut st = self.lock(shard);
        // The time is read under the lock: a reading taken before waiting for it could be older than
        // a sweep that forgot this key meanwhile as full, and the key would restart full at that
        // older time, admitting up to (wait / T) permits early (tests/loom_keyed.rs,
        // `a_check_decides_on_the_time_it_holds_the_lock`). Read here, it is no older than any
        // reading that decided the table's contents before it.
        let now = now_ns(&self.clock);
        if let Some(entry) = st.table.find_mut(hash, |e| e.0.borrow() == key) {
            entry.1 = tat::admit(entry.1, now, n, &self.quota)?;
            return Ok(());
        }
        // A key not tracked is full: n ≤ burst always passes, if there is room for it.
        let next = tat::admit(0, now, n, &self.quota)?;
        if st.table.len() >= st.sweep_at {
            st.sweep_full(now);
            st.sweep_at = (st.table.len() * 2)
                .clamp(MIN_SWEEP, usize::MAX)
                .min(st.cap);
        }
        if st.table.len() >= st.cap {
            match self.bounds.at_cap {
                AtCap::DenyNewKeys => {
                    // The sweep left every key in debt: the first is full at `floor`.
                    return Err(Denied::KeyCapacity(NotUntil::from_nanos(
                        st.floor.saturating_sub(now).max(1),
                    )));
                }
                AtCap::EvictLeastDebt => {
                    let (count, debt) = st.evict_least_debt(now);
                    self.evicted_in_debt.fetch_add(count, Ordering::Relaxed);
                    self.debt_forgiven_ns.fetch_add(debt, Ordering::Relaxed);
                }
            }
        }
        st.floor = st.floor.min(next);
        st.table
            .insert_unique(hash, (key.to_owned(), next), |e| self.hasher.hash_one(&e.0));
        Ok(())
    }
}

impl<K: Hash + Eq> ShardState<K> {
    /// Drops every key that is full at `now` (a no-op before `floor`), and recomputes `floor`.
    fn sweep_full(&mut self, now: u64) {
        if now < self.floor {
            return;
        }
        let mut floor = u64::MAX;
        self.table.retain(|e| {
            let keep = e.1 > now;
            if keep {
                floor = floor.min(e.1);
            }
            keep
        });
        self.floor = floor;
    }

    /// Forgets the `cap / EVICT_FRACTION` (at least one) keys with the least debt; all are in debt
    /// (a sweep just ran). Returns how many were forgotten and their debt in ns.
    fn evict_least_debt(&mut self, now: u64) -> (u64, u64) {
        let k = (self.cap / EVICT_FRACTION).max(1);
        let mut tats: Vec<u64> = self.table.iter().map(|e| e.1).collect();
        if tats.is_empty() {
            return (0, 0);
        }
        let k = k.min(tats.len());
        let (_, &mut threshold, _) = tats.select_nth_unstable(k - 1);
        drop(tats);
        let (mut count, mut debt, mut floor) = (0u64, 0u64, u64::MAX);
        self.table.retain(|e| {
            if e.1 <= threshold {
                count += 1;
                debt = debt.saturating_add(e.1.saturating_sub(now));
                false
            } else {
                floor = floor.min(e.1);
                true
            }
        });
        self.floor = floor;
        (count, debt)
    }
}

impl<K, Q, C, S> KeyedRateLimiter<Q> for Keyed<K, C, S>
where
    K: Borrow<Q> + Hash + Eq + Send + Sync,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    C: Clock,
    S: BuildHasher + Send + Sync,
{
    #[inline]
    fn check_key_n(&self, key: &Q, n: u32) -> Result<(), Denied> {
        self.check_hashed(key, n)
    }

    fn snapshot_key(&self, key: &Q) -> Snapshot {
        let hash = self.hasher.hash_one(key);
        let now = now_ns(&self.clock);
        let st = self.lock(self.shard_of(hash));
        let t = st
            .table
            .find(hash, |e| e.0.borrow() == key)
            .map_or(0, |e| e.1);
        tat::snapshot(t, now, &self.quota)
    }

    fn quota(&self) -> Quota {
        self.quota
    }
}
