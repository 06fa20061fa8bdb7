//! # Phase 4 — expert level
//!
//! Go hides its runtime; in Rust the runtime is a library you can write. This crate holds:
//!
//! - exercise1 — the runtime (`syscalls`, `work-stealing`, `preemption`, `stacks`);
//! - exercise2 — high-performance concurrency (`lock-free`, `false-sharing`, `bench`, `contention`),
//!   and [`fastchan`], a channel built on its lock-free queue, step by step toward crossbeam's speed;
//! - exercise3 — distributed consumers on an embedded log and Redis Streams (`consumer-group`,
//!   `backpressure`, `idempotency`, `dlq`).
#![warn(missing_docs)]

pub mod consumers;
pub mod fastchan;
pub mod lockfree;
pub mod runtime;
