//! # The tour of `ratelimit` (phase5/exercise3)
//!
//! Go programs reach for `golang.org/x/time/rate`: a token bucket behind a mutex, with reservations.
//! The `ratelimit` crate puts every classic algorithm behind one trait, each reading an injectable
//! clock, so this tour can check exact admissions on virtual time instead of sleeping, and judge an
//! algorithm by replaying traces against the ideal limiter.
mod api;
mod keyed;
mod multi;
mod verify;

use harness::Section;

/// The exercise.
pub static EXERCISE: harness::Exercise = harness::Exercise {
    id: "phase5/exercise3",
    title: "Capstone: a rate limiter library (ratelimit)",
    goal: "Every rate limiter behind one trait, judged on virtual time against the ideal limiter: what \
           each admits, where it breaks the quota, what it rejects that it should not.",
    go_vs_rust: "Go's x/time/rate is one token bucket behind a mutex, read through time.Now(); here the \
        algorithms share a trait and take their clock as a parameter, so a replay on a virtual clock \
        decides exactly what a production run would have.",
    sections: SECTIONS,
};

static SECTIONS: &[Section] = &[
    Section {
        name: "api",
        summary: "check, reservations (cancel, settle), wait under a timeout, quota changes, snapshots — on a manual clock",
        run: api::run,
    },
    Section {
        name: "keyed",
        summary: "a million keys: memory per key, idle keys forgotten, the hard cap (deny new keys vs evict least debt)",
        run: keyed::run,
    },
    Section {
        name: "multi-quota",
        summary: "user ∧ org ∧ global quotas all-or-nothing: a denial consumes none; threads stay within every bound",
        run: multi::run,
    },
    Section {
        name: "verify",
        summary: "request traces replayed on a virtual clock: worst window, largest burst, false rejects",
        run: verify::run,
    },
];
