//! The job API. Go's map-reduce lessons pass `func(string) []KeyValue` and
//! `func(string, []string) string` around as strings; here a job is a trait with typed keys and
//! values, an optional combiner and a partitioner, and [`Aggregate`] covers the common case of a
//! monoid (count, sum, min/max) in three methods.
use std::borrow::Borrow;
use std::hash::Hash;

use crate::codec::Codec;
use crate::error::RecordError;

/// One input record handed to [`Job::map`].
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The record's bytes: a line without its `\n`, or one fixed-size record.
    pub bytes: &'a [u8],
    /// The input file's index in the [`Input`](crate::Input)'s list.
    pub file: usize,
    /// The record's byte offset in its file.
    pub offset: u64,
    /// The split (map task) reading it.
    pub split: usize,
    /// Whether a backup copy of the map task is reading it ([`Engine::backup_tasks`](crate::Engine::backup_tasks)).
    pub backup: bool,
}

/// A key as a map call hands it over: owned, or borrowed from the record.
pub(crate) enum EmittedKey<'r, K, Q: ?Sized> {
    /// Made by the map call ([`Emitter::emit`]).
    Owned(K),
    /// Borrowed from the record ([`Emitter::emit_ref`]): the map buffer makes an owned key of it
    /// only if it has not seen the key yet.
    Borrowed(&'r Q),
}

impl<K: Borrow<Q>, Q: ?Sized> EmittedKey<'_, K, Q> {
    /// The key in its borrowed form, whichever way it was emitted.
    pub(crate) fn as_ref(&self) -> &Q {
        match self {
            EmittedKey::Owned(key) => key.borrow(),
            EmittedKey::Borrowed(key) => key,
        }
    }
}

/// Collects a map call's pairs. They reach the job's buffers only if `map` returns `Ok`, so a
/// skipped record leaves nothing behind.
///
/// A key is emitted owned ([`emit`](Self::emit), a `K`) or borrowed from the record
/// ([`emit_ref`](Self::emit_ref), a `&'r Q` where `Q` is the job's [`Job::KeyRef`]): a borrowed
/// key costs an allocation only the first time a map task sees it, so a job whose keys are pieces
/// of its records (words, fields) should emit them borrowed.
pub struct Emitter<'r, K, V, Q: ?Sized = K> {
    pub(crate) pending: Vec<(EmittedKey<'r, K, Q>, V)>,
}

impl<K, V, Q: ?Sized> std::fmt::Debug for Emitter<'_, K, V, Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<'r, K, V, Q: ?Sized> Emitter<'r, K, V, Q> {
    pub(crate) fn new() -> Self {
        Emitter {
            pending: Vec::new(),
        }
    }

    /// Emits one intermediate pair with an owned key.
    pub fn emit(&mut self, key: K, value: V) {
        self.pending.push((EmittedKey::Owned(key), value));
    }

    /// Emits one intermediate pair with a key borrowed from the record (`Q::to_owned` makes the
    /// key when the map task has not seen it yet).
    pub fn emit_ref(&mut self, key: &'r Q, value: V) {
        self.pending.push((EmittedKey::Borrowed(key), value));
    }
}

/// Where a reduce call writes its output records: bytes appended to the partition's `part-NNNNN`
/// file, in key order. The job chooses the format (a line, a fixed-size record).
#[derive(Debug, Default)]
pub struct Output {
    pub(crate) buffer: Vec<u8>,
    pub(crate) records: u64,
    pub(crate) backup: bool,
}

impl Output {
    /// Whether a backup copy of the reduce task is writing ([`Engine::backup_tasks`](crate::Engine::backup_tasks)).
    pub fn is_backup(&self) -> bool {
        self.backup
    }

    /// Appends one output record.
    pub fn write(&mut self, record: &[u8]) {
        self.buffer.extend_from_slice(record);
        self.records += 1;
    }
}

