//! `make run/phase5/exercise4` — see `phase5::pipeline_tour`.
harness::exercise_main!(phase5::pipeline_tour::EXERCISE);
