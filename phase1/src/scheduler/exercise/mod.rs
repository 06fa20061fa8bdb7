//! The experiments `exercise1` runs, one file per section.
mod blocking;
mod cpu_io;
mod model;
mod park;

use harness::Section;

/// The sections, in run order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "model",
        summary: "OS threads (1:1) vs tokio tasks (M:N): G-P-M on tokio, spawn cost, memory",
        run: model::run,
    },
    Section {
        name: "park",
        summary: "park/unpark token semantics; the cost of one wake-up, mechanism by mechanism, vs spinning",
        run: park::run,
    },
    Section {
        name: "blocking",
        summary: "a blocking call in async code stalls a heartbeat on a 2-worker runtime",
        run: blocking::run,
    },
    Section {
        name: "cpu-vs-io",
        summary: "CPU-bound vs IO-bound throughput against 1..4x cores threads; pool sizing",
        run: cpu_io::run,
    },
];
