//! # Review mode: bring your own implementation, get its flaws named
//!
//! Go's `go test -race` tells you *that* something raced; a reader who writes their own channel
//! wants to know *which* concurrency flaw it has, the smallest scenario that shows it and the lesson
//! that explains it. This crate is that reviewer, written once for every kind of primitive:
//!
//! - a **kind** ([`Kind`]) is a catalogue of flaws ([`Flaw`]) and a list of scenarios ([`Scenario`])
//!   generic over the kind's harness contract (`ChannelFlavor` for channels). Adding a kind (lock,
//!   queue, …) is writing those two, plus a template; the machinery below does not change;
//! - the **driver** ([`driver::run`]) runs every scenario in a child process of its own under a
//!   deadline, so a hang is a finding (with the last step the scenario reached), never a hung
//!   terminal, and a crash (double free, abort) is contained;
//! - the **review** ([`report::Review`]) names each flaw found from the catalogue, with what it means,
//!   the scenario, the lesson and a hint; then what passed and the performance ratios; `--json`
//!   prints the same as data, and `--history DIR` keeps it and compares with the previous one.
//!
//! A *targeted* scenario is written to expose exactly one catalogued flaw and fails on nothing else.
//! The catch-all checks (the conformance suite, the drop-ledger stress test) name no flaw of their
//! own: when one fails and no targeted scenario did, the review reports it as *unclassified*; when a
//! targeted scenario already named a flaw, it is listed as *also failed* (most likely the same
//! cause).
#![warn(missing_docs)]

pub mod driver;
pub mod kinds;
pub mod report;

use serde::{Deserialize, Serialize};

/// One entry of a kind's catalogue: a failure mode the lessons teach.
#[derive(Debug, Clone, Copy)]
pub struct Flaw {
    /// Stable identifier (`sender-not-woken-on-close`), used in JSON and in the history.
    pub id: &'static str,
    /// The flaw in one line, as the review prints it.
    pub name: &'static str,
    /// What it means for a user of the type.
    pub meaning: &'static str,
    /// Where this repository explains it: file and README anchor.
    pub lesson: &'static str,
    /// A hint toward the fix (not the fix).
    pub hint: &'static str,
}

/// Which group a scenario belongs to; `--skip` takes these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Written to expose one catalogued flaw each.
    Targeted,
    /// Many threads, exact multisets, a drop ledger, the leak checker.
    Stress,
    /// The kind's harness conformance suite, case by case.
    Conformance,
    /// A quick bench: the attempt against ours and the ecosystem's best, as ratios.
    Bench,
}

/// What one scenario found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing wrong seen.
    Pass,
    /// Something wrong, with the evidence.
    Fail {
        /// What was observed, in the scenario's words.
        evidence: String,
    },
    /// Not applicable to this attempt (a feature it does not claim).
    Skipped {
        /// Why.
        why: String,
    },
    /// A bench: the attempt's time relative to the peers'.
    Measured {
        /// One entry per workload and peer.
        ratios: Vec<Ratio>,
    },
}

impl Verdict {
    /// A failure with this evidence.
    pub fn fail(evidence: impl Into<String>) -> Verdict {
        Verdict::Fail {
            evidence: evidence.into(),
        }
    }
}

/// The attempt's time on a workload divided by a peer's (best of several runs each, interleaved in
/// one process): 1.0 is as fast, 2.0 twice as slow. A ratio, not a time: it means the same on any
/// machine, within the noise of a quick run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// The workload (`spsc bounded(64), 100000 values`).
    pub workload: String,
    /// The peer (`ours`, `crossbeam`).
    pub versus: String,
    /// Attempt time / peer time.
    pub ratio: f64,
}

/// One scenario: a name, what it does (the smallest description that reproduces it), and the flaw
/// its failure shows (targeted scenarios only).
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Unique within the kind; the child process is told which to run by this name.
    pub name: &'static str,
    /// The group (`--skip` works on groups).
    pub group: Group,
    /// The scenario in one or two sentences, as the review prints it.
    pub what: &'static str,
    /// The catalogued flaw a failure (or a hang) of this scenario shows; `None` for catch-all checks.
    pub flaw: Option<&'static str>,
    /// How long the child process may take before the watchdog kills it (a hang).
    pub limit: std::time::Duration,
    /// The scenario, instantiated for the attempt's type.
    pub run: fn() -> Verdict,
}

