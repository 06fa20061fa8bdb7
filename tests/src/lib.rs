//! # The shared harness of rust-concurrency
//!
//! One crate that every phase depends on, so that the machinery around the lessons is written once:
//!
//! - [`exercise`] — the exercise-binary contract: sections, `--help`, `--quick`, `--json`, tables,
//!   takeaways and ✓/✗ self-checks, and the exit code that follows from them.
//! - [`watchdog`] — run a closure with a deadline; a deadlocked experiment is reported, never hung on.
//! - [`wait`] — poll a condition until it holds or a limit passes, instead of sleeping and hoping.
//! - [`ledger`] — drop accounting: a drop counter and a per-element ledger, for "dropped exactly once".
//! - [`lateness`] — how late a tokio runtime runs a heartbeat, next to load that blocks one of six
//!   ways: the blocking-in-async probe of phase 1's `blocking` and phase 4's `syscalls` sections.
//! - [`leaks`] — live threads of this process and alive tokio tasks: a leak is a number, not a hunch.
//! - [`clock`] — a `Clock` trait with a real and a virtual implementation, so time-based logic is tested
//!   exactly instead of with sleeps.
//! - [`redis_server`] — a throwaway `redis-server` on a free loopback port (kill, restart), skipped
//!   loudly when it is not installed unless `REQUIRE_REDIS=1`.
//! - [`rng`] — a small seeded generator (xorshift64*), so generated cases replay the same everywhere.
//! - [`tempdir`] — a directory that removes itself, and names no other run uses.
//! - [`contracts`] — the traits (`Channel`, `Lock`, …) that our from-scratch types and the ecosystem's
//!   implement alike, so one conformance suite and one bench workload serve both.
//! - [`conformance`] — those suites. If crossbeam fails one of them, the suite is wrong.
//! - [`catalog`] — `catalog.tsv` (the exercises, their sections, their from-scratch types) and the
//!   root README's index generated from it.
#![warn(missing_docs)]

pub mod affinity;
pub mod catalog;
pub mod clock;
pub mod conformance;
pub mod contracts;
pub mod exercise;
#[cfg(not(loom))] // tokio is not linked under loom (see Cargo.toml)
pub mod lateness;
pub mod leaks;
pub mod ledger;
pub mod redis_server;
pub mod rng;
pub mod smoke;
pub mod stats;
pub mod tempdir;
pub mod wait;
pub mod watchdog;

pub use exercise::{Ctx, Exercise, Section};
