//! # Phase 3 — real-world systems
//!
//! Where Go reaches for goroutines per connection and `sync` primitives, Rust reaches for tokio,
//! rayon and explicit memory orderings. This crate holds:
//!
//! - exercise1 — IO-bound systems (`producer-consumer`, `stream`, `throughput-vs-latency`);
//! - exercise2 — CPU-bound systems (`sharding`, `work-stealing`, `partitioning`, `map-reduce`);
//! - exercise3 — rate limiting (`token-bucket`, `leaky-bucket`, `sliding-window`, `throttle-debounce`);
//! - exercise4 — reliable systems (`leaks`, `happens-before`, `races`).
#![warn(missing_docs)]

pub mod cpu;
pub mod io;
pub mod ratelimit;
pub mod reliable;
pub mod steal;
