//! The smoke test of every phase 5 exercise binary: `--quick --json` exits 0 within its budget with every
//! section of the catalog run and every self-check ✓ (a skipped check is printed with its reason, in
//! the log even when the test passes); `--help` lists the sections; bad input exits non-zero with a
//! clear error and no panic. See `harness::smoke`.
#![cfg(not(loom))]

harness::smoke_tests!("phase5", exercise1, exercise2, exercise3, exercise4);
