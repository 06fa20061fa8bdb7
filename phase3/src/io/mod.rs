//! # IO-bound systems (phase3/exercise1)
//!
//! Go serves IO with a goroutine per connection and lets the netpoller park it on every read; Rust
//! does the same with a tokio task per connection parked on the reactor, or with a plain thread per
//! file where the kernel does the waiting. Either way the questions are the same: is every item
//! delivered exactly once, can a stream larger than memory be processed in bounded memory, and how
//! do throughput, latency and the number of requests in flight trade against each other.
//!
//! - [`delivery`]: item ids, an order-independent checksum and the multiset check that proves
//!   "exactly once" (missing, duplicated, unexpected).
//! - [`broker`]: N producers and M consumers over loopback TCP through a tokio broker.
//! - [`spool`]: N producers and M consumers through a spool directory, claimed by atomic rename.
//! - [`log`] and [`window`]: a deterministic log, written to a file and streamed back through a
//!   tumbling-window aggregator with a watermark; [`window::reference`] is the in-memory oracle.
//! - [`service`] and [`little`]: a loopback TCP service with a simulated service time, a
//!   closed-loop load generator with an HDR histogram, and Little's law applied to what it measured.
//!
//! Every file they write lives in a [`harness::tempdir::TempDir`], which removes itself.
#[cfg(not(loom))]
pub mod broker;
pub mod delivery;
#[cfg(not(loom))]
mod exercise;
pub mod little;
pub mod log;
#[cfg(not(loom))]
pub mod service;
pub mod spool;
pub mod window;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase3/exercise1",
    title: "IO-bound systems",
    goal: "Move items between producers and consumers over real sockets and files exactly once, \
        stream a log larger than its working memory through windowed aggregation, and measure how \
        throughput, latency and work in flight trade against batch size and concurrency.",
    go_vs_rust: "Go parks a goroutine per connection on the netpoller and closes a channel when the \
        last producer is done; in Rust a tokio task per connection parks on the reactor, the channel \
        closes when the last Sender drops, a half-closed socket is the EOF a reader waits for, and \
        bounded memory is a BufReader plus state you choose to keep, not a property of the runtime.",
    sections: exercise::SECTIONS,
};
