//! `make run/phase5/exercise3` — see `phase5::ratelimit_tour`.
harness::exercise_main!(phase5::ratelimit_tour::EXERCISE);
