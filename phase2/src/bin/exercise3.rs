//! `make run/phase2/exercise3` — see `phase2::pipeline`.
harness::exercise_main!(phase2::pipeline::EXERCISE);
