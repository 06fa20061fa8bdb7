//! # Phase 2 — core concurrency patterns
//!
//! Go builds its patterns from goroutines, channels and `context.Context`; Rust builds them from
//! threads or tasks, channels and cancellation tokens. Each pattern here is implemented from scratch,
//! tested (exactly-once, bounds, no leaks, virtual-clock schedules) and benchmarked against the
//! ecosystem.
//!
//! - [`pool`] — exercise1: a worker pool with bounded concurrency (`results`, `cancel`, `retry`, `ordered`).
//! - [`fanout`] — exercise2: fan-out / fan-in (`distribution`, `fairness`, `leaks`).
//! - [`pipeline`] — exercise3: pipelines, threaded and async (`stages`, `backpressure`, `cancel`).
//! - [`context`] — exercise4: context-aware systems (`context`, `timeouts`, `shutdown`, `cleanup`).
//! - [`timers`] — exercise5: timers and tickers (`leaks`, `missed-ticks`, `periodic`, `wheel`).
#![warn(missing_docs)]

pub mod context;
pub mod fanout;
pub mod pipeline;
pub mod pool;
pub mod timers;
