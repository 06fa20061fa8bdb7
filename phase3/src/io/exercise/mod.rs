//! The experiments `exercise1` runs, one file per section.
mod producer_consumer;
mod stream;
mod throughput;

use harness::Section;

/// The sections, in run order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "producer-consumer",
        summary: "N producers, M consumers over loopback TCP and a spool directory: every item delivered exactly once",
        run: producer_consumer::run,
    },
    Section {
        name: "stream",
        summary: "a generated log streamed from a file through tumbling windows in bounded memory equals the in-memory result",
        run: stream::run,
    },
    Section {
        name: "throughput-vs-latency",
        summary: "concurrency and batch-size sweeps against a TCP service: throughput, p50/p99, Little's law checked",
        run: throughput::run,
    },
];
