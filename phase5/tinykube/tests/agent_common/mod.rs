//! What the agent tests share: a supervisor config in a temporary directory, and event waits with
//! deadlines.
#![allow(dead_code)] // each test file uses a part

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use harness::tempdir::TempDir;
use tinykube::agent::{EventKind, PodEvent, SupervisorConfig, become_subreaper};

/// Generous for a loaded CI machine; a passing test never waits for it.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A config logging into a fresh directory, with a short grace and a short poll. Makes the test
/// process the reaper of its pods' orphans, as a node agent is.
pub fn config(label: &str) -> (TempDir, SupervisorConfig) {
    become_subreaper().expect("PR_SET_CHILD_SUBREAPER");
    let dir = TempDir::new(label).expect("temp dir");
    let mut config = SupervisorConfig::new(dir.path());
    config.grace = Duration::from_millis(300);
    config.poll = Duration::from_millis(2);
    (dir, config)
}

/// The next event that `want` accepts (others are returned in `skipped`), within [`PATIENCE`].
pub fn next_matching(
    events: &Receiver<PodEvent>,
    skipped: &mut Vec<PodEvent>,
    what: &str,
    want: impl Fn(&EventKind) -> bool,
) -> PodEvent {
    let end = Instant::now() + PATIENCE;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(e) if want(&e.kind) => return e,
            Ok(e) => skipped.push(e),
            Err(RecvTimeoutError::Timeout) => {
                panic!("no {what} within {PATIENCE:?}; saw {skipped:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("supervisor ended before {what}; saw {skipped:?}")
            }
        }
    }
}

/// The pid of the next run.
pub fn next_start(events: &Receiver<PodEvent>) -> u32 {
    let e = next_matching(events, &mut Vec::new(), "start", |k| {
        matches!(k, EventKind::Started { .. })
    });
    match e.kind {
        EventKind::Started { pid } => pid,
        _ => unreachable!(),
    }
}

/// Every event until the supervisor's thread ends (its sender drops), within [`PATIENCE`].
pub fn all_until_done(events: &Receiver<PodEvent>) -> Vec<EventKind> {
    let end = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        match events.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(e) => seen.push(e.kind),
            Err(RecvTimeoutError::Disconnected) => return seen,
            Err(RecvTimeoutError::Timeout) => panic!("supervisor still running; saw {seen:?}"),
        }
    }
}
