//! The experiments `exercise2` runs, one file per section.
mod bench;
mod contention;
mod false_sharing;
mod lock_free;

use harness::Section;

/// The sections, in run order (as in `catalog.tsv`).
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "lock-free",
        summary: "from scratch: Vyukov MPMC queue, SPSC ring, Treiber stack (epoch) vs crossbeam: exact multisets, drops, ratios",
        run: lock_free::run,
    },
    Section {
        name: "false-sharing",
        summary: "per-thread counters packed in one cache line vs CachePadded: the same work, measured side by side",
        run: false_sharing::run,
    },
    Section {
        name: "bench",
        summary: "how a harness measures: a loop deleted without black_box, the cold first pass, the spread of samples",
        run: bench::run,
    },
    Section {
        name: "contention",
        summary: "an instrumented lock (wait and hold histograms) finds the hot lock of a workload",
        run: contention::run,
    },
];
