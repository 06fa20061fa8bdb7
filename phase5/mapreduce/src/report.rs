//! What a job did, counted.
use std::path::PathBuf;
use std::time::Duration;

/// The counters and timings of one job run (the paper's counters, plus the engine's own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobReport {
    /// Worker threads used.
    pub threads: usize,
    /// Map tasks (splits).
    pub splits: usize,
    /// Reduce tasks (partitions, `part-` files).
    pub reducers: usize,
    /// Records read by committed map attempts.
    pub input_records: u64,
    /// Bytes read by committed map attempts.
    pub input_bytes: u64,
    /// Pairs emitted by committed map attempts (before the combiner).
    pub map_output_pairs: u64,
    /// Distinct keys reduced.
    pub reduce_keys: u64,
    /// Output records written (`Output::write` calls of committed reduce attempts).
    pub output_records: u64,
    /// Output bytes written.
    pub output_bytes: u64,
    /// Sorted runs written to disk by committed map attempts (with a memory budget: each time a
    /// task's buffer passed its share, plus each task's last run).
    pub spilled_runs: u64,
    /// Bytes of those runs.
    pub spilled_bytes: u64,
    /// Task attempts that failed and were run again.
    pub retries: u64,
    /// Bad records (map) and keys (reduce) skipped.
    pub skipped: u64,
    /// Wall time of the map phase.
    pub map_time: Duration,
    /// Wall time of the reduce phase.
    pub reduce_time: Duration,
    /// Wall time of the whole job.
    pub elapsed: Duration,
    /// The output files, one per partition, in partition order.
    pub outputs: Vec<PathBuf>,
}
