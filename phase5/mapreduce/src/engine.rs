//! The local engine: a map phase and a reduce phase, each a list of tasks that `threads` workers
//! claim one at a time from a shared counter (std's scoped threads; the end of the scope is the
//! barrier between the phases). Every task attempt runs under `catch_unwind` and writes its files
//! under a name of its own; only a successful attempt is committed, by a rename, so a retried task
//! never leaves or duplicates output.
use std::collections::HashMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::codec::Codec;
use crate::error::{InputProblem, JobError, RecordError, SplitInfo, TaskFailure, TaskId};
use crate::input::{Input, Split};
use crate::job::{Emitter, Job, Output, Record};
use crate::report::{HeavyKey, JobReport, SplitKey};
use crate::sketch::SpaceSaving;
use crate::spill::{MapBuffer, Run, collect_keys, merge_runs, write_run};

/// The engine's settings; [`Engine::run`] runs a job with them.
///
/// ```
/// use mapreduce::{Engine, Input, jobs::WordCount};
///
/// let dir = std::env::temp_dir().join(format!("mr-doc-engine-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("in.txt"), "the cat\nthe dog\n")?;
/// let out = dir.join("out");
/// # let _ = std::fs::remove_dir_all(&out);
/// let report = Engine::new()
///     .threads(2)
///     .splits(2)
///     .reducers(1)
///     .memory_budget(Some(1 << 20))
///     .run(&WordCount::job(), &Input::lines([dir.join("in.txt")]), &out)?;
/// assert_eq!(std::fs::read_to_string(&report.outputs[0])?, "cat\t1\ndog\t1\nthe\t2\n");
/// assert_eq!(report.input_records, 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    threads: usize,
    splits: usize,
    reducers: usize,
    memory_budget: Option<usize>,
    max_attempts: u32,
    max_skipped: u64,
    backup_tasks: bool,
    heavy_key_capacity: Option<usize>,
    split_parts: Option<usize>,
}

