//! Restart policies and CrashLoopBackOff: the curve in a table, a real crash-looping pod whose
//! restarts are spaced at least as the curve says (measured by the pod itself), and the reset after
//! clean running on a virtual clock.
mod agent_common;

use std::sync::mpsc;
use std::time::Duration;

use agent_common::{PATIENCE, all_until_done, config, next_matching, next_start};
use harness::clock::VirtualClock;
use harness::wait::poll_until;
use harness::watchdog::within;
use tinykube::agent::{
    Backoff, CrashLoop, EventKind, ExitStatus, PodEvent, RuntimePhase, Supervisor, read_log,
};
use tinykube::{Pod, PodSpec, RestartPolicy};

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn the_curve_doubles_from_base_to_cap() {
    let kubelet = Backoff::default();
    let fast = Backoff::new(MS(20), MS(100), S(1));
    let cases = [
        (kubelet, 0, S(0)),
        (kubelet, 1, S(10)),
        (kubelet, 2, S(20)),
        (kubelet, 5, S(160)),
        (kubelet, 6, S(300)),
        (kubelet, u32::MAX, S(300)),
        (fast, 1, MS(20)),
        (fast, 3, MS(80)),
        (fast, 4, MS(100)),
        (Backoff::new(S(0), S(5), S(1)), 9, S(0)),
        (Backoff::new(S(7), S(3), S(1)), 1, S(3)), // a cap below base wins
    ];
    for (curve, restart, want) in cases {
        assert_eq!(curve.delay(restart), want, "{curve:?} restart {restart}");
    }
}

#[test]
fn a_long_enough_run_resets_the_loop() {
    let mut pod = CrashLoop::new(Backoff::new(S(10), S(300), S(600)));
    let runs = [
        (S(1), S(10)),
        (S(1), S(20)),
        (S(599), S(40)), // just short of the reset
        (S(600), S(10)), // ten clean minutes
        (S(0), S(20)),
    ];
    for (i, (ran, want)) in runs.into_iter().enumerate() {
        assert_eq!(pod.on_exit(ran), want, "exit {i} after {ran:?}");
    }
    assert_eq!(pod.restarts_in_loop(), 2);
}

fn pod(script: &str, policy: RestartPolicy) -> Pod {
    let mut spec = PodSpec::new(["sh", "-c", script]);
    spec.restart_policy = policy;
    Pod::new("p", spec)
}

#[test]
fn each_policy_restarts_what_it_should() {
    use RestartPolicy::*;
    // (policy, exit code, restarted?, final phase when not)
    let cases = [
        (Always, 0, true, None),
        (Always, 1, true, None),
        (OnFailure, 1, true, None),
        (OnFailure, 0, false, Some(RuntimePhase::Succeeded)),
        (Never, 0, false, Some(RuntimePhase::Succeeded)),
        (Never, 1, false, Some(RuntimePhase::Failed)),
    ];
    for (policy, code, restarted, phase) in cases {
        let (_dir, mut config) = config("agent-policy");
        config.backoff = Backoff::new(MS(1), MS(1), S(600));
        let (tx, events) = mpsc::channel::<PodEvent>();
        let sup = Supervisor::start(&pod(&format!("exit {code}"), policy), config, tx).unwrap();
        if restarted {
            let mut seen = Vec::new();
            next_matching(&events, &mut seen, "second start", |k| {
                matches!(k, EventKind::Started { .. })
            });
            next_matching(&events, &mut seen, "second start", |k| {
                matches!(k, EventKind::Started { .. })
            });
            assert!(seen.iter().any(|e| e.kind
                == EventKind::Restarting {
                    restart: 1,
                    after: MS(1)
                }));
        } else {
            let seen = all_until_done(&events);
            assert!(
                matches!(seen.as_slice(), [EventKind::Started { .. }, EventKind::Exited { status, .. }] if *status == ExitStatus::Code(code)),
                "{policy:?} exit {code}: {seen:?}"
            );
            let status = sup.status();
            assert_eq!(Some(status.phase), phase, "{policy:?} exit {code}");
            assert_eq!(status.restarts, 0);
        }
        sup.stop().unwrap();
    }
}

