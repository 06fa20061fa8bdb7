//! The parallel word count equals the sequential one exactly, on several corpora and plans; rayon's
//! too; the corpus generator is deterministic.
#![cfg(not(loom))]
use std::collections::hash_map::RandomState;
use std::time::Duration;

use harness::watchdog::within;
use phase3::cpu::mapreduce::{self, Plan, WordCounts};

fn check_all_equal(text: &[u8], hasher: &RandomState) {
    let reference: WordCounts<'_> = mapreduce::count_sequential(text, hasher);
    for workers in [1, 2, 3, 4] {
        for (chunk_bytes, partitions) in [(1, 1), (64, 2), (4096, 8), (1 << 20, 16)] {
            let plan = Plan {
                workers,
                chunk_bytes,
                partitions,
            };
            let ours = mapreduce::count_parallel(text, plan, hasher);
            assert!(ours.equals(&reference), "{plan:?}");
            let rayon = mapreduce::count_rayon(text, plan, hasher);
            assert!(rayon.equals(&reference), "rayon, {plan:?}");
            assert_eq!(ours.total(), reference.values().sum::<u64>());
            assert_eq!(ours.len(), reference.len());
            let shared = mapreduce::count_shared_map(text, plan).into_map();
            assert_eq!(shared.len(), reference.len());
            assert!(reference.iter().all(|(w, n)| shared.get(w) == Some(n)));
        }
    }
    for chunk in [1, 100, 1 << 16] {
        assert_eq!(
            mapreduce::count_rayon_fold_reduce(text, chunk, hasher),
            reference
        );
    }
}

#[test]
fn parallel_counts_equal_sequential_on_generated_corpora() {
    within(Duration::from_secs(120), || {
        let hasher = RandomState::new();
        for (bytes, vocab, s, seed) in [
            (0, 10, 1.0, 1),
            (50, 5, 1.0, 2),
            (20_000, 100, 1.1, 3),
            (200_000, 5_000, 0.8, 4),
        ] {
            let c = mapreduce::zipf_corpus(bytes, vocab, s, seed);
            check_all_equal(&c.text, &hasher);
            let seq = mapreduce::count_sequential(&c.text, &hasher);
            assert_eq!(seq.values().sum::<u64>(), c.words);
        }
    });
}

#[test]
fn parallel_counts_equal_sequential_on_awkward_text() {
    within(Duration::from_secs(60), || {
        let hasher = RandomState::new();
        for text in [
            &b""[..],
            b"   \n\t ",
            b"one",
            b"a a a a b",
            b"  leading and trailing  ",
            b"tabs\tand\nnewlines\r\nand  double  spaces",
            b"same same same same same same same same same same same",
        ] {
            check_all_equal(text, &hasher);
        }
    });
}

#[test]
fn chunks_tile_the_text_and_never_split_a_word() {
    let c = mapreduce::zipf_corpus(10_000, 50, 1.0, 9);
    for target in [1, 7, 100, 5_000, 20_000] {
        let chunks = mapreduce::chunk_bounds(&c.text, target);
        let mut at = 0;
        for r in &chunks {
            assert_eq!(r.start, at, "contiguous");
            assert!(!r.is_empty());
            at = r.end;
            assert!(r.end == c.text.len() || c.text[r.end - 1].is_ascii_whitespace());
        }
        assert_eq!(at, c.text.len());
    }
}

#[test]
fn the_generator_is_deterministic_and_zipf_shaped() {
    let a = mapreduce::zipf_corpus(100_000, 1_000, 1.0, 42);
    let b = mapreduce::zipf_corpus(100_000, 1_000, 1.0, 42);
    let other = mapreduce::zipf_corpus(100_000, 1_000, 1.0, 43);
    assert_eq!(a.text, b.text);
    assert_eq!(a.vocabulary, b.vocabulary);
    assert_ne!(a.text, other.text);
    assert!(a.text.len() >= 100_000 && a.text.len() < 100_020);
    let hasher = RandomState::new();
    let counts = mapreduce::count_parallel(&a.text, Plan::new(2), &hasher);
    let top = counts.top(2);
    assert_eq!(
        top[0].0,
        a.vocabulary[0].as_bytes(),
        "rank 1 is the most frequent"
    );
    // Zipf with s = 1: rank 1 is about twice as frequent as rank 2 (loosely: 1.5…2.7×).
    let ratio = top[0].1 as f64 / counts.get(a.vocabulary[1].as_bytes()).unwrap() as f64;
    assert!((1.5..2.7).contains(&ratio), "rank1/rank2 = {ratio}");
}
