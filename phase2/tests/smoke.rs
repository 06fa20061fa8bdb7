//! The smoke test of every phase 1 exercise binary: `--quick --json` exits 0 with every section of the
//! catalog run and every self-check ✓; `--help` lists the sections; bad input exits non-zero with a clear
//! error and no panic. See `harness::smoke`.
#![cfg(not(loom))]
use std::path::Path;
use std::time::Duration;

/// A hung binary is killed after this long (a hang deadline, not a performance budget: `--quick`
/// takes about 3 s, but tests share 2 cores with other test binaries).
const HANG_DEADLINE: Duration = Duration::from_secs(90);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
}

/// One binary at a time: the exercises measure timing, and two of them sharing 2 cores would skew it.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn smoke(exercise: &str, bin: &str) {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    harness::smoke::check_exercise(root(), "phase2", exercise, Path::new(bin), HANG_DEADLINE);
}

#[test]
fn exercise1() {
    smoke("exercise1", env!("CARGO_BIN_EXE_exercise1"));
}

#[test]
fn exercise2() {
    smoke("exercise2", env!("CARGO_BIN_EXE_exercise2"));
}

#[test]
fn exercise3() {
    smoke("exercise3", env!("CARGO_BIN_EXE_exercise3"));
}

#[test]
fn exercise4() {
    smoke("exercise4", env!("CARGO_BIN_EXE_exercise4"));
}

#[test]
fn exercise5() {
    smoke("exercise5", env!("CARGO_BIN_EXE_exercise5"));
}

#[test]
fn every_binary_is_smoke_tested() {
    let mut bins: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin"))
            .unwrap()
            .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(str::to_string))
            .collect();
    bins.sort();
    assert_eq!(
        bins,
        [
            "exercise1",
            "exercise2",
            "exercise3",
            "exercise4",
            "exercise5"
        ],
        "add a smoke test for every new binary"
    );
}
