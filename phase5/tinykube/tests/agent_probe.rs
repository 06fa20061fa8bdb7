//! Liveness probes against real listeners: a pod is killed (SIGTERM to its group) and restarted
//! once its probe fails `failure_threshold` times in a row, and not before.
mod agent_common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use agent_common::{PATIENCE, config, next_matching, next_start};
use harness::wait::poll_until;
use tinykube::agent::{
    Backoff, EventKind, ExitStatus, LivenessProbe, PodEvent, ProbeFailure, Supervisor, check,
};
use tinykube::{Pod, PodSpec, ProbeAction};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// A loopback server on its own thread; it answers each connection with `answer(n)` (n counts
/// connections from 0) and stops, closing its port, when `open` turns false.
struct Server {
    port: u16,
    open: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(answer: impl Fn(usize) -> Option<Vec<u8>> + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let served = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (open, served) = (open.clone(), served.clone());
            thread::spawn(move || {
                // Relaxed: the flag and the counter carry no other data.
                while open.load(Relaxed) {
                    match listener.accept() {
                        Ok((mut conn, _)) => {
                            let n = served.fetch_add(1, Relaxed);
                            if let Some(reply) = answer(n) {
                                conn.set_nonblocking(false).unwrap();
                                conn.set_read_timeout(Some(PATIENCE)).unwrap();
                                let mut request = Vec::new();
                                let mut buf = [0u8; 512];
                                while !request.ends_with(b"\r\n\r\n") {
                                    match conn.read(&mut buf) {
                                        Ok(0) | Err(_) => break,
                                        Ok(k) => request.extend_from_slice(&buf[..k]),
                                    }
                                }
                                let _ = conn.write_all(&reply);
                            }
                        }
                        Err(_) => thread::sleep(MS(1)),
                    }
                }
            })
        };
        Server {
            port,
            open,
            served,
            thread: Some(thread),
        }
    }

    fn served(&self) -> usize {
        self.served.load(Relaxed)
    }

    /// Closes the port (the listener is dropped with the thread).
    fn close(&mut self) {
        self.open.store(false, Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.close();
    }
}

fn http(status: u16) -> Option<Vec<u8>> {
    Some(
        format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .into_bytes(),
    )
}

fn probe(action: ProbeAction) -> LivenessProbe {
    LivenessProbe {
        action,
        initial_delay: Duration::ZERO,
        period: MS(20),
        // Only a stalled machine reaches it: every failure below is immediate.
        timeout: PATIENCE / 3,
        failure_threshold: 3,
    }
}

/// A `sleep` pod probed by `liveness`, restarted 1 ms after a failure.
fn probed_pod(
    label: &str,
    liveness: LivenessProbe,
) -> (
    harness::tempdir::TempDir,
    Supervisor,
    mpsc::Receiver<PodEvent>,
) {
    let (dir, mut config) = config(label);
    config.backoff = Backoff::new(MS(1), MS(1), Duration::from_secs(600));
    config.liveness = Some(liveness);
    let (tx, events) = mpsc::channel();
    let sup = Supervisor::start(
        &Pod::new("probed", PodSpec::new(["sleep", "300"])),
        config,
        tx,
    )
    .unwrap();
    (dir, sup, events)
}

/// No probe failure among the events received so far.
fn no_failure_yet(events: &mpsc::Receiver<PodEvent>) {
    let seen: Vec<_> = events.try_iter().collect();
    assert!(
        !seen.iter().any(|e| matches!(
            e.kind,
            EventKind::ProbeFailed { .. } | EventKind::Exited { .. }
        )),
        "{seen:?}"
    );
}

/// After the threshold: failures 1, 2, 3 in order, then the run killed by SIGTERM, then a restart.
fn killed_after_three_failures(
    events: &mpsc::Receiver<PodEvent>,
    why: impl Fn(&ProbeFailure) -> bool,
) {
    let mut seen = Vec::new();
    let exit = next_matching(events, &mut seen, "exit", |k| {
        matches!(k, EventKind::Exited { .. })
    });
    let failures: Vec<u32> = seen
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProbeFailed {
                consecutive,
                failure,
            } => {
                assert!(why(failure), "unexpected failure {failure:?}");
                Some(*consecutive)
            }
            _ => None,
        })
        .collect();
    assert_eq!(failures, [1, 2, 3], "{seen:?}");
    assert!(
        matches!(
            exit.kind,
            EventKind::Exited {
                status: ExitStatus::Signal(libc::SIGTERM),
                ..
            }
        ),
        "{exit:?}"
    );
    next_matching(events, &mut Vec::new(), "restart", |k| {
        matches!(k, EventKind::Restarting { restart: 1, .. })
    });
    next_start(events);
}

