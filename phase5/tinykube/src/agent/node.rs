//! The node agent's loop: the kubelet's sync loop, over the store.
//!
//! A Go kubelet runs an informer on the pods bound to its node and a `syncPod` per pod, renews its
//! node `Lease`, and patches each pod's status; here a [`NodeAgent`] is one thread that renews the
//! node's [`NodeHeartbeat`], lists then watches `/pods/` (relisting when the watch is compacted),
//! starts a [`Supervisor`] for each pod bound to its node and stops it when the pod is deleted or
//! bound elsewhere, and writes each pod's [`PodStatus`] back by compare-and-swap on the status key.
//! A pod that keeps crashing on this node (more than [`NodeAgentConfig::crash_limit`] restarts in
//! one crash loop) is stopped and marked `Failed` with the reason [`CRASH_LOOP_ON_NODE`], so its
//! replica set replaces it.
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use shim::clock::{Clock, SystemClock};

use crate::controller::{NodeHeartbeat, Timings, status_key};
use crate::objects::{Pod, PodPhase, PodSpec, PodStatus};
use crate::scheduler::pod_key;
use crate::store::{Event, Expect, KeyValue, Store, StoreError};

use super::AgentError;
use super::status::{EventKind, ExitStatus, PodEvent, PodRuntimeStatus, RuntimePhase};
use super::supervisor::{Supervisor, SupervisorConfig, lock};

/// The reason an agent writes on a pod it gave up on after too many restarts on its node.
pub const CRASH_LOOP_ON_NODE: &str = "CrashLoopOnNode";

/// The reason an agent writes on a pod it could not start a supervisor for (its log file could
/// not be opened, its name cannot name one).
pub const START_FAILED: &str = "StartFailed";

/// The environment variable a pod's process finds its node's name in (Kubernetes' downward API
/// gives `spec.nodeName` the same way).
pub const NODE_ENV: &str = "TINYKUBE_NODE";

/// The environment variable a pod's process finds its own name in.
pub const POD_ENV: &str = "TINYKUBE_POD";

/// How a node agent runs; Kubernetes' timings by default.
#[derive(Clone)]
pub struct NodeAgentConfig {
    /// How each pod is supervised (log directory, grace period, backoff curve).
    pub supervisor: SupervisorConfig,
    /// The node lease's TTL (40 s).
    pub lease_ttl: Duration,
    /// How often the lease is renewed (10 s).
    pub lease_renew: Duration,
    /// Restarts in one crash loop after which the agent gives up on a pod on this node and marks
    /// it `Failed` ([`CRASH_LOOP_ON_NODE`]); `None`: never (the kubelet's behaviour).
    pub crash_limit: Option<u32>,
    /// The longest the loop waits for the store before it looks at its pods and its lease
    /// (100 ms).
    pub poll: Duration,
    /// The clock of the heartbeat and of the `since` of the statuses written.
    pub clock: Arc<dyn Clock>,
}

impl NodeAgentConfig {
    /// The defaults, with pod logs in `log_dir`.
    pub fn new(log_dir: impl Into<PathBuf>) -> NodeAgentConfig {
        let timings = Timings::default();
        NodeAgentConfig {
            supervisor: SupervisorConfig::new(log_dir),
            lease_ttl: timings.lease_ttl,
            lease_renew: timings.lease_renew,
            crash_limit: None,
            poll: Duration::from_millis(100),
            clock: Arc::new(SystemClock::new()),
        }
    }

    /// How long a stop may take: the loop's current round (a wait, and perhaps one pod stopped),
    /// then every pod stopped at once, each within its grace period and kill timeout; plus a
    /// second of margin.
    fn stop_budget(&self) -> Duration {
        let one_pod = self.supervisor.grace + self.supervisor.kill_timeout;
        self.poll + one_pod * 2 + Duration::from_secs(1)
    }
}

impl fmt::Debug for NodeAgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeAgentConfig")
            .field("supervisor", &self.supervisor)
            .field("lease_ttl", &self.lease_ttl)
            .field("lease_renew", &self.lease_renew)
            .field("crash_limit", &self.crash_limit)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// Why a node agent stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeAgentError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stopping a pod failed (its process group did not go away).
    #[error("pod `{pod}`: {source}")]
    Pod {
        /// The pod.
        pod: String,
        /// Why.
        source: AgentError,
    },
    /// The agent's thread could not be started.
    #[error("cannot start the node agent's thread: {0}")]
    Thread(std::io::Error),
    /// The agent's thread did not end within the stop deadline; it was left running detached.
    #[error("the node agent did not stop within {0:?}")]
    StopTimeout(Duration),
    /// The agent's thread panicked.
    #[error("the node agent's thread panicked")]
    Panicked,
}

