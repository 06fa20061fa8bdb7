//! `make run/phase4/exercise3` — see `phase4::consumers`.
//!
//! Unlike the other exercise binaries this one reads its own arguments first: `--broker URL`,
//! `replay-dlq …` and the hidden `consume-child …` (see `phase4::consumers::cli`), then hands the
//! rest to the harness.
#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    phase4::consumers::cli::main()
}

#[cfg(loom)]
fn main() {}
