//! # Phase 5 — capstones (coming next)
//!
//! Libraries with a public API, docs, tests and benches, grown from the exercise modules of the
//! earlier phases rather than copied from them:
//!
//! - exercise1 — a production-grade worker pool library;
//! - exercise2 — a parallel map-reduce engine;
//! - exercise3 — a rate limiter library;
//! - exercise4 — a streaming pipeline with backpressure;
//! - exercise5 — a miniature task scheduler, a tiny Kubernetes.
#![warn(missing_docs)]
