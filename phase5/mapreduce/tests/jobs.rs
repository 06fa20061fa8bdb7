//! Every built-in job equals a sequential reference (proptests over small inputs, fixed seeds for
//! larger ones), and the output bytes do not depend on the thread count.
mod common;

use common::*;
use mapreduce::jobs::{Grep, InvertedIndex, Sort, WordCount};
use mapreduce::{Emitter, Engine, Input, Job, Output, Record, RecordError};
use proptest::prelude::*;

fn engine(threads: usize, splits: usize, reducers: usize) -> Engine {
    Engine::new()
        .threads(threads)
        .splits(splits)
        .reducers(reducers)
}

#[test]
fn wordcount_equals_the_reference_on_a_larger_corpus() {
    guarded(|| {
        let files = text_files(11, 3, 120_000, 3_000);
        let (dir, paths) = setup("mr-wc", &files);
        let report = engine(2, 9, 3)
            .run(
                &WordCount::job(),
                &Input::lines(&paths),
                dir.path().join("out"),
            )
            .unwrap();
        assert_eq!(parse_counts(&parts(&report)), wordcount_reference(&files));
        let lines: u64 = files.iter().map(|f| lines(f).len() as u64).sum();
        assert_eq!(report.input_records, lines);
        assert_eq!(
            report.input_bytes,
            files.iter().map(|f| f.len() as u64).sum::<u64>()
        );
        let words: u64 = wordcount_reference(&files).values().sum();
        assert_eq!(report.map_output_pairs, words);
        assert_eq!(report.spilled_runs, 0);
    });
}

/// Word count that emits every other word of a line owned and the rest borrowed, with a combine
/// but no fold (so a key's values grow into a vector and are combined, not folded).
struct MixedKeys;

impl Job for MixedKeys {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = u64;
    fn map<'r>(
        &self,
        r: &Record<'r>,
        emit: &mut Emitter<'r, Vec<u8>, u64, [u8]>,
    ) -> Result<(), RecordError> {
        let words = r
            .bytes
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty());
        for (i, word) in words.enumerate() {
            match i % 2 {
                0 => emit.emit(word.to_vec(), 1),
                _ => emit.emit_ref(word, 1),
            }
        }
        Ok(())
    }
    fn combine(&self, _key: &Vec<u8>, values: Vec<u64>) -> Vec<u64> {
        vec![values.iter().sum()]
    }
    fn reduce(&self, key: &Vec<u8>, v: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
        let count = v.iter().sum::<u64>().to_string();
        out.write(&[key.as_slice(), b"\t", count.as_bytes(), b"\n"].concat());
        Ok(())
    }
}

#[test]
fn keys_emitted_owned_and_borrowed_group_together() {
    guarded(|| {
        let files = text_files(13, 3, 40_000, 500);
        let (dir, paths) = setup("mr-mixed", &files);
        let input = Input::lines(&paths);
        for (name, budget) in [("memory", None), ("spill", Some(8 * 1024))] {
            let report = engine(2, 5, 3)
                .memory_budget(budget)
                .run(&MixedKeys, &input, dir.path().join(name))
                .unwrap();
            assert_eq!(parse_counts(&parts(&report)), wordcount_reference(&files));
            let words: u64 = wordcount_reference(&files).values().sum();
            assert_eq!(report.map_output_pairs, words);
        }
    });
}

#[test]
fn index_grep_and_sort_equal_their_references_on_fixed_seeds() {
    guarded(|| {
        let files = text_files(12, 4, 60_000, 2_000);
        let (dir, paths) = setup("mr-index", &files);
        let index = engine(2, 7, 4)
            .run(
                &InvertedIndex,
                &Input::lines(&paths),
                dir.path().join("index"),
            )
            .unwrap();
        assert_eq!(parse_index(&parts(&index)), index_reference(&files));
        let grep = engine(2, 7, 3)
            .run(
                &Grep::new("ab"),
                &Input::lines(&paths),
                dir.path().join("grep"),
            )
            .unwrap();
        let expected = grep_reference(&files, b"ab");
        assert!(!expected.is_empty());
        assert_eq!(parse_grep(&parts(&grep)), expected);

        let records = record_files(13, 3, 2_000, 100);
        let (dir, paths) = setup("mr-sort", &records);
        let sorted = engine(2, 8, 4)
            .run(
                &Sort::benchmark(),
                &Input::fixed(&paths, 100),
                dir.path().join("out"),
            )
            .unwrap();
        assert_eq!(parts(&sorted).concat(), sort_reference(&records, 100));
    });
}

