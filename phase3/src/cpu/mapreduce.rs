//! Word count as map → combine → merge, on a generated Zipf corpus.
//!
//! Go would start a goroutine per chunk that sends `(word, 1)` pairs down a channel to one counting
//! goroutine, and the channel becomes the bottleneck. The MapReduce shape avoids any shared hot spot:
//! - **map + combine**: each worker claims chunks of the text (dynamically, see
//!   [`partition::parallel_fold`](super::partition::parallel_fold)) and counts words into its *own*
//!   tables — the combiner: a word seen 10 000 times leaves the worker as one `(word, 10000)` entry;
//! - **shuffle**: each worker keeps `P` tables, one per *partition* (the word's hash picks it), so
//!   partition `p` of every worker holds the same key range;
//! - **merge (reduce)**: reducers claim partitions and merge partition `p` of every worker into one
//!   table. Partitions hold disjoint keys, so no lock is needed anywhere and the result is `P` tables.
//!
//! Keys are `&[u8]` slices of the corpus (no allocation per word), hashed once: the hash picks the
//! partition and is reused inside hashbrown's table (`raw_entry_mut`).
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Mutex;

use hashbrown::HashMap;
use hashbrown::hash_map::RawEntryMut;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::partition::{Scheme, parallel_fold};

/// A word → count table over words borrowed from the corpus.
pub type WordCounts<'a> = HashMap<&'a [u8], u64, RandomState>;

/// A generated text and what the generator knows about it.
pub struct Corpus {
    /// Lowercase words separated by single spaces and newlines.
    pub text: Vec<u8>,
    /// Words written.
    pub words: u64,
    /// The vocabulary, most frequent (Zipf rank 1) first.
    pub vocabulary: Vec<String>,
}

/// A corpus of about `bytes` bytes: words drawn from a vocabulary of `vocab` distinct random words
/// with Zipf frequencies (rank `r` has weight `1 / r^s`), 12 words per line. Deterministic in `seed`.
pub fn zipf_corpus(bytes: usize, vocab: usize, s: f64, seed: u64) -> Corpus {
    let mut rng = SmallRng::seed_from_u64(seed);
    let vocab = vocab.max(1);
    let mut seen = std::collections::HashSet::with_capacity(vocab);
    let mut vocabulary = Vec::with_capacity(vocab);
    while vocabulary.len() < vocab {
        // Lengths 2..=11, short ones likelier: most of a real vocabulary is short.
        let len = 2 + rng.random_range(0..5) + rng.random_range(0..6);
        let w: String = (0..len)
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect();
        if seen.insert(w.clone()) {
            vocabulary.push(w);
        }
    }
    // Cumulative weights; a uniform draw in [0, total) finds its rank by binary search.
    let mut cdf = Vec::with_capacity(vocab);
    let mut total = 0.0;
    for r in 1..=vocab {
        total += 1.0 / (r as f64).powf(s);
        cdf.push(total);
    }
    let mut text = Vec::with_capacity(bytes + 16);
    let mut words = 0u64;
    while text.len() < bytes {
        let u = rng.random_range(0.0..total);
        let rank = cdf.partition_point(|&c| c <= u).min(vocab - 1);
        text.extend_from_slice(vocabulary[rank].as_bytes());
        words += 1;
        text.push(if words.is_multiple_of(12) {
            b'\n'
        } else {
            b' '
        });
    }
    Corpus {
        text,
        words,
        vocabulary,
    }
}

/// The words of `text`: maximal runs of non-whitespace bytes.
pub fn words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
}

/// The sequential reference count.
pub fn count_sequential<'a>(text: &'a [u8], hasher: &RandomState) -> WordCounts<'a> {
    let mut counts = WordCounts::with_hasher(hasher.clone());
    for w in words(text) {
        *counts.entry(w).or_insert(0) += 1;
    }
    counts
}

/// `text` cut into ranges of about `target` bytes, each ending just after a whitespace byte (or at the
/// end), so no word straddles two ranges.
pub fn chunk_bounds(text: &[u8], target: usize) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut out = Vec::with_capacity(text.len() / target + 1);
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + target).min(text.len());
        while end < text.len() && !text[end - 1].is_ascii_whitespace() {
            end += 1;
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// Merges `from` into `into` (keys of both come from the same hasher).
pub fn merge_into<'a>(into: &mut WordCounts<'a>, from: WordCounts<'a>) {
    for (w, n) in from {
        *into.entry(w).or_insert(0) += n;
    }
}

/// How the parallel word count is run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Worker threads (map and merge).
    pub workers: usize,
    /// Bytes per map chunk (claimed dynamically).
    pub chunk_bytes: usize,
    /// Partitions (reduce tasks); a power of two.
    pub partitions: usize,
}

