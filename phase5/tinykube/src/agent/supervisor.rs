//! One pod's supervisor: a thread that starts the pod's process, watches it, probes it, restarts it
//! per its policy with CrashLoopBackOff, and stops it (SIGTERM, grace, SIGKILL) when told or dropped.
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use shim::clock::{Clock, SystemClock};

use crate::objects::{Pod, PodSpec, RestartPolicy};

use super::AgentError;
use super::backoff::{Backoff, CrashLoop};
use super::logs::{PodLog, pump};
use super::probe::{LivenessProbe, check};
use super::process::{end_run, has_exited, in_own_group};
use super::status::{EventKind, ExitStatus, PodEvent, PodRuntimeStatus, RuntimePhase};

/// How a supervisor runs its pod. Defaults are the kubelet's where it has one.
#[derive(Clone)]
pub struct SupervisorConfig {
    /// Directory of the log files (`<pod>.log`, rotated to `<pod>.log.1`).
    pub log_dir: PathBuf,
    /// Bytes per log file before rotation (10 MiB, the kubelet's `containerLogMaxSize`).
    pub log_cap: u64,
    /// Time between SIGTERM and SIGKILL (30 s, `terminationGracePeriodSeconds`).
    pub grace: Duration,
    /// How long a killed process group may take to disappear before stop reports it (5 s).
    pub kill_timeout: Duration,
    /// The restart delays (10 s doubling to 300 s, reset after 10 minutes).
    pub backoff: Backoff,
    /// Timeout of each liveness check of a manifest's probe (1 s).
    pub probe_timeout: Duration,
    /// Replaces the pod's own liveness probe (tests probe every few milliseconds).
    pub liveness: Option<LivenessProbe>,
    /// How often the supervisor looks at its process and its mailbox (10 ms).
    pub poll: Duration,
    /// The clock that run lengths and backoff delays are measured on (a virtual clock in tests);
    /// probe periods and timeouts, the grace period and the kill timeout are real time.
    pub clock: Arc<dyn Clock>,
}

impl SupervisorConfig {
    /// The defaults, logging into `log_dir`.
    pub fn new(log_dir: impl Into<PathBuf>) -> SupervisorConfig {
        SupervisorConfig {
            log_dir: log_dir.into(),
            log_cap: 10 << 20,
            grace: Duration::from_secs(30),
            kill_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
            probe_timeout: Duration::from_secs(1),
            liveness: None,
            poll: Duration::from_millis(10),
            clock: Arc::new(SystemClock::new()),
        }
    }
}

impl fmt::Debug for SupervisorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorConfig")
            .field("log_dir", &self.log_dir)
            .field("log_cap", &self.log_cap)
            .field("grace", &self.grace)
            .field("kill_timeout", &self.kill_timeout)
            .field("backoff", &self.backoff)
            .field("probe_timeout", &self.probe_timeout)
            .field("liveness", &self.liveness)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// What the supervisor's thread is told.
enum Order {
    /// Stop the pod for good.
    Stop,
    /// The liveness probe of run `run` reached its failure threshold.
    ProbeKill { run: u32 },
}

/// Runs one pod's process until stopped; dropping it stops the pod.
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use tinykube::{Pod, PodSpec, RestartPolicy};
/// use tinykube::agent::{read_log, EventKind, ExitStatus, Supervisor, SupervisorConfig};
///
/// let dir = std::env::temp_dir().join(format!("tinykube-doc-sup-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let mut spec = PodSpec::new(["sh", "-c", "echo hello from $WHO"]);
/// spec.env.insert("WHO".into(), "the pod".into());
/// spec.restart_policy = RestartPolicy::Never;
/// let (events, seen) = mpsc::channel();
/// let pod = Supervisor::start(&Pod::new("hello", spec), SupervisorConfig::new(&dir), events)?;
/// let exited = seen.iter().find(|e| matches!(e.kind, EventKind::Exited { .. })).unwrap();
/// assert!(matches!(exited.kind, EventKind::Exited { status: ExitStatus::Code(0), .. }));
/// pod.stop()?;
/// assert_eq!(read_log(&dir.join("hello.log"))?, b"hello from the pod\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Supervisor {
    name: String,
    mailbox: Sender<Order>,
    status: Arc<Mutex<PodRuntimeStatus>>,
    thread: Option<JoinHandle<Result<(), AgentError>>>,
    log_path: PathBuf,
}

