//! # Building reliable systems (phase3/exercise4)
//!
//! Go ships a goroutine-leak habit (`goleak` in tests), a memory model stated in happens-before terms
//! and a race detector (`go test -race`). Rust rules out data races at compile time, but leaks, weak
//! orderings and logic races built from atomic steps remain; this module shows each, with the tool
//! that catches it: a leak guard for tests ([`harness::leaks::LeakGuard`]), loom for orderings and
//! interleavings (`tests/loom_reliable.rs`), and the store-buffering litmus test on this CPU.
//!
//! - [`subscriber_leak`]: a subscriber thread / task that outlives its owner because a registry keeps its
//!   sender, and the subscription that unregisters and joins on drop.
//! - [`message`]: message passing through a flag, `Relaxed` (wrong) and `Release`/`Acquire`.
//! - [`litmus`]: store buffering, `r1 == r2 == 0` counted under Relaxed, Acquire/Release and SeqCst.
//! - [`races`]: the data race that does not compile; lost updates and check-then-act, which do.

pub mod message;
pub mod races;

#[cfg(not(loom))]
pub mod litmus;
#[cfg(not(loom))]
pub mod lockstep;
#[cfg(not(loom))]
pub mod subscriber_leak;

#[cfg(not(loom))]
mod exercise;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise4",
    title: "Building reliable systems",
    goal: "Catch what makes concurrent systems unreliable: leaked threads and tasks, missing \
        happens-before edges, and races the compiler cannot rule out, each with a tool that finds it.",
    go_vs_rust: "Go finds goroutine leaks with goleak, data races with -race at run time, and makes \
        sync/atomic sequentially consistent; Rust rejects data races at compile time, makes every atomic \
        name its ordering (Relaxed / Release / Acquire / SeqCst), and checks orderings and interleavings \
        exhaustively with loom; leaks and logic races are left to tests in both.",
    sections: exercise::SECTIONS,
};