impl Plan {
    /// `workers` threads, 256 KiB chunks, 4 partitions per worker.
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        Plan {
            workers,
            chunk_bytes: 256 * 1024,
            partitions: (4 * workers).next_power_of_two(),
        }
    }
}

/// The result of the parallel count: one table per partition, with disjoint keys.
pub struct PartitionedCounts<'a> {
    /// Partition `p` holds exactly the words whose hash maps to `p`.
    pub parts: Vec<WordCounts<'a>>,
    hasher: RandomState,
}

impl<'a> PartitionedCounts<'a> {
    fn part_of(&self, hash: u64) -> usize {
        partition_of(hash, self.parts.len())
    }

    /// `word`'s count, if present.
    pub fn get(&self, word: &[u8]) -> Option<u64> {
        let h = self.hasher.hash_one(word);
        self.parts[self.part_of(h)]
            .raw_entry()
            .from_key_hashed_nocheck(h, word)
            .map(|(_, n)| *n)
    }

    /// Distinct words.
    pub fn len(&self) -> usize {
        self.parts.iter().map(HashMap::len).sum()
    }

    /// True when the text had no word.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total words counted.
    pub fn total(&self) -> u64 {
        self.parts.iter().flat_map(|p| p.values()).sum()
    }

    /// True when every word has exactly the count `reference` has, and no other word is present.
    pub fn equals(&self, reference: &WordCounts<'_>) -> bool {
        self.len() == reference.len() && reference.iter().all(|(w, n)| self.get(w) == Some(*n))
    }

    /// The `k` most frequent words, ties broken by the word, most frequent first.
    pub fn top(&self, k: usize) -> Vec<(&'a [u8], u64)> {
        let mut all: Vec<_> = self
            .parts
            .iter()
            .flat_map(|p| p.iter().map(|(w, n)| (*w, *n)))
            .collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(k);
        all
    }
}

/// The partition of a hash among `parts` (a power of two), from the bits below hashbrown's 7-bit tag.
fn partition_of(hash: u64, parts: usize) -> usize {
    ((hash << 7) >> 32) as usize & (parts - 1)
}

/// Parallel word count: map + combine into per-worker partitioned tables, then merge per partition.
pub fn count_parallel<'a>(
    text: &'a [u8],
    plan: Plan,
    hasher: &RandomState,
) -> PartitionedCounts<'a> {
    let parts = plan.partitions.max(1).next_power_of_two();
    let chunks = chunk_bounds(text, plan.chunk_bytes);
    // Map + combine: worker w fills its own `parts` tables; nothing is shared but the claim counter.
    let mapped: Vec<Vec<WordCounts<'a>>> = parallel_fold(
        chunks.len(),
        plan.workers,
        Scheme::Dynamic { chunk: 1 },
        |_| empty_tables(parts, hasher),
        |tables: &mut Vec<WordCounts<'a>>, range| {
            for c in range {
                count_into(tables, &text[chunks[c].clone()], hasher);
            }
        },
    );
    // Shuffle: partition p of every worker, moved into one slot a reducer takes. Each slot's mutex is
    // locked once, by the reducer that claimed p, so it is never contended.
    let slots: Vec<Mutex<Vec<WordCounts<'a>>>> =
        shuffle(mapped, parts).into_iter().map(Mutex::new).collect();
    // Merge: reducers claim partitions; each merges its partition's tables into the largest one.
    let reduced: Vec<Vec<(usize, WordCounts<'a>)>> = parallel_fold(
        parts,
        plan.workers,
        Scheme::Dynamic { chunk: 1 },
        |_| Vec::new(),
        |done: &mut Vec<(usize, WordCounts<'a>)>, range| {
            for p in range {
                let tables =
                    std::mem::take(&mut *slots[p].lock().unwrap_or_else(|e| e.into_inner()));
                done.push((p, merge_partition(tables, hasher)));
            }
        },
    );
    let mut parts_out: Vec<Option<WordCounts<'a>>> = (0..parts).map(|_| None).collect();
    for (p, t) in reduced.into_iter().flatten() {
        parts_out[p] = Some(t);
    }
    PartitionedCounts {
        parts: parts_out
            .into_iter()
            .map(|t| t.expect("every partition is merged exactly once"))
            .collect(),
        hasher: hasher.clone(),
    }
}