impl fmt::Debug for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Order::Stop => f.write_str("Stop"),
            Order::ProbeKill { run } => write!(f, "ProbeKill({run})"),
        }
    }
}

impl Supervisor {
    /// Starts supervising `pod`: opens its log, then starts its process on a thread of its own.
    /// Events go to `events` (a closed receiver is ignored).
    pub fn start(
        pod: &Pod,
        config: SupervisorConfig,
        events: Sender<PodEvent>,
    ) -> Result<Supervisor, AgentError> {
        let name = pod.metadata.name.clone();
        if name.is_empty() || name.contains(['/', '\0']) || name == "." || name == ".." {
            return Err(AgentError::BadName(name));
        }
        let log_path = config.log_dir.join(format!("{name}.log"));
        let log =
            PodLog::open(log_path.clone(), config.log_cap).map_err(|source| AgentError::Log {
                path: log_path.clone(),
                source,
            })?;
        let liveness = config.liveness.clone().or_else(|| {
            let probe = pod.spec.liveness_probe.as_ref()?;
            LivenessProbe::from_probe(probe, config.probe_timeout)
        });
        let status = Arc::new(Mutex::new(PodRuntimeStatus::starting()));
        let (mailbox, inbox) = mpsc::channel();
        let run = Run {
            name: name.clone(),
            spec: pod.spec.clone(),
            log: Arc::new(Mutex::new(log)),
            liveness,
            status: status.clone(),
            events,
            inbox,
            mailbox: mailbox.clone(),
            crash_loop: CrashLoop::new(config.backoff),
            config,
        };
        let thread = thread::Builder::new()
            .name(format!("tinykube-pod-{name}"))
            .spawn(move || run.supervise())
            .map_err(AgentError::Thread)?;
        Ok(Supervisor {
            name,
            mailbox,
            status,
            thread: Some(thread),
            log_path,
        })
    }

    /// The pod's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A snapshot of the pod's status.
    pub fn status(&self) -> PodRuntimeStatus {
        lock(&self.status).clone()
    }

    /// The pod's log file (`read_log` also reads its rotated part).
    pub fn log_path(&self) -> &std::path::Path {
        &self.log_path
    }

    /// Stops the pod: SIGTERM to its process group, the grace period, SIGKILL, reaped; returns once
    /// no process of the group is left (or with the error saying what is).
    pub fn stop(mut self) -> Result<(), AgentError> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result<(), AgentError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // Fails only if the thread has ended already (a pod that will not restart): nothing to stop.
        let _ = self.mailbox.send(Order::Stop);
        thread.join().unwrap_or(Err(AgentError::Panicked))
    }
}

impl Drop for Supervisor {
    /// Stops the pod (as [`Supervisor::stop`], the error dropped).
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

/// Locks `m`, taking a poisoned lock over (its holders leave it consistent).
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The supervisor thread's state.
struct Run {
    name: String,
    spec: PodSpec,
    log: Arc<Mutex<PodLog>>,
    liveness: Option<LivenessProbe>,
    status: Arc<Mutex<PodRuntimeStatus>>,
    events: Sender<PodEvent>,
    inbox: Receiver<Order>,
    /// Given to probe threads, which report a threshold reached.
    mailbox: Sender<Order>,
    crash_loop: CrashLoop,
    config: SupervisorConfig,
}

/// How one run ended.
enum RunEnd {
    /// By itself, or killed by its liveness probe.
    Exited(ExitStatus),
    /// Stopped on request; the supervisor is done.
    Stopped,
}

impl Run {
    fn emit(&self, kind: EventKind) {
        // A closed receiver: nobody listens any more; the pod still runs.
        let _ = self.events.send(PodEvent {
            pod: self.name.clone(),
            at: self.config.clock.now(),
            kind,
        });
    }

