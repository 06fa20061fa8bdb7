//! The node agent's process supervisor: pods as real child processes.
//!
//! Go's `os/exec` with `SysProcAttr{Setpgid: true}` and a goroutine per child is how a Go kubelet-like
//! agent runs processes; here a [`Supervisor`] is a thread per pod that owns a
//! [`std::process::Child`] started in its own process group. It captures stdout and stderr into a
//! capped log file, restarts the process per the pod's [`RestartPolicy`](crate::RestartPolicy) with
//! CrashLoopBackOff ([`Backoff`], [`CrashLoop`]), runs its liveness probe ([`check`]), reports
//! [`PodEvent`]s on a channel and a [`PodRuntimeStatus`] snapshot, and stops it with SIGTERM, a grace
//! period and SIGKILL to the whole group, reaping everything, when told or dropped.
//!
//! ```
//! use std::sync::mpsc;
//! use std::time::Duration;
//! use tinykube::{Pod, PodSpec};
//! use tinykube::agent::{Backoff, EventKind, Supervisor, SupervisorConfig};
//!
//! let dir = std::env::temp_dir().join(format!("tinykube-doc-agent-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let mut config = SupervisorConfig::new(&dir);
//! config.backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(20), Duration::from_secs(60));
//! let (events, seen) = mpsc::channel();
//! // `restartPolicy: Always` (the default): a process that exits is started again, later each time.
//! let pod = Supervisor::start(&Pod::new("flaky", PodSpec::new(["sh", "-c", "exit 3"])), config, events)?;
//! let delays: Vec<Duration> = seen.iter()
//!     .filter_map(|e| match e.kind { EventKind::Restarting { after, .. } => Some(after), _ => None })
//!     .take(4)
//!     .collect();
//! assert_eq!(delays, [5, 10, 20, 20].map(Duration::from_millis));
//! pod.stop()?; // nothing of it is left running
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`NodeAgent`] is the loop around the supervisors: it renews the node's lease, watches the store
//! for the pods bound to its node, supervises each, and writes their status back.
use std::io;
use std::path::PathBuf;

mod backoff;
mod logs;
mod node;
mod probe;
mod process;
mod status;
mod supervisor;

pub use backoff::{Backoff, CrashLoop};
pub use logs::read_log;
pub use node::{
    AgentReport, CRASH_LOOP_ON_NODE, NODE_ENV, NodeAgent, NodeAgentConfig, NodeAgentError, POD_ENV,
    START_FAILED,
};
pub use probe::{LivenessProbe, ProbeFailure, check};
pub use process::{become_subreaper, group_alive};
pub use status::{EventKind, ExitStatus, PodEvent, PodRuntimeStatus, RuntimePhase};
pub use supervisor::{Supervisor, SupervisorConfig};

/// What can go wrong supervising a pod.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The pod's name cannot name a log file.
    #[error("pod name {0:?} cannot name a log file")]
    BadName(String),
    /// The log file could not be opened.
    #[error("log file {path}: {source}")]
    Log {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start the supervisor thread: {0}")]
    Thread(io::Error),
    /// Signalling or waiting for the process group failed.
    #[error("process group {pgid}: {source}")]
    Signal {
        /// The group.
        pgid: u32,
        /// Why.
        source: io::Error,
    },
    /// The pod's first process did not exit after SIGKILL within the kill timeout.
    #[error("process {pid} did not exit after SIGKILL")]
    NotReaped {
        /// Its pid.
        pid: u32,
    },
    /// Members of the group were still there after the kill timeout (a zombie whose reaper does
    /// not reap: see [`become_subreaper`]).
    #[error("process group {pgid} still has members after SIGKILL")]
    GroupLingers {
        /// The group.
        pgid: u32,
    },
    /// The supervisor thread panicked.
    #[error("the supervisor thread panicked")]
    Panicked,
}
