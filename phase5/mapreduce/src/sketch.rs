//! Heavy hitters in bounded memory: the Space-Saving sketch (Metwally, Agrawal & El Abbadi, ICDT
//! 2005), mergeable as in Agarwal et al., "Mergeable Summaries" (PODS 2012). Each map task counts
//! the keys it emits in a sketch of `capacity` counters; the job merges the committed tasks'
//! sketches into one that names the keys that dominate the intermediate data.
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// A Space-Saving sketch: at most `capacity` monitored keys, each with a count that overestimates
/// its true frequency by at most its `error`, itself at most `n / capacity` after `n` updates. Every
/// key whose true frequency exceeds `n / capacity` is monitored.
///
/// ```
/// use mapreduce::SpaceSaving;
///
/// let mut sketch = SpaceSaving::new(2);
/// for key in ["a", "b", "a", "c", "a", "d", "a"] {
///     sketch.insert(key, 1);
/// }
/// let top = sketch.top();
/// assert_eq!(top[0].0, "a");
/// assert!(top[0].1 >= 4 && top[0].1 - top[0].2 <= 4); // count ≥ truth ≥ count − error
/// ```
#[derive(Debug, Clone)]
pub struct SpaceSaving<K> {
    capacity: usize,
    /// Monitored key → (count, error): the count overestimates by at most the error.
    counters: HashMap<K, (u64, u64)>,
    /// Total weight inserted (or merged in).
    total: u64,
    /// The most an unmonitored key may have had, from the sketches merged in (0 for a sketch that
    /// only took inserts: then a full sketch's smallest counter bounds it).
    unmonitored: u64,
}

impl<K: Hash + Eq + Clone + Ord> SpaceSaving<K> {
    /// A sketch of `capacity` counters (at least 1).
    pub fn new(capacity: usize) -> SpaceSaving<K> {
        SpaceSaving {
            capacity: capacity.max(1),
            counters: HashMap::new(),
            total: 0,
            unmonitored: 0,
        }
    }

    /// Total weight inserted or merged in.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts `weight` occurrences of `key`. A key not monitored in a full sketch takes the place
    /// of the smallest counter, inheriting its count as its error.
    pub fn insert(&mut self, key: K, weight: u64) {
        self.insert_ref(&key, weight);
    }

    /// [`insert`](Self::insert) for a key in a borrowed form (`&[u8]` for a `Vec<u8>` key): it is
    /// made owned only if it takes a counter.
    pub(crate) fn insert_ref<Q>(&mut self, key: &Q, weight: u64)
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        self.total += weight;
        if let Some((count, _)) = self.counters.get_mut(key) {
            *count += weight;
            return;
        }
        let key = key.to_owned();
        if self.counters.len() < self.capacity {
            let floor = self.unmonitored;
            self.counters.insert(key, (floor + weight, floor));
            return;
        }
        let (min_key, min) = self.min_entry();
        let floor = min.max(self.unmonitored);
        self.counters.remove::<K>(&min_key);
        self.counters.insert(key, (floor + weight, floor));
    }

    /// The smallest counter (ties: the smallest key, so the result is deterministic).
    fn min_entry(&self) -> (K, u64) {
        let (key, (count, _)) = self
            .counters
            .iter()
            .min_by(|a, b| (a.1.0, a.0).cmp(&(b.1.0, b.0)))
            .expect("a full sketch has counters");
        (key.clone(), *count)
    }

    /// The most an unmonitored key may have had: a full sketch's smallest count, or what merging
    /// left.
    fn floor(&self) -> u64 {
        let full = if self.counters.len() < self.capacity {
            0
        } else {
            self.counters.values().map(|c| c.0).min().unwrap_or(0)
        };
        full.max(self.unmonitored)
    }

    /// Merges `other` in (the sketch of another part of the stream): counts and errors add; a key
    /// monitored by one sketch only gets the other's floor (what it may have had there) added to
    /// its count and its error. Every key stays, so the merged sketch may monitor more than
    /// `capacity` keys — which is what keeps the guarantees: a key above `n / capacity` overall is
    /// above its share in some part, so monitored there, and each error is at most the sum of the
    /// parts' `n_i / capacity`.
    pub fn merge(&mut self, other: &SpaceSaving<K>) {
        let (mine, theirs) = (self.floor(), other.floor());
        for (key, (count, error)) in &mut self.counters {
            let (c, e) = other.counters.get(key).copied().unwrap_or((theirs, theirs));
            *count += c;
            *error += e;
        }
        for (key, &(count, error)) in &other.counters {
            self.counters
                .entry(key.clone())
                .or_insert((count + mine, error + mine));
        }
        self.total += other.total;
        self.unmonitored = mine + theirs;
    }

    /// The monitored keys as `(key, count, error)`, largest count first (ties: smallest key).
    pub fn top(&self) -> Vec<(K, u64, u64)> {
        let mut top: Vec<(K, u64, u64)> = self
            .counters
            .iter()
            .map(|(k, &(c, e))| (k.clone(), c, e))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top
    }

    /// The keys whose guaranteed frequency (count − error) is at least `fraction` of the total.
    pub fn heavy(&self, fraction: f64) -> Vec<(K, u64, u64)> {
        let bar = (self.total as f64 * fraction).ceil() as u64;
        self.top()
            .into_iter()
            .filter(|(_, c, e)| c - e >= bar.max(1))
            .collect()
    }
}
