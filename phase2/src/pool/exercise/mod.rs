//! The experiments `exercise1` runs, one file per section.
mod cancel;
mod ordered;
mod results;
mod retry;

use harness::Section;

/// The sections, in run order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "results",
        summary: "bounded workers and queue: aggregated results, measured max in flight, a panicking job",
        run: results::run,
    },
    Section {
        name: "cancel",
        summary: "cancel mid-run: queued jobs reported cancelled and never run, running ones stop, no thread left",
        run: cancel::run,
    },
    Section {
        name: "retry",
        summary: "exponential backoff, capped, seeded jitter, on the virtual clock: the schedule, exactly",
        run: retry::run,
    },
    Section {
        name: "ordered",
        summary: "submission-order output through a bounded reorder window vs completion order: what order costs",
        run: ordered::run,
    },
];
