//! `make run/phase3/exercise4` — see `phase3::reliable`.
harness::exercise_main!(phase3::reliable::EXERCISE);
