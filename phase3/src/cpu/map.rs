//! A sharded hash map (N mutex-guarded tables) and its single-lock baseline.
//!
//! Go shards a `map` behind N mutexes when one `sync.Mutex` becomes the bottleneck; `dashmap` is the
//! Rust crate that does it. [`ShardedCounterMap`] hashes the key **once**: the hash picks the shard and is
//! handed to the shard's `hashbrown` table (`raw_entry_mut().from_key_hashed_nocheck`), so sharding
//! costs no second hash. Each shard's lock and table header sit on their own cache line(s).
//!
//! phase1's `ShardedMap` is the read-mostly cousin (reader-writer locks); this one is write-heavy:
//! [`ShardedCounterMap::add`] is the counting upsert a word count or a metrics registry does.
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};

use crossbeam_utils::CachePadded;
use hashbrown::HashMap;
use hashbrown::hash_map::RawEntryMut;

/// Locks `m`, ignoring poisoning: a panicking adder leaves the table consistent (every update is a
/// single `+=` done after the entry exists), so the data is still good.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Adds `delta` to `key`'s count in `table`, whose hasher produced `hash` for `key`.
fn add_hashed<K: Hash + Eq, S: BuildHasher>(
    table: &mut HashMap<K, u64, S>,
    hash: u64,
    key: K,
    delta: u64,
) {
    match table.raw_entry_mut().from_key_hashed_nocheck(hash, &key) {
        RawEntryMut::Occupied(mut e) => *e.get_mut() += delta,
        RawEntryMut::Vacant(e) => {
            e.insert_hashed_nocheck(hash, key, delta);
        }
    }
}

/// One shard: a lock and its table, padded to their own cache line(s).
type Shard<K, S> = CachePadded<Mutex<HashMap<K, u64, S>>>;

/// A counting map made of independently locked shards.
pub struct ShardedCounterMap<K, S = RandomState> {
    /// A power of two of shards, each a lock and a table on its own cache line(s).
    shards: Box<[Shard<K, S>]>,
    /// Hashes each key once per operation; every shard's table holds a clone, so the hash matches.
    hasher: S,
    /// `log2(shards.len())`.
    shard_bits: u32,
}

impl<K: Hash + Eq> ShardedCounterMap<K> {
    /// A map with `shards` shards (rounded up to a power of two, at least 1).
    pub fn new(shards: usize) -> Self {
        Self::with_hasher(shards, RandomState::new())
    }
}

impl<K: Hash + Eq, S: BuildHasher + Clone> ShardedCounterMap<K, S> {
    /// A map with `shards` shards and the given hasher.
    pub fn with_hasher(shards: usize, hasher: S) -> Self {
        let n = shards.clamp(1, 1 << 12).next_power_of_two();
        ShardedCounterMap {
            shards: (0..n)
                .map(|_| CachePadded::new(Mutex::new(HashMap::with_hasher(hasher.clone()))))
                .collect(),
            hasher,
            shard_bits: n.trailing_zeros(),
        }
    }

    /// How many shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard of a hash. hashbrown places a key by the hash's low bits and tags it with the top 7,
    /// so the shard comes from the bits just below the tag: keys of one shard still differ in both.
    fn shard_of(&self, hash: u64) -> usize {
        if self.shard_bits == 0 {
            0
        } else {
            ((hash << 7) >> (64 - self.shard_bits)) as usize
        }
    }

    /// Adds `delta` to `key`'s count (inserting it at `delta`).
    pub fn add(&self, key: K, delta: u64) {
        let hash = self.hasher.hash_one(&key);
        let mut table = lock(&self.shards[self.shard_of(hash)]);
        add_hashed(&mut table, hash, key, delta);
    }

    /// `key`'s count, if present.
    pub fn get(&self, key: &K) -> Option<u64> {
        let hash = self.hasher.hash_one(key);
        let table = lock(&self.shards[self.shard_of(hash)]);
        table
            .raw_entry()
            .from_key_hashed_nocheck(hash, key)
            .map(|(_, v)| *v)
    }

    /// Number of keys (locks each shard in turn: not a snapshot while writers run).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// True when no key is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every `(key, count)`, consuming the map.
    pub fn into_map(self) -> std::collections::HashMap<K, u64> {
        let mut out = std::collections::HashMap::new();
        for shard in self.shards.into_vec() {
            let table = CachePadded::into_inner(shard)
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            out.extend(table);
        }
        out
    }
}

/// One `HashMap` behind one mutex: the single-lock baseline.
pub struct SingleLockMap<K, S = RandomState> {
    /// Hashes each key outside the lock; the table holds a clone, so the hash matches.
    hasher: S,
    /// The table every thread contends on.
    table: Mutex<HashMap<K, u64, S>>,
}

impl<K: Hash + Eq> SingleLockMap<K> {
    /// An empty map.
    pub fn new() -> Self {
        let hasher = RandomState::new();
        SingleLockMap {
            table: Mutex::new(HashMap::with_hasher(hasher.clone())),
            hasher,
        }
    }
}

impl<K: Hash + Eq> Default for SingleLockMap<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq, S: BuildHasher> SingleLockMap<K, S> {
    /// Adds `delta` to `key`'s count. The hash is computed before taking the lock, as the sharded map
    /// does, so the comparison is about the lock alone.
    pub fn add(&self, key: K, delta: u64) {
        let hash = self.hasher.hash_one(&key);
        let mut table = lock(&self.table);
        add_hashed(&mut table, hash, key, delta);
    }

    /// `key`'s count, if present.
    pub fn get(&self, key: &K) -> Option<u64> {
        lock(&self.table).get(key).copied()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        lock(&self.table).len()
    }

    /// True when no key is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every `(key, count)`, consuming the map.
    pub fn into_map(self) -> std::collections::HashMap<K, u64> {
        self.table
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .collect()
    }
}