#[test]
fn a_tcp_probe_kills_the_pod_once_its_port_closes() {
    let mut server = Server::start(|_| None);
    let (_dir, sup, events) = probed_pod(
        "agent-probe-tcp",
        probe(ProbeAction::TcpSocket(server.port)),
    );
    next_start(&events);
    assert!(
        poll_until(PATIENCE, || server.served() >= 4),
        "probe never connected"
    );
    no_failure_yet(&events);
    assert!(sup.status().ready);
    server.close();
    killed_after_three_failures(&events, |f| matches!(f, ProbeFailure::Connect(_)));
    assert_eq!(sup.status().restarts, 1);
    sup.stop().unwrap();
}

#[test]
fn an_http_probe_wants_2xx_or_3xx() {
    let status = Arc::new(AtomicU16::new(200));
    let server = Server::start({
        let status = status.clone();
        move |_| http(status.load(Relaxed))
    });
    let action = ProbeAction::HttpGet {
        port: server.port,
        path: "/healthz".into(),
    };
    let (_dir, sup, events) = probed_pod("agent-probe-http", probe(action));
    next_start(&events);
    assert!(poll_until(PATIENCE, || server.served() >= 3));
    status.store(302, Relaxed);
    let now = server.served();
    assert!(poll_until(PATIENCE, || server.served() >= now + 3));
    no_failure_yet(&events);
    status.store(500, Relaxed);
    killed_after_three_failures(&events, |f| *f == ProbeFailure::HttpStatus(500));
    sup.stop().unwrap();
}

#[test]
fn failures_that_are_not_in_a_row_do_not_kill() {
    // Two failures, then a success, over and over: never three in a row.
    let server = Server::start(|n| http(if n % 3 == 2 { 200 } else { 503 }));
    let action = ProbeAction::HttpGet {
        port: server.port,
        path: "/".into(),
    };
    let (_dir, sup, events) = probed_pod("agent-probe-flap", probe(action));
    next_start(&events);
    assert!(poll_until(PATIENCE, || server.served() >= 12));
    let seen: Vec<_> = events.try_iter().map(|e| e.kind).collect();
    assert!(
        !seen.iter().any(|k| matches!(k, EventKind::Exited { .. })),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|k| matches!(k, EventKind::ProbeFailed { consecutive: 2, .. }))
    );
    assert!(
        !seen
            .iter()
            .any(|k| matches!(k, EventKind::ProbeFailed { consecutive: 3, .. }))
    );
    sup.stop().unwrap();
}

#[test]
fn an_exec_probe_follows_its_commands_exit_status() {
    let (dir, _) = config("agent-probe-exec-file");
    let alive = dir.path().join("alive");
    std::fs::write(&alive, "").unwrap();
    let action = ProbeAction::Exec(vec![
        "test".into(),
        "-e".into(),
        alive.display().to_string(),
    ]);
    let (_dir, sup, events) = probed_pod("agent-probe-exec", probe(action.clone()));
    next_start(&events);
    assert_eq!(check(&action, Duration::from_secs(5)), Ok(()));
    no_failure_yet(&events);
    std::fs::remove_file(&alive).unwrap();
    killed_after_three_failures(&events, |f| *f == ProbeFailure::ExitStatus(Some(1)));
    sup.stop().unwrap();
}

#[test]
fn one_check_of_each_kind() {
    let t = Duration::from_secs(5);
    let sh = |s: &str| ProbeAction::Exec(vec!["sh".into(), "-c".into(), s.into()]);
    assert_eq!(check(&sh("exit 0"), t), Ok(()));
    assert_eq!(
        check(&sh("exit 4"), t),
        Err(ProbeFailure::ExitStatus(Some(4)))
    );
    assert_eq!(
        check(&sh("kill -9 $$"), t),
        Err(ProbeFailure::ExitStatus(None))
    );
    assert!(matches!(
        check(&ProbeAction::Exec(vec!["/nonexistent".into()]), t),
        Err(ProbeFailure::Spawn(_))
    ));
    // A command that outlives its timeout fails, and is killed with its group.
    assert_eq!(check(&sh("sleep 300"), MS(100)), Err(ProbeFailure::Timeout));

    for (status, want) in [
        (204, Ok(())),
        (301, Ok(())),
        (404, Err(ProbeFailure::HttpStatus(404))),
        (503, Err(ProbeFailure::HttpStatus(503))),
    ] {
        let server = Server::start(move |_| http(status));
        let get = ProbeAction::HttpGet {
            port: server.port,
            path: "/".into(),
        };
        assert_eq!(check(&get, t), want, "status {status}");
    }
    let garbage = Server::start(|_| Some(b"SSH-2.0-nope\r\n".to_vec()));
    let get = ProbeAction::HttpGet {
        port: garbage.port,
        path: "/".into(),
    };
    assert_eq!(check(&get, t), Err(ProbeFailure::NotHttp));
    // Accepts and never answers: the check's own timeout ends it.
    let (hold, held) = mpsc::channel::<()>();
    let silent = Server::start(move |_| {
        let _ = held.recv_timeout(PATIENCE);
        None
    });
    let get = ProbeAction::HttpGet {
        port: silent.port,
        path: "/".into(),
    };
    assert_eq!(check(&get, MS(200)), Err(ProbeFailure::Timeout));
    drop(hold);
}
