//! The scheduler loop on a store: pods arriving while nodes join get bound; an unschedulable pod is
//! bound as soon as a node with room joins (not after its backoff); a preemptor's nominated node is
//! not taken by a lower-priority pod; two loops racing on one store never bind a pod twice nor
//! over-commit a node. Time is a virtual clock, except in the race, which runs real threads.
mod cluster_sim;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use cluster_sim::{add_node, add_pod, bindings};
use harness::clock::VirtualClock;
use harness::wait::poll_until;
use harness::watchdog::within;
use proptest::prelude::*;
use tinykube::controller::{SchedulerConfig, SchedulerLoop};
use tinykube::scheduler::{
    Backoff, Snapshot, Weights, list_pods, pod_key, reservation_key, schedule,
};
use tinykube::store::{Event, MemStore, Store};
use tinykube::{Node, Pod, Requests};

#[test]
fn pods_arriving_while_nodes_join_get_bound() {
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut scheduler = SchedulerLoop::new(&store, SchedulerConfig::default(), clock.clone());
    add_pod(&store, "a", 600, 0);
    add_pod(&store, "b", 600, 0);
    assert_eq!(
        scheduler.step().unwrap().unschedulable.len(),
        2,
        "no node yet"
    );
    add_node(&store, "n1", 1000);
    add_pod(&store, "c", 300, 0);
    let report = scheduler.step().unwrap();
    assert_eq!(
        report.bound.len(),
        2,
        "one of a/b and c fit on n1: {report:?}"
    );
    add_node(&store, "n2", 1000);
    add_pod(&store, "d", 300, 0);
    scheduler.step().unwrap();
    let bound = bindings(&store);
    assert_eq!(bound.len(), 4, "{bound:?}");
    assert_eq!(scheduler.pending(), 0);
}

#[test]
fn an_unschedulable_pod_is_bound_when_a_node_with_room_joins() {
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut scheduler = SchedulerLoop::new(&store, SchedulerConfig::default(), clock.clone());
    add_node(&store, "small", 500);
    add_pod(&store, "big", 2000, 0);
    assert_eq!(scheduler.step().unwrap().unschedulable, ["big"]);
    // Backing off: the next step does not try again, on an unchanged cluster.
    assert_eq!(scheduler.step().unwrap(), Default::default());
    // A node with room joins: the pod is tried at once, its backoff (1 s, not yet passed) cut short.
    add_node(&store, "large", 4000);
    let report = scheduler.step().unwrap();
    assert_eq!(report.bound, [("big".to_string(), "large".to_string())]);
}

#[test]
fn a_pending_pod_is_bound_when_a_bound_pod_leaves() {
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut scheduler = SchedulerLoop::new(&store, SchedulerConfig::default(), clock.clone());
    add_node(&store, "n1", 1000);
    add_pod(&store, "first", 1000, 0);
    add_pod(&store, "second", 1000, 0);
    let report = scheduler.step().unwrap();
    assert_eq!(report.unschedulable.len(), 1, "{report:?}");
    let waiting = report.unschedulable[0].clone();
    let leaving = if waiting == "first" {
        "second"
    } else {
        "first"
    };
    tinykube::scheduler::evict(&store, leaving).unwrap();
    // No clock step: the deletion, not the backoff, sends the pending pod back.
    assert_eq!(
        scheduler.step().unwrap().bound,
        [(waiting, "n1".to_string())]
    );
}

#[test]
fn the_node_a_preemptor_freed_is_not_taken_by_a_lower_priority_pod() {
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut scheduler = SchedulerLoop::new(&store, SchedulerConfig::default(), clock.clone());
    add_node(&store, "n1", 1000);
    add_pod(&store, "victim", 1000, 0);
    scheduler.step().unwrap();
    let start = store.revision().unwrap() + 1;
    add_pod(&store, "urgent", 1000, 100);
    add_pod(&store, "middle", 1000, 50);
    let report = scheduler.step().unwrap();
    assert_eq!(report.preempted, ["victim"]);
    assert_eq!(scheduler.nominated("urgent"), Some("n1"));
    scheduler.step().unwrap();
    assert_eq!(
        bindings(&store),
        BTreeMap::from([("urgent".to_string(), "n1".to_string())])
    );
    // `middle` was never bound (it would have been, then preempted in turn, without the nomination).
    let mut watch = store.watch(&pod_key(""), start);
    while let Some(event) = watch.next_timeout(Duration::ZERO).unwrap() {
        if let Event::Put(kv) = event {
            let pod: Pod = serde_json::from_slice(&kv.value).unwrap();
            assert!(
                pod.metadata.name != "middle" || pod.spec.node_name.is_none(),
                "middle took the preemptor's node"
            );
        }
    }
    assert!(store.get(&pod_key("middle")).unwrap().is_some());
}

