//! Two node agents with real processes and the control loops on one store: a replica set's pods
//! run one per node; one agent stops (its machine "dies"); its node goes NotReady, its pod is
//! evicted after the toleration and its replacement runs on the other node. Sampled every round:
//! never more pods Running than replicas.
mod agent_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_common::{PATIENCE, config};
use tinykube::agent::{NodeAgent, NodeAgentConfig, group_alive};
use tinykube::controller::{
    GarbageCollector, NodeLifecycleController, ReplicaSetController, SchedulerConfig,
    SchedulerLoop, Timings, pod_statuses, replicaset_key,
};
use tinykube::scheduler::{list_pods, node_key};
use tinykube::store::{Expect, MemStore, Store, SystemClock};
use tinykube::{
    Cpu, Memory, Node, ObjectMeta, PodPhase, PodSpec, PodTemplate, ReplicaSet, ReplicaSetSpec,
    TemplateMeta,
};

/// Pods and their nodes.
type Placement = Vec<(String, String)>;

/// Pod name → node, for the pods whose status (written by that node's agent) says Running.
fn running(store: &MemStore) -> Placement {
    let statuses = pod_statuses(store).unwrap();
    list_pods(store)
        .unwrap()
        .into_iter()
        .filter_map(|(pod, _)| {
            let node = pod.spec.node_name?;
            let status = statuses.get(&pod.metadata.name)?;
            (status.phase == PodPhase::Running && status.node == node)
                .then_some((pod.metadata.name, node))
        })
        .collect()
}

#[test]
fn a_stopped_agents_pod_is_replaced_on_the_other_node() {
    let timings = Timings {
        lease_ttl: Duration::from_secs(1),
        lease_renew: Duration::from_millis(50),
        grace: Duration::from_secs(1),
        toleration: Duration::from_secs(1),
    };
    let clock = Arc::new(SystemClock::new());
    let store = Arc::new(MemStore::with_clock(clock.clone()));
    for name in ["a", "b"] {
        let node = serde_json::to_vec(&Node::new(name, Cpu(2000), Memory(1 << 30))).unwrap();
        store
            .put(&node_key(name), &node, Expect::Absent, None)
            .unwrap();
    }
    // Each run writes its group id to `<pod>.pid` in the log directory of its node.
    let (dir, supervisor) = config("node-cluster");
    let labels: std::collections::BTreeMap<String, String> =
        [("app".to_string(), "nap".to_string())].into();
    let script = format!(
        "echo $$ > {}/$TINYKUBE_POD.pid; exec sleep 60",
        dir.path().display()
    );
    let rs = ReplicaSet {
        metadata: ObjectMeta {
            name: "nap".into(),
            labels: Default::default(),
        },
        spec: ReplicaSetSpec {
            replicas: 2,
            selector: labels.clone(),
            template: PodTemplate {
                metadata: TemplateMeta { labels },
                // One CPU of two per node: least-allocated puts one pod on each.
                spec: PodSpec::new(["sh", "-c", &script]).with_requests(Cpu(1000), Memory(0)),
            },
        },
    };
    let rs = serde_json::to_vec(&rs).unwrap();
    store
        .put(&replicaset_key("nap"), &rs, Expect::Absent, None)
        .unwrap();
    let agent = |node: &str| {
        let mut config = NodeAgentConfig::new(dir.path());
        config.supervisor = supervisor.clone();
        config.poll = Duration::from_millis(5);
        config.lease_ttl = timings.lease_ttl;
        config.lease_renew = timings.lease_renew;
        config.clock = clock.clone();
        NodeAgent::start(store.clone(), node, config).unwrap()
    };
    let a = agent("a");
    let b = agent("b");

    let mut replicasets = ReplicaSetController::new(&*store);
    let mut scheduler = SchedulerLoop::new(&*store, SchedulerConfig::default(), clock.clone());
    let mut lifecycle = NodeLifecycleController::new(&*store, clock.clone(), timings);
    let mut gc = GarbageCollector::new(&*store);
    let mut evicted = Vec::new();
    // One round of every loop; the invariant sampled after it.
    let mut round = |evicted: &mut Vec<String>| {
        replicasets.step().unwrap();
        scheduler.step().unwrap();
        evicted.extend(lifecycle.step().unwrap().evicted);
        gc.step().unwrap();
        let now = running(&store);
        assert!(now.len() <= 2, "more pods Running than replicas: {now:?}");
        std::thread::sleep(Duration::from_millis(10));
        now
    };
    let until =
        |what: &str, round: &mut dyn FnMut() -> Placement, done: &dyn Fn(&Placement) -> bool| {
            let end = Instant::now() + PATIENCE;
            loop {
                let now = round();
                if done(&now) {
                    return now;
                }
                assert!(
                    Instant::now() < end,
                    "no {what} within {PATIENCE:?}: {now:?}"
                );
            }
        };

    let spread = until(
        "pod Running on each node",
        &mut || round(&mut evicted),
        &|now| {
            now.len() == 2 && now.iter().any(|(_, n)| n == "a") && now.iter().any(|(_, n)| n == "b")
        },
    );
    let on_b = spread.iter().find(|(_, n)| n == "b").unwrap().0.clone();
    let pid_of = |pod: &str| -> u32 {
        let file = dir.path().join(format!("{pod}.pid"));
        let text = harness::wait::poll_value(
            PATIENCE,
            || std::fs::read_to_string(&file).unwrap_or_default(),
            |t| t.ends_with('\n'),
        );
        text.trim().parse().unwrap()
    };
    let b_group = pid_of(&on_b);
    b.stop().unwrap(); // the node's machine "dies": its processes go, its lease lapses
    assert!(!group_alive(b_group));

    let moved = until(
        "two pods Running on a",
        &mut || round(&mut evicted),
        &|now| now.len() == 2 && now.iter().all(|(_, n)| n == "a"),
    );
    assert_eq!(
        evicted,
        std::slice::from_ref(&on_b),
        "only b's pod is evicted"
    );
    assert!(moved.iter().all(|(pod, _)| *pod != on_b));
    for (pod, _) in &moved {
        assert!(group_alive(pid_of(pod)), "{pod} is not running on a");
    }
    a.stop().unwrap();
    for (pod, _) in &moved {
        assert!(!group_alive(pid_of(pod)), "{pod} outlived its agent");
    }
}
