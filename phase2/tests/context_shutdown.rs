//! Shutdown is real: the exercise's TCP service runs as a child process (`exercise4 serve`), slow
//! requests are kept in flight, the process gets a SIGTERM, and every accepted request must get its
//! answer and the process must exit 0 within the drain deadline (plus a margin for a loaded machine).
#![cfg(not(loom))]
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use harness::watchdog::within;

const BIN: &str = env!("CARGO_BIN_EXE_exercise4");
/// Slack over the drain deadline for process exit on a loaded 2-core machine (a hang bound, not a
/// performance claim: a correct service exits right at the drain deadline).
const MARGIN: Duration = Duration::from_secs(5);

/// The service as a child process, killed if a test fails before it exits.
struct Service {
    child: Child,
    addr: SocketAddr,
    out: BufReader<std::process::ChildStdout>,
}

impl Service {
    fn start(drain: Duration) -> Service {
        let mut child = Command::new(BIN)
            .args(["serve", &drain.as_millis().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start exercise4 serve");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("first line");
        let port: u16 = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("expected `listening <port>`, got {line:?}"));
        Service {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            out,
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: `kill` has no memory-safety preconditions; the pid is our own live child (not yet
        // reaped, so it cannot have been reused).
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Polls for the exit until `limit`; kills the child and panics if it is still running.
    fn exit_within(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status, t0.elapsed());
            }
            if t0.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the service did not exit within {limit:?} of the signal");
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn report(&mut self) -> String {
        let mut rest = String::new();
        for line in (&mut self.out).lines() {
            rest.push_str(&line.expect("stdout line"));
            rest.push('\n');
        }
        rest
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One blocking client: sends `work_ms`, reports the ACK on `acked`, returns the final answer line
/// (`None` if there was no ACK, `Some("")` if the connection ended after the ACK without an answer).
fn client(addr: SocketAddr, work_ms: u64, acked: mpsc::Sender<()>) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    writeln!(s, "{work_ms}").ok()?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    if !line.starts_with("ACK ") {
        return None;
    }
    acked.send(()).ok()?;
    line.clear();
    let _ = r.read_line(&mut line);
    Some(line.trim().to_string())
}

fn field(report: &str, key: &str) -> String {
    report
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {report:?}"))
        .to_string()
}

#[test]
fn sigterm_drains_in_flight_requests_then_cancels_the_rest_and_exits_0() {
    within(Duration::from_secs(60), || {
        let drain = Duration::from_millis(1500);
        let mut svc = Service::start(drain);
        let (ack_tx, ack_rx) = mpsc::channel();
        // 5 slow requests that fit in the drain window, 2 that cannot.
        let works = [600, 600, 600, 600, 600, 60_000, 60_000];
        let clients: Vec<_> = works
            .iter()
            .map(|&w| {
                let tx = ack_tx.clone();
                let addr = svc.addr;
                thread::spawn(move || client(addr, w, tx))
            })
            .collect();
        for _ in &works {
            ack_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("every request acknowledged before the signal");
        }
        svc.signal(libc::SIGTERM);
        // The bound on the exit is `exit_within`'s: it fails the test past drain + MARGIN (a
        // service that waits for the 60 s requests instead of cancelling them at the deadline).
        let (status, _) = svc.exit_within(drain + MARGIN);
        let report = svc.report();
        let answers: Vec<Option<String>> = clients.into_iter().map(|c| c.join().unwrap()).collect();

        assert!(
            status.success(),
            "exit status {status:?}, report {report:?}"
        );
        for (w, a) in works.iter().zip(&answers) {
            let a = a.as_deref().expect("acknowledged");
            let want = if *w < 1500 { "DONE " } else { "CANCELLED " };
            assert!(
                a.starts_with(want),
                "work {w} ms: answer {a:?}, want {want}…"
            );
        }
        assert_eq!(field(&report, "accepted"), "7", "{report}");
        assert_eq!(field(&report, "completed"), "5", "{report}");
        assert_eq!(field(&report, "cancelled"), "2", "{report}");
        assert_eq!(field(&report, "drained_in_time"), "false", "{report}");
    });
}

#[test]
fn sigterm_with_short_requests_drains_them_all_and_refuses_new_connections() {
    within(Duration::from_secs(60), || {
        let drain = Duration::from_secs(3);
        let mut svc = Service::start(drain);
        let (ack_tx, ack_rx) = mpsc::channel();
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let tx = ack_tx.clone();
                let addr = svc.addr;
                thread::spawn(move || client(addr, 300, tx))
            })
            .collect();
        for _ in 0..4 {
            ack_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("acknowledged");
        }
        svc.signal(libc::SIGTERM);
        // Once the listener is gone, connections are refused (while the drain still runs).
        let t0 = Instant::now();
        let refused = loop {
            match TcpStream::connect(svc.addr) {
                Err(_) => break true,
                Ok(_) if t0.elapsed() > Duration::from_secs(2) => break false,
                Ok(_) => thread::sleep(Duration::from_millis(5)),
            }
        };
        let (status, _) = svc.exit_within(drain + MARGIN);
        let report = svc.report();
        assert!(refused, "a connection was still accepted 2 s after SIGTERM");
        assert!(status.success(), "{status:?} {report}");
        for c in clients {
            let a = c.join().unwrap().expect("acknowledged");
            assert!(a.starts_with("DONE "), "{a:?}");
        }
        assert_eq!(field(&report, "accepted"), "4", "{report}");
        assert_eq!(field(&report, "completed"), "4", "{report}");
        assert_eq!(field(&report, "drained_in_time"), "true", "{report}");
    });
}

#[test]
fn sigint_on_an_idle_service_exits_0_at_once() {
    within(Duration::from_secs(30), || {
        let drain = Duration::from_secs(10);
        // Nothing in flight: no reason to wait for the drain. `exit_within` is the check (it fails
        // the test past MARGIN), which means something only while MARGIN is below the drain.
        assert!(
            MARGIN < drain,
            "MARGIN must stay below the drain for this test to check it"
        );
        let mut svc = Service::start(drain);
        svc.signal(libc::SIGINT);
        let (status, _) = svc.exit_within(MARGIN);
        assert!(status.success(), "{status:?}");
        assert!(svc.report().contains("accepted=0"));
    });
}

#[test]
fn serve_rejects_a_bad_drain_argument() {
    let out = Command::new(BIN)
        .args(["serve", "soon"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
