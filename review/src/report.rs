//! The review as data ([`Review`], what `--json` prints), as text ([`Review::to_text`]), and kept
//! across runs ([`keep`]): each review is written to `review-NNN.json` in the history directory, and
//! says which flaws were fixed since the previous one, which are new and which are still open.
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Flaw, Kind, Ratio};

/// A failed scenario, as observed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The scenario's name.
    pub scenario: String,
    /// What the scenario does.
    pub what: String,
    /// What it observed.
    pub evidence: String,
    /// True when the watchdog killed it.
    pub hung: bool,
}

/// A catalogued flaw the review found, with the smallest scenario that showed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundFlaw {
    /// The catalogue id.
    pub id: String,
    /// The flaw in one line.
    pub name: String,
    /// What it means.
    pub meaning: String,
    /// The scenario that showed it, and what it saw.
    pub shown_by: Failure,
    /// Where this repository explains it.
    pub lesson: String,
    /// A hint toward the fix.
    pub hint: String,
}

impl FoundFlaw {
    /// The flaw `flaw`, shown by `failure`.
    pub fn new(flaw: &Flaw, failure: Failure) -> FoundFlaw {
        FoundFlaw {
            id: flaw.id.into(),
            name: flaw.name.into(),
            meaning: flaw.meaning.into(),
            shown_by: failure,
            lesson: flaw.lesson.into(),
            hint: flaw.hint.into(),
        }
    }
}

/// A scenario with a note (skipped, and why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub scenario: String,
    /// Why it did not run.
    pub note: String,
}

/// What changed since the previous review kept in the same directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Since {
    /// The previous review's file.
    pub previous: String,
    /// Flaw ids found then and not now.
    pub fixed: Vec<String>,
    /// Flaw ids found now and not then.
    pub new: Vec<String>,
    /// Flaw ids found both times.
    pub still_open: Vec<String>,
}

/// One review of one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The kind (`channel`).
    pub kind: String,
    /// What was reviewed (the flavor's name).
    pub subject: String,
    /// Catalogued flaws found, in the order of the scenarios that showed them (smallest first).
    pub flaws: Vec<FoundFlaw>,
    /// Catch-all checks that failed with no catalogued flaw to explain them.
    pub unclassified: Vec<Failure>,
    /// Catch-all checks that failed in a review that already names a flaw (most likely the same).
    pub also_failed: Vec<Failure>,
    /// Scenarios that passed.
    pub passed: Vec<String>,
    /// Scenarios that did not run, and why.
    pub skipped: Vec<ScenarioResult>,
    /// The quick bench's ratios.
    pub ratios: Vec<Ratio>,
    /// Checks the review does not run for this kind yet, and why.
    pub not_run: Vec<String>,
    /// The comparison with the previous review, when one was kept.
    pub since: Option<Since>,
}

impl Review {
    /// An empty review of `subject`.
    pub fn new(kind: &Kind, subject: &str) -> Review {
        Review {
            kind: kind.name.into(),
            subject: subject.into(),
            flaws: Vec::new(),
            unclassified: Vec::new(),
            also_failed: Vec::new(),
            passed: Vec::new(),
            skipped: Vec::new(),
            ratios: Vec::new(),
            not_run: kind.not_run.iter().map(|s| s.to_string()).collect(),
            since: None,
        }
    }

    /// No flaw and no unclassified failure.
    pub fn is_clean(&self) -> bool {
        self.flaws.is_empty() && self.unclassified.is_empty() && self.also_failed.is_empty()
    }

    /// The catalogue ids of the flaws found.
    pub fn flaw_ids(&self) -> Vec<&str> {
        self.flaws.iter().map(|f| f.id.as_str()).collect()
    }

