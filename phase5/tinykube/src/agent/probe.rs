//! Liveness probes: is the pod's process still doing its job? An exec probe runs a command (alive on
//! exit 0), a TCP probe connects to a loopback port, an HTTP probe sends a GET and wants a 2xx or 3xx
//! status. Each check has a timeout; a pod whose probe fails `failure_threshold` times in a row is
//! killed and restarted per its policy, as the kubelet does.
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::objects::{Probe, ProbeAction};

use super::process::{end_run, has_exited, in_own_group};

/// A liveness probe with its timing as durations (a manifest counts seconds; tests use
/// milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivenessProbe {
    /// What a check does.
    pub action: ProbeAction,
    /// Wait before the first check.
    pub initial_delay: Duration,
    /// Time between checks.
    pub period: Duration,
    /// A check not done within this fails.
    pub timeout: Duration,
    /// Failures in a row that kill the run (at least 1).
    pub failure_threshold: u32,
}

impl LivenessProbe {
    /// The probe a manifest describes, with `timeout` per check (Kubernetes' default is 1 s); `None`
    /// if it names no single action.
    pub fn from_probe(probe: &Probe, timeout: Duration) -> Option<LivenessProbe> {
        Some(LivenessProbe {
            action: probe.action()?,
            initial_delay: Duration::from_secs(probe.initial_delay_seconds.into()),
            period: Duration::from_secs(probe.period_seconds.into()),
            timeout,
            failure_threshold: probe.failure_threshold.max(1),
        })
    }
}

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeFailure {
    /// The exec probe's command exited non-zero (or by a signal: `None`).
    #[error("probe command exited with {0:?}")]
    ExitStatus(Option<i32>),
    /// The exec probe's command could not start.
    #[error("probe command did not start: {0}")]
    Spawn(io::ErrorKind),
    /// Nothing accepted the connection (or the exchange failed).
    #[error("connection failed: {0}")]
    Connect(io::ErrorKind),
    /// The HTTP answer's status was not 2xx or 3xx.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The HTTP answer did not start with a status line.
    #[error("not an HTTP response")]
    NotHttp,
    /// The check took longer than its timeout.
    #[error("timed out")]
    Timeout,
}

/// Runs one check of `action` within `timeout`.
///
/// ```
/// use std::net::TcpListener;
/// use std::time::Duration;
/// use tinykube::ProbeAction;
/// use tinykube::agent::{check, ProbeFailure};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let port = listener.local_addr()?.port();
/// assert_eq!(check(&ProbeAction::TcpSocket(port), Duration::from_secs(5)), Ok(()));
/// drop(listener);
/// assert!(matches!(check(&ProbeAction::TcpSocket(port), Duration::from_secs(5)), Err(ProbeFailure::Connect(_))));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn check(action: &ProbeAction, timeout: Duration) -> Result<(), ProbeFailure> {
    let deadline = Instant::now() + timeout;
    match action {
        ProbeAction::Exec(command) => exec(command, deadline),
        ProbeAction::TcpSocket(port) => connect(*port, timeout).map(drop),
        ProbeAction::HttpGet { port, path } => http_get(*port, path, deadline),
    }
}

fn exec(command: &[String], deadline: Instant) -> Result<(), ProbeFailure> {
    let Some((program, args)) = command.split_first() else {
        return Err(ProbeFailure::Spawn(io::ErrorKind::InvalidInput));
    };
    let mut child = in_own_group(Command::new(program).args(args))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ProbeFailure::Spawn(e.kind()))?;
    loop {
        let exited = has_exited(&child).map_err(|e| ProbeFailure::Spawn(e.kind()))?;
        if exited || Instant::now() >= deadline {
            // Reaps the command and kills whatever it left in its group (all of it, on a timeout).
            let status = end_run(&mut child, Duration::ZERO, Duration::from_secs(5))
                .map_err(|_| ProbeFailure::Timeout)?;
            return match (exited, status) {
                (false, _) => Err(ProbeFailure::Timeout),
                (true, s) if s.success() => Ok(()),
                (true, super::ExitStatus::Code(code)) => Err(ProbeFailure::ExitStatus(Some(code))),
                (true, _) => Err(ProbeFailure::ExitStatus(None)),
            };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn connect(port: u16, timeout: Duration) -> Result<TcpStream, ProbeFailure> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, timeout.max(Duration::from_millis(1))).map_err(io_failure)
}

fn io_failure(e: io::Error) -> ProbeFailure {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ProbeFailure::Timeout,
        kind => ProbeFailure::Connect(kind),
    }
}

/// `GET path HTTP/1.1` with `Connection: close`; reads the status line only.
fn http_get(port: u16, path: &str, deadline: Instant) -> Result<(), ProbeFailure> {
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(ProbeFailure::Timeout)
    };
    let mut stream = connect(port, remaining()?)?;
    stream
        .set_write_timeout(Some(remaining()?))
        .map_err(io_failure)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: tinykube-probe\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io_failure)?;
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    // The status line is `HTTP/1.x NNN reason\r\n`; 12 bytes name the status.
    while head.len() < 12 {
        stream
            .set_read_timeout(Some(remaining()?))
            .map_err(io_failure)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_failure(e)),
        }
    }
    let status = parse_status(&head).ok_or(ProbeFailure::NotHttp)?;
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(ProbeFailure::HttpStatus(status))
    }
}

/// The status code of an HTTP/1.x status line.
fn parse_status(head: &[u8]) -> Option<u16> {
    let rest = head.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    if rest.get(1) != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_status;

    #[test]
    fn status_lines() {
        let cases: [(&[u8], Option<u16>); 6] = [
            (b"HTTP/1.1 200 OK\r\n", Some(200)),
            (b"HTTP/1.0 302 Found\r\n", Some(302)),
            (b"HTTP/1.1 503", Some(503)),
            (b"HTTP/1.1 20", None),
            (b"SSH-2.0-OpenSSH\r\n", None),
            (b"HTTP/1.1 2x0 OK\r\n", None),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse_status(line),
                want,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
