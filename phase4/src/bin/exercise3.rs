//! `make run/phase4/exercise3` — see `phase4::consumers`.
harness::exercise_main!(phase4::consumers::EXERCISE);
