//! `make run/phase5/exercise1` — see `phase5::workpool_tour`.
harness::exercise_main!(phase5::workpool_tour::EXERCISE);
