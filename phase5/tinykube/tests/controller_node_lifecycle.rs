//! A node whose agent dies (its lease stops being renewed): NotReady after the grace, its pods
//! evicted after the toleration and replaced on other nodes by their replica set, never two copies
//! of the set's pods running past its count per the status. Time is a virtual clock stepped 5 s at
//! a time, the loops run after each step.
mod cluster_sim;

use std::collections::BTreeMap;
use std::time::Duration;

use cluster_sim::{Agents, Loops, add_node, pods_labelled, put, template};
use harness::clock::VirtualClock;
use tinykube::controller::{NOT_READY_TAINT, Timings, pod_statuses, replicaset_key};
use tinykube::scheduler::node_key;
use tinykube::store::{Clock, MemStore, Store};
use tinykube::{Node, ObjectMeta, PodPhase, ReplicaSet, ReplicaSetSpec};

#[test]
fn a_dead_nodes_pods_reappear_elsewhere_after_grace_and_toleration() {
    dead_node(Timings::default(), Duration::from_secs(5));
}

#[test]
fn the_timings_are_the_configured_ones() {
    let short = Timings {
        lease_ttl: Duration::from_secs(4),
        lease_renew: Duration::from_secs(1),
        grace: Duration::from_secs(5),
        toleration: Duration::from_secs(7),
    };
    dead_node(short, Duration::from_millis(500));
}

fn dead_node(timings: Timings, tick: Duration) {
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut agents = Agents::new(clock.clone(), timings);
    let mut loops = Loops::new(&store, clock.clone(), timings);
    for n in ["n1", "n2", "n3"] {
        add_node(&store, n, 1000);
        agents.join(&store, n);
    }
    let rs = ReplicaSet {
        metadata: ObjectMeta {
            name: "web".into(),
            labels: BTreeMap::new(),
        },
        spec: ReplicaSetSpec {
            replicas: 3,
            selector: BTreeMap::from([("app".to_string(), "web".to_string())]),
            template: template("web", "60", 400),
        },
    };
    put(&store, &replicaset_key("web"), &rs);
    let mut most_running = 0;
    let mut sample = |store: &MemStore| {
        // Per the statuses, whether their pod still exists or not: a process on a dead node may
        // still run, and its last status says so.
        let running = pod_statuses(store)
            .unwrap()
            .values()
            .filter(|s| s.phase == PodPhase::Running)
            .count();
        most_running = most_running.max(running);
    };
    for _ in 0..6 {
        clock.advance(tick);
        loops.round(&store, &mut agents, &mut sample);
    }
    let pods = pods_labelled(&store, "app", "web");
    assert_eq!(pods.iter().filter(|(_, r, _)| *r).count(), 3);
    // Least-allocated scoring spreads them: one per node. Kill the node of the first.
    let victim = pods[0].0.spec.node_name.clone().unwrap();
    let on_victim: Vec<String> = pods
        .iter()
        .filter(|(p, _, _)| p.spec.node_name.as_deref() == Some(victim.as_str()))
        .map(|(p, _, _)| p.metadata.name.clone())
        .collect();
    agents.kill(&victim);
    let killed_at = clock.now();
    let mut evicted_at = None;
    let mut not_ready_at = None;
    while clock.now() < killed_at + 2 * (timings.lease_ttl + timings.grace + timings.toleration) {
        clock.advance(tick);
        let evicted = loops.round(&store, &mut agents, &mut sample);
        let node: Node =
            serde_json::from_slice(&store.get(&node_key(&victim)).unwrap().unwrap().value).unwrap();
        if not_ready_at.is_none() && node.spec.taints.iter().any(|t| t.key == NOT_READY_TAINT) {
            not_ready_at = Some(clock.now());
        }
        if !evicted.is_empty() {
            assert_eq!(evicted, on_victim);
            evicted_at.get_or_insert(clock.now());
        }
    }
    let not_ready_at = not_ready_at.expect("the dead node never became NotReady");
    let evicted_at = evicted_at.expect("the dead node's pods were never evicted");
    // Its lease lasts up to a TTL after the last renewal, then the grace runs.
    let renewed_last = killed_at - timings.lease_renew;
    assert!(
        not_ready_at >= killed_at + timings.grace,
        "{not_ready_at:?}"
    );
    assert!(
        not_ready_at <= renewed_last + timings.lease_ttl + timings.grace + 2 * tick,
        "{not_ready_at:?}"
    );
    assert!(evicted_at >= not_ready_at + timings.toleration);
    assert!(evicted_at <= not_ready_at + timings.toleration + tick);
    // Replaced elsewhere, running; never more running than the replica count.
    let pods = pods_labelled(&store, "app", "web");
    assert_eq!(pods.iter().filter(|(_, r, _)| *r).count(), 3, "{pods:?}");
    assert!(
        pods.iter()
            .all(|(p, _, _)| p.spec.node_name.as_deref() != Some(victim.as_str()))
    );
    assert!(most_running <= 3, "{most_running} running at once");
}

