//! The reviewer is right: each deliberately flawed lock (`review::kinds::lock::flawed`) is reviewed
//! and must be diagnosed with exactly its catalogued flaw, no other; our two locks, std's,
//! parking_lot's, the attempt template and the switch-free flawed lock must review clean.
mod common;

use review::kinds::lock::{CATALOGUE, flawed};

#[test]
fn every_catalogued_flaw_has_a_flawed_lock() {
    common::every_flaw_has_a_switch("lock", CATALOGUE, &flawed::SWITCHES);
}

#[test]
fn each_flawed_lock_is_diagnosed_with_exactly_its_flaw() {
    common::each_flawed_is_diagnosed_with_exactly_its_flaw("lock", &flawed::SWITCHES);
}

#[test]
fn our_locks_std_parking_lot_and_the_flawless_ones_review_clean() {
    common::review_clean(
        &[
            "lock:ours",
            "lock:ours-spin",
            "lock:std",
            "lock:parking_lot",
            "lock:naive",
            "lock:flawed:none",
        ],
        // The 5 targeted scenarios, the stress test and the 4 conformance cases passed (none skipped).
        |passed| passed.len() == 10,
    );
}

#[test]
fn the_bench_reports_ratios_against_ours_and_parking_lot() {
    common::bench_reports_ratios(
        "lock:naive",
        &["ours-futex", "parking_lot", "ours-futex", "parking_lot"],
    );
}

#[test]
fn an_unknown_subject_lists_the_valid_ones_and_exits_2() {
    common::unknown_subject_lists(&["lock:naive", "lock:flawed:two-holders"]);
}