    fn set(&self, f: impl FnOnce(&mut PodRuntimeStatus)) {
        f(&mut lock(&self.status));
    }

    fn supervise(mut self) -> Result<(), AgentError> {
        let mut run_number = 0u32;
        loop {
            run_number += 1;
            let started = self.config.clock.now();
            let end = match self.spawn() {
                Ok((child, pumped)) => self.watch(child, pumped, run_number)?,
                Err(e) => RunEnd::Exited(ExitStatus::SpawnFailed(e.kind())),
            };
            let status = match end {
                RunEnd::Stopped => {
                    self.set(|s| {
                        s.phase = RuntimePhase::Stopped;
                        s.pid = None;
                        s.ready = false;
                    });
                    self.emit(EventKind::Stopped);
                    return Ok(());
                }
                RunEnd::Exited(status) => status,
            };
            let ran = self.config.clock.now().saturating_sub(started);
            self.emit(EventKind::Exited { status, ran });
            let restart = match self.spec.restart_policy {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => !status.success(),
                RestartPolicy::Never => false,
            };
            self.set(|s| {
                s.pid = None;
                s.ready = false;
                s.last_exit = Some(status);
                s.phase = match (restart, status.success()) {
                    (true, _) => RuntimePhase::BackOff,
                    (false, true) => RuntimePhase::Succeeded,
                    (false, false) => RuntimePhase::Failed,
                };
            });
            if !restart {
                return Ok(()); // Nothing runs; a later stop has nothing to do.
            }
            let after = self.crash_loop.on_exit(ran);
            let restarts = lock(&self.status).restarts + 1;
            // The deadline is fixed before the event goes out: whoever reacts to the event (a
            // test advancing a virtual clock) cannot move time under it.
            let until = self.config.clock.now() + after;
            self.emit(EventKind::Restarting {
                restart: restarts,
                after,
            });
            if self.back_off(until) {
                self.set(|s| s.phase = RuntimePhase::Stopped);
                self.emit(EventKind::Stopped);
                return Ok(());
            }
            self.set(|s| {
                s.restarts = restarts;
                s.phase = RuntimePhase::Starting;
            });
            let mut log = lock(&self.log);
            // A full disk loses the marker, not the pod.
            let _ = log.marker(&format!("restart {restarts} after {status}"));
        }
    }

    /// Waits until `until` on the clock, looking at the mailbox every `poll` (and at least once, so
    /// a zero delay still hears a stop); true if told to stop.
    fn back_off(&self, until: Duration) -> bool {
        loop {
            let wait = until.saturating_sub(self.config.clock.now());
            match self.inbox.recv_timeout(wait.min(self.config.poll)) {
                Ok(Order::Stop) | Err(RecvTimeoutError::Disconnected) => return true,
                Ok(Order::ProbeKill { .. }) | Err(RecvTimeoutError::Timeout) => {}
            }
            if self.config.clock.now() >= until {
                return false;
            }
        }
    }

    /// Starts the process with its output piped into the log.
    fn spawn(&self) -> io::Result<(Child, Pumped)> {
        let (reader, writer) = io::pipe()?;
        let (program, leading) = self
            .spec
            .command
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let child = {
            let mut command = Command::new(program);
            command
                .args(leading)
                .args(&self.spec.args)
                .envs(&self.spec.env)
                .stdin(Stdio::null())
                .stdout(writer.try_clone()?)
                .stderr(writer);
            in_own_group(&mut command).spawn()?
            // `command` drops here with our copies of the pipe's write end, so the pump sees
            // end-of-file once the pod's processes have all closed theirs.
        };
        let (done, finished) = mpsc::channel::<()>();
        let handle = match pump(reader, self.log.clone(), &self.name, done) {
            Ok(handle) => handle,
            Err(e) => {
                let mut child = child;
                let _ = end_run(&mut child, Duration::ZERO, self.config.kill_timeout);
                return Err(e);
            }
        };
        Ok((child, Pumped { finished, handle }))
    }

