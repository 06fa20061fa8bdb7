//! `make run/phase2/exercise1` — see `phase2::pool`.
harness::exercise_main!(phase2::pool::EXERCISE);
