//! The reviewer is right: each deliberately flawed queue (`review::kinds::queue::flawed`) is
//! reviewed and must be diagnosed with exactly its catalogued flaw, no other; our Vyukov queue,
//! crossbeam's `ArrayQueue`, the attempt template and the switch-free flawed queue must review clean.
mod common;

use review::kinds::queue::{CATALOGUE, flawed};

#[test]
fn every_catalogued_flaw_has_a_flawed_queue() {
    common::every_flaw_has_a_switch("queue", CATALOGUE, &flawed::SWITCHES);
}

#[test]
fn each_flawed_queue_is_diagnosed_with_exactly_its_flaw() {
    common::each_flawed_is_diagnosed_with_exactly_its_flaw("queue", &flawed::SWITCHES);
}

#[test]
fn our_queue_crossbeam_and_the_flawless_ones_review_clean() {
    common::review_clean(
        &[
            "queue:ours",
            "queue:crossbeam",
            "queue:naive",
            "queue:flawed:none",
        ],
        // The 7 targeted scenarios, the stress test and the 6 conformance cases passed (none skipped).
        |passed| passed.len() == 14,
    );
}

#[test]
fn the_bench_reports_ratios_against_ours_and_crossbeam() {
    common::bench_reports_ratios(
        "queue:naive",
        &[
            "ours-vyukov",
            "crossbeam-arrayqueue",
            "ours-vyukov",
            "crossbeam-arrayqueue",
        ],
    );
}

#[test]
fn an_unknown_subject_lists_the_valid_ones_and_exits_2() {
    common::unknown_subject_lists(&["queue:naive", "queue:flawed:spurious-empty"]);
}