    /// Watches a run until it exits, its probe kills it, or a stop comes.
    fn watch(&self, mut child: Child, pumped: Pumped, run: u32) -> Result<RunEnd, AgentError> {
        let pid = child.id();
        self.set(|s| {
            s.phase = RuntimePhase::Running;
            s.pid = Some(pid);
            s.ready = true;
        });
        self.emit(EventKind::Started { pid });
        let prober = self
            .liveness
            .clone()
            .map(|probe| self.start_prober(probe, run));
        let end = loop {
            match self.inbox.recv_timeout(self.config.poll) {
                Ok(Order::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    end_run(&mut child, self.config.grace, self.config.kill_timeout)?;
                    break RunEnd::Stopped;
                }
                Ok(Order::ProbeKill { run: r }) if r == run => {
                    let status = end_run(&mut child, self.config.grace, self.config.kill_timeout)?;
                    break RunEnd::Exited(status);
                }
                Ok(Order::ProbeKill { .. }) | Err(RecvTimeoutError::Timeout) => {
                    let exited = has_exited(&child)
                        .map_err(|source| AgentError::Signal { pgid: pid, source })?;
                    if exited {
                        // Reap it, and kill what it left behind in its group.
                        let status = end_run(&mut child, Duration::ZERO, self.config.kill_timeout)?;
                        break RunEnd::Exited(status);
                    }
                }
            }
        };
        if let Some(prober) = prober {
            prober.stop();
        }
        // The group is gone, so the pipe's writers are closed and the pump ends promptly.
        pumped.join_within(self.config.kill_timeout);
        Ok(end)
    }

    fn start_prober(&self, probe: LivenessProbe, run: u32) -> Prober {
        let (stop, stopped) = mpsc::channel::<()>();
        let mailbox = self.mailbox.clone();
        let events = self.events.clone();
        let status = self.status.clone();
        let name = self.name.clone();
        let clock = self.config.clock.clone();
        let handle = thread::Builder::new()
            .name(format!("tinykube-probe-{name}"))
            .spawn(move || {
                // Sleeps that a stop cuts short: true when told to stop.
                let wait = |d: Duration| {
                    !matches!(stopped.recv_timeout(d), Err(RecvTimeoutError::Timeout))
                };
                if wait(probe.initial_delay) {
                    return;
                }
                let mut consecutive = 0;
                loop {
                    let started = Instant::now();
                    match check(&probe.action, probe.timeout) {
                        Ok(()) => {
                            consecutive = 0;
                            lock(&status).ready = true;
                        }
                        Err(failure) => {
                            consecutive += 1;
                            lock(&status).ready = false;
                            let _ = events.send(PodEvent {
                                pod: name.clone(),
                                at: clock.now(),
                                kind: EventKind::ProbeFailed {
                                    consecutive,
                                    failure,
                                },
                            });
                            if consecutive >= probe.failure_threshold {
                                let _ = mailbox.send(Order::ProbeKill { run });
                                return;
                            }
                        }
                    }
                    if wait(probe.period.saturating_sub(started.elapsed())) {
                        return;
                    }
                }
            });
        Prober {
            stop,
            handle: handle.ok(),
        }
    }
}

/// A run's log pump, joined with a deadline.
struct Pumped {
    /// Disconnects when the pump has finished.
    finished: Receiver<()>,
    handle: JoinHandle<()>,
}

impl Pumped {
    fn join_within(self, limit: Duration) {
        if let Err(RecvTimeoutError::Disconnected) = self.finished.recv_timeout(limit) {
            let _ = self.handle.join();
        }
        // Else a process outside the group holds the pipe open (it left the group with setsid):
        // the pump stays behind, detached, until that process closes it.
    }
}

/// A run's probe thread.
struct Prober {
    stop: Sender<()>,
    handle: Option<JoinHandle<()>>,
}

impl Prober {
    /// Stops probing; returns once the thread has (a check in flight ends within its timeout).
    fn stop(self) {
        drop(self.stop);
        if let Some(handle) = self.handle {
            let _ = handle.join();
        }
    }
}
