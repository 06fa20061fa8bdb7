//! The ReplicaSet controller keeps its replica count (creating named, labelled pods, deleting
//! extras, replacing failed pods), and the garbage collector deletes orphans only.
mod cluster_sim;

use std::collections::BTreeMap;

use cluster_sim::{Agents, Loops, add_node, has_status, pods_labelled, put, template};
use harness::clock::VirtualClock;
use tinykube::controller::{GarbageCollector, OWNER_LABEL, Timings, replicaset_key};
use tinykube::scheduler::pod_key;
use tinykube::store::{Expect, MemStore, Store};
use tinykube::{ObjectMeta, Pod, PodSpec, ReplicaSet, ReplicaSetSpec};

fn replicaset(name: &str, replicas: u32) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: name.into(),
            labels: BTreeMap::new(),
        },
        spec: ReplicaSetSpec {
            replicas,
            selector: BTreeMap::from([("app".to_string(), name.to_string())]),
            template: template(name, "60", 100),
        },
    }
}

fn ready(store: &MemStore, app: &str) -> (usize, usize) {
    let pods = pods_labelled(store, "app", app);
    (pods.len(), pods.iter().filter(|(_, r, _)| *r).count())
}

#[test]
fn a_replica_set_reconciles_to_its_count_and_replaces_failed_pods() {
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut agents = Agents::new(clock.clone(), Timings::default());
    let mut loops = Loops::new(&store, clock.clone(), Timings::default());
    for n in ["n1", "n2"] {
        add_node(&store, n, 1000);
        agents.join(&store, n);
    }
    put(&store, &replicaset_key("web"), &replicaset("web", 3));
    for _ in 0..3 {
        loops.round(&store, &mut agents, &mut |_| {});
    }
    assert_eq!(ready(&store, "web"), (3, 3));
    for (pod, _, _) in pods_labelled(&store, "app", "web") {
        assert!(
            pod.metadata.name.starts_with("web-"),
            "{}",
            pod.metadata.name
        );
        assert_eq!(pod.metadata.labels[OWNER_LABEL], "ReplicaSet/web");
    }
    // A pod fails for good: it is deleted and replaced.
    let failed = pods_labelled(&store, "app", "web")[0]
        .0
        .metadata
        .name
        .clone();
    agents.fail(&store, &failed);
    for _ in 0..3 {
        loops.round(&store, &mut agents, &mut |_| {});
    }
    assert!(store.get(&pod_key(&failed)).unwrap().is_none());
    assert!(!has_status(&store, &failed));
    assert_eq!(ready(&store, "web"), (3, 3));
    // Scaled down: the extras go.
    put(&store, &replicaset_key("web"), &replicaset("web", 1));
    loops.round(&store, &mut agents, &mut |_| {});
    assert_eq!(ready(&store, "web"), (1, 1));
}

#[test]
fn garbage_collection_removes_orphans_only() {
    let store = MemStore::new();
    put(&store, &replicaset_key("web"), &replicaset("web", 1));
    let pod = |name: &str, owner: Option<&str>| {
        let mut p = Pod::new(name, PodSpec::new(["true"]));
        if let Some(o) = owner {
            p.metadata.labels.insert(OWNER_LABEL.into(), o.into());
        }
        put(&store, &pod_key(name), &p);
    };
    pod("mine", Some("ReplicaSet/web"));
    pod("orphan", Some("ReplicaSet/gone"));
    pod("lonely", None);
    pod("other-kind", Some("Job/nightly"));
    let mut owned_rs = replicaset("old", 0);
    owned_rs
        .metadata
        .labels
        .insert(OWNER_LABEL.into(), "Deployment/gone".into());
    put(&store, &replicaset_key("old"), &owned_rs);
    store
        .put("/status/pods/ghost", b"{}", Expect::Any, None)
        .unwrap();
    let mut gc = GarbageCollector::new(&store);
    let mut deleted = gc.step().unwrap();
    deleted.sort();
    assert_eq!(
        deleted,
        ["/pods/orphan", "/replicasets/old", "/status/pods/ghost"]
    );
    assert!(gc.step().unwrap().is_empty(), "a second pass finds nothing");
    // The replica set goes: its pod is an orphan now.
    store.delete(&replicaset_key("web"), Expect::Any).unwrap();
    assert_eq!(gc.step().unwrap(), ["/pods/mine"]);
    for kept in ["lonely", "other-kind"] {
        assert!(store.get(&pod_key(kept)).unwrap().is_some(), "{kept}");
    }
}