/// What a node agent has done, for tests and the example to read while it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentReport {
    /// Pods whose supervisor it started, in order (a pod restarted for a new spec appears twice).
    pub started: Vec<String>,
    /// Pods it stopped because they were deleted or bound elsewhere.
    pub stopped: Vec<String>,
    /// Pods it gave up on after too many restarts here.
    pub gave_up: Vec<String>,
    /// Times it listed the pods (the first listing, and one after each compacted watch).
    pub lists: u32,
    /// Statuses it wrote.
    pub status_writes: u32,
    /// Status writes that lost a compare-and-swap and were read and retried.
    pub status_conflicts: u32,
    /// Keys under `/pods/` whose value is not a pod: skipped (a control plane validates what it
    /// stores; one bad record must not stop a node).
    pub corrupt: Vec<String>,
}

/// A node's agent: a thread that runs the pods bound to the node. Stopping or dropping it stops
/// the thread and every pod's process group; the lease is left to lapse, as after a crash.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
/// use tinykube::agent::{NodeAgent, NodeAgentConfig};
/// use tinykube::controller::{lease_key, pod_statuses};
/// use tinykube::scheduler::pod_key;
/// use tinykube::store::{Expect, MemStore, Store};
/// use tinykube::{Pod, PodPhase, PodSpec};
///
/// let dir = std::env::temp_dir().join(format!("tinykube-doc-node-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let store = Arc::new(MemStore::new());
/// let mut config = NodeAgentConfig::new(&dir);
/// config.poll = Duration::from_millis(10);
/// config.supervisor.grace = Duration::from_millis(200);
/// let agent = NodeAgent::start(store.clone(), "n1", config)?;
/// assert!(store.get(&lease_key("n1"))?.is_some()); // its heartbeat
/// let mut pod = Pod::new("nap", PodSpec::new(["sleep", "60"]));
/// pod.spec.node_name = Some("n1".into()); // as the scheduler's bind leaves it
/// store.put(&pod_key("nap"), &serde_json::to_vec(&pod)?, Expect::Absent, None)?;
/// let deadline = Instant::now() + Duration::from_secs(20);
/// while pod_statuses(&*store)?.get("nap").map(|s| s.phase) != Some(PodPhase::Running) {
///     assert!(Instant::now() < deadline, "not Running in time");
///     std::thread::sleep(Duration::from_millis(5));
/// }
/// agent.stop()?; // the pod's process group is gone too
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NodeAgent {
    node: String,
    /// Set to ask the loop to end.
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<AgentReport>>,
    /// Disconnects when the thread has ended (in a mutex: a receiver is not `Sync`).
    finished: Mutex<Receiver<()>>,
    thread: Option<JoinHandle<Result<(), NodeAgentError>>>,
    stop_budget: Duration,
}

impl fmt::Debug for NodeAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeAgent")
            .field("node", &self.node)
            .field("report", &self.report())
            .finish_non_exhaustive()
    }
}

impl NodeAgent {
    /// Registers the node's heartbeat (a lease and its key) on `store`, then starts the loop on
    /// a thread of its own.
    pub fn start<S: Store + 'static>(
        store: Arc<S>,
        node: impl Into<String>,
        config: NodeAgentConfig,
    ) -> Result<NodeAgent, NodeAgentError> {
        let node = node.into();
        let heartbeat = NodeHeartbeat::start(
            &*store,
            &node,
            config.lease_ttl,
            config.lease_renew,
            config.clock.clone(),
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(AgentReport::default()));
        let (done, finished) = mpsc::channel::<()>();
        let stop_budget = config.stop_budget();
        let sync = SyncLoop {
            store,
            node: node.clone(),
            pods: BTreeMap::new(),
            events: mpsc::channel(),
            report: report.clone(),
            config,
        };
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name(format!("tinykube-node-{node}"))
            .spawn(move || {
                let _done = done; // dropped when the thread ends, however it ends
                sync.run(heartbeat, &flag)
            })
            .map_err(NodeAgentError::Thread)?;
        Ok(NodeAgent {
            node,
            stop,
            report,
            finished: Mutex::new(finished),
            thread: Some(thread),
            stop_budget,
        })
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// What the agent has done so far.
    pub fn report(&self) -> AgentReport {
        lock(&self.report).clone()
    }

    /// Whether the loop still runs (it ends only when stopped or on an error).
    pub fn is_running(&self) -> bool {
        matches!(
            lock(&self.finished).recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Timeout)
        )
    }

    /// Stops the loop and every pod (SIGTERM, grace, SIGKILL to each group, all at once); returns
    /// the loop's error, if it ended on one, or [`NodeAgentError::StopTimeout`] when it did not end
    /// within the grace period and kill timeout plus a margin.
    pub fn stop(mut self) -> Result<(), NodeAgentError> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result<(), NodeAgentError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // Relaxed: the flag carries no data; the join below orders everything the thread did
        // before this call returns.
        self.stop.store(true, Ordering::Relaxed);
        let finished = lock(&self.finished).recv_timeout(self.stop_budget);
        match finished {
            Err(RecvTimeoutError::Disconnected) => {
                thread.join().unwrap_or(Err(NodeAgentError::Panicked))
            }
            // Never sent on: only a timeout gets here.
            Ok(()) | Err(RecvTimeoutError::Timeout) => {
                Err(NodeAgentError::StopTimeout(self.stop_budget))
            }
        }
    }
}