/// The heavy-key sketch's counters when splitting is on and detection was not set: keys above
/// 1/64 of the pairs are split.
const SPLIT_SKETCH_CAPACITY: usize = 64;

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// Defaults: as many threads and reducers as available cores and four times as many splits
    /// (each setting is separate: changing `threads` later changes neither of the others), no
    /// memory budget, 4 attempts per task, no bad record tolerated, no backup tasks.
    pub fn new() -> Engine {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Engine {
            threads,
            splits: 4 * threads,
            reducers: threads,
            memory_budget: None,
            max_attempts: 4,
            max_skipped: 0,
            backup_tasks: false,
            heavy_key_capacity: None,
            split_parts: None,
        }
    }

    /// Worker threads (the output does not depend on it).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// About how many splits (map tasks) to cut the input into.
    pub fn splits(mut self, splits: usize) -> Self {
        self.splits = splits;
        self
    }

    /// Reduce partitions: one `part-NNNNN` file each.
    pub fn reducers(mut self, reducers: usize) -> Self {
        self.reducers = reducers;
        self
    }

    /// Bytes of intermediate pairs held in memory at once (shared equally by the threads); past its
    /// share a map task spills a sorted run to disk. `None`: everything stays in memory.
    pub fn memory_budget(mut self, bytes: Option<usize>) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// Attempts per task before the job fails (1: no retry).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Bad records (and reduce keys) skipped before the job fails.
    pub fn max_skipped(mut self, records: u64) -> Self {
        self.max_skipped = records;
        self
    }

    /// Backup tasks (the paper's answer to stragglers): once every task of a phase has been
    /// claimed, an idle worker runs a second copy of the running task that started first; the
    /// first copy to finish commits, the other is abandoned. Off by default (it spends CPU on work
    /// that is thrown away).
    pub fn backup_tasks(mut self, on: bool) -> Self {
        self.backup_tasks = on;
        self
    }

    /// Heavy-key detection: each map attempt counts the keys it emits (before the combiner) in a
    /// [`SpaceSaving`](crate::SpaceSaving) sketch of `capacity` counters, the committed attempts'
    /// sketches are merged, and [`JobReport::heavy_keys`] lists the keys that surely carry at least
    /// `1 / capacity` of the pairs. `None` (the default): no sketch.
    pub fn detect_heavy_keys(mut self, capacity: Option<usize>) -> Self {
        self.heavy_key_capacity = capacity;
        self
    }

    /// Heavy-key splitting: after the map phase, each key the merged sketches report heavy (see
    /// [`detect_heavy_keys`](Self::detect_heavy_keys); 64 counters if it is not set) has its
    /// values cut into `parts` pieces by map task (part `i`: the `i`-th of `parts` consecutive
    /// ranges of map tasks), each piece combined by a task of its own on any thread, and the key's
    /// reduce task reduces the pieces' combined values in part order instead of every value. The
    /// output is byte-identical to an unsplit run's. Only for a job whose
    /// [`Job::splittable`](crate::Job::splittable) is `true`; any other fails with
    /// [`JobError::NotSplittable`] before it reads anything. `None` (the default): no splitting.
    ///
    /// ```
    /// use mapreduce::{Engine, Input, JobError, jobs::{Grep, WordCount}};
    ///
    /// let dir = std::env::temp_dir().join(format!("mr-doc-split-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("in.txt"), "a a a a b\na a c a\n")?;
    /// let input = Input::lines([dir.join("in.txt")]);
    /// # let _ = std::fs::remove_dir_all(dir.join("out"));
    /// let engine = Engine::new().threads(2).splits(2).reducers(2).split_heavy_keys(Some(2));
    /// let report = engine.run(&WordCount::job(), &input, dir.join("out"))?;
    /// assert_eq!(report.split_keys[0].key, b"a");
    /// assert_eq!(report.split_keys[0].parts(), 2);
    /// let grep = engine.run(&Grep::new("a"), &input, dir.join("grep"));
    /// assert!(matches!(grep, Err(JobError::NotSplittable)));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn split_heavy_keys(mut self, parts: Option<usize>) -> Self {
        self.split_parts = parts;
        self
    }

    /// The sketch's counters, if map attempts keep one.
    fn sketch_capacity(&self) -> Option<usize> {
        self.heavy_key_capacity
            .or(self.split_parts.map(|_| SPLIT_SKETCH_CAPACITY))
    }

    /// Runs `job` over `input`, writing `part-00000` … into `output` (created if missing; it must not
    /// already hold `part-` files). Intermediate files live in `output/_temporary` and are removed.
    pub fn run<J: Job>(
        &self,
        job: &J,
        input: &Input,
        output: impl AsRef<Path>,
    ) -> Result<JobReport, JobError> {
        let started = Instant::now();
        let output = output.as_ref();
        self.check()?;
        if self.split_parts.is_some() && !job.splittable() {
            return Err(JobError::NotSplittable);
        }
        let splits = input.splits(self.splits)?;
        prepare_output(output)?;
        let work = output.join("_temporary");
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work).map_err(|e| output_error(output, e))?;
        let run = JobRun {
            engine: self,
            job,
            splits: &splits,
            work: &work,
            output,
            counters: Counters::default(),
        };
        let result = run.run(started);
        let _ = fs::remove_dir_all(&work);
        result
    }

    /// Runs `job` on one thread first, into `output/_baseline` (removed afterwards), then as
    /// [`Engine::run`] does; the report's [`baseline`](JobReport::baseline) holds the one-thread
    /// time, so [`JobReport::speedup`] says what the threads bought. Twice the work: for
    /// measuring, not for production runs.
    ///
    /// ```
    /// use mapreduce::{Engine, Input, jobs::WordCount};
    ///
    /// let dir = std::env::temp_dir().join(format!("mr-doc-baseline-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("in.txt"), "a b a\n")?;
    /// # let _ = std::fs::remove_dir_all(dir.join("out"));
    /// let report = Engine::new().threads(2).reducers(1).run_with_baseline(
    ///     &WordCount::job(),
    ///     &Input::lines([dir.join("in.txt")]),
    ///     dir.join("out"),
    /// )?;
    /// assert!(report.baseline.is_some() && report.speedup().is_some());
    /// println!("{report}");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_with_baseline<J: Job>(
        &self,
        job: &J,
        input: &Input,
        output: impl AsRef<Path>,
    ) -> Result<JobReport, JobError> {
        let output = output.as_ref();
        self.check()?;
        prepare_output(output)?;
        let scratch = output.join("_baseline");
        let _ = fs::remove_dir_all(&scratch);
        let one = self.clone().threads(1).run(job, input, &scratch);
        let _ = fs::remove_dir_all(&scratch);
        let baseline = one?.elapsed;
        let mut report = self.run(job, input, output)?;
        report.baseline = Some(baseline);
        Ok(report)
    }

    fn check(&self) -> Result<(), JobError> {
        match () {
            _ if self.threads == 0 => Err(JobError::Config("0 threads")),
            _ if self.splits == 0 => Err(JobError::Config("0 splits")),
            _ if self.reducers == 0 => Err(JobError::Config("0 reducers")),
            _ if self.reducers > 99_999 => Err(JobError::Config("more than 99 999 reducers")),
            _ if self.max_attempts == 0 => Err(JobError::Config("0 attempts per task")),
            _ if self.memory_budget == Some(0) => Err(JobError::Config("a memory budget of 0")),
            _ if self.heavy_key_capacity == Some(0) => {
                Err(JobError::Config("a heavy-key sketch of 0 counters"))
            }
            _ if self.split_parts == Some(0) => {
                Err(JobError::Config("heavy keys split into 0 parts"))
            }
            _ => Ok(()),
        }
    }
}

fn output_error(path: &Path, e: std::io::Error) -> JobError {
    JobError::Output {
        path: path.to_path_buf(),
        reason: InputProblem::Io(e),
    }
}

