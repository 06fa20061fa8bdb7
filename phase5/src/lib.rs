//! # Phase 5 — capstones
//!
//! Libraries with a public API, docs, tests and benches, grown from the exercise modules of the
//! earlier phases rather than copied from them. Each capstone is its own crate beside this one
//! (`phase5/workpool`, …); this package holds the exercises that tour them, load them, break them on
//! purpose and measure them against the ecosystem and against the lesson they grew from:
//!
//! - exercise1 — a production-grade worker pool library ([`workpool_tour`], the crate `workpool`);
//! - exercise2 — a parallel map-reduce engine ([`mapreduce_tour`], the crate `mapreduce`);
//! - exercise3 — a rate limiter library ([`ratelimit_tour`], the crate `ratelimit`);
//! - exercise4 — a streaming pipeline with backpressure ([`pipeline_tour`], the crate `pipeline`);
//! - exercise5 — a miniature task scheduler, a tiny Kubernetes.
#![warn(missing_docs)]

#[cfg(not(loom))]
pub mod mapreduce_tour;
#[cfg(not(loom))]
pub mod pipeline_tour;
#[cfg(not(loom))]
pub mod ratelimit_tour;
#[cfg(not(loom))]
pub mod workpool_tour;
