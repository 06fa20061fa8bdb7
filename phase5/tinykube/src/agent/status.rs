//! What a supervisor reports: events as they happen, and a snapshot an agent loop writes to the store.
use std::fmt;
use std::io;
use std::time::Duration;

use super::probe::ProbeFailure;

/// How one run of a pod's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it (15: SIGTERM, 9: SIGKILL).
    Signal(i32),
    /// The program could not be started (not found, not executable, …).
    SpawnFailed(io::ErrorKind),
}

impl ExitStatus {
    /// Exit code 0: what `OnFailure` does not restart.
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }

    pub(crate) fn from_std(status: std::process::ExitStatus) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => ExitStatus::Code(code),
            (None, Some(signal)) => ExitStatus::Signal(signal),
            // Neither exited nor signalled: only for a stopped or continued child, which `wait`
            // does not report.
            (None, None) => ExitStatus::Signal(0),
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(code) => write!(f, "exit code {code}"),
            ExitStatus::Signal(signal) => write!(f, "signal {signal}"),
            ExitStatus::SpawnFailed(kind) => write!(f, "not started ({kind})"),
        }
    }
}

/// Where a supervised pod is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimePhase {
    /// Its process is being started.
    Starting,
    /// Its process runs.
    Running,
    /// Its process ended and will be restarted after a delay (Kubernetes' CrashLoopBackOff).
    BackOff,
    /// Its process exited 0 and the policy does not restart it.
    Succeeded,
    /// Its process failed and the policy does not restart it.
    Failed,
    /// It was stopped; no process of it is left.
    Stopped,
}

/// A snapshot of a supervised pod, as an agent loop would write it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRuntimeStatus {
    /// The phase.
    pub phase: RuntimePhase,
    /// The pid (and process group) of the running process.
    pub pid: Option<u32>,
    /// Restarts since the supervisor started.
    pub restarts: u32,
    /// How the last run ended.
    pub last_exit: Option<ExitStatus>,
    /// Running, and its liveness probe (if any) did not fail its last check.
    pub ready: bool,
}

impl PodRuntimeStatus {
    pub(crate) fn starting() -> PodRuntimeStatus {
        PodRuntimeStatus {
            phase: RuntimePhase::Starting,
            pid: None,
            restarts: 0,
            last_exit: None,
            ready: false,
        }
    }
}

/// Something that happened to a supervised pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodEvent {
    /// The pod's name.
    pub pod: String,
    /// When, on the supervisor's clock.
    pub at: Duration,
    /// What.
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A run began; `pid` is also its process group.
    Started {
        /// The process (and group) id.
        pid: u32,
    },
    /// A run ended (or could not start).
    Exited {
        /// How.
        status: ExitStatus,
        /// How long it ran, on the supervisor's clock.
        ran: Duration,
    },
    /// A liveness check failed; at `threshold` in a row the run is killed.
    ProbeFailed {
        /// Failures in a row, this one included.
        consecutive: u32,
        /// Why it failed.
        failure: ProbeFailure,
    },
    /// The pod will be started again after `after` (restart number `restart`).
    Restarting {
        /// Restarts so far, this one included.
        restart: u32,
        /// The backoff delay.
        after: Duration,
    },
    /// The supervisor stopped the pod; its process group is gone.
    Stopped,
}
