//! Failing tasks are retried and their output committed once; bad records are skipped up to a cap
//! and counted exactly; bad input and settings get typed errors.
mod common;

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use common::*;
use mapreduce::jobs::WordCount;
use mapreduce::{Engine, Input, InputProblem, JobError, Record, RecordError, TaskFailure, TaskId};

/// Hooks for word count that panic (or fails) on split `split` while `map_faults` lasts, on the key `key`
/// while `reduce_faults` lasts, and rejects lines starting with `#bad` as bad records.
struct Faulty {
    split: usize,
    map_faults: AtomicU32,
    key: Vec<u8>,
    reduce_faults: AtomicU32,
    fail_instead_of_panic: bool,
}

impl Faulty {
    fn new(split: usize, map_faults: u32, key: &[u8], reduce_faults: u32) -> Faulty {
        Faulty {
            split,
            map_faults: AtomicU32::new(map_faults),
            key: key.to_vec(),
            reduce_faults: AtomicU32::new(reduce_faults),
            fail_instead_of_panic: false,
        }
    }

    fn fault(&self, left: &AtomicU32, what: &str) -> Result<(), RecordError> {
        // Relaxed: a counter of faults still to inject, nothing else hangs on it.
        if left
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            if self.fail_instead_of_panic {
                return Err(RecordError::Fail(format!("injected {what} failure")));
            }
            panic!("injected {what} panic");
        }
        Ok(())
    }
}

impl Hooks for Faulty {
    fn after_map(&self, record: &Record<'_>) -> Result<(), RecordError> {
        if record.bytes.starts_with(b"#bad") {
            return Err(RecordError::Bad("a #bad line".into()));
        }
        if record.split == self.split {
            self.fault(&self.map_faults, "map")?;
        }
        Ok(())
    }

    fn before_reduce(&self, key: &[u8], _backup: bool) -> Result<(), RecordError> {
        if key == self.key {
            self.fault(&self.reduce_faults, "reduce")?;
        }
        Ok(())
    }
}

const ATTEMPTS: u32 = 3;

fn engine() -> Engine {
    Engine::new()
        .threads(2)
        .splits(6)
        .reducers(3)
        .max_attempts(ATTEMPTS)
}

#[test]
fn fewer_faults_than_attempts_give_the_exact_output_and_counts() {
    guarded(|| {
        let files = text_files(41, 2, 30_000, 500);
        let (dir, paths) = setup("mr-retry", &files);
        let input = Input::lines(&paths);
        let clean = engine()
            .run(&WordCount::job(), &input, dir.path().join("clean"))
            .unwrap();
        let hot = wordcount_reference(&files).into_keys().next().unwrap();
        for budget in [None, Some(10_000)] {
            for faults in 1..ATTEMPTS {
                for fail_instead_of_panic in [false, true] {
                    let mut job = Faulty::new(2, faults, &hot, faults);
                    job.fail_instead_of_panic = fail_instead_of_panic;
                    let out = dir
                        .path()
                        .join(format!("k{faults}-{fail_instead_of_panic}-{budget:?}"));
                    let report = engine()
                        .memory_budget(budget)
                        .run(&Hooked(job), &input, &out)
                        .unwrap();
                    assert_eq!(parts(&report), parts(&clean));
                    // Each injected fault cost one map or one reduce attempt; only committed
                    // attempts were counted.
                    assert_eq!(report.retries, 2 * u64::from(faults));
                    assert_eq!(report.input_records, clean.input_records);
                    assert_eq!(report.map_output_pairs, clean.map_output_pairs);
                    assert_eq!(report.reduce_keys, clean.reduce_keys);
                    assert_eq!(report.output_records, clean.output_records);
                    let names: Vec<_> = std::fs::read_dir(&out)
                        .unwrap()
                        .map(|e| e.unwrap().file_name().into_string().unwrap())
                        .collect();
                    assert_eq!(names.len(), 3, "only the part files remain: {names:?}");
                }
            }
        }
    });
}

