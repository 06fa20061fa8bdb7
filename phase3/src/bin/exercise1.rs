//! `make run/phase3/exercise1` — see `phase3::io`.
harness::exercise_main!(phase3::io::EXERCISE);
