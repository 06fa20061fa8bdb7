//! A sharded map: N independent `RwLock<HashMap>`s, the key's hash picks one.
//!
//! Go's `sync.Map` is tuned for "written once, read many" keys (a lock-free read-only map plus a
//! locked dirty map); for general read/write traffic Go programmers shard a `map` behind N
//! `RWMutex`es. Rust's `dashmap` is exactly that sharded design. Sharding divides contention by N:
//! two threads touching different keys almost never touch the same lock, and each shard's lock word
//! sits on its own cache line (no false sharing between shards).
use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};

use crossbeam_utils::CachePadded;

use super::rwlock::RwLock;

/// A concurrent hash map made of independently locked shards (our [`RwLock`]).
pub struct ShardedMap<K, V, S = RandomState> {
    /// A power of two of shards, each alone on its cache line(s).
    shards: Box<[CachePadded<RwLock<HashMap<K, V, S>>>]>,
    /// Picks the shard; each shard's map hashes with a clone of it.
    hasher: S,
    /// `shards.len() - 1`.
    mask: usize,
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    /// A map with 4 shards per available core (rounded up to a power of two).
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_shards((cores * 4).next_power_of_two())
    }

    /// A map with `n` shards (rounded up to a power of two, at least 1).
    pub fn with_shards(n: usize) -> Self {
        Self::with_shards_and_hasher(n, RandomState::new())
    }
}

impl<K: Hash + Eq, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq, V, S: BuildHasher + Clone> ShardedMap<K, V, S> {
    /// A map with `n` shards and the given hasher.
    pub fn with_shards_and_hasher(n: usize, hasher: S) -> Self {
        let n = n.max(1).next_power_of_two();
        let shards = (0..n)
            .map(|_| CachePadded::new(RwLock::new(HashMap::with_hasher(hasher.clone()))))
            .collect();
        ShardedMap { shards, hasher, mask: n - 1 }
    }

    /// How many shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> &RwLock<HashMap<K, V, S>> {
        let h = self.hasher.hash_one(key);
        // The top bits: the shard's HashMap uses the low bits of the same hash for its buckets.
        let i = (h >> 32) as usize & self.mask;
        &self.shards[i]
    }

    /// Inserts, returning the previous value.
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        self.shard(&key).write().insert(key, value)
    }

    /// Removes, returning the value.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard(key).write().remove(key)
    }

    /// A clone of the value for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.shard(key).read().get(key).cloned()
    }

    /// Runs `f` on the value for `key` under the shard's read lock (no clone).
    pub fn with<Q, R>(&self, key: &Q, f: impl FnOnce(Option<&V>) -> R) -> R
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        f(self.shard(key).read().get(key))
    }

    /// Runs `f` on the value for `key` under the shard's write lock; `None` when absent.
    pub fn modify<Q, R>(&self, key: &Q, f: impl FnOnce(&mut V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard(key).write().get_mut(key).map(f)
    }

    /// Runs `f` on the value for `key`, inserting `default()` first if absent, under the shard's
    /// write lock: a read-modify-write no other thread can interleave with.
    pub fn upsert<R>(&self, key: K, default: impl FnOnce() -> V, f: impl FnOnce(&mut V) -> R) -> R {
        let mut shard = self.shard(&key).write();
        f(shard.entry(key).or_insert_with(default))
    }

    /// True when `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard(key).read().contains_key(key)
    }

    /// The number of entries (each shard read in turn: not a snapshot under concurrent writes).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// True when every shard is empty.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.read().is_empty())
    }
}
