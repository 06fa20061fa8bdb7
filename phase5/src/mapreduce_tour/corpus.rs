//! Generated inputs and the sequential references the engine's output is checked against. The
//! references are plain single-threaded loops over the same bytes, written apart from the engine
//! (no `mapreduce` type is used here), and sort their output lines so any partitioning compares.
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use harness::rng::XorShift64Star;

/// A vocabulary of `size` distinct words (letters, then the rank, so no two collide).
pub(crate) fn vocabulary(rng: &mut XorShift64Star, size: usize) -> Vec<String> {
    (0..size)
        .map(|rank| {
            let len = 1 + rng.below(7) as usize;
            let mut word: String = (0..len)
                .map(|_| char::from(b'a' + rng.below(26) as u8))
                .collect();
            word.push_str(&rank.to_string());
            word
        })
        .collect()
}

/// Draws ranks `0..n` with probability ∝ 1 / (rank + 1)^s (Zipf), by binary search in the CDF.
#[derive(Debug)]
pub(crate) struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub(crate) fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (0..n.max(1))
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(s);
                total
            })
            .collect();
        for p in &mut cdf {
            *p /= total;
        }
        Zipf { cdf }
    }

    pub(crate) fn sample(&self, rng: &mut XorShift64Star) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|&p| p < u).min(self.cdf.len() - 1)
    }
}

/// `files` text files of about `bytes_each` bytes: lines of 1-12 words drawn by `zipf` from
/// `words`, single spaces.
pub(crate) fn text_files(
    seed: u64,
    files: usize,
    bytes_each: usize,
    words: &[String],
    zipf: &Zipf,
) -> Vec<Vec<u8>> {
    let mut rng = XorShift64Star::new(seed);
    (0..files)
        .map(|_| {
            let mut text = Vec::with_capacity(bytes_each + 128);
            while text.len() < bytes_each {
                for j in 0..1 + rng.below(12) {
                    if j > 0 {
                        text.push(b' ');
                    }
                    text.extend_from_slice(words[zipf.sample(&mut rng)].as_bytes());
                }
                text.push(b'\n');
            }
            text
        })
        .collect()
}

/// `count` records of `len` bytes: a random 10-byte key of printable bytes, then filler.
pub(crate) fn records(seed: u64, count: usize, len: usize) -> Vec<u8> {
    let mut rng = XorShift64Star::new(seed);
    (0..count * len)
        .map(|i| {
            if i % len < 10 {
                b' ' + rng.below(95) as u8
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect()
}

/// Writes each of `files` to `dir/NAME-i`, returning the paths in order.
pub(crate) fn write(dir: &Path, name: &str, files: &[Vec<u8>]) -> std::io::Result<Vec<PathBuf>> {
    files
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let path = dir.join(format!("{name}-{i}"));
            std::fs::write(&path, bytes)?;
            Ok(path)
        })
        .collect()
}

fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
}

fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut offset = 0;
    text.split_inclusive(|&b| b == b'\n').map(move |line| {
        let at = offset;
        offset += line.len();
        (at, line.strip_suffix(b"\n").unwrap_or(line))
    })
}

/// `word\tcount` lines, sorted.
pub(crate) fn wordcount(files: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut counts: HashMap<&[u8], u64> = HashMap::new();
    for text in files {
        for word in words(text) {
            *counts.entry(word).or_default() += 1;
        }
    }
    let mut out: Vec<Vec<u8>> = counts
        .into_iter()
        .map(|(word, n)| [word, b"\t", n.to_string().as_bytes()].concat())
        .collect();
    out.sort_unstable();
    out
}

/// `word\tfile,file,…` lines (files ascending, distinct), sorted.
pub(crate) fn index(files: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut index: HashMap<&[u8], BTreeSet<usize>> = HashMap::new();
    for (i, text) in files.iter().enumerate() {
        for word in words(text) {
            index.entry(word).or_default().insert(i);
        }
    }
    let mut out: Vec<Vec<u8>> = index
        .into_iter()
        .map(|(word, files)| {
            let list: Vec<String> = files.iter().map(usize::to_string).collect();
            [word, b"\t", list.join(",").as_bytes()].concat()
        })
        .collect();
    out.sort_unstable();
    out
}

/// `file:offset:line` of each line holding `pattern`, sorted.
pub(crate) fn grep(files: &[Vec<u8>], pattern: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, text) in files.iter().enumerate() {
        for (offset, line) in lines(text) {
            if line.windows(pattern.len()).any(|w| w == pattern) {
                out.push([format!("{i}:{offset}:").as_bytes(), line].concat());
            }
        }
    }
    out.sort_unstable();
    out
}

/// The records stably sorted by their first 10 bytes, concatenated.
pub(crate) fn sort(records: &[u8], len: usize) -> Vec<u8> {
    let mut all: Vec<&[u8]> = records.chunks(len).collect();
    all.sort_by_key(|r| &r[..10]);
    all.concat()
}

/// The non-empty lines of every output file, sorted: the output as a set of records, whatever the
/// partitioning.
pub(crate) fn output_lines(parts: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = parts
        .iter()
        .flat_map(|p| p.split(|&b| b == b'\n'))
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    out.sort_unstable();
    out
}

/// Whether each file's lines are in strictly increasing key order (the text before `sep`).
pub(crate) fn each_sorted(parts: &[Vec<u8>], sep: u8) -> bool {
    parts.iter().all(|p| {
        let keys: Vec<&[u8]> = p
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| l.split(|&b| b == sep).next().unwrap_or(l))
            .collect();
        keys.windows(2).all(|w| w[0] < w[1])
    })
}

/// Reads the job's output files in partition order.
pub(crate) fn read_parts(paths: &[PathBuf]) -> std::io::Result<Vec<Vec<u8>>> {
    paths.iter().map(std::fs::read).collect()
}
