//! `make run/phase5/exercise3` — see `phase5::ratelimit_tour`.
//!
//! The binary reads its own `--redis URL` first (see `phase5::ratelimit_tour::before`), then hands
//! the rest to the harness.
harness::exercise_main!(
    phase5::ratelimit_tour::EXERCISE,
    before = phase5::ratelimit_tour::before
);
