//! `make run/phase2/exercise2` — see `phase2::fanout`.
harness::exercise_main!(phase2::fanout::EXERCISE);
