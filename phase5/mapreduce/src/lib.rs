//! # mapreduce — a map-reduce engine on one machine's threads
//!
//! A job maps input records to `(key, value)` pairs, the engine groups the pairs by key into `R`
//! partitions, and the job reduces each key's values to output records, one `part-NNNNN` file per
//! partition, sorted by key. Go's lessons build this from goroutines and channels; here a job is a
//! typed trait, and the engine adds what the MapReduce paper (Dean & Ghemawat, OSDI 2004) found a
//! real job needs: a combiner, a partitioner, re-execution of failed tasks, skipping of bad records,
//! spilling to disk under a memory budget, and counters.
//!
//! ## A built-in job
//! ```
//! use mapreduce::{Engine, Input, jobs::WordCount};
//!
//! let dir = std::env::temp_dir().join(format!("mr-doc-lib-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("a.txt"), "to be or\nnot to be\n")?;
//! let out = dir.join("out");
//! # let _ = std::fs::remove_dir_all(&out);
//! let report = Engine::new()
//!     .threads(2)
//!     .reducers(1)
//!     .run(&WordCount::job(), &Input::lines([dir.join("a.txt")]), &out)?;
//! let text = std::fs::read_to_string(&report.outputs[0])?;
//! assert_eq!(text, "be\t2\nnot\t1\nor\t1\nto\t2\n");
//! assert_eq!((report.input_records, report.map_output_pairs, report.reduce_keys), (2, 6, 4));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//! The others are [`jobs::InvertedIndex`], [`jobs::Grep`] and [`jobs::Sort`] (range-partitioned:
//! the `part-` files in order are the sorted input).
//!
//! ## Your own job
//! Implement [`Job`] (`map`, optionally `combine` and `partition`, `reduce`), or [`Aggregate`] for
//! a monoid (`map`, `merge`, `write`) and run it as [`AggregateJob`]. Keys and values are [`Codec`]
//! (bytes for spilled runs and for a partition hash that is the same on every machine). `map`
//! emits a key owned ([`Emitter::emit`]) or borrowed from the record ([`Emitter::emit_ref`], in
//! the job's [`Job::KeyRef`] form, `[u8]` for a `Vec<u8>` key): a borrowed key is made owned only
//! the first time a map task sees it.
//! ```
//! use mapreduce::{Emitter, Job, Output, Record, RecordError};
//!
//! /// The first word of each line, and how many lines start with it.
//! struct FirstWords;
//! impl Job for FirstWords {
//!     type Key = Vec<u8>;
//!     type KeyRef = [u8];
//!     type Value = u64;
//!     fn map<'r>(
//!         &self,
//!         r: &Record<'r>,
//!         emit: &mut Emitter<'r, Vec<u8>, u64, [u8]>,
//!     ) -> Result<(), RecordError> {
//!         if let Some(word) = r.bytes.split(|b| *b == b' ').next() {
//!             emit.emit_ref(word, 1); // borrowed from the record: no allocation for a known key
//!         }
//!         Ok(())
//!     }
//!     fn combine(&self, _: &Vec<u8>, v: Vec<u64>) -> Vec<u64> {
//!         vec![v.iter().sum()]
//!     }
//!     fn reduce(&self, key: &Vec<u8>, v: Vec<u64>, out: &mut Output) -> Result<(), RecordError> {
//!         out.write(&[key.as_slice(), format!("\t{}\n", v.iter().sum::<u64>()).as_bytes()].concat());
//!         Ok(())
//!     }
//! }
//! ```
//!
//! ## Faults and limits
//! ```
//! use mapreduce::{Emitter, Engine, Input, Job, JobError, Output, Record, RecordError, TaskId};
//!
//! /// Sums the numbers of a file, one a line; a line that is not a number is a bad record.
//! struct Sum;
//! impl Job for Sum {
//!     type Key = ();
//!     type KeyRef = ();
//!     type Value = i64;
//!     fn map(&self, r: &Record<'_>, emit: &mut Emitter<'_, (), i64>) -> Result<(), RecordError> {
//!         let n = std::str::from_utf8(r.bytes).ok().and_then(|s| s.trim().parse().ok());
//!         emit.emit((), n.ok_or_else(|| RecordError::Bad("not a number".into()))?);
//!         Ok(())
//!     }
//!     fn reduce(&self, _: &(), v: Vec<i64>, out: &mut Output) -> Result<(), RecordError> {
//!         out.write(format!("{}\n", v.iter().sum::<i64>()).as_bytes());
//!         Ok(())
//!     }
//! }
//!
//! let dir = std::env::temp_dir().join(format!("mr-doc-faults-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("n.txt"), "1\n2\nthree\n4\n")?;
//! let input = Input::lines([dir.join("n.txt")]);
//! # let _ = std::fs::remove_dir_all(dir.join("a"));
//! # let _ = std::fs::remove_dir_all(dir.join("b"));
//! let report = Engine::new().reducers(1).max_skipped(1).run(&Sum, &input, dir.join("a"))?;
//! assert_eq!(std::fs::read_to_string(&report.outputs[0])?, "7\n");
//! assert_eq!(report.skipped, 1);
//!
//! let strict = Engine::new().reducers(1).run(&Sum, &input, dir.join("b"));
//! assert!(matches!(strict, Err(JobError::TooManyBadRecords { skipped: 1, cap: 0 })));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//! A task attempt that panics or returns [`RecordError::Fail`] is run again, up to
//! [`Engine::max_attempts`]; then the job fails with [`JobError::TaskFailed`], naming the task
//! ([`TaskId`]), its split and the last cause. Each attempt writes under a name of its own and is
//! committed by a rename, so a re-executed task never duplicates output, and only committed
//! attempts are counted. With [`Engine::backup_tasks`], idle workers at the end of a phase run a
//! second copy of the straggling task; the first copy to finish commits, the other is dropped.
//!
//! ## How it runs
//! The input is cut into about `M` splits on record boundaries ([`Input`]). `threads` workers claim
//! map tasks from a shared counter; each groups its pairs by partition and key, combining a key's
//! values as they pile up. Without a memory budget a task's sorted partitions stay in memory; with
//! [`Engine::memory_budget`] a task whose buffer passes its share (budget / threads) writes a sorted
//! run per partition to disk. Then the workers claim reduce tasks: each merges its partition's runs
//! from every map task k-way and writes `part-NNNNN`. Splits, partitions and the order in which a
//! key's values reach `reduce` (map task by map task) do not depend on the thread count, so neither
//! does the output. With [`Engine::split_heavy_keys`], the keys the map tasks' sketches find heavy
//! have their values combined in parts by tasks of their own before the reduce tasks run, and each
//! such key's reduce task reduces the parts' results: same output, the hot key's work spread (for
//! a job that declares [`Job::splittable`]).
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod codec;
mod engine;
mod error;
mod fasthash;
mod input;
mod job;
pub mod jobs;
mod report;
mod sketch;
mod spill;

pub use codec::{Codec, DecodeError};
pub use engine::Engine;
pub use error::{InputProblem, JobError, RecordError, SplitInfo, TaskFailure, TaskId};
pub use input::{Input, RecordFormat};
pub use job::{
    Aggregate, AggregateJob, Emitter, Job, Output, Record, hash_partition, range_partition,
};
pub use report::{HeavyKey, JobReport, SplitKey};
pub use sketch::SpaceSaving;

// An engine and its reports and errors go between threads; errors are `Send + Sync` so they fit in
// `Box<dyn Error + Send + Sync>`.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Engine>();
    send_sync::<Input>();
    send_sync::<JobReport>();
    send_sync::<JobError>();
    send_sync::<jobs::WordCount>();
    send_sync::<jobs::Grep>();
};
