//! The reviewer is right: each deliberately flawed pool (`review::kinds::pool::flawed`) is reviewed
//! and must be diagnosed with exactly its catalogued flaw, no other; our `workpool`, `threadpool`,
//! the attempt template and the switch-free flawed pool must review clean.
mod common;

use review::kinds::pool::{CATALOGUE, flawed};

#[test]
fn every_catalogued_flaw_has_a_flawed_pool() {
    common::every_flaw_has_a_switch("pool", CATALOGUE, &flawed::SWITCHES);
}

#[test]
fn each_flawed_pool_is_diagnosed_with_exactly_its_flaw() {
    common::each_flawed_is_diagnosed_with_exactly_its_flaw("pool", &flawed::SWITCHES);
}

#[test]
fn workpool_the_template_and_the_flawless_pool_review_clean() {
    common::review_clean(
        &["pool:ours", "pool:naive", "pool:flawed:none"],
        // The 7 targeted scenarios, the stress test and the 8 conformance cases passed (none
        // skipped: each of these pools has shutdown and a bounded queue).
        |passed| passed.len() == 16,
    );
}

#[test]
fn threadpool_reviews_clean_with_the_shutdown_scenarios_skipped() {
    // threadpool has no shutdown and no bounded queue: the four scenarios that need them skip.
    common::review_clean(&["pool:threadpool"], |passed| {
        [
            "panic-keeps-workers",
            "idle-pool-stops",
            "results-reach-their-handles",
            "stress-ledger",
        ]
        .iter()
        .all(|s| passed.iter().any(|p| p == s))
    });
}

#[test]
fn the_bench_reports_ratios_against_workpool_and_threadpool() {
    common::bench_reports_ratios(
        "pool:naive",
        &["workpool", "threadpool", "workpool", "threadpool"],
    );
}

#[test]
fn an_unknown_subject_lists_the_valid_ones_and_exits_2() {
    common::unknown_subject_lists(&["pool:naive", "pool:flawed:shutdown-hangs"]);
}
