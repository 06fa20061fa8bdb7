//! Preemption end to end on a store: a high-priority pod that fits nowhere, the victims "why pending"
//! names, evicted; the pod then schedules and binds, and the node's reservations match its pods.
use std::collections::BTreeMap;

use tinykube::scheduler::{
    Snapshot, Suggestion, Weights, bind, evict, list_pods, node_key, pod_key, reservation_key,
    schedule, why_pending,
};
use tinykube::store::{Expect, MemStore, Store};
use tinykube::{Cpu, Memory, Node, Pod, PodSpec, Requests};

fn put<T: serde::Serialize>(store: &MemStore, key: &str, value: &T) -> u64 {
    store
        .put(key, &serde_json::to_vec(value).unwrap(), Expect::Any, None)
        .unwrap()
}

fn pod(name: &str, cpu: u64, priority: i32) -> Pod {
    let mut p = Pod::new(
        name,
        PodSpec::new(["true"]).with_requests(Cpu(cpu), Memory(0)),
    );
    p.spec.priority = priority;
    p
}

#[test]
fn a_high_priority_pod_preempts_the_fewest_lower_priority_pods_and_binds() {
    let store = MemStore::new();
    let nodes = vec![
        Node::new("n1", Cpu(1000), Memory(1 << 30)),
        Node::new("n2", Cpu(1000), Memory(1 << 30)),
    ];
    for n in &nodes {
        put(&store, &node_key(&n.metadata.name), n);
    }
    // Fill both nodes with low-priority pods through the ordinary bind.
    for (name, cpu, node) in [("a", 300, "n1"), ("b", 400, "n1"), ("c", 900, "n2")] {
        let revision = put(&store, &pod_key(name), &pod(name, cpu, 0));
        bind(&store, name, revision, node).unwrap();
    }
    let revision = put(&store, &pod_key("urgent"), &pod("urgent", 800, 100));
    let snapshot = |store: &MemStore| {
        let bound: Vec<Pod> = list_pods(store)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        Snapshot::new(nodes.clone(), &bound)
    };
    let urgent = pod("urgent", 800, 100);
    assert_eq!(
        schedule(&urgent, &snapshot(&store), &Weights::default()).chosen(),
        None
    );
    let why = why_pending(&urgent, &snapshot(&store));
    let Some(Suggestion::Preempt { node, victims, .. }) =
        why.iter().find(|s| matches!(s, Suggestion::Preempt { .. }))
    else {
        panic!("no preemption suggested: {why:?}")
    };
    assert_eq!(
        (node.as_str(), victims.as_slice()),
        ("n2", &["c".to_string()][..])
    );
    for v in victims {
        evict(&store, v).unwrap();
    }
    let decision = schedule(&urgent, &snapshot(&store), &Weights::default());
    assert_eq!(decision.chosen(), Some("n2"));
    bind(&store, "urgent", revision, "n2").unwrap();
    // The oracle: pods as stored, and each node's reservations equal to its pods.
    for n in ["n1", "n2"] {
        let on: BTreeMap<String, Requests> = list_pods(&store)
            .unwrap()
            .into_iter()
            .filter(|(p, _)| p.spec.node_name.as_deref() == Some(n))
            .map(|(p, _)| (p.metadata.name, p.spec.requests))
            .collect();
        let held: BTreeMap<String, Requests> =
            serde_json::from_slice(&store.get(&reservation_key(n)).unwrap().unwrap().value)
                .unwrap();
        assert_eq!(held, on, "{n}");
    }
    assert!(
        store.get(&pod_key("c")).unwrap().is_none(),
        "the victim is gone"
    );
}
