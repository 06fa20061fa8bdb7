//! What the tests share: generated inputs, sequential references written independently of the
//! engine, and readers of its output.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::rng::XorShift64Star;
use harness::tempdir::TempDir;

/// Runs a test body under a deadline, so a hung engine fails the test instead of hanging CI.
pub fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    harness::watchdog::within(Duration::from_secs(120), f)
}

/// Writes `files` into `dir` as `in-N.txt`; returns their paths in order.
pub fn write_files(dir: &Path, files: &[Vec<u8>]) -> Vec<PathBuf> {
    files
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let path = dir.join(format!("in-{i}.txt"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// `files` text files of about `bytes_each` bytes: words drawn from a vocabulary of `vocab`, the
/// low ranks far likelier (rank = vocab · u³), lines of 0-11 words with single or double spaces,
/// some empty lines, the last line of a file sometimes without its `\n`.
pub fn text_files(seed: u64, files: usize, bytes_each: usize, vocab: usize) -> Vec<Vec<u8>> {
    let mut rng = XorShift64Star::new(seed);
    let words: Vec<String> = (0..vocab)
        .map(|i| {
            let len = 1 + rng.below(8) as usize;
            let mut w: String = (0..len)
                .map(|_| char::from(b'a' + rng.below(26) as u8))
                .collect();
            w.push_str(&i.to_string());
            w
        })
        .collect();
    (0..files)
        .map(|_| {
            let mut text = Vec::with_capacity(bytes_each + 64);
            while text.len() < bytes_each {
                let n = rng.below(12);
                for j in 0..n {
                    if j > 0 {
                        text.extend_from_slice(if rng.below(5) == 0 { b"  " } else { b" " });
                    }
                    let rank = (vocab as f64 * rng.unit().powi(3)) as usize;
                    text.extend_from_slice(words[rank.min(vocab - 1)].as_bytes());
                }
                text.push(b'\n');
            }
            if rng.below(2) == 0 {
                text.pop();
            }
            text
        })
        .collect()
}

/// Files of words `w0`, `w1`, … drawn with probability ∝ 1 / (rank + 1)^1.2.
pub fn zipf_files(seed: u64, files: usize, words_each: usize, vocab: usize) -> Vec<Vec<u8>> {
    let mut rng = XorShift64Star::new(seed);
    let mut cdf: Vec<f64> = Vec::with_capacity(vocab);
    let mut total = 0.0;
    for rank in 0..vocab {
        total += 1.0 / ((rank + 1) as f64).powf(1.2);
        cdf.push(total);
    }
    (0..files)
        .map(|_| {
            let mut text = Vec::new();
            for i in 0..words_each {
                let u = rng.unit() * total;
                let rank = cdf.partition_point(|&p| p < u).min(vocab - 1);
                text.extend_from_slice(format!("w{rank}").as_bytes());
                text.push(if i % 10 == 9 { b'\n' } else { b' ' });
            }
            text
        })
        .collect()
}

/// Fixed-size records whose keys (first 10 bytes) come from a small alphabet, so equal keys occur.
pub fn record_files(seed: u64, files: usize, records_each: usize, len: usize) -> Vec<Vec<u8>> {
    let mut rng = XorShift64Star::new(seed);
    (0..files)
        .map(|_| {
            (0..records_each * len)
                .map(|i| {
                    if i % len < 10 {
                        [0x00, b'a', 0xff][rng.below(3) as usize]
                    } else {
                        rng.below(256) as u8
                    }
                })
                .collect()
        })
        .collect()
}

/// The lines of a file with their byte offsets (a last line without `\n` included).
pub fn lines(text: &[u8]) -> Vec<(u64, &[u8])> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split(|&b| b == b'\n') {
        out.push((offset as u64, line));
        offset += line.len() + 1;
    }
    if text.ends_with(b"\n") || text.is_empty() {
        out.pop();
    }
    out
}

pub fn wordcount_reference(files: &[Vec<u8>]) -> BTreeMap<Vec<u8>, u64> {
    let mut counts = BTreeMap::new();
    for text in files {
        for word in text
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
        {
            *counts.entry(word.to_vec()).or_insert(0) += 1;
        }
    }
    counts
}

pub fn index_reference(files: &[Vec<u8>]) -> BTreeMap<Vec<u8>, BTreeSet<u64>> {
    let mut index: BTreeMap<Vec<u8>, BTreeSet<u64>> = BTreeMap::new();
    for (i, text) in files.iter().enumerate() {
        for word in text
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
        {
            index.entry(word.to_vec()).or_default().insert(i as u64);
        }
    }
    index
}

/// `file:offset:line` of every matching line, sorted.
pub fn grep_reference(files: &[Vec<u8>], pattern: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, text) in files.iter().enumerate() {
        for (offset, line) in lines(text) {
            if pattern.is_empty() || line.windows(pattern.len()).any(|w| w == pattern) {
                let mut record = format!("{i}:{offset}:").into_bytes();
                record.extend_from_slice(line);
                out.push(record);
            }
        }
    }
    out.sort();
    out
}

/// Every record, stably sorted by its first 10 bytes.
pub fn sort_reference(files: &[Vec<u8>], len: usize) -> Vec<u8> {
    let mut records: Vec<&[u8]> = files.iter().flat_map(|f| f.chunks(len)).collect();
    records.sort_by_key(|r| &r[..10]);
    records.concat()
}

/// The `part-` files of a run, in partition order.
pub fn parts(report: &mapreduce::JobReport) -> Vec<Vec<u8>> {
    report
        .outputs
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// The lines of every part file; asserts each file's keys (the text before the first `\t`) strictly
/// increase and no key is in two files.
pub fn keyed_lines(parts: &[Vec<u8>]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut all = BTreeMap::new();
    for part in parts {
        let mut previous: Option<Vec<u8>> = None;
        for line in part.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let tab = line.iter().position(|&b| b == b'\t').expect("a tab");
            let (key, value) = (line[..tab].to_vec(), line[tab + 1..].to_vec());
            if let Some(p) = &previous {
                assert!(
                    p < &key,
                    "keys out of order in a part file: {p:?} then {key:?}"
                );
            }
            previous = Some(key.clone());
            assert!(all.insert(key, value).is_none(), "a key in two part files");
        }
    }
    all
}

pub fn parse_counts(parts: &[Vec<u8>]) -> BTreeMap<Vec<u8>, u64> {
    keyed_lines(parts)
        .into_iter()
        .map(|(k, v)| (k, std::str::from_utf8(&v).unwrap().parse().unwrap()))
        .collect()
}

pub fn parse_index(parts: &[Vec<u8>]) -> BTreeMap<Vec<u8>, BTreeSet<u64>> {
    keyed_lines(parts)
        .into_iter()
        .map(|(k, v)| {
            let files: Vec<u64> = std::str::from_utf8(&v)
                .unwrap()
                .split(',')
                .map(|f| f.parse().unwrap())
                .collect();
            assert!(files.windows(2).all(|w| w[0] < w[1]), "files not ascending");
            (k, files.into_iter().collect())
        })
        .collect()
}

/// The grep output's lines, sorted; asserts each part file is ordered by (file, offset).
pub fn parse_grep(parts: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for part in parts {
        let mut previous = None;
        for line in part.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut fields = line.splitn(3, |&b| b == b':');
            let file: u64 = std::str::from_utf8(fields.next().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            let offset: u64 = std::str::from_utf8(fields.next().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            assert!(previous < Some((file, offset)), "grep output out of order");
            previous = Some((file, offset));
            out.push(line.to_vec());
        }
    }
    out.sort();
    out
}

/// A fresh temporary directory holding `files`, and their paths.
pub fn setup(label: &str, files: &[Vec<u8>]) -> (TempDir, Vec<PathBuf>) {
    let dir = TempDir::new(label).unwrap();
    let paths = write_files(dir.path(), files);
    (dir, paths)
}

/// What a test injects into word count: called after a record's words are emitted (an error makes
/// the record bad or fails the attempt) and before a key is reduced (`backup`: by a backup copy).
pub trait Hooks: Sync {
    fn after_map(&self, record: &mapreduce::Record<'_>) -> Result<(), mapreduce::RecordError>;
    fn before_reduce(&self, key: &[u8], backup: bool) -> Result<(), mapreduce::RecordError>;
}

/// Word count with a test's [`Hooks`].
pub struct Hooked<H>(pub H);

impl<H: Hooks> mapreduce::Job for Hooked<H> {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = u64;

    fn map<'r>(
        &self,
        record: &mapreduce::Record<'r>,
        emit: &mut mapreduce::Emitter<'r, Vec<u8>, u64, [u8]>,
    ) -> Result<(), mapreduce::RecordError> {
        mapreduce::jobs::WordCount::job().map(record, emit)?;
        self.0.after_map(record)
    }

    fn combine(&self, key: &Vec<u8>, values: Vec<u64>) -> Vec<u64> {
        mapreduce::jobs::WordCount::job().combine(key, values)
    }

    fn reduce(
        &self,
        key: &Vec<u8>,
        values: Vec<u64>,
        out: &mut mapreduce::Output,
    ) -> Result<(), mapreduce::RecordError> {
        self.0.before_reduce(key, out.is_backup())?;
        mapreduce::jobs::WordCount::job().reduce(key, values, out)
    }
}

/// For each word, its distinct successors on a line, in byte order.
pub fn successors_reference(files: &[Vec<u8>]) -> BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> {
    let mut next: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for text in files {
        for line in text.split(|&b| b == b'\n') {
            let words: Vec<&[u8]> = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                next.entry(pair[0].to_vec())
                    .or_default()
                    .insert(pair[1].to_vec());
            }
        }
    }
    next
}

pub fn parse_successors(parts: &[Vec<u8>]) -> BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> {
    keyed_lines(parts)
        .into_iter()
        .map(|(k, v)| {
            let words: Vec<Vec<u8>> = v.split(|&b| b == b' ').map(<[u8]>::to_vec).collect();
            assert!(
                words.windows(2).all(|w| w[0] < w[1]),
                "successors not ascending"
            );
            (k, words.into_iter().collect())
        })
        .collect()
}
