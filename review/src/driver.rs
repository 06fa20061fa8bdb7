//! Runs a kind's scenarios, each in a child process of its own, and assembles the review.
//!
//! The parent re-executes its own binary with the same arguments and `REVIEW_CHILD=<scenario>` in
//! the environment; the child runs that one scenario, prints `REVIEW-STEP …` lines as it goes and one
//! `REVIEW-RESULT {json}` line at the end, and exits at once (a thread the attempt left blocked ends
//! with the process). The parent kills a child that outlives its scenario's limit and reports a hang
//! at the last step it printed. A thread cannot be killed; a process can, which is why a scenario
//! runs in one.
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::report::{Failure, FoundFlaw, Review, ScenarioResult};
use crate::{Group, Kind, Scenario, Verdict};

/// The environment variable that makes the binary run one scenario as a child.
pub const CHILD_ENV: &str = "REVIEW_CHILD";
const STEP: &str = "REVIEW-STEP ";
const RESULT: &str = "REVIEW-RESULT ";

/// The review's command-line options (flattened into each review binary's own parser).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReviewArgs {
    /// Print the review as one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Groups of scenarios not to run (comma-separated): targeted, stress, conformance, bench.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub skip: Vec<Group>,
    /// Keep this review in DIR (review-NNN.json) and say what changed since the previous one there.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
}

#[derive(Debug, clap::Parser)]
#[command(about = "Review this attempt: name its flaws from the catalogue")]
struct Cli {
    #[command(flatten)]
    args: ReviewArgs,
}

/// The `main` of an attempt's review binary: parses the options and runs [`run`].
pub fn main(kind: &Kind, subject: &str, scenarios: &[Scenario]) -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    run(kind, subject, scenarios, &cli.args)
}

pub(crate) fn report_step(what: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{STEP}{}", what.replace('\n', " "));
    let _ = out.flush();
}

/// Runs the review (or, in a child, the one scenario named by [`CHILD_ENV`]) and prints it. Exit
/// code: 0 clean, 1 flaws found, 2 bad input.
pub fn run(kind: &Kind, subject: &str, scenarios: &[Scenario], args: &ReviewArgs) -> ExitCode {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        run_child(scenarios, &name);
    }
    let review = review(kind, subject, scenarios, args);
    let mut review = match review {
        Ok(r) => r,
        Err(e) => {
            eprintln!("review: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.history
        && let Err(e) = crate::report::keep(&mut review, dir)
    {
        eprintln!("review: cannot keep the review in {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&review).expect("a review serializes")
        );
    } else {
        print!("{}", review.to_text());
    }
    if review.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn run_child(scenarios: &[Scenario], name: &str) -> ! {
    let verdict = match scenarios.iter().find(|s| s.name == name) {
        None => Verdict::fail(format!("no scenario named {name}")),
        Some(s) => {
            // The attempt's own panic messages would interleave with the protocol: keep them out.
            std::panic::set_hook(Box::new(|_| {}));
            match std::panic::catch_unwind(s.run) {
                Ok(v) => v,
                Err(p) => Verdict::fail(format!("panicked: {}", shim::panic_message(&*p))),
            }
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{RESULT}{}",
        serde_json::to_string(&verdict).expect("a verdict serializes")
    );
    let _ = out.flush();
    // Exit now: a thread the attempt left blocked must not keep the process alive.
    std::process::exit(0)
}

/// What one child process reported.
struct ChildOutcome {
    verdict: Verdict,
    hung: bool,
}

fn run_in_child(scenario: &Scenario) -> Result<ChildOutcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, scenario.name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the scenario's process: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + scenario.limit;
    let mut last_step = None;
    let mut result = None;
    let mut hung = false;
    loop {
        match lines_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                if let Some(s) = line.strip_prefix(STEP) {
                    last_step = Some(s.to_string());
                } else if let Some(r) = line.strip_prefix(RESULT) {
                    result = serde_json::from_str::<Verdict>(r).ok();
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break, // the child closed its stdout
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= deadline {
                    hung = true;
                    let _ = child.kill();
                    break;
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for the scenario's process: {e}"))?;
    let _ = reader.join();
    let verdict = match (result, hung) {
        (Some(v), _) => v,
        (None, true) => Verdict::fail(format!(
            "hung: killed by the watchdog after {:?}; last step reached: {}",
            scenario.limit,
            last_step.as_deref().unwrap_or("(none)")
        )),
        (None, false) => Verdict::fail(format!(
            "the scenario's process died ({status}) after step: {}",
            last_step.as_deref().unwrap_or("(none)")
        )),
    };
    Ok(ChildOutcome { verdict, hung })
}

/// Runs every scenario not skipped and assembles the review.
pub fn review(
    kind: &Kind,
    subject: &str,
    scenarios: &[Scenario],
    args: &ReviewArgs,
) -> Result<Review, String> {
    let mut review = Review::new(kind, subject);
    // Which scenario runs now, on one line of the terminal (not in a pipe or a log).
    let progress = !args.json && std::io::stderr().is_terminal();
    for s in scenarios {
        if args.skip.contains(&s.group) {
            review.skipped.push(ScenarioResult {
                scenario: s.name.into(),
                note: "skipped with --skip".into(),
            });
            continue;
        }
        if progress {
            eprint!("review: {:<44}\r", s.name);
        }
        let out = run_in_child(s)?;
        match out.verdict {
            Verdict::Pass => review.passed.push(s.name.into()),
            Verdict::Skipped { why } => review.skipped.push(ScenarioResult {
                scenario: s.name.into(),
                note: why,
            }),
            Verdict::Measured { ratios } => {
                review.passed.push(s.name.into());
                review.ratios.extend(ratios);
            }
            Verdict::Fail { evidence } => {
                let failure = Failure {
                    scenario: s.name.into(),
                    what: s.what.into(),
                    evidence,
                    hung: out.hung,
                };
                match s.flaw.and_then(|id| kind.flaw(id)) {
                    Some(flaw) => {
                        if !review.flaws.iter().any(|f| f.id == flaw.id) {
                            review.flaws.push(FoundFlaw::new(flaw, failure));
                        }
                    }
                    None => review.unclassified.push(failure),
                }
            }
        }
    }
    if progress {
        eprint!("{:<60}\r", "");
    }
    // A catch-all failure in a review that already names a flaw is most likely that flaw again.
    if !review.flaws.is_empty() {
        review.also_failed = std::mem::take(&mut review.unclassified);
    }
    Ok(review)
}
