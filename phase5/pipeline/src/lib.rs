//! # pipeline — a typed streaming pipeline on tokio, with bounded edges and a named bottleneck
//!
//! Go builds a pipeline from goroutines joined by channels; tokio programs from tasks joined by
//! `mpsc`, or from a `Stream` with `buffered` / `buffer_unordered`. This crate is the first shape
//! made into a library: a source, then `map` / `try_map` / `filter` / `flat_map` / `batch` stages,
//! then a sink (and [`Pipeline::merge`] to join several inputs into one stage), each stage with a [parallelism](Stage::with_parallelism) and a [`Mode`] (ordered or
//! unordered), every edge bounded with an [`Overflow`] policy, and a [`Report`] that accounts for
//! every item and names the bottleneck.
//!
//! ## A pipeline
//! ```
//! use pipeline::{Overflow, Pipeline, Stage};
//! use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let total = Arc::new(AtomicU64::new(0));
//! let sum = Arc::clone(&total);
//! let report = Pipeline::from_iter(0..1000u64)
//!     // four at once, outputs as they finish
//!     .map(Stage::new("fetch").with_parallelism(4).unordered(), |x| async move {
//!         tokio::time::sleep(Duration::from_micros(10)).await;
//!         x
//!     })
//!     .try_map(Stage::new("parse"), |x| async move { if x % 100 == 0 { Err("bad") } else { Ok(x) } })
//!     .batch(Stage::new("batch").capacity(64), 10, Duration::from_millis(5))
//!     .for_each(Stage::new("sink"), move |batch| {
//!         sum.fetch_add(batch.iter().sum::<u64>(), Relaxed);
//!         async {}
//!     })
//!     .run()
//!     .await?;
//! assert_eq!(report.stage("parse").unwrap().failed, 10);
//! assert_eq!(total.load(Relaxed), (0..1000).filter(|x| x % 100 != 0).sum::<u64>());
//! println!("{report}"); // a table per stage, and the verdict line
//! # Ok::<(), pipeline::PipelineError>(())
//! # }).unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Overflow, and the accounting
//! The edge in front of a stage holds [`Stage::capacity`] items. When it is full,
//! [`Overflow::Block`] makes the sender wait (backpressure, up to the source), `DropNewest` and
//! `DropOldest` drop an item, `Reject` refuses it and reports its source sequence number in
//! [`Report::nacks`], and `SpillToDisk` writes it to checksummed segments on disk (in order, read
//! back after the items before it), blocking only once its disk cap is reached. Every stage's row
//! satisfies `offered = dropped + rejected + completed + failed + cancelled`.
//!
//! ```
//! use pipeline::{Overflow, Pipeline, Spill, Stage};
//! use std::time::Duration;
//!
//! # let dir = std::env::temp_dir().join(format!("pipeline-doc-spill-{}", std::process::id()));
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! // The sink's edge holds 8 items in memory, then up to 1 MiB of them on disk.
//! let spill = Spill::new::<u64>(dir.join("sink"), 1 << 20);
//! let report = Pipeline::from_iter(0..1000u64)
//!     .for_each(Stage::new("sink").capacity(8).overflow(Overflow::SpillToDisk(spill)), |_| {
//!         tokio::time::sleep(Duration::from_micros(50))
//!     })
//!     .run()
//!     .await?;
//! let sink = report.stage("sink").unwrap();
//! assert_eq!(sink.completed, 1000);
//! assert!(sink.spilled > 0 && sink.dropped == 0); // the source never waited for the slow sink
//! assert!(!dir.join("sink").exists()); // the segments are gone after the run
//! # Ok::<(), pipeline::PipelineError>(())
//! # }).unwrap();
//! # let _ = std::fs::remove_dir_all(&dir);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Cancellation and drain
//! [`Runnable::run_until`] takes a `CancellationToken` and a drain deadline: cancelling stops the
//! source, what is inside drains to the sink until the deadline, and the rest is cancelled and
//! counted where it was.
//!
//! ## Errors
//! A `try_map` error drops the item and counts it in the stage's `failed`;
//! [`Pipeline::try_map_retry`] first tries it again with exponential backoff ([`Retry`]), then hands
//! it to a dead-letter sink with its last error ([`DeadLetter`]).
//!
//! ## Acknowledgements
//! [`Pipeline::from_file`] reads the lines of a file and acks each one once it has finished its way
//! (the sink returned, or a stage ended it on purpose); the contiguous acked prefix is checkpointed
//! durably ([`Checkpoint`]), so a run killed at any moment resumes there, losing nothing and
//! repeating at most [`FileSource::max_unacked`] lines. [`Report::acks`] says what was read, acked
//! and left unacked.
//!
//! ## Telemetry
//! Each stage's busy time (in its function), backpressured time (waiting for room downstream) and the
//! idle rest, as Flink accounts for its tasks; [`Report::verdict`] names the stage that limits the
//! pipeline and the evidence for it. [`Runnable::spawn`] runs the pipeline on a task of its own and
//! [`Running::snapshot`] reads the same rows, and each edge's depth, while it runs.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod ack;
mod codec;
mod config;
mod edge;
mod error;
mod file_source;
mod pipeline;
mod retry;
pub mod spill;
mod spill_queue;
mod stats;
mod workers;

pub use codec::{Spill, SpillCodec};
pub use config::{Mode, Overflow, Stage};
pub use error::PipelineError;
pub use file_source::{Checkpoint, FileSource};
pub use pipeline::{Pipeline, Runnable, Running};
pub use retry::{DeadLetter, Retry};
pub use stats::{Nack, Report, SourceAcks, StageReport};

#[allow(dead_code)]
const fn assert_send_sync<T: Send + Sync>() {}
#[allow(dead_code)]
const fn assert_send<T: Send>() {}
const _: () = {
    assert_send_sync::<Report>();
    assert_send_sync::<Stage>();
    assert_send_sync::<Spill>();
    assert_send_sync::<PipelineError>();
    assert_send::<Runnable>();
    assert_send::<Pipeline<u8>>();
};

/// The README's example, run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
