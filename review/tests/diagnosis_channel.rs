//! The reviewer is right: each deliberately flawed channel (`review::kinds::channel::flawed`) is
//! reviewed and must be diagnosed with exactly its catalogued flaw, no other; our channel, std's,
//! crossbeam's, the attempt template and the switch-free flawed channel must review clean.
mod common;

use review::kinds::channel::{CATALOGUE, flawed};

#[test]
fn every_catalogued_flaw_has_a_flawed_channel() {
    common::every_flaw_has_a_switch("channel", CATALOGUE, &flawed::SWITCHES);
}

#[test]
fn each_flawed_channel_is_diagnosed_with_exactly_its_flaw() {
    common::each_flawed_is_diagnosed_with_exactly_its_flaw("channel", &flawed::SWITCHES);
}

#[test]
fn our_channel_std_crossbeam_and_the_flawless_ones_review_clean() {
    common::review_clean(
        &[
            "channel:ours",
            "channel:std",
            "channel:crossbeam",
            "channel:naive",
            "channel:flawed:none",
        ],
        // The targeted scenarios, the stress test and the conformance suite ran.
        |passed| passed.len() >= 20,
    );
}

#[test]
fn the_bench_reports_ratios_against_ours_and_crossbeam() {
    common::bench_reports_ratios("channel:naive", &["ours", "crossbeam", "ours", "crossbeam"]);
}

#[test]
fn an_unknown_subject_lists_the_valid_ones_and_exits_2() {
    common::unknown_subject_lists(&["channel:naive", "channel:flawed:lost-wakeup"]);
}
