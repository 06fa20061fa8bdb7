//! # Concurrency in distributed systems (phase4/exercise3)
//!
//! A Go service consuming Kafka or Redis Streams runs a goroutine per partition, commits offsets,
//! and relies on the broker's consumer group to spread partitions over instances. In Rust the same
//! shape is a poll loop that owns partitions, a few worker threads, a per-partition window of
//! in-flight offsets, and a commit of the *contiguous finished prefix* — written out here over two
//! backends behind one [`Broker`] trait: an embedded partitioned log in segment files (the default)
//! and Redis Streams over a from-scratch RESP2 client.
//!
//! - [`Broker`], [`open_broker`]: the trait and the URL that picks a backend
//!   (`embedded`, `file:///DIR`, `redis://HOST:PORT`).
//! - [`EmbeddedBroker`]: segment files, consumer groups, pending lists, a dead-letter stream.
//! - [`RedisBroker`]: XADD / XREADGROUP / XACK / XAUTOCLAIM / XPENDING, a dead-letter stream.
//! - [`OffsetTracker`]: what may be committed when work finishes out of order.
//! - [`GroupCoordinator`]: membership, range assignment, hand-over on rebalance.
//! - [`run_member`]: one group member with bounded in-flight per partition, retries with backoff, DLQ.
//! - [`FileSink`], [`MemorySink`]: idempotent sinks (at-least-once delivery, each id applied once).
//! - [`scenarios`]: the experiments, shared by the sections and the tests of both backends.
#[cfg(not(loom))]
mod audit;
#[cfg(not(loom))]
mod broker;
#[cfg(not(loom))]
pub mod cli;
#[cfg(not(loom))]
mod embedded;
#[cfg(not(loom))]
mod engine;
#[cfg(not(loom))]
mod exercise;
#[cfg(not(loom))]
mod group;
#[cfg(not(loom))]
mod redis;
#[cfg(not(loom))]
pub mod resp;
#[cfg(not(loom))]
pub mod scenarios;
#[cfg(not(loom))]
mod sink;
#[cfg(not(loom))]
mod tracker;

#[cfg(not(loom))]
pub use audit::{Audit, AuditVerdict, AuditedBroker};
#[cfg(not(loom))]
pub use broker::{
    Broker, BrokerError, BrokerObserver, BrokerResult, DeadLetter, Observed, Offset, Record,
    open_broker, replay_dead_letters,
};
#[cfg(not(loom))]
pub use embedded::{EmbeddedBroker, SEGMENT_BYTES};
#[cfg(not(loom))]
pub use engine::{ConsumerConfig, Delivery, Handler, MemberReport, Probe, run_member};
#[cfg(not(loom))]
pub use group::{Generation, GroupCoordinator, range_assignment};
#[cfg(not(loom))]
pub use redis::RedisBroker;
#[cfg(not(loom))]
pub use sink::{FileSink, MemorySink, read_ids};
#[cfg(not(loom))]
pub use tracker::OffsetTracker;

#[cfg(not(loom))]
/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase4/exercise3",
    title: "Concurrency in distributed systems",
    goal: "Consume a partitioned log as a group: rebalance, bound in-flight work, survive a crash \
        without losing or double-applying anything, and park poison messages. Backend: --broker \
        embedded (default) | redis://HOST:PORT | file:///DIR; `exercise3 replay-dlq --broker URL \
        --topic T [--list]` replays a topic's dead letters.",
    go_vs_rust: "Go consumers run a goroutine per partition and let sarama/franz-go or go-redis hide \
        offsets and claims; here the poll loop, the per-partition window of in-flight offsets, the \
        commit of the contiguous finished prefix, XAUTOCLAIM and the dead-letter stream are all in \
        view, with worker threads instead of goroutines and a channel back to the poll loop.",
    sections: exercise::SECTIONS,
};