#[test]
fn a_missing_program_crash_loops_instead_of_panicking() {
    let (_dir, mut config) = config("agent-missing");
    // No delay at all: the loop never waits, and must still hear the stop.
    config.backoff = Backoff::new(S(0), S(0), S(600));
    let (tx, events) = mpsc::channel::<PodEvent>();
    let p = Pod::new("nope", PodSpec::new(["/nonexistent/program"]));
    let sup = Supervisor::start(&p, config, tx).unwrap();
    let e = next_matching(&events, &mut Vec::new(), "exit", |k| {
        matches!(k, EventKind::Exited { .. })
    });
    assert!(matches!(
        e.kind,
        EventKind::Exited {
            status: ExitStatus::SpawnFailed(std::io::ErrorKind::NotFound),
            ..
        }
    ));
    next_matching(&events, &mut Vec::new(), "restart", |k| {
        matches!(k, EventKind::Restarting { restart: 2, .. })
    });
    within(PATIENCE, move || sup.stop()).unwrap();
}

#[test]
fn crash_loop_restarts_are_spaced_at_least_as_the_curve_says() {
    let (_dir, mut config) = config("agent-crashloop");
    let curve = Backoff::new(MS(20), MS(160), S(600));
    config.backoff = curve;
    // The pod logs its own start time (ns since the epoch): an oracle outside the supervisor.
    let (tx, events) = mpsc::channel::<PodEvent>();
    let sup = Supervisor::start(
        &pod("date +%s%N; exit 1", RestartPolicy::Always),
        config,
        tx,
    )
    .unwrap();
    let restarts = 6;
    for _ in 0..=restarts {
        next_start(&events);
    }
    // The 7th run's line is written before it exits; wait for it rather than race it.
    assert!(poll_until(PATIENCE, || {
        let log = String::from_utf8_lossy(&read_log(sup.log_path()).unwrap()).into_owned();
        starts(&log).len() > restarts
    }));
    sup.stop().unwrap();
    let log = String::from_utf8(read_log(&_dir.path().join("p.log")).unwrap()).unwrap();
    let times = starts(&log);
    for (n, pair) in times.windows(2).take(restarts).enumerate() {
        let gap = Duration::from_nanos(pair[1] - pair[0]);
        let delay = curve.delay(n as u32 + 1);
        assert!(gap >= delay, "restart {}: {gap:?} < {delay:?}", n + 1);
    }
    // Each restart left its marker between two runs' output.
    for n in 1..=restarts {
        assert!(
            log.contains(&format!(
                "\n--- tinykube: restart {n} after exit code 1 ---\n"
            )),
            "{log}"
        );
    }
}

/// The start times the pod wrote into its log.
fn starts(log: &str) -> Vec<u64> {
    log.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

#[test]
fn clean_running_resets_the_backoff_on_a_virtual_clock() {
    let (dir, mut config) = config("agent-reset");
    let clock = VirtualClock::new();
    config.clock = clock.clone();
    config.backoff = Backoff::new(S(1), S(8), S(60));
    // Each run waits for the gate file, takes it and fails: the test decides when a run ends.
    let gate = dir.path().join("gate");
    let mut p = pod(
        "while [ ! -e \"$GATE\" ]; do sleep 0.01; done; rm -f \"$GATE\"; exit 1",
        RestartPolicy::Always,
    );
    p.spec.env.insert("GATE".into(), gate.display().to_string());
    let (tx, events) = mpsc::channel::<PodEvent>();
    let sup = Supervisor::start(&p, config, tx).unwrap();
    let fail_run = |restart: u32| {
        std::fs::write(&gate, "").unwrap();
        let e = next_matching(&events, &mut Vec::new(), "restart", |k| {
            matches!(k, EventKind::Restarting { .. })
        });
        match e.kind {
            EventKind::Restarting { restart: r, after } if r == restart => after,
            other => panic!("expected restart {restart}, got {other:?}"),
        }
    };
    // Three quick crashes: 1 s, 2 s, 4 s (virtual), each waited out by advancing the clock.
    for (restart, want) in [(1, S(1)), (2, S(2)), (3, S(4))] {
        let after = fail_run(restart);
        assert_eq!(after, want, "restart {restart}");
        clock.advance(after);
    }
    // The fourth run lasts a clean minute before failing: the loop is forgotten.
    next_start(&events);
    clock.advance(S(60));
    assert_eq!(fail_run(4), S(1), "the backoff was not reset");
    clock.advance(S(1));
    assert_eq!(fail_run(5), S(2));
    sup.stop().unwrap();
}
