//! # Phase 2 — core concurrency patterns (coming next)
//!
//! Go builds its patterns from goroutines, channels and `context.Context`; Rust builds them from
//! threads or tasks, channels and cancellation tokens. This crate will hold, each implemented from
//! scratch, tested and benchmarked:
//!
//! - exercise1 — a worker pool with bounded concurrency (`results`, `cancel`, `retry`, `ordered`);
//! - exercise2 — fan-out / fan-in (`distribution`, `fairness`, `leaks`);
//! - exercise3 — pipelines, threaded and async (`stages`, `backpressure`, `cancel`);
//! - exercise4 — context-aware systems (`context`, `timeouts`, `shutdown`, `cleanup`);
//! - exercise5 — timers and tickers (`leaks`, `missed-ticks`, `periodic`, `wheel`).
//!
//! See `shared` catalog entries in the top-level README for the full specification.
#![warn(missing_docs)]