/// A map-reduce job: `map` turns records into `(key, value)` pairs, the engine groups them by key
/// (sorted within each of the `R` partitions), and `reduce` turns each key and its values into output
/// records.
///
/// ```
/// use mapreduce::{Emitter, Job, Output, Record, RecordError};
///
/// /// Line lengths: how many lines have each length.
/// struct LineLengths;
///
/// impl Job for LineLengths {
///     type Key = u64;
///     type KeyRef = u64;
///     type Value = u64;
///     fn map(&self, record: &Record<'_>, emit: &mut Emitter<'_, u64, u64>) -> Result<(), RecordError> {
///         emit.emit(record.bytes.len() as u64, 1);
///         Ok(())
///     }
///     fn combine(&self, _key: &u64, values: Vec<u64>) -> Vec<u64> {
///         vec![values.iter().sum()]
///     }
///     fn reduce(&self, key: &u64, values: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
///         out.write(format!("{key}\t{}\n", values.iter().sum::<u64>()).as_bytes());
///         Ok(())
///     }
/// }
/// ```
pub trait Job: Sync {
    /// The intermediate key: grouped on, sorted on (its `Ord`), partitioned on.
    type Key: Ord + Hash + Clone + Codec + Send + Sync + Borrow<Self::KeyRef>;
    /// The key's borrowed form, which [`Emitter::emit_ref`] takes (`[u8]` for a `Vec<u8>` key,
    /// `str` for a `String`); a job that only emits owned keys names `Key` again.
    type KeyRef: ?Sized + Hash + Eq + ToOwned<Owned = Self::Key>;
    /// The intermediate value.
    type Value: Clone + Codec + Send + Sync;

    /// Emits the pairs of one record, with keys owned or borrowed from `record`.
    /// [`RecordError::Bad`] skips the record (counted, up to the engine's cap);
    /// [`RecordError::Fail`] fails the task attempt (retried).
    fn map<'r>(
        &self,
        record: &Record<'r>,
        emit: &mut Emitter<'r, Self::Key, Self::Value, Self::KeyRef>,
    ) -> Result<(), RecordError>;

    /// The map-side combiner: replaces some of a key's values by fewer, with the same reduce result.
    /// The engine may call it on any run of a key's values, any number of times, in emit order.
    /// The default keeps every value.
    fn combine(&self, key: &Self::Key, values: Vec<Self::Value>) -> Vec<Self::Value> {
        let _ = key;
        values
    }

    /// The combiner one value at a time, for a job whose `combine` folds a key's values into one:
    /// on `Ok(())`, `acc` has become what `combine(key, vec![acc, value])` would return as its one
    /// value. The map side calls it for a key it holds exactly one value of, so no value vector
    /// grows and `combine` is not called for it. The default declines, handing `value` back.
    fn fold_into(
        &self,
        key: &Self::Key,
        acc: &mut Self::Value,
        value: Self::Value,
    ) -> Result<(), Self::Value> {
        let _ = (key, acc);
        Err(value)
    }

    /// The reduce partition of `key`, below `reducers`. The default hashes the key's encoding
    /// ([`hash_partition`]); a sort uses [`range_partition`] so that partition order is key order.
    fn partition(&self, key: &Self::Key, reducers: usize) -> usize {
        hash_partition(key, reducers)
    }

    /// Writes the output records of one key, given its values in emit order (map task by map task).
    /// [`RecordError::Bad`] drops what this call wrote and counts the key as skipped.
    fn reduce(
        &self,
        key: &Self::Key,
        values: Vec<Self::Value>,
        out: &mut Output,
    ) -> Result<(), RecordError>;

    /// Whether `combine` is a partial reduction across map tasks, so that a heavy key's values may
    /// be split ([`Engine::split_heavy_keys`](crate::Engine::split_heavy_keys)): for any cut of a
    /// key's values (in emit order) into consecutive pieces `a`, `b`, …, `reduce(key,
    /// combine(a) ++ combine(b) ++ …)` writes what `reduce(key, a ++ b ++ …)` writes. The map side
    /// only ever combines values of one map task; this promises more, so it is opt-in: `false` by
    /// default, `true` for every [`AggregateJob`] (an associative `merge` is its combine and its
    /// reduce).
    fn splittable(&self) -> bool {
        false
    }
}

