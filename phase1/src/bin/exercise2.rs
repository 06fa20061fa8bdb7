//! `make run/phase1/exercise2` — see `phase1::channels`.
harness::exercise_main!(phase1::channels::EXERCISE);
