//! The experiments `exercise2` runs, one file per section.
mod map_reduce;
mod partitioning;
mod sharding;
mod work_stealing;

use harness::Section;

/// Worker threads for the CPU-bound experiments: one per core, between 2 and 4.
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4)
}

/// The sections, in run order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "sharding",
        summary: "a sharded counter and a sharded map vs one atomic / one lock, 1, 2, 4 threads",
        run: sharding::run,
    },
    Section {
        name: "work-stealing",
        summary: "a Chase–Lev deque and a scheduler on it vs crossbeam-deque and rayon, unbalanced recursion",
        run: work_stealing::run,
    },
    Section {
        name: "partitioning",
        summary: "static vs dynamic vs guided chunks on skewed work: time and per-worker imbalance",
        run: partitioning::run,
    },
    Section {
        name: "map-reduce",
        summary: "parallel word count (map → combine → merge) on a Zipf corpus vs sequential and rayon",
        run: map_reduce::run,
    },
];