/// FNV-1a over the key's encoding, modulo `reducers`: the same partition on every run and machine.
pub fn hash_partition<K: Codec>(key: &K, reducers: usize) -> usize {
    thread_local! {
        /// The key's encoding, in a buffer reused across calls (one allocation a thread, not a key).
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let hash = SCRATCH.with_borrow_mut(|bytes| {
        bytes.clear();
        key.encode(bytes);
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &byte in bytes.iter() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash
    });
    (hash % reducers.max(1) as u64) as usize
}

/// Range partitioning on a key's first bytes, read as a big-endian fraction of the key space: keys in
/// partition `p` are all smaller than keys in partition `p + 1`, so the `part-NNNNN` files
/// concatenated in order are sorted. Balanced when keys are uniform (as in a sort benchmark's).
///
/// ```
/// use mapreduce::range_partition;
///
/// assert_eq!(range_partition(&[0x00, 0x10], 4), 0);
/// assert_eq!(range_partition(&[0x80], 4), 2);
/// assert_eq!(range_partition(&[0xff, 0xff, 0xff], 4), 3);
/// ```
pub fn range_partition(key: &[u8], reducers: usize) -> usize {
    let mut prefix = [0u8; 8];
    let n = key.len().min(8);
    prefix[..n].copy_from_slice(&key[..n]);
    let fraction = u64::from_be_bytes(prefix);
    ((u128::from(fraction) * reducers.max(1) as u128) >> 64) as usize
}

/// A monoid job in three methods: `map` emits `(key, accumulator)` pairs, `merge` folds two
/// accumulators (associative; the order of folding is emit order), `write` formats a key's total.
/// Run it as a [`Job`] through [`AggregateJob`].
///
/// ```
/// use mapreduce::{Aggregate, AggregateJob, Emitter, Engine, Input, Record};
///
/// /// The longest line of each file.
/// struct Longest;
///
/// impl Aggregate for Longest {
///     type Key = u64;
///     type KeyRef = u64;
///     type Acc = u64;
///     fn map(&self, record: &Record<'_>, emit: &mut Emitter<'_, u64, u64>) {
///         emit.emit(record.file as u64, record.bytes.len() as u64);
///     }
///     fn merge(&self, acc: &mut u64, other: u64) {
///         *acc = (*acc).max(other);
///     }
///     fn write(&self, key: &u64, acc: &u64, out: &mut Vec<u8>) {
///         out.extend_from_slice(format!("{key}\t{acc}\n").as_bytes());
///     }
/// }
///
/// let dir = std::env::temp_dir().join(format!("mr-doc-longest-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("a.txt"), "one\nthree\n")?;
/// let out = dir.join("out");
/// # let _ = std::fs::remove_dir_all(&out);
/// Engine::new().reducers(1).run(&AggregateJob(Longest), &Input::lines([dir.join("a.txt")]), &out)?;
/// assert_eq!(std::fs::read_to_string(out.join("part-00000"))?, "0\t5\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Aggregate: Sync {
    /// The grouping key.
    type Key: Ord + Hash + Clone + Codec + Send + Sync + Borrow<Self::KeyRef>;
    /// The key's borrowed form ([`Job::KeyRef`]).
    type KeyRef: ?Sized + Hash + Eq + ToOwned<Owned = Self::Key>;
    /// The accumulator: one record's contribution, or the fold of many.
    type Acc: Clone + Codec + Send + Sync;
    /// Emits the `(key, accumulator)` contributions of one record, keys owned or borrowed from
    /// `record`.
    fn map<'r>(
        &self,
        record: &Record<'r>,
        emit: &mut Emitter<'r, Self::Key, Self::Acc, Self::KeyRef>,
    );
    /// Folds `other` into `acc`.
    fn merge(&self, acc: &mut Self::Acc, other: Self::Acc);
    /// Appends the output record of one key's total to `out`.
    fn write(&self, key: &Self::Key, acc: &Self::Acc, out: &mut Vec<u8>);
}

/// Runs an [`Aggregate`] as a [`Job`]: `merge` is both the combiner and the reducer.
#[derive(Debug, Clone, Copy, Default)]
pub struct AggregateJob<A>(pub A);

impl<A: Aggregate> AggregateJob<A> {
    fn fold(&self, values: Vec<A::Acc>) -> Option<A::Acc> {
        let mut values = values.into_iter();
        let mut acc = values.next()?;
        for value in values {
            self.0.merge(&mut acc, value);
        }
        Some(acc)
    }
}

impl<A: Aggregate> Job for AggregateJob<A> {
    type Key = A::Key;
    type KeyRef = A::KeyRef;
    type Value = A::Acc;

    fn map<'r>(
        &self,
        record: &Record<'r>,
        emit: &mut Emitter<'r, A::Key, A::Acc, A::KeyRef>,
    ) -> Result<(), RecordError> {
        self.0.map(record, emit);
        Ok(())
    }

    fn combine(&self, _key: &A::Key, values: Vec<A::Acc>) -> Vec<A::Acc> {
        self.fold(values).into_iter().collect()
    }

    fn fold_into(&self, _key: &A::Key, acc: &mut A::Acc, value: A::Acc) -> Result<(), A::Acc> {
        self.0.merge(acc, value);
        Ok(())
    }

    fn splittable(&self) -> bool {
        true
    }

    fn reduce(
        &self,
        key: &A::Key,
        values: Vec<A::Acc>,
        out: &mut Output,
    ) -> Result<(), RecordError> {
        if let Some(total) = self.fold(values) {
            let start = out.buffer.len();
            self.0.write(key, &total, &mut out.buffer);
            if out.buffer.len() > start {
                out.records += 1;
            }
        }
        Ok(())
    }
}
