//! Heavy-key splitting: the output is byte-identical to the unsplit run's (and to a sequential
//! reference) whatever the threads, splits, parts and budget; the report accounts for every value;
//! a job that does not declare itself splittable is refused; retries and backup copies of the
//! part tasks change nothing.
mod common;

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use common::*;
use mapreduce::jobs::{InvertedIndex, Successors, WordCount};
use mapreduce::{
    Emitter, Engine, Input, Job, JobError, JobReport, Output, Record, RecordError, TaskId,
};
use proptest::prelude::*;

fn engine(threads: usize, splits: usize, reducers: usize) -> Engine {
    Engine::new()
        .threads(threads)
        .splits(splits)
        .reducers(reducers)
        .max_attempts(2)
}

/// Runs `job` unsplit and split into `parts` on the same engine; returns both reports after
/// checking their part files are byte-identical.
fn both<J: Job>(
    job: &J,
    engine: &Engine,
    parts: usize,
    input: &Input,
    dir: &std::path::Path,
    label: &str,
) -> (JobReport, JobReport) {
    let plain = engine
        .run(job, input, dir.join(format!("{label}-plain")))
        .unwrap();
    let split = engine
        .clone()
        .split_heavy_keys(Some(parts))
        .run(job, input, dir.join(format!("{label}-split")))
        .unwrap();
    assert_eq!(
        parts_of(&plain),
        parts_of(&split),
        "{label}: outputs differ"
    );
    (plain, split)
}

fn parts_of(report: &JobReport) -> Vec<Vec<u8>> {
    parts(report)
}

/// The report's account: every split key is one of the heavy keys, cut into the expected number
/// of parts; each reducer's input is its unsplit input less its split keys' values plus their
/// merged partials.
fn check_account(plain: &JobReport, split: &JobReport, parts: usize) {
    assert_eq!(split.split_keys.len(), split.heavy_keys.len());
    let mut expected = plain.reduce_input_values.clone();
    for key in &split.split_keys {
        assert!(split.heavy_keys.iter().any(|h| h.key == key.key));
        assert_eq!(key.parts(), parts.min(split.splits));
        let values: u64 = key.part_input_values.iter().sum();
        expected[key.partition] = expected[key.partition] - values + key.merged_values;
    }
    assert_eq!(split.reduce_input_values, expected);
    assert_eq!(split.reduce_keys, plain.reduce_keys);
    assert_eq!(split.output_records, plain.output_records);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn splitting_never_changes_the_output(
        seed in any::<u64>(),
        files in 1usize..4,
        threads in 1usize..4,
        splits in 1usize..8,
        reducers in 1usize..4,
        parts in 1usize..6,
        capacity in 2usize..12,
        budget in prop::option::of(1usize..300),
    ) {
        let texts = text_files(seed, files, 400, 12);
        let (dir, paths) = setup("mr-split-prop", &texts);
        let input = Input::lines(&paths);
        let e = engine(threads, splits, reducers)
            .memory_budget(budget)
            .detect_heavy_keys(Some(capacity));
        let (plain, split) = both(&WordCount::job(), &e, parts, &input, dir.path(), "wc");
        prop_assert_eq!(parse_counts(&parts_of(&split)), wordcount_reference(&texts));
        check_account(&plain, &split, parts);
        let (plain, split) = both(&Successors, &e, parts, &input, dir.path(), "next");
        prop_assert_eq!(parse_successors(&parts_of(&split)), successors_reference(&texts));
        check_account(&plain, &split, parts);
        let (plain, split) = both(&InvertedIndex, &e, parts, &input, dir.path(), "index");
        prop_assert_eq!(parse_index(&parts_of(&split)), index_reference(&texts));
        check_account(&plain, &split, parts);
    }
}

#[test]
fn zipf_output_is_identical_and_the_hot_reducer_gets_less() {
    guarded(|| {
        let texts = zipf_files(71, 4, 30_000, 3_000);
        let (dir, paths) = setup("mr-split-zipf", &texts);
        let input = Input::lines(&paths);
        let total: usize = texts.iter().map(Vec::len).sum();
        let reference = successors_reference(&texts);
        for (threads, parts, budget) in [
            (1, 2, None),
            (2, 4, None),
            (4, 3, None),
            (2, 4, Some(total / 10)),
            (3, 8, Some(total / 10)),
        ] {
            let e = engine(threads, 16, 4).memory_budget(budget);
            let label = format!("t{threads}p{parts}b{}", budget.is_some());
            let (plain, split) = both(&Successors, &e, parts, &input, dir.path(), &label);
            assert_eq!(parse_successors(&parts_of(&split)), reference, "{label}");
            check_account(&plain, &split, parts);
            assert!(
                !split.split_keys.is_empty(),
                "{label}: Zipf 1.2 has heavy keys"
            );
            assert!(
                split.split_keys.iter().any(|k| k.key == b"w0"),
                "{label}: the hottest word is split"
            );
            // The busiest reducer's input (bytes of values) drops: the hot keys' values from
            // every map task reach it as one combined list per part.
            let max = |r: &JobReport| r.reduce_input_bytes.iter().copied().max().unwrap();
            assert!(
                max(&split) < max(&plain),
                "{label}: {:?} vs {:?}",
                split.reduce_input_bytes,
                plain.reduce_input_bytes
            );
            if budget.is_some() {
                assert!(
                    split.spilled_runs > 0,
                    "{label}: the budget made runs spill"
                );
            }
            let wc = format!("{label}-wc");
            let (plain, split) = both(&WordCount::job(), &e, parts, &input, dir.path(), &wc);
            assert_eq!(parse_counts(&parts_of(&split)), wordcount_reference(&texts));
            check_account(&plain, &split, parts);
        }
    });
}

