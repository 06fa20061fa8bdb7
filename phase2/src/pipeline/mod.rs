//! # Pipelines (phase2/exercise3)
//!
//! Go's pipeline is a chain of goroutines joined by channels: each stage ranges over its input
//! channel, sends to its output channel and closes it when done, and a `done` channel (or a
//! `context.Context`) cancels them all. Rust has the same two shapes — threads joined by crossbeam
//! channels, or tokio tasks joined by `mpsc` — with two differences that matter: closing is the drop of
//! the last `Sender` (a returning stage closes its output without a word), and dropping the last
//! `Receiver` makes the upstream `send` fail, so a failed stage also stops its producers.
//!
//! The pipeline counts words over a generated text: `generate → parse → transform → aggregate`.
//! - [`corpus`]: the deterministic text and the pure work of each stage, plus [`corpus::sequential`],
//!   the one-loop reference every version must equal.
//! - [`plan`]: what to run ([`Plan`]: bound, slow sink, injected failure, depth sampling) and what
//!   came out ([`Run`]).
//! - [`threads::run`]: a thread per stage, crossbeam channels, a stop flag for the first error.
//! - [`tasks::run`]: a task per stage, tokio `mpsc`, a `CancellationToken` for the first error.
pub mod corpus;
#[cfg(not(loom))]
mod exercise;
pub mod plan;
#[cfg(not(loom))]
pub mod tasks;
pub mod threads;

pub use plan::{DepthSample, Plan, Run, Stage, StageError};

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase2/exercise3",
    title: "Pipelines",
    goal: "Build a staged pipeline whose memory is bounded by backpressure and whose first error \
        stops every stage by a deadline, as threads and as async tasks.",
    go_vs_rust: "Go chains goroutines with channels, closes each output with close() and cancels with a \
        done channel or context; in Rust a returning stage closes its output by dropping its Sender, a \
        dropped Receiver makes the upstream send fail, and the first error raises a stop flag (threads) \
        or cancels a CancellationToken raced in select! at every await (tokio).",
    sections: exercise::SECTIONS,
};
