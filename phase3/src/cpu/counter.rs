//! Counters that many threads bump: one shared word vs one word per shard.
//!
//! A single `AtomicU64` is correct under any number of threads, but every `fetch_add` needs the cache
//! line in exclusive state: with two cores adding, the line ping-pongs between them and each add
//! costs a cross-core transfer. [`ShardedCounter`] gives each thread its own cache-padded word (its
//! *shard*), so adds stay core-local; [`ShardedCounter::sum`] pays instead, reading every shard.
//! [`LockedCounter`] is the single-lock baseline (Go's `mu.Lock(); n++; mu.Unlock()`).
//!
//! Written against `phase1::shim`, so `tests/loom_cpu_counter.rs` model-checks it unchanged.
use crossbeam_utils::CachePadded;
use phase1::shim::sync::Mutex;
use phase1::shim::sync::atomic::{AtomicU64, Ordering};

/// A counter split into cache-padded shards; a thread adds to its own shard.
pub struct ShardedCounter {
    /// One word per shard, each alone on its cache line(s) so two shards never share a line.
    shards: Box<[CachePadded<AtomicU64>]>,
}

impl ShardedCounter {
    /// A counter with `shards` shards (at least 1).
    pub fn new(shards: usize) -> Self {
        ShardedCounter {
            shards: (0..shards.max(1))
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
        }
    }

    /// How many shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Adds `n` to shard `shard % shard_count()` (callers pass their thread index).
    pub fn add(&self, shard: usize, n: u64) {
        // Relaxed: a count orders nothing else; the total is exact because every add is one atomic
        // read-modify-write on its shard (never a lost update, whatever the interleaving), and whoever
        // needs the final total synchronises with the adders by other means (joining them).
        self.shards[shard % self.shards.len()].fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of every shard. Exact once the adders are joined; while they run it is a value the
    /// counter passed through or will pass through per shard, and two successive sums by one thread
    /// never decrease (read-read coherence on each shard's word).
    pub fn sum(&self) -> u64 {
        // Relaxed: each load sees a value of that shard's modification order no older than this
        // thread's previous load of it, which is all `sum` promises.
        self.shards.iter().map(|s| s.load(Ordering::Relaxed)).sum()
    }
}

/// One atomic word shared by every thread: correct, but contended.
pub struct AtomicCounter {
    /// The count.
    value: CachePadded<AtomicU64>,
}

impl AtomicCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        AtomicCounter {
            value: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        // Relaxed: see `ShardedCounter::add`.
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        // Relaxed: see `ShardedCounter::sum`.
        self.value.load(Ordering::Relaxed)
    }
}

/// A `u64` behind one mutex: the single-lock baseline.
pub struct LockedCounter {
    /// The count, guarded by the one lock every thread contends on.
    value: Mutex<u64>,
}

impl Default for AtomicCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for LockedCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl LockedCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        LockedCounter {
            value: Mutex::new(0),
        }
    }

    /// Adds `n` under the lock.
    pub fn add(&self, n: u64) {
        *self.value.lock().unwrap_or_else(|p| p.into_inner()) += n;
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        *self.value.lock().unwrap_or_else(|p| p.into_inner())
    }
}