/// Word count over the lines' words, without declaring itself splittable.
struct Undeclared;

impl Job for Undeclared {
    type Key = Vec<u8>;
    type KeyRef = [u8];
    type Value = u64;
    fn map<'r>(
        &self,
        r: &Record<'r>,
        emit: &mut Emitter<'r, Vec<u8>, u64, [u8]>,
    ) -> Result<(), RecordError> {
        WordCount::job().map(r, emit)
    }
    fn reduce(&self, key: &Vec<u8>, v: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
        WordCount::job().reduce(key, v, out)
    }
}

#[test]
fn a_job_that_does_not_declare_itself_splittable_is_refused() {
    let texts = zipf_files(5, 1, 2_000, 100);
    let (dir, paths) = setup("mr-split-refused", &texts);
    let out = dir.path().join("out");
    let result =
        engine(2, 4, 2)
            .split_heavy_keys(Some(2))
            .run(&Undeclared, &Input::lines(&paths), &out);
    assert!(matches!(result, Err(JobError::NotSplittable)), "{result:?}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a refused job wrote {left:?}");
    // Unsplit, the same job runs.
    engine(2, 4, 2)
        .run(&Undeclared, &Input::lines(&paths), &out)
        .unwrap();
    let zero = engine(2, 4, 2).split_heavy_keys(Some(0)).run(
        &WordCount::job(),
        &Input::lines(&paths),
        dir.path().join("zero"),
    );
    assert!(matches!(zero, Err(JobError::Config(_))));
}

/// Word count whose values carry the map task they came from, so a combine that sees two tasks'
/// values is a heavy-key part task's: the first `panics` of those panic.
struct PanickyParts {
    panics: u32,
    seen: AtomicU32,
}

impl Job for PanickyParts {
    type Key = Vec<u8>;
    /// Keys are emitted owned (the owned path of the map buffer, beside the borrowed built-ins).
    type KeyRef = Vec<u8>;
    /// (first map task, count)
    type Value = (u64, u64);
    fn map(
        &self,
        r: &Record<'_>,
        emit: &mut Emitter<'_, Vec<u8>, (u64, u64)>,
    ) -> Result<(), RecordError> {
        for word in r
            .bytes
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty())
        {
            emit.emit(word.to_vec(), (r.split as u64, 1));
        }
        Ok(())
    }
    fn combine(&self, _key: &Vec<u8>, values: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
        let first = values.iter().map(|v| v.0).min().unwrap_or(0);
        if values.iter().any(|v| v.0 != first) && self.seen.fetch_add(1, Relaxed) < self.panics {
            panic!("injected: a part task's combine");
        }
        vec![(first, values.iter().map(|v| v.1).sum())]
    }
    fn splittable(&self) -> bool {
        true
    }
    fn reduce(
        &self,
        key: &Vec<u8>,
        v: Vec<(u64, u64)>,
        out: &mut Output,
    ) -> Result<(), RecordError> {
        let count: u64 = v.iter().map(|v| v.1).sum();
        out.write(format!("{}\t{count}\n", String::from_utf8_lossy(key)).as_bytes());
        Ok(())
    }
}

#[test]
fn part_tasks_are_retried_and_backed_up_to_the_exact_output() {
    guarded(|| {
        let texts = zipf_files(23, 3, 6_000, 400);
        let (dir, paths) = setup("mr-split-faults", &texts);
        let input = Input::lines(&paths);
        let truth = wordcount_reference(&texts);
        for (threads, backups) in [(2, false), (2, true), (4, true)] {
            let e = engine(threads, 8, 3).max_attempts(3).backup_tasks(backups);
            let label = format!("t{threads}b{backups}");
            // Two part-task attempts fail: retried, the output exact.
            let job = PanickyParts {
                panics: 2,
                seen: AtomicU32::new(0),
            };
            let report = e
                .clone()
                .split_heavy_keys(Some(3))
                .run(&job, &input, dir.path().join(format!("{label}-ok")))
                .unwrap();
            assert_eq!(parse_counts(&parts_of(&report)), truth, "{label}");
            assert!(!report.split_keys.is_empty());
            assert!(report.retries >= 2, "{label}: {} retries", report.retries);
            // Every part-task combine fails: the job names a part task.
            let job = PanickyParts {
                panics: u32::MAX,
                seen: AtomicU32::new(0),
            };
            let failed = e.clone().split_heavy_keys(Some(3)).run(
                &job,
                &input,
                dir.path().join(format!("{label}-fail")),
            );
            assert!(
                matches!(
                    failed,
                    Err(JobError::TaskFailed {
                        task: TaskId::HeavyPart(_),
                        attempts: 3,
                        ..
                    })
                ),
                "{label}: {failed:?}"
            );
        }
    });
}
