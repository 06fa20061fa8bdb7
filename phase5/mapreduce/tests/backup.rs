//! Backup tasks: a straggling task's backup copy commits first, the straggler's late output is
//! dropped, and nothing is duplicated or counted twice.
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::*;
use mapreduce::jobs::WordCount;
use mapreduce::{Engine, Input, Record, RecordError};

/// Hooks for word count: the primary (not backup) copy of map task `split`, or of the reduce call
/// for `key`, stalls until `committed` exists — the file the task's winning copy renames into place —
/// so only the backup copy can finish the task. Without backups it gives up after a deadline and
/// panics.
struct Straggler {
    split: usize,
    key: Vec<u8>,
    committed: PathBuf,
    stalled: AtomicBool,
}

impl Straggler {
    fn stall_once(&self, backup: bool) {
        // Relaxed: only one caller may see `false`; nothing else hangs on the flag.
        if backup || self.stalled.swap(true, Relaxed) {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.committed.exists() {
            assert!(
                Instant::now() < deadline,
                "no backup copy committed the task"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Hooks for Straggler {
    fn after_map(&self, record: &Record<'_>) -> Result<(), RecordError> {
        if record.split == self.split {
            self.stall_once(record.backup);
        }
        Ok(())
    }

    fn before_reduce(&self, key: &[u8], backup: bool) -> Result<(), RecordError> {
        if key == self.key {
            self.stall_once(backup);
        }
        Ok(())
    }
}

fn engine() -> Engine {
    Engine::new()
        .threads(2)
        .splits(6)
        .reducers(3)
        .memory_budget(Some(1 << 20))
        .backup_tasks(true)
}

fn only_parts(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_backup_copy_finishes_a_straggling_map_task_once() {
    guarded(|| {
        let files = text_files(51, 2, 30_000, 400);
        let (dir, paths) = setup("mr-backup-map", &files);
        let input = Input::lines(&paths);
        let clean = engine()
            .run(&WordCount::job(), &input, dir.path().join("clean"))
            .unwrap();
        let out = dir.path().join("out");
        let job = Straggler {
            split: 1,
            key: Vec::new(),
            committed: out.join("_temporary/map-00001"),
            stalled: AtomicBool::new(false),
        };
        let report = engine().run(&Hooked(job), &input, &out).unwrap();
        assert_eq!(parts(&report), parts(&clean));
        // The straggler's backup won; a backup of another task that was still running when a worker
        // went idle may have won too.
        assert!(report.backups_won >= 1, "{report}");
        assert_eq!(report.input_records, clean.input_records);
        assert_eq!(report.map_output_pairs, clean.map_output_pairs);
        assert_eq!(report.spilled_runs, clean.spilled_runs);
        assert_eq!(report.retries, 0);
        assert_eq!(only_parts(&out), ["part-00000", "part-00001", "part-00002"]);
    });
}

#[test]
fn a_backup_copy_finishes_a_straggling_reduce_task_once() {
    guarded(|| {
        let files = text_files(52, 2, 30_000, 400);
        let (dir, paths) = setup("mr-backup-reduce", &files);
        let input = Input::lines(&paths);
        let clean = engine()
            .run(&WordCount::job(), &input, dir.path().join("clean"))
            .unwrap();
        let key = wordcount_reference(&files)
            .into_keys()
            .find(|k| mapreduce::hash_partition(k, 3) == 1)
            .unwrap();
        let out = dir.path().join("out");
        let job = Straggler {
            split: usize::MAX,
            key,
            committed: out.join("_temporary/part-00001"),
            stalled: AtomicBool::new(false),
        };
        let report = engine().run(&Hooked(job), &input, &out).unwrap();
        assert_eq!(parts(&report), parts(&clean));
        // The straggler's backup won; a backup of another task that was still running when a worker
        // went idle may have won too.
        assert!(report.backups_won >= 1, "{report}");
        assert_eq!(report.reduce_keys, clean.reduce_keys);
        assert_eq!(report.output_records, clean.output_records);
        assert_eq!(report.output_bytes, clean.output_bytes);
        assert_eq!(only_parts(&out), ["part-00000", "part-00001", "part-00002"]);
    });
}

#[test]
fn backups_racing_ordinary_tasks_change_nothing_in_the_output() {
    guarded(|| {
        let files = text_files(53, 3, 40_000, 2_000);
        let (dir, paths) = setup("mr-backup-race", &files);
        let input = Input::lines(&paths);
        let plain = engine()
            .backup_tasks(false)
            .run(&WordCount::job(), &input, dir.path().join("plain"))
            .unwrap();
        for (i, threads) in [2, 4, 4, 4].into_iter().enumerate() {
            let out = dir.path().join(format!("backups-{i}"));
            let report = engine()
                .threads(threads)
                .splits(5)
                .run(&WordCount::job(), &input, &out)
                .unwrap();
            assert_eq!(parts(&report), parts(&plain));
            assert_eq!(report.input_records, plain.input_records);
            assert_eq!(report.map_output_pairs, plain.map_output_pairs);
            assert_eq!(report.output_records, plain.output_records);
            assert!(report.backups_won <= report.backups_launched);
        }
    });
}
