//! The node agent's loop with real processes: pods bound to its node run and report Running, a
//! deleted or rebound pod's process group goes, restarts reach the stored status, a pod that keeps
//! crashing is given up on, and a stopped agent's node goes NotReady.
mod agent_common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agent_common::{PATIENCE, config};
use harness::tempdir::TempDir;
use harness::wait::{poll_until, poll_value};
use tinykube::agent::{Backoff, CRASH_LOOP_ON_NODE, NodeAgent, NodeAgentConfig, group_alive};
use tinykube::controller::{
    NodeLifecycleController, ReplicaSetController, Timings, lease_key, node_status_key,
    pod_statuses, replicaset_key,
};
use tinykube::scheduler::{node_key, pod_key};
use tinykube::store::{Expect, MemStore, RedbStore, Store, SystemClock};
use tinykube::{
    Cpu, Memory, Node, NodeStatus, Pod, PodPhase, PodSpec, PodStatus, PodTemplate, ReplicaSet,
    ReplicaSetSpec, TemplateMeta,
};

/// An agent config on `dir`'s logs, looking at the store every few milliseconds.
fn agent_config(label: &str) -> (TempDir, NodeAgentConfig) {
    let (dir, supervisor) = config(label);
    let mut agent = NodeAgentConfig::new(dir.path());
    agent.supervisor = supervisor;
    agent.poll = Duration::from_millis(5);
    (dir, agent)
}

/// Restarts 2 ms doubling to 10 ms apart, reset after ten minutes (never, in a test).
fn fast_backoff() -> Backoff {
    Backoff::new(
        Duration::from_millis(2),
        Duration::from_millis(10),
        Duration::from_secs(600),
    )
}

/// A pod bound to `node` running `sh -c <script>`.
fn bound_pod(name: &str, node: &str, script: &str) -> Pod {
    let mut pod = Pod::new(name, PodSpec::new(["sh", "-c", script]));
    pod.spec.node_name = Some(node.to_string());
    pod
}

fn put_pod<S: Store>(store: &S, pod: &Pod) -> u64 {
    let json = serde_json::to_vec(pod).unwrap();
    store
        .put(&pod_key(&pod.metadata.name), &json, Expect::Any, None)
        .unwrap()
}

fn status<S: Store>(store: &S, pod: &str) -> Option<PodStatus> {
    pod_statuses(store).unwrap().remove(pod)
}

/// The pid a pod's script wrote to `file` (its first process, so its process group).
fn pid_in(file: &Path) -> u32 {
    let text = poll_value(
        PATIENCE,
        || std::fs::read_to_string(file).unwrap_or_default(),
        |t| t.ends_with('\n'),
    );
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("no pid in {file:?}: {text:?}"))
}

/// A bound pod runs and is reported Running and ready by this node; one bound elsewhere (listed at
/// the agent's start) is not started; deleting the pod ends its process group.
fn runs_bound_pods_and_stops_deleted_ones<S: Store + 'static>(store: Arc<S>, label: &str) {
    let (dir, config) = agent_config(label);
    // One pod bound elsewhere is in the agent's first listing, one bound here comes by the watch.
    put_pod(&*store, &bound_pod("elsewhere", "n2", "sleep 60"));
    let agent = NodeAgent::start(store.clone(), "n1", config).unwrap();
    assert!(
        store.get(&lease_key("n1")).unwrap().is_some(),
        "no heartbeat"
    );
    let pid_file = dir.path().join("web.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pid_file.display());
    put_pod(&*store, &bound_pod("web", "n1", &script));
    let running = poll_value(
        PATIENCE,
        || status(&*store, "web"),
        |s| {
            s.as_ref()
                .is_some_and(|s| s.phase == PodPhase::Running && s.ready)
        },
    );
    let running = running.expect("no status for web");
    assert_eq!((running.phase, running.ready), (PodPhase::Running, true));
    assert_eq!(running.node, "n1");
    let pgid = pid_in(&pid_file);
    assert!(group_alive(pgid));

    store.delete(&pod_key("web"), Expect::Any).unwrap();
    assert!(
        poll_until(PATIENCE, || !group_alive(pgid)),
        "process group {pgid} of the deleted pod still alive"
    );
    let report = agent.report();
    assert_eq!(report.started, ["web"], "{report:?}");
    assert_eq!(report.stopped, ["web"], "{report:?}");
    assert!(status(&*store, "elsewhere").is_none());
    agent.stop().unwrap();
}

#[test]
fn bound_pod_runs_and_a_deleted_one_stops_on_mem_store() {
    runs_bound_pods_and_stops_deleted_ones(Arc::new(MemStore::new()), "node-mem");
}

