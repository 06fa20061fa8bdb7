//! The map side's buffers and the runs they become. A map task groups its pairs by partition and key
//! in memory; when the buffered bytes pass its share of the memory budget it sorts each partition
//! by key and writes it to disk as a *run* (a spill). A reduce task merges the runs of its partition
//! from every map task, k-way, so each key reaches `reduce` once with all its values.
//!
//! A run file is a sequence of entries `[key len u32][key][value count u32]([value len u32][value])*`,
//! little-endian lengths, keys strictly increasing.
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::Codec;
use crate::error::TaskFailure;
use crate::fasthash::FastBuild;
use crate::job::{EmittedKey, Job};

/// Bytes counted per buffered entry beside its encoding (the framing a run would write).
const ENTRY_OVERHEAD: usize = 8;
/// A key's values are combined each time their count reaches this (and again at each doubling).
const COMBINE_AT: usize = 16;

/// A key's buffered values: most keys of a job with a fold (every `AggregateJob`) only ever hold
/// one, kept without a vector of its own.
#[derive(Debug)]
pub(crate) enum Values<V> {
    /// Exactly one value.
    One(V),
    /// Any number of values, in emit order.
    Many(Vec<V>),
}

impl<V> Values<V> {
    pub(crate) fn as_slice(&self) -> &[V] {
        match self {
            Values::One(value) => std::slice::from_ref(value),
            Values::Many(values) => values,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [V] {
        match self {
            Values::One(value) => std::slice::from_mut(value),
            Values::Many(values) => values,
        }
    }

    /// Appends `value`; a key's second value makes a vector with room up to the first combine.
    fn push(&mut self, value: V) {
        match self {
            Values::Many(values) => values.push(value),
            Values::One(_) => {
                let mut values = Vec::with_capacity(COMBINE_AT);
                if let Values::One(first) = std::mem::replace(self, Values::Many(Vec::new())) {
                    values.push(first);
                }
                values.push(value);
                *self = Values::Many(values);
            }
        }
    }
}

/// One sorted run of one partition: `(key, values)` with keys strictly increasing.
#[derive(Debug)]
pub(crate) enum Run<K, V> {
    /// Kept in memory (no memory budget): shared so that a retried reduce task reads it again.
    Memory(Arc<Vec<(K, Values<V>)>>),
    /// Spilled to this file.
    Disk(PathBuf),
}

/// One buffered key's state: its partition (computed once, when the key is first seen) and values.
struct Slot<V> {
    partition: u32,
    values: Values<V>,
}

/// A map task's pairs, grouped by key: one table for every partition, each key remembering its
/// partition, so a pair whose key is already buffered costs one lookup (no partition hash, no
/// allocation for a borrowed key).
pub(crate) struct MapBuffer<K, V> {
    /// Each buffered key and its slot's index in `slots` (the table stays small, and a lookup
    /// hands out the key and, separately, its slot: `fold_into` and `combine` get both).
    index: HashMap<K, u32, FastBuild>,
    slots: Vec<Slot<V>>,
    reducers: usize,
    /// The encoded bytes of what is buffered (plus [`ENTRY_OVERHEAD`] a value).
    pub(crate) bytes: usize,
}

impl<K: Ord + std::hash::Hash + Clone + Codec, V: Codec> MapBuffer<K, V> {
    pub(crate) fn new(reducers: usize) -> Self {
        MapBuffer {
            index: HashMap::default(),
            slots: Vec::new(),
            reducers,
            bytes: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Adds one pair, combining the key's values when they pile up. A key not buffered yet is made
    /// owned (if it was borrowed) and partitioned; a partition out of range fails the attempt.
    pub(crate) fn push<J: Job<Key = K, Value = V>>(
        &mut self,
        job: &J,
        key: EmittedKey<'_, K, J::KeyRef>,
        value: V,
    ) -> Result<(), TaskFailure>
    where
        K: std::borrow::Borrow<J::KeyRef>,
    {
        let value_len = value.encoded_len() + ENTRY_OVERHEAD;
        let Some((key, &slot)) = self.index.get_key_value(key.as_ref()) else {
            let key = match key {
                EmittedKey::Owned(key) => key,
                EmittedKey::Borrowed(key) => key.to_owned(),
            };
            let partition = job.partition(&key, self.reducers);
            if partition >= self.reducers {
                return Err(TaskFailure::BadPartition {
                    partition,
                    reducers: self.reducers,
                });
            }
            self.bytes += key.encoded_len() + ENTRY_OVERHEAD + value_len;
            let slot = u32::try_from(self.slots.len())
                .map_err(|_| TaskFailure::Failed("more than 2^32 keys in one map buffer".into()))?;
            self.index.insert(key, slot);
            self.slots.push(Slot {
                partition: partition as u32,
                values: Values::One(value),
            });
            return Ok(());
        };
        let values = &mut self.slots[slot as usize].values;
        // A job whose combine is a fold keeps one value per key, folded in place.
        let value = match values.as_mut_slice() {
            [acc] => {
                let before = acc.encoded_len();
                match job.fold_into(key, acc, value) {
                    Ok(()) => {
                        self.bytes = self.bytes + acc.encoded_len() - before;
                        return Ok(());
                    }
                    Err(value) => value,
                }
            }
            _ => value,
        };
        values.push(value);
        self.bytes += value_len;
        let Values::Many(values) = values else {
            return Ok(());
        };
        let n = values.len();
        if n >= COMBINE_AT && n.is_power_of_two() {
            let before: usize = values
                .iter()
                .map(|v| v.encoded_len() + ENTRY_OVERHEAD)
                .sum();
            let combined = job.combine(key, std::mem::take(values));
            let after: usize = combined
                .iter()
                .map(|v| v.encoded_len() + ENTRY_OVERHEAD)
                .sum();
            *values = combined;
            // Room for the next pushes up to the next combine, in one allocation rather than
            // the doublings from the combined length (a monoid's combine returns one value).
            values.reserve(COMBINE_AT.saturating_sub(values.len()));
            self.bytes = self.bytes + after - before;
        }
        Ok(())
    }

    /// Empties the buffer into one sorted, combined run per partition.
    pub(crate) fn drain_sorted<J: Job<Key = K, Value = V>>(
        &mut self,
        job: &J,
    ) -> Vec<Vec<(K, Values<V>)>> {
        self.bytes = 0;
        let mut slots: Vec<Option<Slot<V>>> = self.slots.drain(..).map(Some).collect();
        let mut partitions: Vec<Vec<(K, Values<V>)>> =
            (0..self.reducers).map(|_| Vec::new()).collect();
        for (key, slot) in self.index.drain() {
            let Some(Slot { partition, values }) = slots[slot as usize].take() else {
                continue;
            };
            let values = match values {
                Values::Many(values) if values.len() > 1 => Values::Many(job.combine(&key, values)),
                values => values,
            };
            partitions[partition as usize].push((key, values));
        }
        for entries in &mut partitions {
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        partitions
    }
}

impl<K, V> std::fmt::Debug for MapBuffer<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapBuffer")
            .field("keys", &self.index.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

fn write_len(out: &mut impl Write, len: usize) -> std::io::Result<()> {
    let len = u32::try_from(len)
        .map_err(|_| std::io::Error::other("a key or value of 4 GiB or more cannot be spilled"))?;
    out.write_all(&len.to_le_bytes())
}

/// Writes one sorted run to `path`; returns the bytes written.
pub(crate) fn write_run<K: Codec, V: Codec>(
    path: &Path,
    entries: &[(K, Values<V>)],
) -> std::io::Result<u64> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut scratch = Vec::new();
    let mut written = 0u64;
    for (key, values) in entries {
        scratch.clear();
        key.encode(&mut scratch);
        write_len(&mut out, scratch.len())?;
        out.write_all(&scratch)?;
        let values = values.as_slice();
        write_len(&mut out, values.len())?;
        written += 8 + scratch.len() as u64;
        for value in values {
            scratch.clear();
            value.encode(&mut scratch);
            write_len(&mut out, scratch.len())?;
            out.write_all(&scratch)?;
            written += 4 + scratch.len() as u64;
        }
    }
    // Flushed, not synced: a run lives only as long as the job, and a job that outlives a crash of
    // the machine starts over, so forcing it to the disk would buy nothing.
    out.flush()?;
    Ok(written)
}

/// A run entry's key as a reader hands it over: borrowed from a run in memory, or decoded from a
/// file.
enum KeyOf<'a, K> {
    Borrowed(&'a K),
    Owned(K),
}

impl<K> std::ops::Deref for KeyOf<'_, K> {
    type Target = K;
    fn deref(&self) -> &K {
        match self {
            KeyOf::Borrowed(key) => key,
            KeyOf::Owned(key) => key,
        }
    }
}

/// A run entry's values as a reader hands them over: borrowed from a run in memory, or decoded
/// from a file.
enum ValuesOf<'a, V> {
    Borrowed(&'a [V]),
    Owned(Vec<V>),
}

impl<V: Clone> ValuesOf<'_, V> {
    /// Moves (decoded) or clones (borrowed) the values onto the end of `into`.
    fn append_to(self, into: &mut Vec<V>) {
        match self {
            ValuesOf::Borrowed(values) => into.extend_from_slice(values),
            ValuesOf::Owned(mut values) => into.append(&mut values),
        }
    }
}

/// One run entry as a reader hands it over.
type Entry<'a, K, V> = (KeyOf<'a, K>, ValuesOf<'a, V>);

/// Reads a run's entries in order: a run in memory by reference (no copy of its keys or value
/// vectors), a run on disk by decoding its file.
enum RunReader<'a, K, V> {
    Memory {
        entries: std::slice::Iter<'a, (K, Values<V>)>,
    },
    Disk {
        file: BufReader<File>,
        path: &'a Path,
    },
}

impl<'a, K: Codec, V: Codec> RunReader<'a, K, V> {
    fn open(run: &'a Run<K, V>) -> Result<Self, TaskFailure> {
        Ok(match run {
            Run::Memory(entries) => RunReader::Memory {
                entries: entries.iter(),
            },
            Run::Disk(path) => RunReader::Disk {
                file: BufReader::with_capacity(64 * 1024, File::open(path)?),
                path,
            },
        })
    }

    /// The next entry, or `None` at the end of the run. An entry whose key `skip` accepts comes
    /// with no values: they are passed over without being copied or decoded (a split heavy key's
    /// values, which reach its reducer as partials instead).
    fn next_entry(
        &mut self,
        skip: &dyn Fn(&K) -> bool,
    ) -> Result<Option<Entry<'a, K, V>>, TaskFailure> {
        match self {
            RunReader::Memory { entries } => Ok(entries.next().map(|(key, values)| {
                let values = if skip(key) { &[] } else { values.as_slice() };
                (KeyOf::Borrowed(key), ValuesOf::Borrowed(values))
            })),
            RunReader::Disk { file, path } => {
                let corrupt =
                    |what: &str| TaskFailure::Corrupt(format!("{}: {what}", path.display()));
                let mut len = [0u8; 4];
                match file.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
                let mut scratch = Vec::new();
                let mut read_item = |file: &mut BufReader<File>, len: usize| {
                    scratch.resize(len, 0);
                    file.read_exact(&mut scratch).map(|()| scratch.clone())
                };
                let key_bytes = read_item(file, u32::from_le_bytes(len) as usize)
                    .map_err(|_| corrupt("truncated key"))?;
                let key = K::decode(&key_bytes).map_err(|e| corrupt(&e.to_string()))?;
                file.read_exact(&mut len)
                    .map_err(|_| corrupt("truncated value count"))?;
                let count = u32::from_le_bytes(len) as usize;
                if skip(&key) {
                    for _ in 0..count {
                        file.read_exact(&mut len)
                            .map_err(|_| corrupt("truncated value length"))?;
                        file.seek_relative(i64::from(u32::from_le_bytes(len)))?;
                    }
                    return Ok(Some((KeyOf::Owned(key), ValuesOf::Owned(Vec::new()))));
                }
                let mut values = Vec::with_capacity(count.min(1 << 16));
                for _ in 0..count {
                    file.read_exact(&mut len)
                        .map_err(|_| corrupt("truncated value length"))?;
                    let bytes = read_item(file, u32::from_le_bytes(len) as usize)
                        .map_err(|_| corrupt("truncated value"))?;
                    values.push(V::decode(&bytes).map_err(|e| corrupt(&e.to_string()))?);
                }
                Ok(Some((KeyOf::Owned(key), ValuesOf::Owned(values))))
            }
        }
    }
}

/// A run's current head in the merge heap: smallest key first, then the earliest run, so a key's
/// values come out in run order (map task order, then spill order).
struct Head<'a, K, V> {
    key: KeyOf<'a, K>,
    values: ValuesOf<'a, V>,
    run: usize,
}

