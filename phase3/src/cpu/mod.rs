//! # CPU-bound systems (phase3/exercise2)
//!
//! Go scales CPU-bound work with one goroutine per core and shares state through a mutex or a
//! sharded map; the runtime's work-stealing scheduler balances the goroutines. Rust makes the same
//! moves explicitly: per-core shards of state ([`counter`], [`map`]), scoped threads claiming work from
//! an atomic counter ([`partition`]), per-worker partial results merged at the end ([`mapreduce`]),
//! and rayon's work-stealing pool as the ecosystem's answer to all three.
//!
//! - [`counter`]: sharded (cache-padded atomics) vs one atomic vs one mutex.
//! - [`map`]: a sharded counting map (N × `Mutex<hashbrown::HashMap>`) vs one locked map.
//! - [`partition`]: static vs dynamic vs guided chunking on skewed work.
//! - [`mapreduce`]: word count, map → combine → merge, vs sequential and rayon.
//! - The experiments of exercise2, one file per section, are in `exercise/` (`work-stealing` too;
//!   its scheduler and deque are in [`crate::steal`]).

pub mod counter;
#[cfg(not(loom))]
mod exercise;
#[cfg(not(loom))]
pub mod map;
#[cfg(not(loom))]
pub mod mapreduce;
#[cfg(not(loom))]
pub mod partition;
#[cfg(not(loom))]
pub mod workload;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise2",
    title: "CPU-bound systems",
    goal: "Scale CPU-bound work across cores: shard shared state, balance skewed work, and combine \
        partial results without a shared hot spot.",
    go_vs_rust: "Go starts a goroutine per core, guards shared maps with a mutex (or shards them), and \
        relies on the runtime's work-stealing scheduler for balance. Rust does the same with scoped \
        threads, cache-padded shards and an atomic claim counter written out by hand, and rayon's \
        work-stealing pool as the library answer; the borrow checker keeps each worker's partial result \
        its own until the merge.",
    sections: exercise::SECTIONS,
};
