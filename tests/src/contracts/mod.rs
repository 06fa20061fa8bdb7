//! The contracts: what a channel, a lock, … must do, as traits that our from-scratch types and the
//! ecosystem's types implement alike. A conformance suite (see [`crate::conformance`]) and a bench
//! workload written against a contract serve every implementation, so "ours vs crossbeam" is always
//! the same test and the same workload.
//!
//! Adapters for the ecosystem's types live here, next to the trait; adapters for ours live next to
//! our types, in the phase crates.
pub mod channel;
pub mod deque;
pub mod lock;
pub mod pool;
pub mod queue;
pub mod timer;