impl<K: Ord, V> PartialEq for Head<'_, K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<K: Ord, V> Eq for Head<'_, K, V> {}
impl<K: Ord, V> PartialOrd for Head<'_, K, V> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, V> Ord for Head<'_, K, V> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (*other.key)
            .cmp(&*self.key)
            .then_with(|| other.run.cmp(&self.run))
    }
}

/// Merges sorted runs k-way: calls `f(key, values)` once per distinct key, in key order, with the
/// key's values from every run in run order (none for a key `skip` accepts). Runs in memory are
/// read in place: a key's values are copied once, into the vector `f` receives.
pub(crate) fn merge_runs<K, V>(
    runs: &[&Run<K, V>],
    skip: &dyn Fn(&K) -> bool,
    mut f: impl FnMut(&K, Vec<V>) -> Result<(), TaskFailure>,
) -> Result<(), TaskFailure>
where
    K: Ord + Codec,
    V: Codec + Clone,
{
    let mut readers = runs
        .iter()
        .map(|run| RunReader::open(run))
        .collect::<Result<Vec<_>, _>>()?;
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (run, reader) in readers.iter_mut().enumerate() {
        if let Some((key, values)) = reader.next_entry(skip)? {
            heap.push(Head { key, values, run });
        }
    }
    while let Some(Head { key, values, run }) = heap.pop() {
        let mut all = Vec::new();
        values.append_to(&mut all);
        advance(&mut readers, &mut heap, run, skip)?;
        while heap.peek().is_some_and(|head| *head.key == *key) {
            let Some(Head { values, run, .. }) = heap.pop() else {
                break;
            };
            values.append_to(&mut all);
            advance(&mut readers, &mut heap, run, skip)?;
        }
        f(&key, all)?;
    }
    Ok(())
}

