//! Two schedulers racing on one store, each with its own (stale) snapshots: no pod is bound twice,
//! no node is over-committed, and no reservation outlives a lost bind. The oracle reads the pods'
//! final state from the store and the bind results the schedulers saw, not the reservation records.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Barrier;

use proptest::prelude::*;
use tinykube::scheduler::{
    BindError, Score, Snapshot, Weights, bind, list_pods, node_key, pod_key, reservation_key,
    schedule,
};
use tinykube::store::{Expect, MemStore, Store};
use tinykube::{Cpu, Memory, Node, Pod, PodSpec, Requests};

fn node(i: usize, cpu: u64, memory: u64) -> Node {
    Node::new(format!("n{i}"), Cpu(cpu), Memory(memory))
}

fn pod(i: usize, cpu: u64, memory: u64) -> Pod {
    Pod::new(
        format!("p{i:02}"),
        PodSpec::new(["true"]).with_requests(Cpu(cpu), Memory(memory)),
    )
}

/// One scheduler: passes over the pending pods (in its own order) until a pass binds nothing and
/// loses no race. Returns the pods it bound.
fn scheduler(store: &MemStore, nodes: &[Node], weights: &Weights, reverse: bool) -> Vec<String> {
    let mut mine = Vec::new();
    for _pass in 0..1000 {
        let mut progress = false;
        let mut pods = list_pods(store).unwrap();
        if reverse {
            pods.reverse();
        }
        let bound: Vec<Pod> = pods
            .iter()
            .map(|(p, _)| p.clone())
            .filter(|p| p.spec.node_name.is_some())
            .collect();
        let snapshot = Snapshot::new(nodes.to_vec(), &bound); // stale as soon as the other one binds
        for (p, revision) in pods.iter().filter(|(p, _)| p.spec.node_name.is_none()) {
            let Some(target) = schedule(p, &snapshot, weights).chosen().map(str::to_string) else {
                continue;
            };
            match bind(store, &p.metadata.name, *revision, &target) {
                Ok(_) => {
                    mine.push(p.metadata.name.clone());
                    progress = true;
                }
                Err(
                    BindError::PodChanged(_)
                    | BindError::NoLongerFits { .. }
                    | BindError::AlreadyBound { .. },
                ) => progress = true,
                Err(e) => panic!("{e}"),
            }
        }
        if !progress {
            return mine;
        }
    }
    panic!("no fixed point after 1000 passes");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn racing_schedulers_never_bind_twice_nor_overcommit(
        capacities in prop::collection::vec((1u64..=8, 1u64..=8), 1..4),
        requests in prop::collection::vec((1u64..=4, 1u64..=4), 1..24),
    ) {
        let store = MemStore::new();
        let nodes: Vec<Node> = capacities.iter().enumerate().map(|(i, &(c, m))| node(i, c * 500, m * 500)).collect();
        for n in &nodes {
            store.put(&node_key(&n.metadata.name), &serde_json::to_vec(n).unwrap(), Expect::Absent, None).unwrap();
        }
        for (i, &(c, m)) in requests.iter().enumerate() {
            let p = pod(i, c * 250, m * 250);
            store.put(&pod_key(&p.metadata.name), &serde_json::to_vec(&p).unwrap(), Expect::Absent, None).unwrap();
        }
        let barrier = Barrier::new(2);
        let (a, b) = std::thread::scope(|s| {
            let run = |weights: Weights, reverse: bool| {
                let (store, nodes, barrier) = (&store, &nodes, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    scheduler(store, nodes, &weights, reverse)
                })
            };
            let a = run(Weights(vec![(Score::MostAllocated, 1)]), false);
            let b = run(Weights(vec![(Score::MostAllocated, 1)]), true);
            (a.join().unwrap(), b.join().unwrap())
        });
        // No pod bound twice: the two schedulers' successes are disjoint and match the final state.
        let a_set: BTreeSet<&String> = a.iter().collect();
        let b_set: BTreeSet<&String> = b.iter().collect();
        prop_assert!(a_set.is_disjoint(&b_set), "bound by both: {:?}", a_set.intersection(&b_set).collect::<Vec<_>>());
        prop_assert_eq!(a.len() + b.len(), a_set.len() + b_set.len());
        let finals = list_pods(&store).unwrap();
        let bound: BTreeSet<&String> = finals.iter().filter(|(p, _)| p.spec.node_name.is_some()).map(|(p, _)| &p.metadata.name).collect();
        prop_assert_eq!(&bound, &a_set.union(&b_set).copied().collect());
        // No node over-committed, counted from the pods themselves.
        for n in &nodes {
            let on: Vec<&Pod> = finals.iter().map(|(p, _)| p).filter(|p| p.spec.node_name.as_deref() == Some(n.metadata.name.as_str())).collect();
            let cpu: u64 = on.iter().map(|p| p.spec.requests.cpu.0).sum();
            let memory: u64 = on.iter().map(|p| p.spec.requests.memory.0).sum();
            prop_assert!(cpu <= n.spec.capacity.cpu.0 && memory <= n.spec.capacity.memory.0,
                "{} over-committed: {cpu}m / {memory} on {:?}", n.metadata.name, n.spec.capacity);
            // Its reservations are exactly its pods: a lost bind left nothing behind.
            let held: BTreeMap<String, Requests> = store.get(&reservation_key(&n.metadata.name)).unwrap()
                .map(|kv| serde_json::from_slice(&kv.value).unwrap()).unwrap_or_default();
            let names: BTreeSet<&String> = on.iter().map(|p| &p.metadata.name).collect();
            prop_assert_eq!(held.keys().collect::<BTreeSet<_>>(), names);
        }
        // Maximal: every pod left pending fits on no node given the final usage.
        let bound_pods: Vec<Pod> = finals.iter().map(|(p, _)| p.clone()).filter(|p| p.spec.node_name.is_some()).collect();
        let snapshot = Snapshot::new(nodes.clone(), &bound_pods);
        for (p, _) in finals.iter().filter(|(p, _)| p.spec.node_name.is_none()) {
            let decision = schedule(p, &snapshot, &Weights::default());
            prop_assert_eq!(decision.chosen(), None, "{} left pending but fits", p.metadata.name);
        }
    }
}
