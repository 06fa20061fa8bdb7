//! # workpool — a worker pool you can put in production
//!
//! Go bounds concurrency with a fixed set of goroutines reading one channel; pond and ants grew that
//! into pools with queues, groups and metrics. Rust's pools each cover part of it (threadpool:
//! unbounded and fire-and-forget; rayon: CPU work, `spawn` panics abort; tokio's blocking pool:
//! unbounded queue). This crate has the whole set, on threads, with no async runtime required.
//!
//! ## Submitting and joining
//! ```
//! use workpool::Pool;
//!
//! let pool = Pool::builder().name("demo").workers(2).build()?;
//! let handle = pool.submit(|| (1..=10).sum::<u32>())?;
//! assert_eq!(handle.join(), Ok(55));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//! A [`TaskHandle`] joins (`join`, `join_timeout`, `try_join`), cancels, and is a [`Future`]
//! (`handle.await` in any executor). A panic becomes [`TaskError::Panicked`]; the worker survives.
//!
//! ## A bounded queue and what happens when it is full
//! ```
//! use workpool::{Overflow, Pool, Queue, SubmitError};
//!
//! let pool = Pool::builder()
//!     .workers(1)
//!     .queue(Queue::Bounded(1))
//!     .overflow(Overflow::Reject)
//!     .build()?;
//! let (release, gate) = std::sync::mpsc::channel::<()>();
//! let busy = pool.submit(move || gate.recv().ok())?; // holds the worker
//! let queued = pool.submit(|| "queued")?; // fills the queue
//! assert_eq!(pool.submit(|| "refused").unwrap_err(), SubmitError::Full);
//! release.send(()).unwrap();
//! assert_eq!(queued.join(), Ok("queued"));
//! # busy.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//! The [`Overflow`] policies: `Block` (backpressure), `Reject`, `CallerRuns`, `DropOldest` (the
//! evicted task's handle says [`TaskError::Dropped`]) and `Timeout(d)`; `try_submit` and
//! `submit_timeout` bound the wait whatever the policy; `submit_before(deadline, f)` refuses at once
//! when the predicted queue wait already passes the deadline.
//!
//! ## Groups, scopes, priorities, subpools
//! ```
//! use workpool::{Pool, Priority, TaskOptions};
//!
//! let pool = Pool::builder().workers(2).build()?;
//!
//! // Results in submit order; the first error cancels the rest.
//! let mut group = pool.group();
//! for word in ["a", "bb", "ccc"] {
//!     group.submit(move |_ctx| Ok::<_, std::io::Error>(word.len()));
//! }
//! assert_eq!(group.wait().unwrap(), vec![1, 2, 3]);
//!
//! // Borrow from the stack: every task is finished before `scope` returns.
//! let mut counts = [0u32; 2];
//! pool.scope(|s| {
//!     let (a, b) = counts.split_at_mut(1);
//!     s.submit(move || a[0] += 1);
//!     s.submit(move || b[0] += 2);
//! });
//! assert_eq!(counts, [1, 2]);
//!
//! // Low-priority work waits behind at most `aging` higher-priority starts.
//! let report = pool.submit_with(TaskOptions::new().priority(Priority::Low), |_ctx| "report")?;
//! assert_eq!(report.join(), Ok("report"));
//!
//! // A share of the workers: at most one of these runs at a time.
//! let exclusive = pool.subpool(1);
//! assert_eq!(exclusive.submit(|| 7)?.join(), Ok(7));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Stopping, and seeing inside
//! ```
//! use std::time::Duration;
//! use workpool::Pool;
//!
//! let pool = Pool::builder().workers(2).stuck_after(Duration::from_secs(30)).build()?;
//! for i in 0..100 {
//!     pool.execute(move || { std::hint::black_box(i); })?;
//! }
//! pool.wait_idle();
//! let m = pool.metrics();
//! assert_eq!(m.completed, 100);
//! println!("queue wait p99 {:?}, run time p99 {:?}", m.queue_wait.p99, m.run_time.p99);
//!
//! let report = pool.shutdown(Duration::from_secs(1));
//! assert!(report.is_consistent());
//! assert_eq!((report.completed, report.unstarted, report.still_running), (100, 0, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//! Dropping a pool runs what is queued and joins every worker; it never detaches a thread.
//!
//! ## How it works
//! One mutex guards the lanes (one FIFO per [`Priority`]) and the worker bookkeeping; workers take
//! fair-share batches of up to 16 tasks per round trip on it when no sibling is free, and steal from
//! a busy sibling's batch when they run out; a task is one allocation (its state word, closure and
//! output slot) shared by the queue and its handle; a compare-and-swap on the state word decides
//! between a worker starting it and anyone abandoning it (cancel, group failure, eviction,
//! shutdown). The protocol is model-checked with loom (`tests/loom_pool.rs`), each model beside a
//! deliberately broken twin that must fail; the code with `unsafe` runs under Miri and the
//! sanitizers (`tests/unsafe_paths.rs`).
//!
//! Two limits to know: a task submitted after a worker took a batch may wait behind that batch (at
//! most 15 tasks per busy worker) whatever its priority; and [`Metrics::queue_wait`] runs from the
//! `submit` call, so under `Block` it includes the time the submitter waited for room.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod config;
mod error;
mod group;
mod lanes;
mod metrics;
mod pool;
mod scope;
mod state;
mod subpool;
mod sync;
mod task;
#[cfg(loom)]
#[doc(hidden)]
pub mod twin;
#[cfg(not(loom))]
mod twin;
mod watchdog;

pub use config::{Builder, Overflow, Queue, TaskOptions};
pub use error::{BuildError, CancelOutcome, GroupError, NotRunReason, SubmitError, TaskError};
pub use group::TaskGroup;
pub use metrics::{Latency, Metrics};
pub use pool::{Pool, ShutdownReport};
pub use scope::{Scope, ScopedHandle};
pub use subpool::SubPool;
pub use task::{Priority, TaskContext, TaskHandle};
pub use watchdog::StuckTask;

#[cfg(doc)]
use std::future::Future;

// The public types are shareable as they should be: a pool is used from many threads at once, a
// handle may be sent to the thread that joins it.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<Pool>();
    send_sync::<Builder>();
    send::<TaskHandle<String>>();
    send_sync::<TaskHandle<String>>();
    send_sync::<Metrics>();
    send_sync::<ShutdownReport>();
    send_sync::<SubmitError>();
    send_sync::<TaskError>();
};
