//! `make run/phase1/exercise3` — see `phase1::sync`.
harness::exercise_main!(phase1::sync::EXERCISE);
