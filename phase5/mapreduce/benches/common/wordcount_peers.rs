//! The peers word count is measured against, shared by `benches/wordcount.rs` and
//! `examples/wordcount_compare.rs`: one sequential thread (the COST paper's "one good thread") and
//! idiomatic rayon. Both write the same `word\tcount` lines, sorted, to one file.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// The words of a text: runs of bytes between ASCII whitespace (as `jobs::WordCount` splits them).
fn words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
}

/// Sorts the counts and writes them as `word\tcount` lines to `out`.
fn write_sorted(counts: HashMap<&[u8], u64>, out: &Path) {
    let mut counts: Vec<(&[u8], u64)> = counts.into_iter().collect();
    counts.sort_unstable();
    let mut text = Vec::new();
    for (word, n) in counts {
        text.extend_from_slice(word);
        text.push(b'\t');
        text.extend_from_slice(n.to_string().as_bytes());
        text.push(b'\n');
    }
    std::fs::write(out, text).expect("write the output");
}

/// One thread, one hash map, sorted and written.
pub fn sequential(paths: &[PathBuf], out: &Path) {
    let texts: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut counts: HashMap<&[u8], u64> = HashMap::new();
    for text in &texts {
        for word in words(text) {
            *counts.entry(word).or_default() += 1;
        }
    }
    write_sorted(counts, out);
}

/// What a rayon user writes: lines of every file in parallel, folded into per-thread hash maps,
/// reduced by merging the maps, then sorted and written.
pub fn with_rayon(pool: &rayon::ThreadPool, paths: &[PathBuf], out: &Path) {
    pool.install(|| {
        let texts: Vec<Vec<u8>> = paths
            .par_iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        let counts = texts
            .par_iter()
            .flat_map(|t| t.par_split(|&b| b == b'\n'))
            .fold(HashMap::new, |mut counts: HashMap<&[u8], u64>, line| {
                for word in words(line) {
                    *counts.entry(word).or_default() += 1;
                }
                counts
            })
            .reduce(HashMap::new, |a, b| {
                // Merge the smaller map into the larger.
                if a.len() >= b.len() {
                    merge(a, b)
                } else {
                    merge(b, a)
                }
            });
        write_sorted(counts, out);
    });
}

fn merge<'a>(mut a: HashMap<&'a [u8], u64>, b: HashMap<&'a [u8], u64>) -> HashMap<&'a [u8], u64> {
    for (k, v) in b {
        *a.entry(k).or_default() += v;
    }
    a
}
