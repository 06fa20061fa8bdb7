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
use crate::job::Job;

/// Bytes counted per buffered entry beside its encoding (the framing a run would write).
const ENTRY_OVERHEAD: usize = 8;
/// A key's values are combined each time their count reaches this (and again at each doubling).
const COMBINE_AT: usize = 16;

/// One sorted run of one partition: `(key, values)` with keys strictly increasing.
#[derive(Debug)]
pub(crate) enum Run<K, V> {
    /// Kept in memory (no memory budget): shared so that a retried reduce task reads it again.
    Memory(Arc<Vec<(K, Vec<V>)>>),
    /// Spilled to this file.
    Disk(PathBuf),
}

/// A map task's pairs, grouped by partition and key.
pub(crate) struct MapBuffer<K, V> {
    partitions: Vec<HashMap<K, Vec<V>, FastBuild>>,
    /// The encoded bytes of what is buffered (plus [`ENTRY_OVERHEAD`] a value).
    pub(crate) bytes: usize,
}

impl<K: Ord + std::hash::Hash + Clone + Codec, V: Codec> MapBuffer<K, V> {
    pub(crate) fn new(reducers: usize) -> Self {
        MapBuffer {
            partitions: (0..reducers).map(|_| HashMap::default()).collect(),
            bytes: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.partitions.iter().all(HashMap::is_empty)
    }

    /// Adds one pair to `partition`, combining the key's values when they pile up.
    pub(crate) fn push<J: Job<Key = K, Value = V>>(
        &mut self,
        job: &J,
        partition: usize,
        key: K,
        value: V,
    ) {
        let value_len = value.encoded_len() + ENTRY_OVERHEAD;
        let table = &mut self.partitions[partition];
        let Some(values) = table.get_mut(&key) else {
            self.bytes += key.encoded_len() + ENTRY_OVERHEAD + value_len;
            table.insert(key, vec![value]);
            return;
        };
        // A job whose combine is a fold keeps one value per key, folded in place.
        let value = match values.as_mut_slice() {
            [acc] => {
                let before = acc.encoded_len();
                match job.fold_into(&key, acc, value) {
                    Ok(()) => {
                        self.bytes = self.bytes + acc.encoded_len() - before;
                        return;
                    }
                    Err(value) => value,
                }
            }
            _ => value,
        };
        values.push(value);
        self.bytes += value_len;
        let n = values.len();
        if n >= COMBINE_AT && n.is_power_of_two() {
            let before: usize = values
                .iter()
                .map(|v| v.encoded_len() + ENTRY_OVERHEAD)
                .sum();
            let combined = job.combine(&key, std::mem::take(values));
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
    }

    /// Empties the buffer into one sorted, combined run per partition.
    pub(crate) fn drain_sorted<J: Job<Key = K, Value = V>>(
        &mut self,
        job: &J,
    ) -> Vec<Vec<(K, Vec<V>)>> {
        self.bytes = 0;
        self.partitions
            .iter_mut()
            .map(|table| {
                let mut entries: Vec<(K, Vec<V>)> = table
                    .drain()
                    .map(|(key, values)| {
                        let values = if values.len() > 1 {
                            job.combine(&key, values)
                        } else {
                            values
                        };
                        (key, values)
                    })
                    .collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                entries
            })
            .collect()
    }
}

impl<K, V> std::fmt::Debug for MapBuffer<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapBuffer")
            .field("partitions", &self.partitions.len())
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
    entries: &[(K, Vec<V>)],
) -> std::io::Result<u64> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut scratch = Vec::new();
    let mut written = 0u64;
    for (key, values) in entries {
        scratch.clear();
        key.encode(&mut scratch);
        write_len(&mut out, scratch.len())?;
        out.write_all(&scratch)?;
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

/// Reads a run's entries in order, from memory or from its file.
pub(crate) enum RunReader<K, V> {
    Memory {
        run: Arc<Vec<(K, Vec<V>)>>,
        next: usize,
    },
    Disk {
        file: BufReader<File>,
        path: PathBuf,
    },
}

impl<K: Codec + Clone, V: Codec + Clone> RunReader<K, V> {
    pub(crate) fn open(run: &Run<K, V>) -> Result<Self, TaskFailure> {
        Ok(match run {
            Run::Memory(run) => RunReader::Memory {
                run: Arc::clone(run),
                next: 0,
            },
            Run::Disk(path) => RunReader::Disk {
                file: BufReader::with_capacity(64 * 1024, File::open(path)?),
                path: path.clone(),
            },
        })
    }

    /// The next entry, or `None` at the end of the run. An entry whose key `skip` accepts comes
    /// with no values: they are passed over without being copied or decoded (a split heavy key's
    /// values, which reach its reducer as partials instead).
    pub(crate) fn next_entry(
        &mut self,
        skip: &dyn Fn(&K) -> bool,
    ) -> Result<Option<(K, Vec<V>)>, TaskFailure> {
        match self {
            RunReader::Memory { run, next } => {
                let entry = run.get(*next).map(|(key, values)| {
                    let values = if skip(key) {
                        Vec::new()
                    } else {
                        values.clone()
                    };
                    (key.clone(), values)
                });
                *next += 1;
                Ok(entry)
            }
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
                    return Ok(Some((key, Vec::new())));
                }
                let mut values = Vec::with_capacity(count.min(1 << 16));
                for _ in 0..count {
                    file.read_exact(&mut len)
                        .map_err(|_| corrupt("truncated value length"))?;
                    let bytes = read_item(file, u32::from_le_bytes(len) as usize)
                        .map_err(|_| corrupt("truncated value"))?;
                    values.push(V::decode(&bytes).map_err(|e| corrupt(&e.to_string()))?);
                }
                Ok(Some((key, values)))
            }
        }
    }
}

