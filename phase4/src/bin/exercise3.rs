//! `make run/phase4/exercise3` — see `phase4::consumers`.
//!
//! The binary reads its own arguments first: `--broker URL`, `replay-dlq …` and the hidden
//! `consume-child …` (see `phase4::consumers::cli`), then hands the rest to the harness.
harness::exercise_main!(
    phase4::consumers::EXERCISE,
    before = phase4::consumers::cli::before
);