#[test]
fn as_many_faults_as_attempts_fail_the_job_naming_the_task() {
    guarded(|| {
        let files = text_files(42, 2, 20_000, 300);
        let (dir, paths) = setup("mr-fail", &files);
        let input = Input::lines(&paths);
        let job = Faulty::new(3, ATTEMPTS, b"-", 0);
        match engine().run(&Hooked(job), &input, dir.path().join("map")) {
            Err(JobError::TaskFailed {
                task: TaskId::Map(3),
                split: Some(split),
                attempts: ATTEMPTS,
                cause: TaskFailure::Panicked(message),
            }) => {
                assert!(message.contains("injected map panic"), "{message}");
                assert!(split.end > split.start);
                assert!(paths.contains(&split.path));
            }
            other => panic!("expected map task 3 to fail, got {other:?}"),
        }
        // A key of the last partition, so that on one thread reduce tasks 0 and 1 commit first.
        let hot = wordcount_reference(&files)
            .into_keys()
            .find(|k| mapreduce::hash_partition(k, 3) == 2)
            .unwrap();
        let mut job = Faulty::new(usize::MAX, 0, &hot, ATTEMPTS + 1);
        job.fail_instead_of_panic = true;
        let err = engine()
            .threads(1)
            .run(&Hooked(job), &input, dir.path().join("reduce"))
            .unwrap_err();
        match &err {
            JobError::TaskFailed {
                task: TaskId::Reduce(2),
                split: None,
                attempts: ATTEMPTS,
                cause: TaskFailure::Failed(message),
            } => assert_eq!(message, "injected reduce failure"),
            other => panic!("expected a reduce task to fail, got {other:?}"),
        }
        assert!(err.to_string().contains("failed 3 times"), "{err}");
        // Reduce tasks 0 and 1 committed before task 2 gave up: none of their part files
        // reach the output directory, and the work directory is gone.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("reduce"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    });
}

#[test]
fn bad_records_are_skipped_up_to_the_cap_and_counted_exactly() {
    guarded(|| {
        let mut files = text_files(43, 3, 20_000, 300);
        let mut bad = 0u64;
        for file in &mut files {
            let mut with_bad = Vec::new();
            for (i, line) in file.split(|&b| b == b'\n').enumerate() {
                if i % 37 == 5 {
                    with_bad.extend_from_slice(b"#bad record words\n");
                    bad += 1;
                }
                with_bad.extend_from_slice(line);
                with_bad.push(b'\n');
            }
            *file = with_bad;
        }
        let good: Vec<Vec<u8>> = files
            .iter()
            .map(|f| {
                f.split(|&b| b == b'\n')
                    .filter(|l| !l.starts_with(b"#bad"))
                    .flat_map(|l| l.iter().copied().chain([b'\n']))
                    .collect()
            })
            .collect();
        assert!(bad > 20);
        let (dir, paths) = setup("mr-skip", &files);
        let input = Input::lines(&paths);
        // A split that panics once on top: its retried attempt must not count its bad records twice.
        let report = engine()
            .max_skipped(bad)
            .run(
                &Hooked(Faulty::new(1, 1, b"-", 0)),
                &input,
                dir.path().join("ok"),
            )
            .unwrap();
        assert_eq!(report.skipped, bad);
        assert_eq!(report.retries, 1);
        assert_eq!(parse_counts(&parts(&report)), wordcount_reference(&good));

        match engine().max_skipped(bad - 1).run(
            &Hooked(Faulty::new(1, 0, b"-", 0)),
            &input,
            dir.path().join("over"),
        ) {
            Err(JobError::TooManyBadRecords { skipped, cap }) => {
                assert_eq!(cap, bad - 1);
                assert!(skipped > cap);
            }
            other => panic!("expected too many bad records, got {other:?}"),
        }
    });
}

#[test]
fn bad_input_and_settings_get_typed_errors() {
    guarded(|| {
        let (dir, paths) = setup("mr-bad-input", &[b"a b\n".to_vec(), vec![0u8; 150]]);
        let job = WordCount::job();
        let missing = dir.path().join("missing.txt");
        assert!(matches!(
            Engine::new().run(&job, &Input::lines([&missing]), dir.path().join("o1")),
            Err(JobError::Input { path, reason: InputProblem::Io(_) }) if path == missing
        ));
        assert!(matches!(
            Engine::new().run(
                &mapreduce::jobs::Sort::benchmark(),
                &Input::fixed([&paths[1]], 100),
                dir.path().join("o2")
            ),
            Err(JobError::Input {
                reason: InputProblem::PartialRecord {
                    len: 150,
                    record_len: 100
                },
                ..
            })
        ));
        assert!(matches!(
            Engine::new()
                .reducers(0)
                .run(&job, &Input::lines(&paths[..1]), dir.path().join("o3")),
            Err(JobError::Config(_))
        ));
        let out = dir.path().join("o4");
        Engine::new()
            .run(&job, &Input::lines(&paths[..1]), &out)
            .unwrap();
        assert!(matches!(
            Engine::new().run(&job, &Input::lines(&paths[..1]), &out),
            Err(JobError::Output {
                reason: InputProblem::NotEmpty,
                ..
            })
        ));
    });
}
