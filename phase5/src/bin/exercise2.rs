//! `make run/phase5/exercise2` — see `phase5::mapreduce_tour`.
harness::exercise_main!(phase5::mapreduce_tour::EXERCISE);
