//! The text the pipelines chew on, and the pure per-item work of each stage.
//!
//! The corpus is generated, not shipped: pseudo-words built from syllables, drawn with a skewed
//! (Zipf-like) distribution from a seeded RNG, with capitals and punctuation so that `parse` and
//! `transform` have real work. The same seed always gives the same text, so every version of the
//! pipeline can be compared with [`sequential`].
use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Word frequencies: the aggregate every version must agree on.
pub type Counts = BTreeMap<String, u64>;

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "to", "sha", "vel", "dun", "ir", "po", "qua", "zen", "bri", "ost",
    "la", "mo",
];
/// Words that `transform` drops, as a word-count over prose would.
pub const STOP_WORDS: &[&str] = &["the", "and", "of", "a", "to", "in"];
const PUNCT: &[&str] = &["", "", "", ",", ".", ";", "!", "?"];

/// A vocabulary of `n` distinct pseudo-words (plus the stop words), deterministic in `seed`.
fn vocabulary(n: usize, rng: &mut SmallRng) -> Vec<String> {
    let mut words: Vec<String> = STOP_WORDS.iter().map(|w| w.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
    while words.len() < n + STOP_WORDS.len() {
        let parts = rng.random_range(1..=3);
        let w: String = (0..parts)
            .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
            .collect();
        if seen.insert(w.clone()) {
            words.push(w);
        }
    }
    words
}

/// `lines` lines of 6–16 words each; the same `seed` gives the same text.
pub fn corpus(lines: usize, seed: u64) -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let vocab = vocabulary(300, &mut rng);
    (0..lines)
        .map(|_| {
            let n = rng.random_range(6..=16);
            let mut line = String::new();
            for i in 0..n {
                // Skewed pick: the square of a uniform favours low indices (frequent words).
                let u: f64 = rng.random();
                let w = &vocab[((u * u) * vocab.len() as f64) as usize];
                if i > 0 {
                    line.push(' ');
                }
                if rng.random_range(0..8) == 0 {
                    let mut c = w.chars();
                    if let Some(f) = c.next() {
                        line.extend(f.to_uppercase());
                        line.push_str(c.as_str());
                    }
                } else {
                    line.push_str(w);
                }
                line.push_str(PUNCT[rng.random_range(0..PUNCT.len())]);
            }
            line
        })
        .collect()
}

/// Stage `parse`: a line into its raw tokens (split on whitespace).
pub fn parse(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// Stage `transform`: tokens into normalised words — punctuation stripped, lower-cased, stop words
/// and empty tokens dropped.
pub fn transform(tokens: Vec<String>) -> Vec<String> {
    tokens
        .into_iter()
        .filter_map(|t| {
            let w: String = t
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            (!w.is_empty() && !STOP_WORDS.contains(&w.as_str())).then_some(w)
        })
        .collect()
}

/// Stage `aggregate`: adds one item's words to the running counts.
pub fn aggregate(counts: &mut Counts, words: Vec<String>) {
    for w in words {
        *counts.entry(w).or_insert(0) += 1;
    }
}

/// The reference: the same four steps, run in one loop on one thread.
pub fn sequential(lines: &[String]) -> Counts {
    let mut counts = Counts::new();
    for line in lines {
        aggregate(&mut counts, transform(parse(line)));
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_deterministic_and_seed_dependent() {
        assert_eq!(corpus(50, 7), corpus(50, 7));
        assert_ne!(corpus(50, 7), corpus(50, 8));
    }

    #[test]
    fn transform_normalises_and_drops_stop_words() {
        let got = transform(parse("The Kalo, and mi! ... to"));
        assert_eq!(got, vec!["kalo".to_string(), "mi".to_string()]);
    }

    #[test]
    fn sequential_counts_every_kept_word() {
        let lines = corpus(100, 1);
        let counts = sequential(&lines);
        let kept: usize = lines.iter().map(|l| transform(parse(l)).len()).sum();
        assert_eq!(counts.values().sum::<u64>() as usize, kept);
        assert!(counts.len() > 20, "a skewed but varied vocabulary");
    }
}
