//! # The tour of `mapreduce` (phase5/exercise2)
//!
//! Go's map-reduce lessons fan records out to goroutines over channels and gather a map in memory.
//! The `mapreduce` crate makes the job a typed trait and adds what the MapReduce paper found a real
//! job needs — a combiner, partitioners, spilling under a memory budget, re-execution, bad-record
//! skipping, backup tasks — and this tour checks every job against a sequential reference written
//! apart from the engine, with the one-thread baseline beside the parallel time (the COST rule).
mod corpus;
mod faults;
mod jobs;
mod skew;
mod spill;

use harness::Section;

/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase5/exercise2",
    title: "Capstone: a parallel map-reduce engine (mapreduce)",
    goal: "Word count, an inverted index, grep and a sort on generated files, each equal to a \
           sequential reference; the same output under a memory budget of a tenth of the data, \
           through panicking tasks, bad records and a straggler.",
    go_vs_rust: "Go's version passes strings through channels to goroutines and keeps the result \
        in one map; here a job is a trait with typed keys, the engine's workers are scoped threads \
        claiming tasks, each task attempt runs under catch_unwind and commits its files by a rename, \
        so a retried or duplicated task never changes the output.",
    sections: SECTIONS,
};

static SECTIONS: &[Section] = &[
    Section {
        name: "jobs",
        summary: "word count, inverted index, grep, sort of 100-byte records: equal to a sequential reference; one thread vs all, speed-up and COST",
        run: jobs::run,
    },
    Section {
        name: "spill",
        summary: "a memory budget of a tenth of the data: sorted runs spilled and merged k-way, output byte-identical to the in-memory run",
        run: spill::run,
    },
    Section {
        name: "faults",
        summary: "panicking tasks retried to the exact output; a task failing for good named with its split and cause; bad records skipped and counted; a straggler beaten by its backup",
        run: faults::run,
    },
    Section {
        name: "skew",
        summary: "a Zipf s=1.2 corpus: the hot keys found by the map tasks' merged Space-Saving sketches, the per-reducer input they skew, and the same corpus with its heavy keys split (output identical, the largest task's share down)",
        run: skew::run,
    },
];
