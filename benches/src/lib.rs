//! # The shared bench harness
//!
//! - [`config`]: one criterion configuration for every bench in the workspace, sized for a 2-core
//!   machine (short warm-up, enough samples for a stable median, HTML reports on).
//! - The naming convention `bench-report` relies on: a criterion **group** is a scenario area
//!   (`channels/spsc`), a **function id** is an implementation, `ours` (or `ours-<variant>`) for ours
//!   and the crate's name for a peer (`std`, `crossbeam`, `parking_lot`, `tokio`, `dashmap`, …), and the
//!   **parameter** is the scenario's size (`cap=0`, `threads=2`). [`id`] builds such an id.
//! - `bench-report` (the binary) reads criterion's estimates, pairs every `ours*` with the fastest peer
//!   of the same scenario, and prints scenario | ours | best peer | ratio, plus the targets the issues set.
#![warn(missing_docs)]

pub mod report;
pub mod workloads;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion};

/// The workspace's criterion configuration.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .noise_threshold(0.03)
        .configure_from_args()
}

/// A benchmark id `implementation / parameter`, e.g. `id("ours", "cap=0")`.
pub fn id(implementation: &str, parameter: impl std::fmt::Display) -> BenchmarkId {
    BenchmarkId::new(implementation, parameter)
}

/// True when a function id names our implementation (`ours`, `ours-futex`, …).
pub fn is_ours(function_id: &str) -> bool {
    function_id == "ours" || function_id.starts_with("ours-")
}

/// Whether a bench function id is a reference point rather than a peer (`baseline-…`, e.g. the
/// sequential run of a parallel workload): reported, but never the "best peer" of a scenario.
pub fn is_baseline(function_id: &str) -> bool {
    function_id.starts_with("baseline-")
}