impl Drop for NodeAgent {
    /// Stops the agent (as [`NodeAgent::stop`], the error dropped).
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

/// One pod this agent runs (or ran and gave up on).
struct Managed {
    /// The spec the supervisor was started with (node name included).
    spec: PodSpec,
    /// `None` once the agent gave up on the pod, or could not start it.
    supervisor: Option<Supervisor>,
    /// Restarts since the crash loop began (a run of `reset_after` ends it).
    in_loop: u32,
    /// Restarts in all, as the supervisor last reported them.
    restarts: u32,
    /// The status to report instead of the supervisor's (the agent's own decision).
    verdict: Option<PodStatus>,
    /// The last status written (its `since` is kept while the phase does not change).
    written: Option<PodStatus>,
}

/// The agent thread's state.
struct SyncLoop<S: Store> {
    store: Arc<S>,
    node: String,
    pods: BTreeMap<String, Managed>,
    /// Every supervisor reports here.
    events: (Sender<PodEvent>, Receiver<PodEvent>),
    report: Arc<Mutex<AgentReport>>,
    config: NodeAgentConfig,
}

impl<S: Store> SyncLoop<S> {
    fn run(
        mut self,
        mut heartbeat: NodeHeartbeat,
        stop: &AtomicBool,
    ) -> Result<(), NodeAgentError> {
        let result = self.sync(&mut heartbeat, stop);
        let stopped = self.stop_all();
        result.and(stopped)
    }

    fn sync(
        &mut self,
        heartbeat: &mut NodeHeartbeat,
        stop: &AtomicBool,
    ) -> Result<(), NodeAgentError> {
        let store = self.store.clone();
        let prefix = pod_key("");
        // Relaxed: see `NodeAgent::stop_now`.
        'relist: while !stop.load(Ordering::Relaxed) {
            let listing = store.list(&prefix)?;
            lock(&self.report).lists += 1;
            self.reconcile(&listing.items)?;
            let mut watch = store.watch(&prefix, listing.revision + 1);
            while !stop.load(Ordering::Relaxed) {
                heartbeat.tick(&*store)?;
                // The first wait is the loop's pause; then whatever else is there already.
                let mut wait = self.config.poll;
                loop {
                    match watch.next_timeout(wait) {
                        Ok(Some(event)) => self.apply(event)?,
                        Ok(None) => break,
                        Err(StoreError::Compacted { .. }) => continue 'relist,
                        Err(e) => return Err(e.into()),
                    }
                    wait = Duration::ZERO;
                }
                self.drain_events()?;
                self.write_statuses()?;
            }
        }
        Ok(())
    }

