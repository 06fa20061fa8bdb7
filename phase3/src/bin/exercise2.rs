//! `make run/phase3/exercise2` — see `phase3::cpu`.
harness::exercise_main!(phase3::cpu::EXERCISE);
