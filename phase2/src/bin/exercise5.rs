//! `make run/phase2/exercise5` — see `phase2::timers`.
harness::exercise_main!(phase2::timers::EXERCISE);