    /// Brings the running pods in line with a full listing: starts the pods bound here that do
    /// not run, stops the ones no longer bound here.
    fn reconcile(&mut self, items: &[KeyValue]) -> Result<(), NodeAgentError> {
        let mut listed = BTreeMap::new();
        for kv in items {
            if let Some(pod) = self.parse_pod(kv) {
                listed.insert(pod.metadata.name.clone(), pod);
            }
        }
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|name| !listed.get(*name).is_some_and(|p| self.is_mine(p)))
            .cloned()
            .collect();
        for name in gone {
            self.forget(&name)?;
        }
        for pod in listed.into_values() {
            if self.is_mine(&pod) {
                self.upsert(pod)?;
            }
        }
        Ok(())
    }

    /// The pod stored in `kv`; `None` (and the key noted in the report) if it is not one.
    fn parse_pod(&self, kv: &KeyValue) -> Option<Pod> {
        match serde_json::from_slice(&kv.value) {
            Ok(pod) => Some(pod),
            Err(_) => {
                let mut report = lock(&self.report);
                if !report.corrupt.contains(&kv.key) {
                    report.corrupt.push(kv.key.clone());
                }
                None
            }
        }
    }

    fn is_mine(&self, pod: &Pod) -> bool {
        pod.spec.node_name.as_deref() == Some(self.node.as_str())
    }

    /// One change under `/pods/`.
    fn apply(&mut self, event: Event) -> Result<(), NodeAgentError> {
        match event {
            Event::Put(kv) => {
                let Some(pod) = self.parse_pod(&kv) else {
                    return Ok(());
                };
                if self.is_mine(&pod) {
                    self.upsert(pod)
                } else if self.pods.contains_key(&pod.metadata.name) {
                    self.forget(&pod.metadata.name) // bound elsewhere, or unbound
                } else {
                    Ok(())
                }
            }
            Event::Delete { key, .. } => {
                let name = &key[pod_key("").len()..];
                if self.pods.contains_key(name) {
                    self.forget(name)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A pod bound here: started if new, started again if its spec changed, else left alone.
    fn upsert(&mut self, pod: Pod) -> Result<(), NodeAgentError> {
        let name = pod.metadata.name.clone();
        if let Some(managed) = self.pods.get(&name) {
            if managed.spec == pod.spec {
                return Ok(());
            }
            self.forget(&name)?;
        }
        let mut run = pod.clone();
        run.spec.env.insert(NODE_ENV.to_string(), self.node.clone());
        run.spec.env.insert(POD_ENV.to_string(), name.clone());
        let (supervisor, verdict) =
            match Supervisor::start(&run, self.config.supervisor.clone(), self.events.0.clone()) {
                Ok(supervisor) => (Some(supervisor), None),
                Err(_) => (None, Some(self.failed(START_FAILED, 0, None))),
            };
        lock(&self.report).started.push(name.clone());
        self.pods.insert(
            name,
            Managed {
                spec: pod.spec,
                supervisor,
                in_loop: 0,
                restarts: 0,
                verdict,
                written: None,
            },
        );
        Ok(())
    }

    /// Stops a pod that was deleted or bound elsewhere; its status is no longer this agent's to
    /// write.
    fn forget(&mut self, name: &str) -> Result<(), NodeAgentError> {
        let Some(managed) = self.pods.remove(name) else {
            return Ok(());
        };
        lock(&self.report).stopped.push(name.to_string());
        match managed.supervisor {
            Some(supervisor) => supervisor.stop().map_err(|source| NodeAgentError::Pod {
                pod: name.to_string(),
                source,
            }),
            None => Ok(()),
        }
    }

    /// Every pod at once, when the agent stops.
    fn stop_all(&mut self) -> Result<(), NodeAgentError> {
        let pods = std::mem::take(&mut self.pods);
        let results: Vec<(String, Result<(), AgentError>)> = thread::scope(|scope| {
            let stopping: Vec<_> = pods
                .into_iter()
                .filter_map(|(name, m)| Some((name, m.supervisor?)))
                .map(|(name, supervisor)| (name, scope.spawn(move || supervisor.stop())))
                .collect();
            stopping
                .into_iter()
                .map(|(name, handle)| (name, handle.join().unwrap_or(Err(AgentError::Panicked))))
                .collect()
        });
        for (pod, result) in results {
            result.map_err(|source| NodeAgentError::Pod { pod, source })?;
        }
        Ok(())
    }

    /// Counts each pod's crash loop from its supervisor's events, and gives up on a pod whose
    /// loop passed the crash limit.
    fn drain_events(&mut self) -> Result<(), NodeAgentError> {
        let reset_after = self.config.supervisor.backoff.reset_after;
        let mut over_limit = Vec::new();
        while let Ok(event) = self.events.1.try_recv() {
            let Some(managed) = self.pods.get_mut(&event.pod) else {
                continue; // a pod already forgotten
            };
            if managed.verdict.is_some() {
                continue;
            }
            match event.kind {
                EventKind::Exited { ran, status } => {
                    if ran >= reset_after {
                        managed.in_loop = 0;
                    }
                    let over = self
                        .config
                        .crash_limit
                        .is_some_and(|k| managed.in_loop >= k);
                    if over && restarts_after(&managed.spec, status) {
                        over_limit.push((event.pod, managed.restarts, status));
                    }
                }
                EventKind::Restarting { restart, .. } => {
                    managed.in_loop += 1;
                    managed.restarts = restart;
                }
                _ => {}
            }
        }
        for (pod, restarts, status) in over_limit {
            let verdict = self.failed(CRASH_LOOP_ON_NODE, restarts, Some(status));
            self.give_up(&pod, verdict)?;
        }
        Ok(())
    }

    /// Stops the pod here and reports it Failed with the agent's reason.
    fn give_up(&mut self, name: &str, verdict: PodStatus) -> Result<(), NodeAgentError> {
        let Some(managed) = self.pods.get_mut(name).filter(|m| m.verdict.is_none()) else {
            return Ok(());
        };
        managed.verdict = Some(verdict);
        lock(&self.report).gave_up.push(name.to_string());
        match managed.supervisor.take() {
            Some(supervisor) => supervisor.stop().map_err(|source| NodeAgentError::Pod {
                pod: name.to_string(),
                source,
            }),
            None => Ok(()),
        }
    }

    fn failed(&self, reason: &str, restarts: u32, last: Option<ExitStatus>) -> PodStatus {
        PodStatus {
            node: self.node.clone(),
            phase: PodPhase::Failed,
            ready: false,
            restarts,
            last_exit: last.and_then(exit_code),
            since: self.config.clock.now(),
            reason: Some(reason.to_string()),
        }
    }

    /// Writes the status of every pod whose status changed since its last write.
    fn write_statuses(&mut self) -> Result<(), NodeAgentError> {
        let names: Vec<String> = self.pods.keys().cloned().collect();
        for name in names {
            let Some(managed) = self.pods.get(&name) else {
                continue;
            };
            let mut status = match (&managed.verdict, &managed.supervisor) {
                (Some(verdict), _) => verdict.clone(),
                (None, Some(supervisor)) => self.observed(&supervisor.status()),
                (None, None) => continue,
            };
            if let Some(last) = &managed.written {
                let mut unchanged = status.clone();
                unchanged.since = last.since;
                if unchanged == *last {
                    continue;
                }
                if last.phase == status.phase {
                    status.since = last.since;
                }
            }
            if self.write_status(&name, &status)? {
                if let Some(managed) = self.pods.get_mut(&name) {
                    managed.written = Some(status);
                }
            } else {
                // The pod is no longer bound here: the watch will bring the change.
                self.forget(&name)?;
            }
        }
        Ok(())
    }

    /// The supervisor's snapshot as a stored status.
    fn observed(&self, runtime: &PodRuntimeStatus) -> PodStatus {
        let phase = match runtime.phase {
            RuntimePhase::Running => PodPhase::Running,
            RuntimePhase::Succeeded => PodPhase::Succeeded,
            RuntimePhase::Failed => PodPhase::Failed,
            RuntimePhase::Starting | RuntimePhase::BackOff | RuntimePhase::Stopped => {
                PodPhase::Pending
            }
        };
        PodStatus {
            node: self.node.clone(),
            phase,
            ready: phase == PodPhase::Running && runtime.ready,
            restarts: runtime.restarts,
            last_exit: runtime.last_exit.and_then(exit_code),
            since: self.config.clock.now(),
            reason: None,
        }
    }

    /// Writes `status` by compare-and-swap on the status key, re-reading on conflict; before each
    /// try the pod is read again, so a pod deleted or bound elsewhere meanwhile (a newer spec) is
    /// never written over: false then.
    fn write_status(&self, name: &str, status: &PodStatus) -> Result<bool, NodeAgentError> {
        let key = status_key(name);
        // Serialising this plain struct (string keys, no custom failures) cannot fail.
        let bytes = serde_json::to_vec(status).unwrap_or_default();
        loop {
            let Some(kv) = self.store.get(&pod_key(name))? else {
                return Ok(false);
            };
            if !self.parse_pod(&kv).is_some_and(|pod| self.is_mine(&pod)) {
                return Ok(false);
            }
            let expect = match self.store.get(&key)? {
                Some(current) => Expect::Revision(current.mod_revision),
                None => Expect::Absent,
            };
            match self.store.put(&key, &bytes, expect, None) {
                Ok(_) => {
                    lock(&self.report).status_writes += 1;
                    return Ok(true);
                }
                Err(StoreError::Conflict { .. }) => lock(&self.report).status_conflicts += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Whether the pod's policy restarts it after `status`: only then is it in a crash loop.
fn restarts_after(spec: &PodSpec, status: ExitStatus) -> bool {
    match spec.restart_policy {
        crate::objects::RestartPolicy::Always => true,
        crate::objects::RestartPolicy::OnFailure => !status.success(),
        crate::objects::RestartPolicy::Never => false,
    }
}

/// The exit code a status records: the process's own; 127 for a program that could not be
/// started (as a shell reports it); none for a signal.
fn exit_code(status: ExitStatus) -> Option<i32> {
    match status {
        ExitStatus::Code(code) => Some(code),
        ExitStatus::SpawnFailed(_) => Some(127),
        ExitStatus::Signal(_) => None,
    }
}