fn prepare_output(output: &Path) -> Result<(), JobError> {
    fs::create_dir_all(output).map_err(|e| output_error(output, e))?;
    for entry in fs::read_dir(output).map_err(|e| output_error(output, e))? {
        let entry = entry.map_err(|e| output_error(output, e))?;
        if entry.file_name().to_string_lossy().starts_with("part-") {
            return Err(JobError::Output {
                path: output.to_path_buf(),
                reason: InputProblem::NotEmpty,
            });
        }
    }
    Ok(())
}

/// Job-wide counters, added to by committed attempts only. Relaxed throughout: each is a sum read
/// after the phase's threads are joined (the join orders every addition before the read).
#[derive(Debug, Default)]
struct Counters {
    input_records: AtomicU64,
    input_bytes: AtomicU64,
    map_output_pairs: AtomicU64,
    reduce_keys: AtomicU64,
    output_records: AtomicU64,
    output_bytes: AtomicU64,
    spilled_runs: AtomicU64,
    spilled_bytes: AtomicU64,
    retries: AtomicU64,
    skipped: AtomicU64,
    backups_launched: AtomicU64,
    backups_won: AtomicU64,
}

/// What one successful attempt counted, added to [`Counters`] when it commits.
#[derive(Debug, Default)]
struct AttemptCounts {
    records: u64,
    bytes: u64,
    pairs: u64,
    keys: u64,
    spilled_runs: u64,
    spilled_bytes: u64,
    skipped: u64,
    output_records: u64,
    output_bytes: u64,
}

/// A map task's committed output: per partition, its runs in spill order.
type MapOutput<K, V> = Vec<Vec<Run<K, V>>>;

/// The slot a map task's committed output is put in, read by the reduce phase.
type MapSlot<J> = Mutex<Option<MapOutput<<J as Job>::Key, <J as Job>::Value>>>;

/// What a map attempt hands over: its runs, and its heavy-key sketch when detection is on.
type MapAttemptOutput<K, V> = (MapOutput<K, V>, Option<SpaceSaving<K>>);

/// The slot a map task's committed heavy-key sketch is put in.
type SketchSlot<J> = Mutex<Option<SpaceSaving<<J as Job>::Key>>>;

/// What a heavy-key part task hands over for one split key: its piece's values, combined, and how
/// many values (and encoded bytes) went into the combine.
#[derive(Debug)]
struct PartValues<V> {
    combined: Vec<V>,
    values_in: u64,
    bytes_in: u64,
}

/// The slot a heavy-key part task's committed output is put in: per split key, in the order of
/// the split keys' list.
type PartSlot<J> = Mutex<Option<Vec<PartValues<<J as Job>::Value>>>>;

/// The split keys' reduce-side input: per key, the parts' combined values in part order.
type Partials<K, V> = HashMap<K, Vec<V>>;

/// What the heavy-key part tasks leave: the reduce side's partials and the report's account.
type SplitOutcome<K, V> = (Partials<K, V>, Vec<SplitKey>);

/// What an attempt returns: its output, its counts and the rename that commits it, or why it ended
/// without.
type AttemptResult<T> = Result<(T, AttemptCounts, Commit), AttemptError>;

/// The rename that makes a finished attempt's files the task's (done by the winning copy only).
#[derive(Debug)]
enum Commit {
    /// Nothing on disk (a map task without a memory budget keeps its runs in memory).
    Nothing,
    /// Rename `from` (the attempt's file or directory) to `to` (the task's).
    Rename { from: PathBuf, to: PathBuf },
}

impl Commit {
    fn apply(self) -> std::io::Result<()> {
        match self {
            Commit::Nothing => Ok(()),
            Commit::Rename { from, to } => fs::rename(from, to),
        }
    }
}

/// The state of one phase's tasks, shared by its workers.
#[derive(Debug)]
struct TaskTable {
    /// A task's first unclaimed number; past the end, every task is claimed.
    next: AtomicUsize,
    /// Per task, `true` once a copy has committed; set by exactly one compare-and-swap.
    done: Vec<AtomicBool>,
    /// Per task, when its first copy started (nanoseconds since the phase began, plus one; 0: not
    /// started): a backup goes to the running task that started first.
    started: Vec<AtomicU64>,
    /// Per task, whether a backup copy was launched (at most one).
    backed_up: Vec<AtomicBool>,
    /// Per task, attempts numbered so far by all its copies (each attempt's files get its number).
    attempts: Vec<AtomicU32>,
    /// Set when a task has failed for good: no more tasks are claimed.
    failed: AtomicBool,
    began: Instant,
}

impl TaskTable {
    fn new(tasks: usize) -> TaskTable {
        TaskTable {
            next: AtomicUsize::new(0),
            done: (0..tasks).map(|_| AtomicBool::new(false)).collect(),
            started: (0..tasks).map(|_| AtomicU64::new(0)).collect(),
            backed_up: (0..tasks).map(|_| AtomicBool::new(false)).collect(),
            attempts: (0..tasks).map(|_| AtomicU32::new(0)).collect(),
            failed: AtomicBool::new(false),
            began: Instant::now(),
        }
    }