#[test]
fn a_loop_relists_after_compaction_and_still_binds() {
    let clock = VirtualClock::new();
    let store = MemStore::with_clock(clock.clone());
    let mut scheduler = SchedulerLoop::new(&store, SchedulerConfig::default(), clock.clone());
    assert!(scheduler.step().unwrap().relisted);
    add_node(&store, "n1", 1000);
    add_pod(&store, "p", 100, 0);
    store.compact(store.revision().unwrap()).unwrap();
    let report = scheduler.step().unwrap();
    assert!(report.relisted, "{report:?}");
    assert_eq!(report.bound.len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn two_loops_never_bind_a_pod_twice_nor_overcommit(
        capacities in prop::collection::vec(1u64..=6, 1..4),
        requests in prop::collection::vec(1u64..=4, 1..16),
    ) {
        let (capacities2, requests2) = (capacities.clone(), requests.clone());
        let (a, b, store) = within(Duration::from_secs(60), move || race(&capacities2, &requests2));
        let a_set: BTreeSet<&String> = a.iter().collect();
        let b_set: BTreeSet<&String> = b.iter().collect();
        prop_assert!(a_set.is_disjoint(&b_set), "bound by both: {:?}", a_set.intersection(&b_set).collect::<Vec<_>>());
        prop_assert_eq!(a.len() + b.len(), a_set.len() + b_set.len());
        // The store's history agrees: each pod's nodeName was set once and never changed.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut watch = store.watch(&pod_key(""), 1);
        while let Some(event) = watch.next_timeout(Duration::ZERO).unwrap() {
            if let Event::Put(kv) = event {
                let pod: Pod = serde_json::from_slice(&kv.value).unwrap();
                if let Some(node) = pod.spec.node_name {
                    let first = seen.entry(pod.metadata.name.clone()).or_insert(node.clone());
                    prop_assert_eq!(&*first, &node, "{} moved", pod.metadata.name);
                }
            }
        }
        let bound = bindings(&store);
        prop_assert_eq!(bound.keys().collect::<BTreeSet<_>>(), a_set.union(&b_set).copied().collect());
        let pods = list_pods(&*store).unwrap();
        for (i, &cap) in capacities.iter().enumerate() {
            let name = format!("n{i}");
            let cpu: u64 = pods.iter().filter(|(p, _)| p.spec.node_name.as_deref() == Some(name.as_str())).map(|(p, _)| p.spec.requests.cpu.0).sum();
            prop_assert!(cpu <= cap * 500, "{name} over-committed: {cpu}m of {}m", cap * 500);
            // Its reservations are exactly its pods: a lost bind left nothing behind.
            let held: BTreeMap<String, Requests> = store.get(&reservation_key(&name)).unwrap()
                .map(|kv| serde_json::from_slice(&kv.value).unwrap()).unwrap_or_default();
            let on: BTreeSet<&String> = pods.iter()
                .filter(|(p, _)| p.spec.node_name.as_deref() == Some(name.as_str()))
                .map(|(p, _)| &p.metadata.name).collect();
            prop_assert_eq!(held.keys().collect::<BTreeSet<_>>(), on);
        }
        prop_assert!(settled(&store), "a pod left pending fits");
    }
}

/// Whether every pending pod fits on no node (the loops have nothing left to do).
fn settled(store: &MemStore) -> bool {
    let pods: Vec<Pod> = list_pods(store)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let nodes: Vec<Node> = store
        .list("/nodes/")
        .unwrap()
        .items
        .iter()
        .map(|kv| serde_json::from_slice(&kv.value).unwrap())
        .collect();
    let snapshot = Snapshot::new(nodes, &pods);
    pods.iter().filter(|p| p.spec.node_name.is_none()).all(|p| {
        schedule(p, &snapshot, &Weights::default())
            .chosen()
            .is_none()
    })
}

/// Two loops on one store while pods and nodes arrive interleaved; the pods each loop bound.
fn race(capacities: &[u64], requests: &[u64]) -> (Vec<String>, Vec<String>, Arc<MemStore>) {
    let store = Arc::new(MemStore::new());
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(3);
    let config = SchedulerConfig {
        weights: Weights::default(),
        // Short, so a pod that lost a race is retried soon (the node events requeue it anyway).
        backoff: Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
    };
    let (a, b) = std::thread::scope(|s| {
        let run = || {
            let (store, stop, barrier, config) = (&*store, &stop, &barrier, config.clone());
            s.spawn(move || {
                let clock = Arc::new(tinykube::store::SystemClock::new());
                let mut scheduler = SchedulerLoop::new(store, config, clock);
                let mut mine = Vec::new();
                barrier.wait();
                while !stop.load(Ordering::Relaxed) {
                    let report = scheduler.step().unwrap();
                    let idle = report.bound.is_empty();
                    mine.extend(report.bound.into_iter().map(|(p, _)| p));
                    if idle {
                        store.wait_for_revision(
                            store.revision().unwrap() + 1,
                            Duration::from_millis(5),
                        );
                    }
                }
                mine
            })
        };
        let (a, b) = (run(), run());
        barrier.wait();
        // Pods and nodes arrive interleaved.
        let mut nodes = capacities.iter().enumerate();
        for (i, &cpu) in requests.iter().enumerate() {
            add_pod(&store, &format!("p{i:02}"), cpu * 250, 0);
            if i % 3 == 0
                && let Some((n, &cap)) = nodes.next()
            {
                add_node(&store, &format!("n{n}"), cap * 500);
            }
        }
        for (n, &cap) in nodes {
            add_node(&store, &format!("n{n}"), cap * 500);
        }
        assert!(
            poll_until(Duration::from_secs(30), || settled(&store)),
            "the loops did not settle"
        );
        stop.store(true, Ordering::Relaxed);
        (a.join().unwrap(), b.join().unwrap())
    });
    (a, b, store)
}

#[test]
fn run_binds_what_arrives_and_stops_when_told() {
    within(Duration::from_secs(30), || {
        let store = MemStore::new();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let loop_thread = s.spawn(|| {
                let clock = Arc::new(tinykube::store::SystemClock::new());
                SchedulerLoop::new(&store, SchedulerConfig::default(), clock)
                    .run(&stop, Duration::from_millis(20))
            });
            add_pod(&store, "p", 100, 0);
            add_node(&store, "n1", 1000);
            let bound = poll_until(Duration::from_secs(10), || bindings(&store).len() == 1);
            stop.store(true, Ordering::Relaxed);
            loop_thread.join().unwrap().unwrap();
            assert!(bound, "the running loop did not bind the pod");
        });
    });
}
