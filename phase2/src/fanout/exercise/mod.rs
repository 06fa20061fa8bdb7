//! The experiments `exercise2` runs, one file per section.
mod distribution;
mod fairness;
mod leaks;

use harness::Section;

/// The sections, in run order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "distribution",
        summary: "heavy-tailed tasks over 4 workers: shared queue vs round-robin vs power of two choices",
        run: distribution::run,
    },
    Section {
        name: "fairness",
        summary: "a biased select starving a source vs a fair one; FIFO vs LIFO worst wait under overload",
        run: fairness::run,
    },
    Section {
        name: "leaks",
        summary: "early return on the first error: the naive fan-out leaks workers (counted), the fixed one none",
        run: leaks::run,
    },
];
