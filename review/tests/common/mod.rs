//! What every kind's diagnosis test does, once: run the real binary (`review-subjects`, which runs
//! every scenario in a child process under the watchdog, exactly as `make review` does for a reader's
//! attempt) and hold its review to the catalogue.
use std::process::Command;
use std::time::Duration;

use review::Flaw;
use review::report::Review;

/// Reviews `subject` with the extra arguments; the review and the exit code.
pub fn review(subject: &str, extra: &[&str]) -> (Review, i32) {
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

/// The catalogue has at least five flaws, and each has a flawed implementation (a switch).
pub fn every_flaw_has_a_switch(kind: &str, catalogue: &[Flaw], switches: &[(u8, Option<&str>)]) {
    for flaw in catalogue {
        assert!(
            switches.iter().any(|(_, id)| *id == Some(flaw.id)),
            "no flawed {kind} for {}",
            flaw.id
        );
    }
    assert!(catalogue.len() >= 5, "{kind}: {} flaws", catalogue.len());
}

/// Each flawed implementation is diagnosed with exactly its flaw, nothing unclassified, exit 1.
/// Through the targeted scenarios and the stress test: the conformance suite adds nothing to a
/// diagnosis (its failures are listed as "also failed", never as a flaw) and the bench measures.
pub fn each_flawed_is_diagnosed_with_exactly_its_flaw(kind: &str, switches: &[(u8, Option<&str>)]) {
    for (_, id) in switches {
        let Some(id) = id else { continue };
        let subject = format!("{kind}:flawed:{id}");
        let (r, code) = review(&subject, &["--skip", "conformance,bench"]);
        assert_eq!(r.flaw_ids(), [*id], "{subject}: {}", r.to_text());
        assert!(r.unclassified.is_empty(), "{subject}: {}", r.to_text());
        assert_eq!(code, 1, "{subject}: a review with a flaw exits 1");
        let flaw = &r.flaws[0];
        assert!(
            !flaw.shown_by.evidence.is_empty() && !flaw.lesson.is_empty() && !flaw.hint.is_empty()
        );
    }
}

/// Each subject reviews clean (everything but the bench, which has its own test) and exits 0;
/// `ran(passed)` says whether the checks that must have run did.
pub fn review_clean(subjects: &[&str], ran: impl Fn(&[String]) -> bool) {
    for subject in subjects {
        let (r, code) = review(subject, &["--skip", "bench"]);
        assert!(r.is_clean(), "{subject}: {}", r.to_text());
        assert_eq!(code, 0, "{subject}");
        assert!(
            ran(&r.passed),
            "{subject}: not every check ran: {:?}",
            r.passed
        );
    }
}

/// The bench alone on `subject`: finite positive ratios against `versus`, in that order; loom named
/// as not run.
pub fn bench_reports_ratios(subject: &str, versus: &[&str]) {
    let (r, code) = review(subject, &["--skip", "targeted,stress,conformance"]);
    assert_eq!(code, 0, "{}", r.to_text());
    let got: Vec<&str> = r.ratios.iter().map(|x| x.versus.as_str()).collect();
    assert_eq!(got, versus);
    assert!(
        r.ratios
            .iter()
            .all(|x| x.ratio.is_finite() && x.ratio > 0.0)
    );
    assert!(r.not_run.iter().any(|n| n.contains("loom")));
}

/// An unknown subject exits 2 and lists valid ones, among them `expected`.
pub fn unknown_subject_lists(expected: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_review-subjects"))
        .arg("nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(expected.iter().all(|e| err.contains(e)), "{err}");
}
