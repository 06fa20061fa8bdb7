//! `make run/phase1/exercise1` — see `phase1::scheduler`.
harness::exercise_main!(phase1::scheduler::EXERCISE);
