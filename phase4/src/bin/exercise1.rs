//! `make run/phase4/exercise1` — see `phase4::runtime`.
harness::exercise_main!(phase4::runtime::EXERCISE);
