//! Stopping a pod leaves nothing behind: SIGTERM and SIGKILL go to its whole process group, its
//! first process and its orphans are reaped, and the group is probed empty with `kill(-pgid, 0)`.
//! Its output is in its log file, capped.
mod agent_common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use agent_common::{PATIENCE, config, next_start};
use harness::wait::poll_until;
use tinykube::agent::{PodEvent, RuntimePhase, Supervisor, group_alive, read_log};
use tinykube::{Pod, PodSpec};

fn pod(name: &str, script: &str) -> Pod {
    Pod::new(name, PodSpec::new(["sh", "-c", script]))
}

/// Whether every pid listed in `pids` (one per line) is gone.
fn all_gone(pids: &str) -> bool {
    pids.lines()
        .filter_map(|l| l.trim().parse::<i32>().ok())
        // SAFETY: kill with signal 0 only checks for existence.
        .all(|pid| unsafe { libc::kill(pid, 0) } != 0)
}

#[test]
fn stop_ends_a_pod_that_exits_on_sigterm() {
    let (_dir, config) = config("agent-stop-term");
    let (tx, events) = mpsc::channel::<PodEvent>();
    let sup = Supervisor::start(&pod("sleeper", "exec sleep 300"), config, tx).unwrap();
    let pgid = next_start(&events);
    assert!(group_alive(pgid));
    assert_eq!(sup.status().phase, RuntimePhase::Running);
    sup.stop().unwrap();
    assert!(!group_alive(pgid), "process group {pgid} left behind");
}

#[test]
fn stop_kills_a_grandchild_and_a_process_that_ignores_sigterm() {
    let (dir, mut config) = config("agent-stop-kill");
    config.grace = Duration::from_millis(200);
    let pids = dir.path().join("pids");
    // The shell ignores SIGTERM (and so does the grandchild it starts after the trap), and writes
    // both pids for an oracle that does not go through the process group.
    let script = format!(
        "trap '' TERM; sleep 300 & echo $! > {p}; echo $$ >> {p}; while true; do sleep 0.05; done",
        p = pids.display()
    );
    let (tx, events) = mpsc::channel::<PodEvent>();
    let sup = Supervisor::start(&pod("stubborn", &script), config, tx).unwrap();
    let pgid = next_start(&events);
    assert!(poll_until(PATIENCE, || std::fs::read_to_string(&pids)
        .is_ok_and(|p| p.lines().count() == 2)));
    let listed = std::fs::read_to_string(&pids).unwrap();
    assert!(!all_gone(&listed));
    let asked = Instant::now();
    sup.stop().unwrap();
    assert!(
        asked.elapsed() >= Duration::from_millis(200),
        "SIGKILL came before the grace period ended"
    );
    assert!(!group_alive(pgid), "process group {pgid} left behind");
    assert!(all_gone(&listed), "a process of {listed:?} survived");
}

#[test]
fn dropping_the_supervisor_stops_the_group() {
    let (dir, config) = config("agent-stop-drop");
    let pids = dir.path().join("pids");
    let script = format!("sleep 300 & echo $! > {p}; wait", p = pids.display());
    let (tx, events) = mpsc::channel::<PodEvent>();
    let sup = Supervisor::start(&pod("dropped", &script), config, tx).unwrap();
    let pgid = next_start(&events);
    assert!(poll_until(PATIENCE, || std::fs::read_to_string(&pids)
        .is_ok_and(|p| p.ends_with('\n'))));
    drop(sup);
    assert!(!group_alive(pgid), "process group {pgid} left behind");
    assert!(all_gone(&std::fs::read_to_string(&pids).unwrap()));
}

#[test]
fn a_run_that_exits_takes_its_leftovers_with_it() {
    // The first process exits at once, leaving a background grandchild: the run's end kills the
    // group, as a container's end takes every process in it.
    let (dir, config) = config("agent-stop-leftover");
    let pids = dir.path().join("pids");
    let script = format!("sleep 300 & echo $! > {p}; exit 0", p = pids.display());
    let mut p = pod("leftover", &script);
    p.spec.restart_policy = tinykube::RestartPolicy::Never;
    let (tx, events) = mpsc::channel::<PodEvent>();
    let sup = Supervisor::start(&p, config, tx).unwrap();
    let pgid = next_start(&events);
    let seen = agent_common::all_until_done(&events);
    assert!(
        !group_alive(pgid),
        "process group {pgid} left behind; saw {seen:?}"
    );
    assert!(all_gone(&std::fs::read_to_string(&pids).unwrap()));
    assert_eq!(sup.status().phase, RuntimePhase::Succeeded);
    sup.stop().unwrap();
}

#[test]
fn stdout_and_stderr_go_to_the_capped_log() {
    let (dir, mut config) = config("agent-logs");
    config.log_cap = 1000;
    let mut p = pod(
        "chatty",
        "head -c 2500 /dev/zero | tr '\\0' x; echo; echo to-stderr >&2; echo \"$GREETING\"",
    );
    p.spec.env.insert("GREETING".into(), "hi there".into());
    p.spec.restart_policy = tinykube::RestartPolicy::Never;
    let (tx, events) = mpsc::channel::<PodEvent>();
    let sup = Supervisor::start(&p, config, tx).unwrap();
    agent_common::all_until_done(&events);
    let current = std::fs::metadata(sup.log_path()).unwrap().len();
    let rotated = std::fs::metadata(dir.path().join("chatty.log.1"))
        .unwrap()
        .len();
    assert!(current <= 1000 && rotated == 1000, "{current} {rotated}");
    let log = String::from_utf8(read_log(sup.log_path()).unwrap()).unwrap();
    assert!(log.ends_with("to-stderr\nhi there\n"), "{log:?}");
    assert!(log.len() <= 2000, "{} bytes kept", log.len());
    sup.stop().unwrap();
}

#[test]
fn a_bad_log_directory_is_an_error_not_a_panic() {
    let (dir, mut config) = config("agent-badlog");
    config.log_dir = dir.path().join("missing");
    let (tx, _events) = mpsc::channel::<PodEvent>();
    let err = Supervisor::start(&pod("p", "true"), config.clone(), tx.clone()).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    let err = Supervisor::start(&pod("../escape", "true"), config, tx).unwrap_err();
    assert!(err.to_string().contains("cannot name a log file"), "{err}");
}