#[test]
fn each_pod_leaves_a_not_ready_node_when_its_own_toleration_runs_out() {
    use tinykube::controller::NodeLifecycleController;
    use tinykube::scheduler::{bind, pod_key};
    use tinykube::{Toleration, TolerationOperator};

    let timings = Timings::default();
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut lifecycle = NodeLifecycleController::new(&store, clock.clone(), timings);
    add_node(&store, "n1", 1000);
    let unreachable = |seconds: Option<u64>| Toleration {
        key: NOT_READY_TAINT.into(),
        operator: TolerationOperator::Exists,
        toleration_seconds: seconds,
        ..Default::default()
    };
    for (name, toleration) in [
        ("default", None),
        ("brief", Some(unreachable(Some(20)))),
        ("forever", Some(unreachable(None))),
    ] {
        let mut pod = tinykube::Pod::new(name, tinykube::PodSpec::new(["true"]));
        pod.spec.tolerations.extend(toleration);
        let revision = put(&store, &pod_key(name), &pod);
        bind(&store, name, revision, "n1").unwrap();
    }
    // n1 never had an agent: NotReady once the grace has passed since the controller first saw it.
    assert!(lifecycle.step().unwrap().ready == ["n1"]);
    clock.advance(timings.grace);
    assert_eq!(lifecycle.step().unwrap().not_ready, ["n1"]);
    let mut evicted = Vec::new();
    for _ in 0..(timings.toleration.as_secs() + 60) {
        clock.advance(Duration::from_secs(1));
        for pod in lifecycle.step().unwrap().evicted {
            evicted.push((pod, clock.now() - timings.grace));
        }
    }
    assert_eq!(
        evicted,
        [
            ("brief".to_string(), Duration::from_secs(20)),
            ("default".to_string(), timings.toleration),
        ]
    );
    assert!(store.get(&pod_key("forever")).unwrap().is_some());
}

#[test]
fn a_node_heard_from_again_is_ready_and_untainted() {
    use tinykube::controller::NodeLifecycleController;

    let timings = Timings::default();
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut agents = Agents::new(clock.clone(), timings);
    let mut lifecycle = NodeLifecycleController::new(&store, clock.clone(), timings);
    add_node(&store, "n1", 1000);
    agents.join(&store, "n1");
    let tainted = |store: &MemStore| {
        let node: Node =
            serde_json::from_slice(&store.get(&node_key("n1")).unwrap().unwrap().value).unwrap();
        node.spec.taints.iter().any(|t| t.key == NOT_READY_TAINT)
    };
    assert_eq!(lifecycle.step().unwrap().ready, ["n1"]);
    agents.kill("n1");
    let mut went_not_ready = false;
    for _ in 0..(timings.lease_ttl + timings.grace).as_secs() + 10 {
        clock.advance(Duration::from_secs(1));
        went_not_ready |= !lifecycle.step().unwrap().not_ready.is_empty();
    }
    assert!(went_not_ready && tainted(&store));
    agents.join(&store, "n1");
    assert_eq!(lifecycle.step().unwrap().ready, ["n1"]);
    assert!(!tainted(&store));
}