    /// The running task (started, not done, not backed up) that started first, if any.
    fn straggler(&self) -> Option<usize> {
        // Relaxed: these reads only choose which task to back up; a stale read backs up a task
        // that has just finished (its copy then loses the commit) or skips one (no backup).
        (0..self.done.len())
            .filter(|&t| {
                !self.done[t].load(Relaxed)
                    && !self.backed_up[t].load(Relaxed)
                    && self.started[t].load(Relaxed) != 0
            })
            .min_by_key(|&t| self.started[t].load(Relaxed))
    }
}

struct JobRun<'a, J: Job> {
    engine: &'a Engine,
    job: &'a J,
    splits: &'a [Split],
    work: &'a Path,
    output: &'a Path,
    counters: Counters,
}

impl<J: Job> JobRun<'_, J> {
    fn run(&self, started: Instant) -> Result<JobReport, JobError> {
        let reducers = self.engine.reducers;
        let map_outputs: Vec<MapSlot<J>> = self.splits.iter().map(|_| Mutex::new(None)).collect();
        let sketches: Vec<SketchSlot<J>> = self.splits.iter().map(|_| Mutex::new(None)).collect();
        let map_started = Instant::now();
        self.phase(self.splits.len(), |task, table, is_backup| {
            let won = self.with_retries(TaskId::Map(task), table, is_backup, |attempt| {
                self.map_attempt(task, attempt, is_backup, &table.done[task])
            })?;
            if let Some((out, sketch)) = won {
                *map_outputs[task].lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
                *sketches[task].lock().unwrap_or_else(|e| e.into_inner()) = sketch;
            }
            Ok(())
        })?;
        let map_time = map_started.elapsed();
        let map_outputs: Vec<MapOutput<J::Key, J::Value>> = map_outputs
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_default()
            })
            .collect();
        let (heavy_keys, heavy) = self.heavy_keys(sketches);
        let reduce_started = Instant::now();
        let (partials, split_keys) = match self.engine.split_parts {
            Some(parts) if !heavy.is_empty() => self.split_phase(parts, heavy, &map_outputs)?,
            _ => (HashMap::new(), Vec::new()),
        };
        let split_time = if split_keys.is_empty() {
            Duration::ZERO
        } else {
            reduce_started.elapsed()
        };
        let reduce_input: Vec<AtomicU64> = (0..reducers).map(|_| AtomicU64::new(0)).collect();
        let reduce_bytes: Vec<AtomicU64> = (0..reducers).map(|_| AtomicU64::new(0)).collect();
        self.phase(reducers, |partition, table, is_backup| {
            let runs: Vec<&Run<J::Key, J::Value>> = map_outputs
                .iter()
                .flat_map(|task| task.get(partition).into_iter().flatten())
                .collect();
            let won =
                self.with_retries(TaskId::Reduce(partition), table, is_backup, |attempt| {
                    self.reduce_attempt(
                        partition,
                        attempt,
                        is_backup,
                        &runs,
                        &partials,
                        &table.done[partition],
                    )
                })?;
            if let Some((values, bytes)) = won {
                // Relaxed: read after the phase's scope has joined this thread.
                reduce_input[partition].store(values, Relaxed);
                reduce_bytes[partition].store(bytes, Relaxed);
            }
            Ok(())
        })?;
        let reduce_time = reduce_started.elapsed();
        // The job's commit: every reduce task has committed, so the part files move out of the
        // work directory, one rename each. A failed job leaves no part file behind.
        for partition in 0..reducers {
            let name = part_name(partition);
            fs::rename(self.work.join(&name), self.output.join(&name))
                .map_err(|e| output_error(self.output, e))?;
        }
        let c = &self.counters;
        Ok(JobReport {
            threads: self.engine.threads,
            splits: self.splits.len(),
            reducers,
            input_records: c.input_records.load(Relaxed),
            input_bytes: c.input_bytes.load(Relaxed),
            map_output_pairs: c.map_output_pairs.load(Relaxed),
            reduce_keys: c.reduce_keys.load(Relaxed),
            output_records: c.output_records.load(Relaxed),
            output_bytes: c.output_bytes.load(Relaxed),
            spilled_runs: c.spilled_runs.load(Relaxed),
            spilled_bytes: c.spilled_bytes.load(Relaxed),
            retries: c.retries.load(Relaxed),
            skipped: c.skipped.load(Relaxed),
            backups_launched: c.backups_launched.load(Relaxed),
            backups_won: c.backups_won.load(Relaxed),
            map_time,
            reduce_time,
            elapsed: started.elapsed(),
            outputs: (0..reducers)
                .map(|p| self.output.join(part_name(p)))
                .collect(),
            // Relaxed: the reduce phase's scope has joined every store.
            reduce_input_values: reduce_input.iter().map(|v| v.load(Relaxed)).collect(),
            reduce_input_bytes: reduce_bytes.iter().map(|v| v.load(Relaxed)).collect(),
            heavy_keys,
            split_keys,
            split_time,
            baseline: None,
        })
    }

    /// Merges the committed map tasks' sketches in task order (so the result does not depend on
    /// which thread ran which task) and lists the keys surely above `1 / capacity` of the pairs:
    /// for the report, and as `(key, partition)` sorted by partition, then key.
    fn heavy_keys(&self, sketches: Vec<SketchSlot<J>>) -> (Vec<HeavyKey>, Vec<(J::Key, usize)>) {
        let Some(capacity) = self.engine.sketch_capacity() else {
            return (Vec::new(), Vec::new());
        };
        let mut merged = SpaceSaving::new(capacity);
        for slot in sketches {
            if let Some(sketch) = slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
                merged.merge(&sketch);
            }
        }
        let mut keys = Vec::new();
        let report = merged
            .heavy(1.0 / capacity as f64)
            .into_iter()
            .map(|(key, count, error)| {
                let mut bytes = Vec::new();
                key.encode(&mut bytes);
                let partition = self.job.partition(&key, self.engine.reducers);
                keys.push((key, partition));
                HeavyKey {
                    key: bytes,
                    pairs_at_least: count - error,
                    pairs_at_most: count,
                    partition,
                }
            })
            .collect();
        keys.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        (report, keys)
    }

    /// The heavy-key part tasks: part `i` of `parts` collects the `heavy` keys' values from the
    /// `i`-th range of map tasks and combines them; the job's retries and backup copies apply as
    /// to any task. Returns, per split key, the parts' combined values in part order (what its
    /// reduce task reduces), and the report's account of each key.
    fn split_phase(
        &self,
        parts: usize,
        heavy: Vec<(J::Key, usize)>,
        map_outputs: &[MapOutput<J::Key, J::Value>],
    ) -> Result<SplitOutcome<J::Key, J::Value>, JobError> {
        let parts = parts.min(self.splits.len()).max(1);
        let slots: Vec<PartSlot<J>> = (0..parts).map(|_| Mutex::new(None)).collect();
        self.phase(parts, |part, table, is_backup| {
            let won = self.with_retries(TaskId::HeavyPart(part), table, is_backup, |_| {
                self.part_attempt(part, parts, &heavy, map_outputs, &table.done[part])
            })?;
            if let Some(out) = won {
                *slots[part].lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
            }
            Ok(())
        })?;
        let mut pieces: Vec<std::vec::IntoIter<PartValues<J::Value>>> = slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_default()
                    .into_iter()
            })
            .collect();
        let mut partials = HashMap::with_capacity(heavy.len());
        let mut split_keys = Vec::with_capacity(heavy.len());
        for (key, partition) in heavy {
            let mut merged = Vec::new();
            let mut split = SplitKey {
                key: Vec::new(),
                partition,
                part_input_values: Vec::with_capacity(parts),
                part_input_bytes: Vec::with_capacity(parts),
                merged_values: 0,
            };
            key.encode(&mut split.key);
            // Every part task committed (the phase returned Ok), each with one entry per key.
            for piece in &mut pieces {
                if let Some(mut part) = piece.next() {
                    split.part_input_values.push(part.values_in);
                    split.part_input_bytes.push(part.bytes_in);
                    merged.append(&mut part.combined);
                }
            }
            split.merged_values = merged.len() as u64;
            partials.insert(key, merged);
            split_keys.push(split);
        }
        Ok((partials, split_keys))
    }

    /// One attempt of heavy-key part task `part`: the split keys' values from its range of map
    /// tasks, in task and spill order (a key's values in the order a reduce task would merge
    /// them), combined per key. Nothing on disk: the result stays in memory, a few combined
    /// values per key.
    fn part_attempt(
        &self,
        part: usize,
        parts: usize,
        heavy: &[(J::Key, usize)],
        map_outputs: &[MapOutput<J::Key, J::Value>],
        superseded: &AtomicBool,
    ) -> AttemptResult<Vec<PartValues<J::Value>>> {
        let tasks = map_outputs.len();
        let range = part * tasks / parts..(part + 1) * tasks / parts;
        let keys: Vec<J::Key> = heavy.iter().map(|(key, _)| key.clone()).collect();
        let mut collected: Vec<Vec<J::Value>> = heavy.iter().map(|_| Vec::new()).collect();
        for task in &map_outputs[range] {
            // Relaxed: another copy committed this task; stopping now only saves work.
            if superseded.load(Relaxed) {
                return Err(AttemptError::Superseded);
            }
            // The keys are sorted by partition, then key: one slice of them per partition.
            let mut start = 0;
            while start < heavy.len() {
                let partition = heavy[start].1;
                let end = start + heavy[start..].partition_point(|(_, p)| *p == partition);
                let runs: Vec<&Run<J::Key, J::Value>> =
                    task.get(partition).into_iter().flatten().collect();
                let found = collect_keys(&runs, &keys[start..end])?;
                for (into, mut values) in collected[start..end].iter_mut().zip(found) {
                    into.append(&mut values);
                }
                start = end;
            }
        }
        let out = collected
            .into_iter()
            .zip(&keys)
            .map(|(values, key)| {
                let values_in = values.len() as u64;
                let bytes_in = values.iter().map(|v| v.encoded_len() as u64).sum();
                let combined = if values.len() > 1 {
                    self.job.combine(key, values)
                } else {
                    values
                };
                PartValues {
                    combined,
                    values_in,
                    bytes_in,
                }
            })
            .collect();
        Ok((out, AttemptCounts::default(), Commit::Nothing))
    }

    /// Runs tasks `0..tasks` on the engine's threads, then (with backup tasks on) backup copies of
    /// stragglers; stops claiming at the first task that fails for good and returns the error of the
    /// lowest such task that no other copy finished.
    fn phase(
        &self,
        tasks: usize,
        run_task: impl Fn(usize, &TaskTable, bool) -> Result<(), JobError> + Sync,
    ) -> Result<(), JobError> {
        let table = TaskTable::new(tasks);
        let errors: Mutex<Vec<(usize, JobError)>> = Mutex::new(Vec::new());
        let run = |task: usize, is_backup: bool| {
            if let Err(e) = run_task(task, &table, is_backup) {
                // Relaxed: a hint to stop claiming; the error itself travels through the mutex.
                table.failed.store(true, Relaxed);
                errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((task, e));
            }
        };
        std::thread::scope(|s| {
            for _ in 0..self.engine.threads.min(tasks) {
                s.spawn(|| {
                    // Relaxed: the counter only hands out distinct task numbers (its atomicity is
                    // the claim), `started` only orders stragglers.
                    while !table.failed.load(Relaxed) {
                        let task = table.next.fetch_add(1, Relaxed);
                        if task < tasks {
                            let since = table.began.elapsed().as_nanos() as u64 + 1;
                            table.started[task].store(since, Relaxed);
                            run(task, false);
                            continue;
                        }
                        if !self.engine.backup_tasks {
                            break;
                        }
                        let Some(task) = table.straggler() else {
                            break;
                        };
                        // The swap's atomicity makes this the task's only backup.
                        if !table.backed_up[task].swap(true, Relaxed) {
                            self.counters.backups_launched.fetch_add(1, Relaxed);
                            run(task, true);
                        }
                    }
                });
            }
        });
        let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
        errors.sort_by_key(|(task, _)| *task);
        // Relaxed: the scope's join orders every store before these loads.
        let done = |task: usize| table.done[task].load(Relaxed);
        let all_done = (0..tasks).all(done);
        // A task failure is void when another copy of the task finished it, unless that failure
        // stopped the phase before every task ran. Other errors (too many bad records) stand.
        let void = |(task, e): &(usize, JobError)| {
            all_done && matches!(e, JobError::TaskFailed { .. }) && done(*task)
        };
        match errors.into_iter().find(|error| !void(error)) {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs attempts of `task` until one succeeds or `max_attempts` have failed. A panic is caught
    /// and counts as a failed attempt. The first copy of the task to succeed commits (its rename,
    /// its counts) and gets `Some(output)`; a copy that finishes second, or sees the task done while
    /// running, gets `None` and leaves its files to the work directory's removal.
    fn with_retries<T>(
        &self,
        task: TaskId,
        table: &TaskTable,
        is_backup: bool,
        attempt: impl Fn(u32) -> AttemptResult<T>,
    ) -> Result<Option<T>, JobError> {
        let index = match task {
            TaskId::Map(t) | TaskId::Reduce(t) | TaskId::HeavyPart(t) => t,
        };
        let max = self.engine.max_attempts;
        let mut tries = 1;
        loop {
            // Relaxed: the number only has to be distinct among the task's attempts.
            let number = table.attempts[index].fetch_add(1, Relaxed) + 1;
            let outcome =
                catch_unwind(AssertUnwindSafe(|| attempt(number))).unwrap_or_else(|payload| {
                    Err(AttemptError::Task(TaskFailure::Panicked(
                        shim::panic_message(&*payload),
                    )))
                });
            let cause = match outcome {
                Ok((value, counts, commit)) => {
                    // The one winner: the compare-and-swap's atomicity alone decides it. Relaxed:
                    // the output reaches the next phase through the map slots' mutex and the
                    // scope's join, not through this flag.
                    if table.done[index]
                        .compare_exchange(false, true, Relaxed, Relaxed)
                        .is_err()
                    {
                        return Ok(None);
                    }
                    match commit.apply() {
                        Ok(()) => {
                            if is_backup {
                                self.counters.backups_won.fetch_add(1, Relaxed);
                            }
                            self.commit_counts(&counts)?;
                            return Ok(Some(value));
                        }
                        Err(e) => {
                            // Not committed after all: the task is open again to any copy.
                            table.done[index].store(false, Relaxed);
                            TaskFailure::Io(e)
                        }
                    }
                }
                Err(AttemptError::Superseded) => return Ok(None),
                Err(AttemptError::TooManyBadRecords(skipped)) => {
                    return Err(JobError::TooManyBadRecords {
                        skipped,
                        cap: self.engine.max_skipped,
                    });
                }
                Err(AttemptError::Task(cause)) => cause,
            };
            if tries >= max {
                return Err(JobError::TaskFailed {
                    task,
                    split: self.split_info(task),
                    attempts: tries,
                    cause,
                });
            }
            self.counters.retries.fetch_add(1, Relaxed);
            tries += 1;
        }
    }

    fn split_info(&self, task: TaskId) -> Option<SplitInfo> {
        match task {
            TaskId::Map(t) => Some(self.splits[t].info()),
            TaskId::Reduce(_) | TaskId::HeavyPart(_) => None,
        }
    }

    fn commit_counts(&self, counts: &AttemptCounts) -> Result<(), JobError> {
        let c = &self.counters;
        c.input_records.fetch_add(counts.records, Relaxed);
        c.input_bytes.fetch_add(counts.bytes, Relaxed);
        c.map_output_pairs.fetch_add(counts.pairs, Relaxed);
        c.reduce_keys.fetch_add(counts.keys, Relaxed);
        c.spilled_runs.fetch_add(counts.spilled_runs, Relaxed);
        c.spilled_bytes.fetch_add(counts.spilled_bytes, Relaxed);
        c.output_records.fetch_add(counts.output_records, Relaxed);
        c.output_bytes.fetch_add(counts.output_bytes, Relaxed);
        let skipped = c.skipped.fetch_add(counts.skipped, Relaxed) + counts.skipped;
        if skipped > self.engine.max_skipped {
            return Err(JobError::TooManyBadRecords {
                skipped,
                cap: self.engine.max_skipped,
            });
        }
        Ok(())
    }

    /// One attempt of map task `task`: reads its split, maps every record into the buffer, spills
    /// when over budget; its run files go to a directory of its own, and the rename it returns
    /// makes that directory the task's.
    fn map_attempt(
        &self,
        task: usize,
        attempt: u32,
        backup: bool,
        superseded: &AtomicBool,
    ) -> AttemptResult<MapAttemptOutput<J::Key, J::Value>> {
        let mut sketch = self.engine.sketch_capacity().map(SpaceSaving::new);
        let reducers = self.engine.reducers;
        let split = &self.splits[task];
        let budget = self
            .engine
            .memory_budget
            .map(|b| (b / self.engine.threads).max(1));
        let attempt_dir = self.work.join(format!("map-{task:05}.attempt-{attempt}"));
        let committed_dir = self.work.join(format!("map-{task:05}"));
        let _ = fs::remove_dir_all(&attempt_dir);
        if budget.is_some() {
            fs::create_dir_all(&attempt_dir).map_err(TaskFailure::from)?;
        }
        let bytes = split.read().map_err(TaskFailure::from)?;
        let mut counts = AttemptCounts {
            bytes: bytes.len() as u64,
            ..AttemptCounts::default()
        };
        let mut buffer = MapBuffer::new(reducers);
        let mut runs: MapOutput<J::Key, J::Value> = (0..reducers).map(|_| Vec::new()).collect();
        let mut spills = 0usize;
        let mut emitter = Emitter::new();
        let mut spill = |buffer: &mut MapBuffer<J::Key, J::Value>,
                         runs: &mut MapOutput<J::Key, J::Value>,
                         counts: &mut AttemptCounts|
         -> Result<(), AttemptError> {
            for (partition, entries) in buffer.drain_sorted(self.job).into_iter().enumerate() {
                if entries.is_empty() {
                    continue;
                }
                let name = format!("part-{partition:05}.run-{spills:05}");
                counts.spilled_bytes +=
                    write_run(&attempt_dir.join(&name), &entries).map_err(TaskFailure::from)?;
                counts.spilled_runs += 1;
                runs[partition].push(Run::Disk(committed_dir.join(name)));
            }
            spills += 1;
            Ok(())
        };
        split.for_each_record(&bytes, |offset, record_bytes| {
            // Relaxed: another copy committed this task; stopping now only saves work.
            if superseded.load(Relaxed) {
                return Err(AttemptError::Superseded);
            }
            counts.records += 1;
            let record = Record {
                bytes: record_bytes,
                file: split.file,
                offset,
                split: task,
                backup,
            };
            emitter.pending.clear();
            match self.job.map(&record, &mut emitter) {
                Ok(()) => {}
                Err(RecordError::Bad(_)) => {
                    counts.skipped += 1;
                    if counts.skipped > self.engine.max_skipped {
                        return Err(AttemptError::TooManyBadRecords(counts.skipped));
                    }
                    return Ok(());
                }
                Err(RecordError::Fail(m)) => return Err(TaskFailure::Failed(m).into()),
            }
            for (key, value) in emitter.pending.drain(..) {
                counts.pairs += 1;
                if let Some(sketch) = &mut sketch {
                    sketch.insert_ref(key.as_ref(), 1);
                }
                buffer.push(self.job, key, value)?;
            }
            if budget.is_some_and(|b| buffer.bytes > b) {
                spill(&mut buffer, &mut runs, &mut counts)?;
            }
            Ok(())
        })?;
        if budget.is_some() {
            if !buffer.is_empty() {
                spill(&mut buffer, &mut runs, &mut counts)?;
            }
        } else {
            for (partition, entries) in buffer.drain_sorted(self.job).into_iter().enumerate() {
                if !entries.is_empty() {
                    runs[partition].push(Run::Memory(Arc::new(entries)));
                }
            }
        }
        // The commit, if this copy wins: the attempt's directory becomes the task's, in one rename.
        let commit = match budget {
            Some(_) => Commit::Rename {
                from: attempt_dir,
                to: committed_dir,
            },
            None => Commit::Nothing,
        };
        Ok(((runs, sketch), counts, commit))
    }

    /// One attempt of reduce task `partition`: merges its runs, reduces each key into a file of the
    /// attempt's own in the work directory, and returns the rename that commits it as the task's
    /// `part-NNNNN` (moved to the output directory once every reduce task has committed).
    fn reduce_attempt(
        &self,
        partition: usize,
        attempt: u32,
        backup: bool,
        runs: &[&Run<J::Key, J::Value>],
        partials: &Partials<J::Key, J::Value>,
        superseded: &AtomicBool,
    ) -> AttemptResult<(u64, u64)> {
        let (mut values_in, mut bytes_in) = (0u64, 0u64);
        use std::io::Write;
        let temp = self
            .work
            .join(format!("reduce-{partition:05}.attempt-{attempt}"));
        let mut file = std::io::BufWriter::new(fs::File::create(&temp).map_err(TaskFailure::from)?);
        let mut counts = AttemptCounts::default();
        let mut out = Output {
            backup,
            ..Output::default()
        };
        let mut too_many = None;
        let mut stopped = false;
        // A split key's values are passed over in the runs: its parts' combined values replace
        // them.
        let split = |key: &J::Key| !partials.is_empty() && partials.contains_key::<J::Key>(key);
        merge_runs(runs, &split, |key: &J::Key, values| {
            // Relaxed: another copy committed this task; stopping now only saves work.
            if superseded.load(Relaxed) {
                stopped = true;
                return Err(TaskFailure::Failed(String::new()));
            }
            let values = match partials.is_empty() {
                true => values,
                false => partials.get::<J::Key>(key).map_or(values, Clone::clone),
            };
            counts.keys += 1;
            values_in += values.len() as u64;
            bytes_in += values.iter().map(|v| v.encoded_len() as u64).sum::<u64>();
            let (len, records) = (out.buffer.len(), out.records);
            match self.job.reduce(key, values, &mut out) {
                Ok(()) => {}
                Err(RecordError::Bad(_)) => {
                    out.buffer.truncate(len);
                    out.records = records;
                    counts.skipped += 1;
                    if counts.skipped > self.engine.max_skipped {
                        too_many = Some(counts.skipped);
                        return Err(TaskFailure::Failed(String::new()));
                    }
                }
                Err(RecordError::Fail(m)) => return Err(TaskFailure::Failed(m)),
            }
            if out.buffer.len() >= 64 * 1024 {
                file.write_all(&out.buffer)?;
                counts.output_bytes += out.buffer.len() as u64;
                out.buffer.clear();
            }
            Ok(())
        })
        .map_err(|e| match too_many {
            Some(skipped) => AttemptError::TooManyBadRecords(skipped),
            None if stopped => AttemptError::Superseded,
            None => AttemptError::Task(e),
        })?;
        file.write_all(&out.buffer).map_err(TaskFailure::from)?;
        counts.output_bytes += out.buffer.len() as u64;
        counts.output_records = out.records;
        file.into_inner()
            .map_err(|e| TaskFailure::Io(e.into_error()))?
            .sync_all()
            .map_err(TaskFailure::from)?;
        // The task's commit, if this copy wins: a complete file appears under the task's name in
        // one rename.
        let commit = Commit::Rename {
            from: temp,
            to: self.work.join(part_name(partition)),
        };
        Ok(((values_in, bytes_in), counts, commit))
    }
}

fn part_name(partition: usize) -> String {
    format!("part-{partition:05}")
}

/// Why an attempt ended without output.
enum AttemptError {
    /// A failure worth retrying.
    Task(TaskFailure),
    /// More bad records in this attempt alone than the job may skip: retrying cannot help.
    TooManyBadRecords(u64),
    /// Another copy of the task committed while this one ran.
    Superseded,
}

impl From<TaskFailure> for AttemptError {
    fn from(f: TaskFailure) -> Self {
        AttemptError::Task(f)
    }
}
