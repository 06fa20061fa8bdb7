//! The sections of phase2/exercise4.
mod cleanup;
mod context;
mod shutdown;
mod timeouts;

use harness::Section;

pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "context",
        summary: "the cancel tree: parent reaches descendants, child never reaches parent; vs CancellationToken",
        run: context::run,
    },
    Section {
        name: "timeouts",
        summary: "deadlines through nested calls: earliest wins; measured overshoot (blocking and async)",
        run: timeouts::run,
    },
    Section {
        name: "shutdown",
        summary: "a loopback TCP service: stop accepting, drain by a deadline, cancel the rest; none lost",
        run: shutdown::run,
    },
    Section {
        name: "cleanup",
        summary: "detached tasks leak; JoinSet and TaskTracker + cancel leave zero live tasks",
        run: cleanup::run,
    },
];
