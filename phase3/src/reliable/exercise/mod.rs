//! The sections of phase3/exercise4.
mod happens_before;
mod leaks;
mod races;

use harness::Section;

pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "leaks",
        summary: "a subscriber thread / task that outlives its owner, caught by the leak guard; the fix, clean",
        run: leaks::run,
    },
    Section {
        name: "happens-before",
        summary: "message passing Relaxed vs Release/Acquire; store buffering on this CPU: r1 == r2 == 0 counted",
        run: happens_before::run,
    },
    Section {
        name: "races",
        summary: "the data race that does not compile; lost updates and check-then-act, which do",
        run: races::run,
    },
];
