//! The experiments `exercise2` runs, one file per section.
mod closing;
mod deadlocks;
mod leaks;
mod select;
mod semantics;
mod trace;
mod wait_for;

use harness::Section;

/// The sections, in run order.
pub(crate) static SECTIONS: &[Section] = &[
    Section {
        name: "semantics",
        summary: "rendezvous vs bounded vs unbounded: a timestamped trace of who blocks when",
        run: semantics::run,
    },
    Section {
        name: "closing",
        summary: "close = drop of the last Sender: drain then disconnect, dropped receivers, one closer, broadcast",
        run: closing::run,
    },
    Section {
        name: "select",
        summary: "crossbeam select! and tokio::select!: disabling a closed case, merging, biased vs random fairness",
        run: select::run,
    },
    Section {
        name: "leaks",
        summary: "threads blocked forever by a stray Sender or a full channel, counted live, then fixed",
        run: leaks::run,
    },
    Section {
        name: "deadlocks",
        summary: "the classic channel deadlocks caught by a watchdog, their wait-for cycles, and the fixes",
        run: deadlocks::run,
    },
];