    /// The review as the terminal shows it.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "Review of {} ({})", self.subject, self.kind);
        let _ = writeln!(t, "{}", "=".repeat(60));
        if self.flaws.is_empty() && self.unclassified.is_empty() {
            let _ = writeln!(t, "No flaw found.");
        }
        for (i, f) in self.flaws.iter().enumerate() {
            let _ = writeln!(t, "\nFLAW {}: {}  [{}]", i + 1, f.name, f.id);
            let _ = writeln!(t, "  what it means: {}", f.meaning);
            let _ = writeln!(
                t,
                "  shown by:      {} — {}",
                f.shown_by.scenario, f.shown_by.what
            );
            let _ = writeln!(t, "  observed:      {}", f.shown_by.evidence);
            let _ = writeln!(t, "  lesson:        {}", f.lesson);
            let _ = writeln!(t, "  hint:          {}", f.hint);
        }
        for f in &self.unclassified {
            let _ = writeln!(
                t,
                "\nFAILED (no catalogued flaw explains it): {} — {}",
                f.scenario, f.what
            );
            let _ = writeln!(t, "  observed: {}", f.evidence);
        }
        if !self.also_failed.is_empty() {
            let _ = writeln!(
                t,
                "\nAlso failed (most likely the flaws above again; fix those first):"
            );
            for f in &self.also_failed {
                let _ = writeln!(t, "  - {}: {}", f.scenario, f.evidence);
            }
        }
        let _ = writeln!(
            t,
            "\nPassed ({}): {}",
            self.passed.len(),
            self.passed.join(", ")
        );
        for s in &self.skipped {
            let _ = writeln!(t, "Skipped: {} ({})", s.scenario, s.note);
        }
        if !self.ratios.is_empty() {
            let _ = writeln!(
                t,
                "\nPerformance (your time / theirs, best of 3, one process; 1.00 = as fast, lower is faster):"
            );
            for r in &self.ratios {
                let _ = writeln!(
                    t,
                    "  {:<44} vs {:<10} {:>6.2}x",
                    r.workload, r.versus, r.ratio
                );
            }
        }
        for n in &self.not_run {
            let _ = writeln!(t, "\n!! NOT RUN: {n}");
        }
        if let Some(s) = &self.since {
            let _ = writeln!(t, "\nSince the previous review ({}):", s.previous);
            let list = |v: &Vec<String>| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            let _ = writeln!(t, "  fixed:      {}", list(&s.fixed));
            let _ = writeln!(t, "  new:        {}", list(&s.new));
            let _ = writeln!(t, "  still open: {}", list(&s.still_open));
        }
        t
    }
}

/// Compares `review` with the latest `review-NNN.json` in `dir` (filling [`Review::since`]), then
/// writes it there as the next number.
pub fn keep(review: &mut Review, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut numbered: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix("review-")?.strip_suffix(".json")?;
            Some((n.parse().ok()?, e.path()))
        })
        .collect();
    numbered.sort();
    if let Some((_, path)) = numbered.last() {
        let previous: Option<Review> = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        if let Some(previous) = previous {
            let then = previous.flaw_ids();
            let now = review.flaw_ids();
            let own = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
            review.since = Some(Since {
                previous: path.display().to_string(),
                fixed: own(then
                    .iter()
                    .copied()
                    .filter(|id| !now.contains(id))
                    .collect()),
                new: own(now
                    .iter()
                    .copied()
                    .filter(|id| !then.contains(id))
                    .collect()),
                still_open: own(now.iter().copied().filter(|id| then.contains(id)).collect()),
            });
        }
    }
    let next = numbered.last().map_or(1, |(n, _)| n + 1);
    let path = dir.join(format!("review-{next:03}.json"));
    std::fs::write(
        path,
        serde_json::to_string_pretty(review).expect("a review serializes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = Kind {
        name: "test",
        catalogue: &[],
        not_run: &[],
    };

    fn with_flaws(ids: &[&str]) -> Review {
        let mut r = Review::new(&KIND, "x");
        for id in ids {
            r.flaws.push(FoundFlaw {
                id: id.to_string(),
                name: String::new(),
                meaning: String::new(),
                shown_by: Failure {
                    scenario: String::new(),
                    what: String::new(),
                    evidence: String::new(),
                    hung: false,
                },
                lesson: String::new(),
                hint: String::new(),
            });
        }
        r
    }

    #[test]
    fn the_history_says_fixed_new_and_still_open() {
        let dir = harness::tempdir::TempDir::new("review-history").unwrap();
        let mut first = with_flaws(&["a", "b"]);
        keep(&mut first, dir.path()).unwrap();
        assert_eq!(
            first.since, None,
            "nothing to compare the first review with"
        );
        let mut second = with_flaws(&["b", "c"]);
        keep(&mut second, dir.path()).unwrap();
        let since = second.since.unwrap();
        assert_eq!(since.fixed, ["a"]);
        assert_eq!(since.new, ["c"]);
        assert_eq!(since.still_open, ["b"]);
        assert!(since.previous.ends_with("review-001.json"));
        assert!(dir.path().join("review-002.json").exists());
    }
}
