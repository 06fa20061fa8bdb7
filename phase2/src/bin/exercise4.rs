//! `make run/phase2/exercise4` — see `phase2::context`.
//!
//! `exercise4 serve [DRAIN_MS]` runs the `shutdown` section's TCP service alone (until SIGTERM or
//! SIGINT), for the shutdown test; every other command line goes to the exercise framework.
harness::exercise_main!(
    phase2::context::EXERCISE,
    before = phase2::context::server::before
);