fn advance<'a, K: Ord + Codec, V: Codec>(
    readers: &mut [RunReader<'a, K, V>],
    heap: &mut BinaryHeap<Head<'a, K, V>>,
    run: usize,
    skip: &dyn Fn(&K) -> bool,
) -> Result<(), TaskFailure> {
    if let Some((key, values)) = readers[run].next_entry(skip)? {
        heap.push(Head { key, values, run });
    }
    Ok(())
}

/// Collects, from sorted runs read in order, the values of the keys in `wanted` (sorted, distinct):
/// per wanted key, its values from every run in run order — what [`merge_runs`] would hand over
/// for it. A run in memory is searched; a run on disk is read through, skipping other keys'
/// values undecoded.
pub(crate) fn collect_keys<K, V>(
    runs: &[&Run<K, V>],
    wanted: &[K],
) -> Result<Vec<Vec<V>>, TaskFailure>
where
    K: Ord + Codec + Clone,
    V: Codec + Clone,
{
    let mut found: Vec<Vec<V>> = wanted.iter().map(|_| Vec::new()).collect();
    let index = |key: &K| wanted.binary_search(key).ok();
    for run in runs {
        match run {
            Run::Memory(entries) => {
                for (slot, key) in found.iter_mut().zip(wanted) {
                    if let Ok(at) = entries.binary_search_by(|(k, _)| k.cmp(key)) {
                        slot.extend_from_slice(entries[at].1.as_slice());
                    }
                }
            }
            Run::Disk(_) => {
                let mut reader = RunReader::open(run)?;
                let skip = |key: &K| index(key).is_none();
                while let Some((key, values)) = reader.next_entry(&skip)? {
                    if let Some(i) = index(&key) {
                        values.append_to(&mut found[i]);
                    }
                }
            }
        }
    }
    Ok(found)
}
