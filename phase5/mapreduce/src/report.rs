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
    /// Backup copies of straggling tasks started ([`Engine::backup_tasks`](crate::Engine::backup_tasks)).
    pub backups_launched: u64,
    /// Tasks whose backup copy committed first.
    pub backups_won: u64,
    /// Wall time of the map phase.
    pub map_time: Duration,
    /// Wall time of the reduce side: the heavy-key part tasks (when splitting), then the reduce
    /// tasks.
    pub reduce_time: Duration,
    /// Wall time of the whole job.
    pub elapsed: Duration,
    /// The output files, one per partition, in partition order.
    pub outputs: Vec<PathBuf>,
    /// Values that reached each reduce task (after the combiner), in partition order: how evenly the
    /// partitioner spread the work.
    pub reduce_input_values: Vec<u64>,
    /// With [`Engine::detect_heavy_keys`](crate::Engine::detect_heavy_keys) (or
    /// [`Engine::split_heavy_keys`](crate::Engine::split_heavy_keys)): the keys that surely carry at
    /// least `1 / capacity` of the map output pairs, largest first.
    pub heavy_keys: Vec<HeavyKey>,
    /// With [`Engine::split_heavy_keys`](crate::Engine::split_heavy_keys): the keys whose values
    /// were split into parts, each part combined by a task of its own, and merged by the key's
    /// reduce task; by partition, then key.
    pub split_keys: Vec<SplitKey>,
    /// Encoded bytes of the values that reached each reduce task (after the combiner; a split key
    /// counts its partials), in partition order.
    pub reduce_input_bytes: Vec<u64>,
    /// Wall time of the heavy-key part tasks (part of [`reduce_time`](Self::reduce_time)); zero
    /// without splitting.
    pub split_time: Duration,
    /// The same job's wall time on one thread, when run by
    /// [`Engine::run_with_baseline`](crate::Engine::run_with_baseline).
    pub baseline: Option<Duration>,
}

/// A key the map tasks' merged [`SpaceSaving`](crate::SpaceSaving) sketches found heavy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeavyKey {
    /// The key's [`Codec`](crate::Codec) encoding.
    pub key: Vec<u8>,
    /// Pairs with this key, at least (the sketch's count less its error).
    pub pairs_at_least: u64,
    /// Pairs with this key, at most (the sketch's count).
    pub pairs_at_most: u64,
    /// The reduce partition the key goes to.
    pub partition: usize,
}

/// A heavy key whose values were split ([`Engine::split_heavy_keys`](crate::Engine::split_heavy_keys)):
/// part `i` holds its values from the `i`-th of `parts` consecutive ranges of map tasks, combined by
/// heavy-key part task `i`; the key's reduce task reduces the parts' combined values in part order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitKey {
    /// The key's [`Codec`](crate::Codec) encoding.
    pub key: Vec<u8>,
    /// The reduce partition that merges the parts and writes the key's output.
    pub partition: usize,
    /// Values (after the map-side combiner) that each part task combined, in part order.
    pub part_input_values: Vec<u64>,
    /// Encoded bytes of those values, in part order.
    pub part_input_bytes: Vec<u64>,
    /// Values the parts' combines left, which the key's reduce task received.
    pub merged_values: u64,
}

impl SplitKey {
    /// How many parts the key's values were split into.
    pub fn parts(&self) -> usize {
        self.part_input_values.len()
    }
}

impl JobReport {
    /// The one-thread baseline's time over this run's: the speed-up the threads bought (the COST
    /// paper's question: against one thread of the same engine, not against the engine's own
    /// scaling curve).
    pub fn speedup(&self) -> Option<f64> {
        let baseline = self.baseline?;
        Some(baseline.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9))
    }
}

impl std::fmt::Display for JobReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} splits → {} partitions on {} threads: {:.3?} (map {:.3?}, reduce {:.3?})",
            self.splits, self.reducers, self.threads, self.elapsed, self.map_time, self.reduce_time
        )?;
        if let (Some(baseline), Some(speedup)) = (self.baseline, self.speedup()) {
            writeln!(f, "one thread: {baseline:.3?}, speed-up {speedup:.2}×")?;
        }
        writeln!(
            f,
            "records {} ({} B) → pairs {} → keys {} → output records {} ({} B)",
            self.input_records,
            self.input_bytes,
            self.map_output_pairs,
            self.reduce_keys,
            self.output_records,
            self.output_bytes
        )?;
        write!(
            f,
            "spilled runs {} ({} B), retries {}, skipped {}, backups {} launched, {} won",
            self.spilled_runs,
            self.spilled_bytes,
            self.retries,
            self.skipped,
            self.backups_launched,
            self.backups_won
        )?;
        if !self.split_keys.is_empty() {
            let parts = self.split_keys.first().map_or(0, SplitKey::parts);
            write!(
                f,
                "\n{} heavy keys split into {parts} parts each (part tasks {:.3?})",
                self.split_keys.len(),
                self.split_time
            )?;
        }
        Ok(())
    }
}
