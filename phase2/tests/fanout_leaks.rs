//! Early return on the first error: the naive fan-out's leak is detected and then cleaned; the fixed one
//! leaks nothing.
#![cfg(not(loom))]
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase2::fanout::early_return::{Leaky, first_error_fixed};

/// The leak checks filter threads by name prefix; tests spawning the same prefix run one at a time so
/// one test's workers are never counted by another's check.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

const DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn fixed_version_leaks_no_worker() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    within(DEADLINE, || {
        let check = ThreadLeakCheck::named("fan-fixed");
        let inputs: Vec<u64> = (0..6).collect();
        let out = first_error_fixed(&inputs, &[2], Duration::from_millis(50));
        assert_eq!(out.result, Err(2));
        check.assert_no_leak(Duration::from_millis(200));
    });
}

#[test]
fn fixed_version_without_error_sums_everything() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    within(DEADLINE, || {
        let check = ThreadLeakCheck::named("fan-fixed");
        let inputs: Vec<u64> = (1..=5).collect();
        let out = first_error_fixed(&inputs, &[], Duration::from_millis(2));
        assert_eq!(out.result, Ok(2 * 15));
        assert_eq!((out.cancelled, out.refused), (0, 0));
        check.assert_no_leak(Duration::from_millis(200));
    });
}

#[test]
fn naive_version_leak_is_detected_then_cleaned() {
    let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    within(DEADLINE, || {
        let check = ThreadLeakCheck::named("fan-naive");
        let inputs: Vec<u64> = (0..5).collect();
        let mut naive = Leaky::new();
        assert_eq!(
            naive.first_error(&inputs, &[0], Duration::from_millis(5)),
            Err(0)
        );
        // The four other workers finish their 5 ms and then block on a send nobody reads: they stay.
        std::thread::sleep(Duration::from_millis(300));
        let leaked = check.leaked_after(Duration::from_millis(100)).len();
        assert_eq!(leaked, 4, "the blocked workers are counted");
        assert_eq!(
            naive.release(),
            4,
            "their sends fail once the receiver is dropped"
        );
        check.assert_no_leak(Duration::from_secs(2));
    });
}
