//! # Fan-out / fan-in (phase2/exercise2)
//!
//! Go fans out by starting N goroutines on one channel and fans in with a `merge` that copies every
//! input into one output; its classic failure is the goroutine left blocked on a send after the caller
//! returned early. Rust does the same with threads (or tasks) and channels; scoped threads, dropping the
//! receiver and a cancellation flag make the early return leak-free.
//!
//! - [`distribute`]: shared queue vs round-robin vs power-of-two choices over heavy-tailed tasks.
//! - [`fanin::merge`]: N inputs into one bounded output, closed when every input is done.
//! - [`discipline`]: FIFO vs LIFO under overload, on a discrete clock.
//! - [`early_return`]: the leaking first-error fan-out ([`early_return::Leaky`]) and the fixed one
//!   ([`early_return::first_error_fixed`]).

pub mod discipline;
pub mod distribute;
pub mod early_return;
#[cfg(not(loom))]
mod exercise;
pub mod fanin;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise2",
    title: "Fan-out / fan-in",
    goal: "Load distribution; fair vs unfair scheduling; how to prevent workers from leaking.",
    go_vs_rust: "Go fans out with goroutines reading one channel and fans in with a merge goroutine per \
        input; a goroutine blocked on a send nobody reads leaks silently. Rust uses threads or tasks and \
        the same channels; dropping the receiver makes blocked sends fail, and scoped threads cannot \
        outlive the call that started them.",
    sections: exercise::SECTIONS,
};
