//! Conformance suites, written once against a contract and run against ours **and** the ecosystem's
//! implementations. The peers passing is what proves a suite honest: if crossbeam fails it, the suite
//! is wrong, not crossbeam.
pub mod channel;
pub mod deque;
pub mod lock;
pub mod pool;
pub mod queue;
pub mod timer;
