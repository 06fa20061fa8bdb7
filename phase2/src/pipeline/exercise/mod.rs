//! The experiments `exercise3` runs, one file per section.
mod backpressure;
mod cancel;
mod stages;

use harness::Section;

/// The sections, in run order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "stages",
        summary: "generate → parse → transform → aggregate over a text: threads and tasks equal the sequential count",
        run: stages::run,
    },
    Section {
        name: "backpressure",
        summary: "a slow sink: bounded channels hold depth ≤ bound at every sample, unbounded ones grow",
        run: backpressure::run,
    },
    Section {
        name: "cancel",
        summary: "the first error in any stage stops every stage by a deadline; nothing delivered twice, nothing left running",
        run: cancel::run,
    },
];
