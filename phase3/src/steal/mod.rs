//! Work stealing from scratch. Go's scheduler gives every P a local run queue and lets an idle P
//! steal half of a busy one's; Rust has no built-in scheduler, so rayon brings one: per-thread
//! Chase–Lev deques, `join` that pushes one half and runs the other, and thieves taking the oldest
//! (biggest) piece of work. This module builds both halves by hand:
//!
//! - [`deque`]: a Chase–Lev deque (owner LIFO at the bottom, thieves FIFO at the top, a growable
//!   circular buffer, every ordering justified, loom-checked in `tests/loom_deque.rs`);
//! - [`scheduler`]: a fork-join pool on it (`join`, `install`), generic over the deque through
//!   [`harness::contracts::deque::WorkDeque`] so the same scheduler also runs on crossbeam-deque;
//!   its idle workers park in `sleep` (lock-free counters and fences, loom-checked in
//!   `tests/loom_sleep.rs`);
//! - [`workload`]: an unbalanced recursive workload (a skewed tree sum);
//!
//! The exercise section comparing ours, ours on crossbeam-deque, rayon and sequential is
//! `cpu/exercise/work_stealing.rs` (exercise2's sections live together).
pub mod deque;
#[cfg(not(loom))]
pub mod scheduler;
/// The scheduler's sleep protocol: crate-private, public only under `--cfg loom` for its model
/// (`tests/loom_sleep.rs`), the scheduler itself not being compiled under loom.
#[cfg(loom)]
#[doc(hidden)]
pub mod sleep;
#[cfg(not(loom))]
mod sleep;
#[cfg(not(loom))]
pub mod workload;

#[cfg(not(loom))]
mod contract {
    use super::deque::{Steal, Stealer, Worker};
    use harness::contracts::deque::{self as contract, DequeOwner, DequeStealer, WorkDeque};

    /// Our Chase–Lev deque as a [`WorkDeque`], for the conformance suite, the scheduler and benches.
    pub struct ChaseLev;

    impl<T: Send + 'static> DequeOwner<T> for Worker<T> {
        type Stealer = Stealer<T>;
        fn push(&self, value: T) {
            Worker::push(self, value)
        }
        fn pop(&self) -> Option<T> {
            Worker::pop(self)
        }
        fn is_empty(&self) -> bool {
            Worker::is_empty(self)
        }
        fn stealer(&self) -> Stealer<T> {
            Worker::stealer(self)
        }
    }

    impl<T: Send + 'static> DequeStealer<T> for Stealer<T> {
        fn steal(&self) -> contract::Steal<T> {
            match Stealer::steal(self) {
                Steal::Success(v) => contract::Steal::Success(v),
                Steal::Empty => contract::Steal::Empty,
                Steal::Retry => contract::Steal::Retry,
            }
        }
        fn is_empty(&self) -> bool {
            Stealer::is_empty(self)
        }
    }

    impl WorkDeque for ChaseLev {
        const NAME: &'static str = "ours";
        type Owner<T: Send + 'static> = Worker<T>;
        type Stealer<T: Send + 'static> = Stealer<T>;
        fn new<T: Send + 'static>() -> Worker<T> {
            Worker::new()
        }
    }
}
#[cfg(not(loom))]
pub use contract::ChaseLev;