/// A run's current head key in the merge heap: smallest key first, then the earliest run, so a
/// key's values come out in run order (map task order, then spill order).
struct Head<K> {
    key: K,
    run: usize,
}

impl<K: Ord> PartialEq for Head<K> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<K: Ord> Eq for Head<K> {}
impl<K: Ord> PartialOrd for Head<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord> Ord for Head<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        other
            .key
            .cmp(&self.key)
            .then_with(|| other.run.cmp(&self.run))
    }
}

/// Merges sorted runs k-way: calls `f(key, values)` once per distinct key, in key order, with the
/// key's values from every run in run order (none for a key `skip` accepts).
pub(crate) fn merge_runs<K, V>(
    runs: &[&Run<K, V>],
    skip: &dyn Fn(&K) -> bool,
    mut f: impl FnMut(K, Vec<V>) -> Result<(), TaskFailure>,
) -> Result<(), TaskFailure>
where
    K: Ord + Codec + Clone,
    V: Codec + Clone,
{
    let mut readers = runs
        .iter()
        .map(|run| RunReader::open(run))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pending: Vec<Vec<V>> = (0..readers.len()).map(|_| Vec::new()).collect();
    let mut heap = BinaryHeap::with_capacity(readers.len());
    for (run, reader) in readers.iter_mut().enumerate() {
        if let Some((key, values)) = reader.next_entry(skip)? {
            pending[run] = values;
            heap.push(Head { key, run });
        }
    }
    while let Some(Head { key, run }) = heap.pop() {
        let mut values = std::mem::take(&mut pending[run]);
        advance(&mut readers, &mut pending, &mut heap, run, skip)?;
        while heap.peek().is_some_and(|head| head.key == key) {
            let Some(Head { run, .. }) = heap.pop() else {
                break;
            };
            values.append(&mut pending[run]);
            advance(&mut readers, &mut pending, &mut heap, run, skip)?;
        }
        f(key, values)?;
    }
    Ok(())
}

fn advance<K: Ord + Codec + Clone, V: Codec + Clone>(
    readers: &mut [RunReader<K, V>],
    pending: &mut [Vec<V>],
    heap: &mut BinaryHeap<Head<K>>,
    run: usize,
    skip: &dyn Fn(&K) -> bool,
) -> Result<(), TaskFailure> {
    if let Some((key, values)) = readers[run].next_entry(skip)? {
        pending[run] = values;
        heap.push(Head { key, run });
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
                        slot.extend(entries[at].1.iter().cloned());
                    }
                }
            }
            Run::Disk(_) => {
                let mut reader = RunReader::open(run)?;
                let skip = |key: &K| index(key).is_none();
                while let Some((key, mut values)) = reader.next_entry(&skip)? {
                    if let Some(i) = index(&key) {
                        found[i].append(&mut values);
                    }
                }
            }
        }
    }
    Ok(found)
}
