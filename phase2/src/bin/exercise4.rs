//! `make run/phase2/exercise4` — see `phase2::context`.
harness::exercise_main!(phase2::context::EXERCISE);