#[test]
fn bound_pod_runs_and_a_deleted_one_stops_on_redb_store() {
    let dir = TempDir::new("node-redb-db").unwrap();
    let store = RedbStore::open(dir.path().join("store.redb")).unwrap();
    runs_bound_pods_and_stops_deleted_ones(Arc::new(store), "node-redb");
}

#[test]
fn a_pod_bound_elsewhere_is_stopped_here() {
    let store = Arc::new(MemStore::new());
    let (dir, config) = agent_config("node-rebind");
    let agent = NodeAgent::start(store.clone(), "n1", config).unwrap();
    let pid_file = dir.path().join("web.pid");
    let mut pod = bound_pod(
        "web",
        "n1",
        &format!("echo $$ > {}; exec sleep 60", pid_file.display()),
    );
    put_pod(&*store, &pod);
    let pgid = pid_in(&pid_file);
    pod.spec.node_name = Some("n2".into());
    put_pod(&*store, &pod);
    assert!(
        poll_until(PATIENCE, || !group_alive(pgid)),
        "process group {pgid} of the rebound pod still alive"
    );
    assert_eq!(agent.report().stopped, ["web"]);
    agent.stop().unwrap();
}

#[test]
fn a_crashing_pods_restarts_reach_the_stored_status() {
    let store = Arc::new(MemStore::new());
    let (_dir, mut config) = agent_config("node-crash");
    config.supervisor.backoff = fast_backoff();
    let agent = NodeAgent::start(store.clone(), "n1", config).unwrap();
    put_pod(&*store, &bound_pod("flaky", "n1", "exit 3"));
    let seen = poll_value(
        PATIENCE,
        || status(&*store, "flaky"),
        |s| s.as_ref().is_some_and(|s| s.restarts >= 3),
    );
    let seen = seen.expect("no status for flaky");
    assert!(seen.restarts >= 3, "{seen:?}");
    assert_eq!(seen.last_exit, Some(3));
    assert_eq!(seen.reason, None); // no crash limit: the kubelet's restart forever
    agent.stop().unwrap();
}

#[test]
fn a_pod_crashing_past_the_limit_is_failed_on_this_node_and_replaced() {
    const LIMIT: u32 = 2;
    let store = Arc::new(MemStore::new());
    let (_dir, mut config) = agent_config("node-giveup");
    config.supervisor.backoff = fast_backoff();
    config.crash_limit = Some(LIMIT);
    let agent = NodeAgent::start(store.clone(), "n1", config).unwrap();
    // A replica set owns the pod, so its controller replaces the pod the agent gives up on.
    let template = PodTemplate {
        metadata: TemplateMeta {
            labels: [("app".to_string(), "flaky".to_string())].into(),
        },
        spec: PodSpec::new(["sh", "-c", "exit 4"]),
    };
    let rs = ReplicaSet {
        metadata: tinykube::ObjectMeta {
            name: "flaky".into(),
            labels: Default::default(),
        },
        spec: ReplicaSetSpec {
            replicas: 1,
            selector: template.metadata.labels.clone(),
            template,
        },
    };
    let json = serde_json::to_vec(&rs).unwrap();
    store
        .put(&replicaset_key("flaky"), &json, Expect::Absent, None)
        .unwrap();
    let mut replicasets = ReplicaSetController::new(&*store);
    replicasets.step().unwrap();
    let (mut pod, revision) = tinykube::scheduler::list_pods(&*store).unwrap().remove(0);
    let first = pod.metadata.name.clone();
    pod.spec.node_name = Some("n1".into()); // as the scheduler binds it
    let json = serde_json::to_vec(&pod).unwrap();
    store
        .put(&pod_key(&first), &json, Expect::Revision(revision), None)
        .unwrap();

    let failed = poll_value(
        PATIENCE,
        || status(&*store, &first),
        |s| s.as_ref().is_some_and(|s| s.phase == PodPhase::Failed),
    );
    let failed = failed.expect("no status");
    assert_eq!(failed.phase, PodPhase::Failed, "{failed:?}");
    assert_eq!(failed.reason.as_deref(), Some(CRASH_LOOP_ON_NODE));
    assert_eq!(failed.restarts, LIMIT);
    assert_eq!(failed.last_exit, Some(4));
    assert_eq!(failed.node, "n1");
    assert_eq!(agent.report().gave_up, std::slice::from_ref(&first));
    agent.stop().unwrap();
    // Nothing overwrote the verdict before the agent stopped.
    assert_eq!(
        status(&*store, &first).unwrap().reason.as_deref(),
        Some(CRASH_LOOP_ON_NODE)
    );

    // The replica set's controller deletes the failed pod and makes a new, unbound one.
    replicasets.step().unwrap();
    let pods = tinykube::scheduler::list_pods(&*store).unwrap();
    assert_eq!(pods.len(), 1);
    assert_ne!(pods[0].0.metadata.name, first);
    assert_eq!(pods[0].0.spec.node_name, None);
}

