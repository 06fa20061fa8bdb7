//! What can go wrong, as types: a record the job rejects, a task that fails, a job that fails.
use std::fmt;
use std::io;
use std::path::PathBuf;

/// What a job's `map` or `reduce` returns for one record or key it cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// A bad record (or key): skipped and counted, up to the engine's cap (the paper's skipping
    /// mode). Pairs or output written for it are dropped.
    Bad(String),
    /// A failure of the task attempt itself: the attempt is abandoned and the task retried.
    Fail(String),
}

/// A map task (one split) or a reduce task (one partition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskId {
    /// The map task reading split `n`.
    Map(usize),
    /// The reduce task writing partition `n`.
    Reduce(usize),
    /// The task combining part `n` of the split heavy keys' values
    /// ([`Engine::split_heavy_keys`](crate::Engine::split_heavy_keys)).
    HeavyPart(usize),
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskId::Map(n) => write!(f, "map task {n}"),
            TaskId::Reduce(n) => write!(f, "reduce task {n}"),
            TaskId::HeavyPart(n) => write!(f, "heavy-key part task {n}"),
        }
    }
}

/// The bytes a map task reads: `[start, end)` of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitInfo {
    /// The file.
    pub path: PathBuf,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl fmt::Display for SplitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes {}..{}",
            self.path.display(),
            self.start,
            self.end
        )
    }
}

/// Why one attempt of a task failed.
#[derive(Debug)]
pub enum TaskFailure {
    /// The job's code panicked; the panic's message.
    Panicked(String),
    /// The job returned [`RecordError::Fail`]; its message.
    Failed(String),
    /// Reading input, writing or reading a spilled run, or writing output failed.
    Io(io::Error),
    /// A spilled run did not decode (damaged on disk).
    Corrupt(String),
    /// The job's `partition` returned a partition out of range.
    BadPartition {
        /// What it returned.
        partition: usize,
        /// The number of reducers.
        reducers: usize,
    },
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Panicked(m) => write!(f, "panicked: {m}"),
            TaskFailure::Failed(m) => write!(f, "failed: {m}"),
            TaskFailure::Io(e) => write!(f, "I/O error: {e}"),
            TaskFailure::Corrupt(m) => write!(f, "corrupt spilled run: {m}"),
            TaskFailure::BadPartition {
                partition,
                reducers,
            } => write!(
                f,
                "partition() returned {partition}, not below the {reducers} reducers"
            ),
        }
    }
}

impl From<io::Error> for TaskFailure {
    fn from(e: io::Error) -> Self {
        TaskFailure::Io(e)
    }
}

/// Why a job failed.
#[derive(Debug)]
pub enum JobError {
    /// The engine's settings are unusable (zero reducers, zero splits, zero attempts, zero threads).
    Config(&'static str),
    /// An input file cannot be read or is not made of whole records.
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: InputProblem,
    },
    /// The output directory cannot be created, or already holds `part-` files.
    Output {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: InputProblem,
    },
    /// A task failed on every attempt.
    TaskFailed {
        /// Which task.
        task: TaskId,
        /// The bytes it read (map tasks).
        split: Option<SplitInfo>,
        /// How many attempts were made.
        attempts: u32,
        /// Why the last attempt failed.
        cause: TaskFailure,
    },
    /// [`Engine::split_heavy_keys`](crate::Engine::split_heavy_keys) was asked of a job whose
    /// [`Job::splittable`](crate::Job::splittable) is `false`: splitting its keys could change
    /// its output, so the job is not run.
    NotSplittable,
    /// More bad records than the cap allows.
    TooManyBadRecords {
        /// Records (and keys) skipped when the cap was passed.
        skipped: u64,
        /// The cap.
        cap: u64,
    },
}

/// What is wrong with an input file or the output directory.
#[derive(Debug)]
pub enum InputProblem {
    /// The operating system's error.
    Io(io::Error),
    /// A fixed-size-record file whose length is not a multiple of the record size.
    PartialRecord {
        /// The file's length.
        len: u64,
        /// The record size.
        record_len: usize,
    },
    /// The output directory already holds `part-` files from an earlier run.
    NotEmpty,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputProblem::Io(e) => write!(f, "{e}"),
            InputProblem::PartialRecord { len, record_len } => write!(
                f,
                "{len} bytes is not a whole number of {record_len}-byte records"
            ),
            InputProblem::NotEmpty => write!(f, "already holds part- files"),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Config(m) => write!(f, "bad engine settings: {m}"),
            JobError::Input { path, reason } => {
                write!(f, "input {}: {reason}", path.display())
            }
            JobError::Output { path, reason } => {
                write!(f, "output directory {}: {reason}", path.display())
            }
            JobError::TaskFailed {
                task,
                split,
                attempts,
                cause,
            } => {
                write!(f, "{task}")?;
                if let Some(split) = split {
                    write!(f, " ({split})")?;
                }
                write!(f, " failed {attempts} times, last: {cause}")
            }
            JobError::NotSplittable => write!(
                f,
                "heavy-key splitting asked of a job that does not declare its combine a partial \
                 reduction (Job::splittable)"
            ),
            JobError::TooManyBadRecords { skipped, cap } => {
                write!(
                    f,
                    "{skipped} bad records skipped, more than the cap of {cap}"
                )
            }
        }
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JobError::TaskFailed {
                cause: TaskFailure::Io(e),
                ..
            }
            | JobError::Input {
                reason: InputProblem::Io(e),
                ..
            }
            | JobError::Output {
                reason: InputProblem::Io(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}