#[test]
fn output_bytes_do_not_depend_on_the_thread_count() {
    guarded(|| {
        let files = text_files(21, 3, 50_000, 1_500);
        let (dir, paths) = setup("mr-determinism", &files);
        let records = record_files(22, 2, 1_500, 100);
        let sort_dir = dir.path().join("records");
        std::fs::create_dir(&sort_dir).unwrap();
        let record_paths = write_files(&sort_dir, &records);
        for budget in [None, Some(20_000)] {
            let mut seen: Vec<Vec<Vec<u8>>> = Vec::new();
            for threads in [1, 2, 4] {
                let run = |name: &str| dir.path().join(format!("{name}-{threads}-{budget:?}"));
                let e = engine(threads, 10, 3).memory_budget(budget);
                let input = Input::lines(&paths);
                seen.push(vec![
                    parts(&e.run(&WordCount::job(), &input, run("wc")).unwrap()).concat(),
                    parts(&e.run(&InvertedIndex, &input, run("index")).unwrap()).concat(),
                    parts(&e.run(&Grep::new("e"), &input, run("grep")).unwrap()).concat(),
                    parts(
                        &e.run(
                            &Sort::benchmark(),
                            &Input::fixed(&record_paths, 100),
                            run("sort"),
                        )
                        .unwrap(),
                    )
                    .concat(),
                ]);
            }
            assert_eq!(seen[0], seen[1], "1 thread vs 2, budget {budget:?}");
            assert_eq!(seen[0], seen[2], "1 thread vs 4, budget {budget:?}");
        }
    });
}

#[test]
fn a_run_with_baseline_reports_both_times_and_the_same_output() {
    guarded(|| {
        let files = text_files(23, 2, 20_000, 500);
        let (dir, paths) = setup("mr-baseline", &files);
        let e = engine(2, 6, 2);
        let input = Input::lines(&paths);
        let plain = e
            .run(&WordCount::job(), &input, dir.path().join("plain"))
            .unwrap();
        let both = e
            .run_with_baseline(&WordCount::job(), &input, dir.path().join("both"))
            .unwrap();
        assert_eq!(parts(&plain), parts(&both));
        assert_eq!(plain.baseline, None);
        assert!(both.baseline.is_some_and(|b| b > std::time::Duration::ZERO));
        assert!(both.to_string().contains("speed-up"), "{both}");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("both"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "only the part files: {left:?}");
    });
}

fn small_text() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let line = "[abc]{0,3}( {1,2}[abc]{1,3}){0,4}";
    let file = (prop::collection::vec(line, 0..8), any::<bool>()).prop_map(|(lines, newline)| {
        let mut text = lines.join("\n").into_bytes();
        if newline && !text.is_empty() {
            text.push(b'\n');
        }
        text
    });
    prop::collection::vec(file, 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn small_text_jobs_equal_their_references(
        files in small_text(),
        threads in 1usize..4,
        splits in 1usize..6,
        reducers in 1usize..4,
        budget in prop::option::of(1usize..200),
    ) {
        let (dir, paths) = setup("mr-prop", &files);
        let e = engine(threads, splits, reducers).memory_budget(budget);
        let input = Input::lines(&paths);
        let wc = e.run(&WordCount::job(), &input, dir.path().join("wc")).unwrap();
        prop_assert_eq!(parse_counts(&parts(&wc)), wordcount_reference(&files));
        let index = e.run(&InvertedIndex, &input, dir.path().join("index")).unwrap();
        prop_assert_eq!(parse_index(&parts(&index)), index_reference(&files));
        let grep = e.run(&Grep::new("b"), &input, dir.path().join("grep")).unwrap();
        prop_assert_eq!(parse_grep(&parts(&grep)), grep_reference(&files, b"b"));
        let all = e.run(&Grep::new(""), &input, dir.path().join("all")).unwrap();
        prop_assert_eq!(parse_grep(&parts(&all)), grep_reference(&files, b""));
    }

    #[test]
    fn small_sorts_equal_the_reference(
        seed in any::<u64>(),
        files in 1usize..4,
        records in 0usize..30,
        threads in 1usize..4,
        splits in 1usize..6,
        reducers in 1usize..5,
        budget in prop::option::of(1usize..3_000),
    ) {
        let data = record_files(seed, files, records, 100);
        let (dir, paths) = setup("mr-prop-sort", &data);
        let sorted = engine(threads, splits, reducers)
            .memory_budget(budget)
            .run(&Sort::benchmark(), &Input::fixed(&paths, 100), dir.path().join("out"))
            .unwrap();
        prop_assert_eq!(parts(&sorted).concat(), sort_reference(&data, 100));
    }
}