#[test]
fn a_stopped_agents_node_goes_not_ready_and_its_pods_stop() {
    let timings = Timings {
        lease_ttl: Duration::from_secs(2),
        lease_renew: Duration::from_millis(50),
        grace: Duration::from_secs(1),
        toleration: Duration::from_secs(300),
    };
    let clock = Arc::new(SystemClock::new());
    let store = Arc::new(MemStore::with_clock(clock.clone()));
    let node = Node::new("n1", Cpu(1000), Memory(1 << 30));
    let json = serde_json::to_vec(&node).unwrap();
    store
        .put(&node_key("n1"), &json, Expect::Absent, None)
        .unwrap();
    let (dir, mut config) = agent_config("node-lease");
    config.lease_ttl = timings.lease_ttl;
    config.lease_renew = timings.lease_renew;
    config.clock = clock.clone();
    let start = std::time::Instant::now();
    let agent = NodeAgent::start(store.clone(), "n1", config).unwrap();
    let pid_file = dir.path().join("web.pid");
    put_pod(
        &*store,
        &bound_pod(
            "web",
            "n1",
            &format!("echo $$ > {}; exec sleep 60", pid_file.display()),
        ),
    );
    let pgid = pid_in(&pid_file);

    let mut lifecycle = NodeLifecycleController::new(&*store, clock.clone(), timings);
    let ready = |store: &MemStore| -> Option<bool> {
        let kv = store.get(&node_status_key("n1")).unwrap()?;
        Some(
            serde_json::from_slice::<NodeStatus>(&kv.value)
                .unwrap()
                .ready,
        )
    };
    // While the agent runs, the node stays Ready for twice the time a lease granted at its start
    // and never renewed would take to make it NotReady (TTL, then the grace).
    while start.elapsed() < (timings.lease_ttl + timings.grace) * 2 {
        lifecycle.step().unwrap();
        assert_eq!(ready(&store), Some(true), "NotReady while the agent runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    agent.stop().unwrap();
    assert!(!group_alive(pgid), "the pod outlived its agent");
    let not_ready = poll_until(PATIENCE, || {
        lifecycle.step().unwrap();
        ready(&store) == Some(false)
    });
    assert!(not_ready, "the node stayed Ready after its agent stopped");
    assert!(store.get(&lease_key("n1")).unwrap().is_none());
}

#[test]
fn dropping_an_agent_stops_its_pods() {
    let store = Arc::new(MemStore::new());
    let (dir, config) = agent_config("node-drop");
    let agent = NodeAgent::start(store.clone(), "n1", config).unwrap();
    let mut pgids = Vec::new();
    for name in ["a", "b"] {
        let pid_file = dir.path().join(format!("{name}.pid"));
        let script = format!("sleep 60 & echo $$ > {}; wait", pid_file.display());
        put_pod(&*store, &bound_pod(name, "n1", &script));
        pgids.push(pid_in(&pid_file));
    }
    drop(agent);
    for pgid in pgids {
        assert!(
            !group_alive(pgid),
            "group {pgid} outlived its dropped agent"
        );
    }
}

#[test]
fn a_compacted_watch_is_relisted_and_the_agent_carries_on() {
    let store = Arc::new(MemStore::new());
    let (dir, config) = agent_config("node-relist");
    let agent = NodeAgent::start(store.clone(), "n1", config).unwrap();
    // Writes under /pods/ each compacted at once: soon the agent has not read one when its
    // history goes, and its watch fails with "compacted".
    let mut i = 0;
    let relisted = poll_until(PATIENCE, || {
        i += 1;
        let revision = put_pod(&*store, &bound_pod(&format!("other-{i}"), "n2", "true"));
        store.compact(revision).unwrap();
        agent.report().lists >= 2
    });
    assert!(
        relisted,
        "no relist after {i} compactions: {:?}",
        agent.report()
    );
    assert!(agent.is_running());
    // The agent still runs what is bound here, and stops it when deleted.
    let pid_file = dir.path().join("web.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pid_file.display());
    put_pod(&*store, &bound_pod("web", "n1", &script));
    let pgid = pid_in(&pid_file);
    store.delete(&pod_key("web"), Expect::Any).unwrap();
    assert!(poll_until(PATIENCE, || !group_alive(pgid)));
    let report = agent.report();
    assert_eq!(report.started, ["web"], "{report:?}");
    agent.stop().unwrap();
}
