//! A sharded map: N independent reader-writer locks over N hash tables; the key's hash picks one.
//!
//! Go's `sync.Map` is tuned for "written once, read many" keys (a lock-free read-only map plus a
//! locked dirty map); for general read/write traffic Go programmers shard a `map` behind N
//! `RWMutex`es. Rust's `dashmap` is exactly that sharded design. Sharding divides contention by N:
//! two threads touching different keys almost never touch the same lock, and each shard's lock word
//! sits on its own cache line (no false sharing between shards).
//!
//! The key is hashed **once**: the high bits of the hash pick the shard, and the same hash finds the
//! bucket inside the shard's raw table (`hashbrown::HashTable`, the table under `std`'s `HashMap`).
//! Hashing twice (once for the shard, once inside a `HashMap`) costs about as much as the lock itself.
use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};

use crossbeam_utils::CachePadded;
use hashbrown::HashTable;

use super::rwlock::RwLock;

/// One shard: a lock word and its table, padded to their own cache line(s).
type Shard<K, V> = CachePadded<RwLock<HashTable<(K, V)>>>;

/// A concurrent hash map made of independently locked shards (our [`RwLock`]).
pub struct ShardedMap<K, V, S = RandomState> {
    /// A power of two of shards, each alone on its cache line(s).
    shards: Box<[Shard<K, V>]>,
    /// Hashes every key, once per operation.
    hasher: S,
    /// `log2(shards.len())`: the shard is the hash's top `shard_bits` bits.
    shard_bits: u32,
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    /// A map with 4 shards per available core (rounded up to a power of two).
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_shards(cores * 4)
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

impl<K: Hash + Eq, V, S: BuildHasher> ShardedMap<K, V, S> {
    /// A map with `n` shards (rounded up to a power of two) and the given hasher.
    pub fn with_shards_and_hasher(n: usize, hasher: S) -> Self {
        let n = n.clamp(1, 1 << 16).next_power_of_two();
        let shards = (0..n)
            .map(|_| CachePadded::new(RwLock::new(HashTable::new())))
            .collect();
        ShardedMap {
            shards,
            hasher,
            shard_bits: n.trailing_zeros(),
        }
    }

    /// How many shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The key's hash and its shard. The table inside a shard uses the low bits to place a key and the
    /// top 7 bits as its one-byte tag, so the shard index is taken from the bits just below those
    /// 7 (`h << 7`): if it came from the top bits, every key of a shard would share part of its tag,
    /// and lookups would compare many more keys in full.
    fn locate<Q: Hash + ?Sized>(&self, key: &Q) -> (u64, &RwLock<HashTable<(K, V)>>) {
        let h = self.hasher.hash_one(key);
        let i = if self.shard_bits == 0 {
            0
        } else {
            ((h << 7) >> (64 - self.shard_bits)) as usize
        };
        (h, &self.shards[i])
    }

    /// Inserts, returning the previous value.
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        let (h, shard) = self.locate(&key);
        let mut table = shard.write();
        if let Some((_, v)) = table.find_mut(h, |(k, _)| *k == key) {
            return Some(std::mem::replace(v, value));
        }
        table.insert_unique(h, (key, value), |(k, _)| self.hasher.hash_one(k));
        None
    }

    /// Removes, returning the value.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (h, shard) = self.locate(key);
        let mut table = shard.write();
        let entry = table.find_entry(h, |(k, _)| k.borrow() == key).ok()?;
        Some(entry.remove().0.1)
    }

    /// A clone of the value for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.with(key, |v| v.cloned())
    }

    /// Runs `f` on the value for `key` under the shard's read lock (no clone).
    pub fn with<Q, R>(&self, key: &Q, f: impl FnOnce(Option<&V>) -> R) -> R
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (h, shard) = self.locate(key);
        let table = shard.read();
        f(table.find(h, |(k, _)| k.borrow() == key).map(|(_, v)| v))
    }

    /// Runs `f` on the value for `key` under the shard's write lock; `None` when absent.
    pub fn modify<Q, R>(&self, key: &Q, f: impl FnOnce(&mut V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (h, shard) = self.locate(key);
        let mut table = shard.write();
        table
            .find_mut(h, |(k, _)| k.borrow() == key)
            .map(|(_, v)| f(v))
    }

    /// Runs `f` on the value for `key`, inserting `default()` first if absent, under the shard's
    /// write lock: a read-modify-write no other thread can interleave with.
    pub fn upsert<R>(&self, key: K, default: impl FnOnce() -> V, f: impl FnOnce(&mut V) -> R) -> R {
        let (h, shard) = self.locate(&key);
        let mut table = shard.write();
        if let Some((_, v)) = table.find_mut(h, |(k, _)| *k == key) {
            return f(v);
        }
        let entry = table.insert_unique(h, (key, default()), |(k, _)| self.hasher.hash_one(k));
        f(&mut entry.into_mut().1)
    }

    /// True when `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.with(key, |v| v.is_some())
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
