//! The workspace smoke test, as a function each phase's `tests/smoke.rs` calls for its binaries.
//!
//! For one exercise binary it checks the exercise contract (the `exercise` module's docs): `--quick --json` exits 0 before a
//! hang deadline with every section present and every self-check ✓; `--help` exits 0 and names every
//! section; an unknown flag and an unknown section exit non-zero with a one-line error and no panic.
//! A check the run skipped ([`Ctx::skip`](crate::Ctx::skip)) is not a failure, but it is never silent:
//! each one is printed with its reason straight to the test process's stderr (past libtest's output
//! capture, so a passing test's CI log shows it too), and it must carry a reason.
//! The sections expected are read from the catalog (`catalog.tsv` at the workspace root), so a binary
//! and the catalog cannot drift apart.
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished child printed.
#[derive(Debug)]
pub struct Ran {
    /// Exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

/// Runs `bin args…`, killing it at `deadline` (then panics: a hang is a failure, not a wait).
pub fn run_with_deadline(bin: &Path, args: &[&str], deadline: Duration) -> Ran {
    let t0 = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait on child") {
            break st;
        }
        if t0.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let so = out_reader.join().unwrap_or_default();
            panic!(
                "{} {:?} did not exit within {:?} (hang?); output so far:\n{so}",
                bin.display(),
                args,
                deadline
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ran {
        code: status.code(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        elapsed: t0.elapsed(),
    }
}

/// The sections the catalog lists for `phase/exercise`.
pub fn catalog_sections(workspace_root: &Path, phase: &str, exercise: &str) -> Vec<String> {
    crate::catalog::read(workspace_root)
        .into_iter()
        .find(|e| e.phase == phase && e.exercise == exercise)
        .map(|e| e.sections)
        .unwrap_or_else(|| panic!("{phase}/{exercise} is not in catalog.tsv"))
}

/// The budget of a `--quick` run that the smoke test enforces: the full run's budget (15 s). A quick
/// run aims at ≤ 3 s and takes about that; five times that is a ceiling that only a hang, an unshrunk
/// workload or a runaway section reaches, not a slow machine.
pub const QUICK_BUDGET: Duration = Duration::from_secs(15);

/// The smoke test of one exercise binary (see the module docs). `hang_deadline` is when a hung
/// process is killed; a `--quick` run must also finish within [`QUICK_BUDGET`].
pub fn check_exercise(
    workspace_root: &Path,
    phase: &str,
    exercise: &str,
    bin: &Path,
    hang_deadline: Duration,
) {
    let sections = catalog_sections(workspace_root, phase, exercise);
    let id = format!("{phase}/{exercise}");

    let quick = run_with_deadline(bin, &["--quick", "--json"], hang_deadline);
    eprintln!(
        "{id} --quick: exit {:?} in {:.2} s",
        quick.code,
        quick.elapsed.as_secs_f64()
    );
    assert!(
        quick.elapsed <= QUICK_BUDGET,
        "{id} --quick took {:.1} s, over its {QUICK_BUDGET:?} budget",
        quick.elapsed.as_secs_f64()
    );
    let doc: serde_json::Value = serde_json::from_str(&quick.stdout).unwrap_or_else(|e| {
        panic!(
            "{id} --quick --json did not print one JSON document ({e}):\n{}",
            quick.stdout
        )
    });
    let failed: Vec<String> = doc["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| {
            let name = s["name"].as_str().unwrap_or("?").to_string();
            s["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["ok"] != true)
                .map(move |c| {
                    format!(
                        "{name}: {} ({})",
                        c["label"].as_str().unwrap_or("?"),
                        c["detail"].as_str().unwrap_or("")
                    )
                })
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{id} --quick: failed self-checks:\n  {}\nstderr:\n{}",
        failed.join("\n  "),
        quick.stderr
    );
    assert_eq!(
        quick.code,
        Some(0),
        "{id} --quick exit code; stderr:\n{}",
        quick.stderr
    );
    let skipped = skipped_checks(&doc);
    report_skipped(&id, &skipped);
    assert_eq!(
        doc["skipped_total"].as_u64(),
        Some(skipped.len() as u64),
        "{id}: skipped_total vs the sections' skipped lists"
    );
    for (section, label, reason) in &skipped {
        assert!(
            !label.is_empty() && !reason.is_empty(),
            "{id}: section {section} skipped a check without a label or a reason"
        );
    }
    let ran: Vec<&str> = doc["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        ran,
        sections.iter().map(String::as_str).collect::<Vec<_>>(),
        "{id}: sections run vs the catalog"
    );
    for s in doc["sections"].as_array().into_iter().flatten() {
        let n = s["checks"].as_array().map_or(0, Vec::len);
        assert!(n > 0, "{id}: section {} has no self-check", s["name"]);
        assert!(
            s["takeaway"].is_string(),
            "{id}: section {} has no takeaway",
            s["name"]
        );
    }

    let help = run_with_deadline(bin, &["--help"], hang_deadline);
    assert_eq!(help.code, Some(0), "{id} --help");
    for s in &sections {
        assert!(
            help.stdout.contains(s.as_str()),
            "{id} --help does not list section {s}:\n{}",
            help.stdout
        );
    }

    for (args, what) in [
        (&["--frobnicate"][..], "unknown flag"),
        (&["no-such-section"][..], "unknown section"),
    ] {
        let bad = run_with_deadline(bin, args, hang_deadline);
        assert_ne!(bad.code, Some(0), "{id}: an {what} must exit non-zero");
        assert!(
            bad.code.is_some(),
            "{id}: an {what} must exit, not die of a signal"
        );
        assert!(
            bad.stderr.contains("error"),
            "{id}: an {what} must say 'error': {}",
            bad.stderr
        );
        assert!(
            !bad.stderr.contains("panicked"),
            "{id}: an {what} must not panic: {}",
            bad.stderr
        );
    }
}

/// Every check a `--json` document reports as skipped: (section, label, reason).
pub fn skipped_checks(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    doc["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| {
            let name = text(&s["name"]);
            s["skipped"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |k| (name.clone(), text(&k["label"]), text(&k["reason"])))
        })
        .collect()
}

/// Prints each skipped check as `⚠ SKIPPED id section: label: reason`. It writes to the process's
/// stderr handle directly, not through `eprintln!`, which libtest captures and shows only for a failed
/// test: a skip in a passing run must still reach the log.
pub fn report_skipped(id: &str, skipped: &[(String, String, String)]) {
    let mut err = std::io::stderr().lock();
    for (section, label, reason) in skipped {
        let _ = writeln!(err, "⚠ SKIPPED {id} {section}: {label}: {reason}");
    }
}

/// One exercise binary at a time: the exercises measure timing, and two of them sharing 2 cores would
/// skew it. Held by the tests that [`smoke_tests!`](crate::smoke_tests) generates.
pub static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A hung binary is killed after this long (a hang deadline, not a performance budget: `--quick`
/// takes about 3 s, but tests share 2 cores with other test binaries).
pub const HANG_DEADLINE: Duration = Duration::from_secs(90);

/// The binaries a phase crate has in `src/bin`, sorted by name (to check each one is smoke-tested).
pub fn binaries_of(manifest_dir: &str) -> Vec<String> {
    let mut bins: Vec<String> = std::fs::read_dir(Path::new(manifest_dir).join("src/bin"))
        .expect("src/bin of the phase crate")
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(str::to_string))
        .collect();
    bins.sort();
    bins
}

/// The smoke tests of a phase crate, one `#[test]` per exercise binary plus one that fails when a
/// binary was added without being listed: `harness::smoke_tests!("phase1", exercise1, exercise2);`
/// in the crate's `tests/smoke.rs`.
#[macro_export]
macro_rules! smoke_tests {
    ($phase:literal, $($exercise:ident),+ $(,)?) => {
        $(
            #[test]
            fn $exercise() {
                let _one_at_a_time = $crate::smoke::SERIAL.lock().unwrap_or_else(|p| p.into_inner());
                let root = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
                $crate::smoke::check_exercise(
                    root,
                    $phase,
                    stringify!($exercise),
                    ::std::path::Path::new(env!(concat!("CARGO_BIN_EXE_", stringify!($exercise)))),
                    $crate::smoke::HANG_DEADLINE,
                );
            }
        )+

        #[test]
        fn every_binary_is_smoke_tested() {
            let listed = [$(stringify!($exercise)),+];
            assert_eq!(
                $crate::smoke::binaries_of(env!("CARGO_MANIFEST_DIR")),
                listed,
                "add a smoke test for every new binary"
            );
        }
    };
}