impl Scenario {
    /// A targeted scenario: it names `flaw` when it fails, and is given 20 s before it counts as a
    /// hang.
    pub fn targeted(
        name: &'static str,
        what: &'static str,
        flaw: &'static str,
        run: fn() -> Verdict,
    ) -> Scenario {
        Scenario {
            name,
            group: Group::Targeted,
            what,
            flaw: Some(flaw),
            limit: std::time::Duration::from_secs(20),
            run,
        }
    }
}

/// One bench workload: its name, and one timed run for each of the attempt, ours and the peer, in
/// that order. A run returns `None` when its result is wrong (values lost, a count off).
pub type Workload = (&'static str, [fn() -> Option<std::time::Duration>; 3]);

/// Runs every workload `runs` times, the three contenders interleaved within each round so that a
/// change in the machine's load hits all three alike, and gives the attempt's best time over ours'
/// and the peer's (`versus` names them). A wrong result fails the bench with `wrong` in the evidence.
pub fn best_of_ratios(
    workloads: &[Workload],
    versus: [&str; 2],
    runs: usize,
    wrong: &str,
) -> Verdict {
    let mut ratios = Vec::new();
    for (name, contenders) in workloads {
        step(format!("bench: {name}"));
        let mut best = [std::time::Duration::MAX; 3];
        for _ in 0..runs {
            for (i, run) in contenders.iter().enumerate() {
                let Some(t) = run() else {
                    return Verdict::fail(format!("bench {name}: {wrong}"));
                };
                best[i] = best[i].min(t);
            }
        }
        for (i, peer) in versus.iter().enumerate() {
            ratios.push(Ratio {
                workload: (*name).into(),
                versus: (*peer).into(),
                ratio: best[0].as_secs_f64() / best[i + 1].as_secs_f64(),
            });
        }
    }
    Verdict::Measured { ratios }
}

/// A kind of primitive: its catalogue and what the review says about what it does not run.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// `channel`, `lock`, …
    pub name: &'static str,
    /// The flaws the targeted scenarios name.
    pub catalogue: &'static [Flaw],
    /// Checks this review does not run yet for the kind, each with why; printed loudly.
    pub not_run: &'static [&'static str],
}

impl Kind {
    /// The catalogue entry with this id.
    pub fn flaw(&self, id: &str) -> Option<&'static Flaw> {
        self.catalogue.iter().find(|f| f.id == id)
    }
}

/// Marks progress inside a scenario: if the scenario hangs after this, the review says it hung
/// here. Prints one line on the child's stdout, which the driver reads.
pub fn step(what: impl std::fmt::Display) {
    driver::report_step(&what.to_string());
}

/// Waits up to `limit` for `handle`'s thread to finish; its result, or `None` if it is still running
/// (blocked: the caller reports the hang; the child process exits, which ends the thread). A panic
/// in the thread is resumed here, so the scenario fails with its message.
pub fn join_within<T>(handle: std::thread::JoinHandle<T>, limit: std::time::Duration) -> Option<T> {
    if !harness::wait::poll_until(limit, || handle.is_finished()) {
        return None;
    }
    match handle.join() {
        Ok(v) => Some(v),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Long enough for a thread that could run to have run (and blocked), on a loaded 2-core machine.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(30);
/// How long [`spawn_blocked`] waits at most for its thread to fall asleep.
const BLOCK_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// This thread's kernel id, from `/proc/thread-self` (a link to `<pid>/task/<tid>`).
fn own_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// True when thread `tid` of this process is asleep in the kernel (state `S`), false when it runs
/// or has exited.
fn sleeping(tid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = stat.rsplit_once(')')?.1;
            after_name.trim_start().chars().next()
        })
        == Some('S')
}

/// Spawns `f` and returns once its thread has gone to sleep in it (blocked in the primitive under
/// review, as far as `/proc` can tell: asleep at five looks 1 ms apart), or has finished, or after 2 s.
/// A fixed pause is not enough on a loaded machine: a thread that has not blocked yet when the
/// scenario acts makes the scenario test something else.
pub fn spawn_blocked<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tid_tx.send(own_tid());
        f()
    });
    let Ok(Some(tid)) = tid_rx.recv() else {
        std::thread::sleep(SETTLE); // no /proc: the fixed pause is all there is
        return handle;
    };
    let mut asleep = 0;
    let start = std::time::Instant::now();
    while asleep < 5 && !handle.is_finished() && start.elapsed() < BLOCK_LIMIT {
        asleep = if sleeping(tid) { asleep + 1 } else { 0 };
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    handle
}
