//! `make run/phase4/exercise2` — see `phase4::lockfree`.
harness::exercise_main!(phase4::lockfree::EXERCISE);
