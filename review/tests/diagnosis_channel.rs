//! The reviewer is right: each deliberately flawed channel (`review::kinds::channel::flawed`) is
//! reviewed and must be diagnosed with exactly its catalogued flaw, no other; our channel, std's,
//! crossbeam's, the attempt template and the switch-free flawed channel must review clean.
//!
//! Each review runs the real binary (`review-subjects`), which runs every scenario in a child
//! process under the watchdog, exactly as `make review` does for a reader's attempt.
use std::process::Command;
use std::time::Duration;

use review::kinds::channel::{CATALOGUE, flawed};
use review::report::Review;

/// Reviews `subject` with the extra arguments; the review and the exit code.
fn review(subject: &str, extra: &[&str]) -> (Review, i32) {
    let out = harness::watchdog::run("review", Duration::from_secs(300), {
        let (subject, extra) = (
            subject.to_string(),
            extra.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        move || {
            Command::new(env!("CARGO_BIN_EXE_review-subjects"))
                .arg(&subject)
                .arg("--json")
                .args(&extra)
                .output()
                .expect("run review-subjects")
        }
    })
    .unwrap();
    let review: Review = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{subject}: not a review ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (review, out.status.code().unwrap_or(-1))
}

#[test]
fn every_catalogued_flaw_has_a_flawed_channel() {
    for flaw in CATALOGUE {
        assert!(
            flawed::SWITCHES.iter().any(|(_, id)| *id == Some(flaw.id)),
            "no flawed channel for {}",
            flaw.id
        );
    }
    assert!(CATALOGUE.len() >= 5);
}

/// The targeted scenarios and the stress test (the conformance suite adds nothing to a diagnosis:
/// its failures are listed as "also failed", never as a flaw; the bench measures).
#[test]
fn each_flawed_channel_is_diagnosed_with_exactly_its_flaw() {
    for (_, id) in flawed::SWITCHES {
        let Some(id) = id else { continue };
        let subject = format!("channel:flawed:{id}");
        let (r, code) = review(&subject, &["--skip", "conformance,bench"]);
        assert_eq!(r.flaw_ids(), [id], "{subject}: {}", r.to_text());
        assert!(r.unclassified.is_empty(), "{subject}: {}", r.to_text());
        assert_eq!(code, 1, "{subject}: a review with a flaw exits 1");
        let flaw = &r.flaws[0];
        assert!(
            !flaw.shown_by.evidence.is_empty() && !flaw.lesson.is_empty() && !flaw.hint.is_empty()
        );
    }
}

/// Everything but the bench (it measures; it has its own test below).
#[test]
fn our_channel_std_crossbeam_and_the_flawless_ones_review_clean() {
    for subject in [
        "channel:ours",
        "channel:std",
        "channel:crossbeam",
        "channel:naive",
        "channel:flawed:none",
    ] {
        let (r, code) = review(subject, &["--skip", "bench"]);
        assert!(r.is_clean(), "{subject}: {}", r.to_text());
        assert_eq!(code, 0, "{subject}");
        assert!(
            r.passed.len() >= 20,
            "{subject}: the targeted scenarios, the stress test and the conformance suite ran: {:?}",
            r.passed
        );
    }
}

#[test]
fn the_bench_reports_ratios_against_ours_and_crossbeam() {
    let (r, code) = review("channel:naive", &["--skip", "targeted,stress,conformance"]);
    assert_eq!(code, 0, "{}", r.to_text());
    let versus: Vec<&str> = r.ratios.iter().map(|x| x.versus.as_str()).collect();
    assert_eq!(versus, ["ours", "crossbeam", "ours", "crossbeam"]);
    assert!(
        r.ratios
            .iter()
            .all(|x| x.ratio.is_finite() && x.ratio > 0.0)
    );
    assert!(r.not_run.iter().any(|n| n.contains("loom")));
}

#[test]
fn an_unknown_subject_lists_the_valid_ones_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_review-subjects"))
        .arg("nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("channel:naive") && err.contains("channel:flawed:lost-wakeup"),
        "{err}"
    );
}