/// Map + combine one chunk of text into `tables`, one per partition (the word's hash picks it; the
/// hash is computed once and reused inside the table).
fn count_into<'a>(tables: &mut [WordCounts<'a>], chunk: &'a [u8], hasher: &RandomState) {
    let parts = tables.len();
    for w in words(chunk) {
        let h = hasher.hash_one(w);
        let table = &mut tables[partition_of(h, parts)];
        match table.raw_entry_mut().from_key_hashed_nocheck(h, w) {
            RawEntryMut::Occupied(mut e) => *e.get_mut() += 1,
            RawEntryMut::Vacant(e) => {
                e.insert_hashed_nocheck(h, w, 1);
            }
        }
    }
}

/// Shuffle: turn "per mapper, one table per partition" into "per partition, one table per mapper".
fn shuffle<'a>(mapped: Vec<Vec<WordCounts<'a>>>, parts: usize) -> Vec<Vec<WordCounts<'a>>> {
    let mut by_part: Vec<Vec<WordCounts<'a>>> = (0..parts).map(|_| Vec::new()).collect();
    for tables in mapped {
        for (p, t) in tables.into_iter().enumerate() {
            by_part[p].push(t);
        }
    }
    by_part
}

/// Reduce one partition: merge its tables into the largest one.
fn merge_partition<'a>(mut tables: Vec<WordCounts<'a>>, hasher: &RandomState) -> WordCounts<'a> {
    tables.sort_unstable_by_key(|t| std::cmp::Reverse(t.len()));
    let mut merged = if tables.is_empty() {
        WordCounts::with_hasher(hasher.clone())
    } else {
        tables.swap_remove(0)
    };
    for t in tables {
        merge_into(&mut merged, t);
    }
    merged
}

fn empty_tables<'a>(parts: usize, hasher: &RandomState) -> Vec<WordCounts<'a>> {
    (0..parts)
        .map(|_| WordCounts::with_hasher(hasher.clone()))
        .collect()
}

/// The same job on rayon, written as rayon would have it: `fold` partitioned tables per rayon job
/// over the same chunks, shuffle, then merge the partitions with a parallel iterator. It does exactly
/// the work [`count_parallel`] does and ends in the same [`PartitionedCounts`], so the two differ only
/// in the scheduler (rayon's pool and splitting against our claim counter and threads).
pub fn count_rayon<'a>(text: &'a [u8], plan: Plan, hasher: &RandomState) -> PartitionedCounts<'a> {
    use rayon::prelude::*;
    let parts = plan.partitions.max(1).next_power_of_two();
    let chunks = chunk_bounds(text, plan.chunk_bytes);
    let mapped: Vec<Vec<WordCounts<'a>>> = chunks
        .par_iter()
        .fold(
            || empty_tables(parts, hasher),
            |mut tables, r| {
                count_into(&mut tables, &text[r.clone()], hasher);
                tables
            },
        )
        .collect();
    PartitionedCounts {
        parts: shuffle(mapped, parts)
            .into_par_iter()
            .map(|tables| merge_partition(tables, hasher))
            .collect(),
        hasher: hasher.clone(),
    }
}

/// rayon's shortest version, for contrast: `fold` one table per rayon job, then `reduce` pairwise,
/// merging the smaller table into the larger. It ends in one table instead of `P`, so its last merges
/// run on one thread; the bench keeps it beside [`count_rayon`] and the report takes the faster.
pub fn count_rayon_fold_reduce<'a>(
    text: &'a [u8],
    chunk_bytes: usize,
    hasher: &RandomState,
) -> WordCounts<'a> {
    use rayon::prelude::*;
    let chunks = chunk_bounds(text, chunk_bytes);
    chunks
        .par_iter()
        .fold(
            || WordCounts::with_hasher(hasher.clone()),
            |mut m, r| {
                for w in words(&text[r.clone()]) {
                    *m.entry(w).or_insert(0) += 1;
                }
                m
            },
        )
        .reduce(
            || WordCounts::with_hasher(hasher.clone()),
            |a, b| {
                let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
                merge_into(&mut big, small);
                big
            },
        )
}

/// A different parallel design for contrast: no combiner, every word goes straight into one shared
/// [`ShardedCounterMap`](super::map::ShardedCounterMap) (a lock per word).
pub fn count_shared_map(text: &[u8], plan: Plan) -> super::map::ShardedCounterMap<&[u8]> {
    let map = super::map::ShardedCounterMap::new(plan.partitions * 4);
    let chunks = chunk_bounds(text, plan.chunk_bytes);
    parallel_fold(
        chunks.len(),
        plan.workers,
        Scheme::Dynamic { chunk: 1 },
        |_| (),
        |_, range| {
            for c in range {
                for w in words(&text[chunks[c].clone()]) {
                    map.add(w, 1);
                }
            }
        },
    );
    map
}
