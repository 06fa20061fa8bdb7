//! `make run/phase3/exercise3` — see `phase3::ratelimit`.
harness::exercise_main!(phase3::ratelimit::EXERCISE);
