//! What the controller tests share: writing objects into a store, and the nodes' side simulated
//! (no processes): an agent per live node that reports its bound pods Running and ready, and renews
//! its node's lease.
#![allow(dead_code)] // each test file uses a part

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tinykube::controller::{NodeHeartbeat, Timings, pod_statuses, status_key, write_pod_status};
use tinykube::scheduler::{list_pods, node_key, pod_key};
use tinykube::store::{Clock, Expect, MemStore, Store};
use tinykube::{Cpu, Memory, Node, Pod, PodPhase, PodSpec, PodStatus};

pub fn put<T: serde::Serialize>(store: &MemStore, key: &str, value: &T) -> u64 {
    store
        .put(key, &serde_json::to_vec(value).unwrap(), Expect::Any, None)
        .unwrap()
}

pub fn add_node(store: &MemStore, name: &str, cpu: u64) -> Node {
    let node = Node::new(name, Cpu(cpu), Memory(1 << 30));
    put(store, &node_key(name), &node);
    node
}

pub fn add_pod(store: &MemStore, name: &str, cpu: u64, priority: i32) -> Pod {
    let mut pod = Pod::new(
        name,
        PodSpec::new(["true"]).with_requests(Cpu(cpu), Memory(0)),
    );
    pod.spec.priority = priority;
    put(store, &pod_key(name), &pod);
    pod
}

/// Pod name → node, for the bound pods.
pub fn bindings(store: &MemStore) -> BTreeMap<String, String> {
    list_pods(store)
        .unwrap()
        .into_iter()
        .filter_map(|(p, _)| p.spec.node_name.map(|n| (p.metadata.name, n)))
        .collect()
}

/// The simulated agents: each live node's pods become Running and ready one step after they are
/// bound; a node can be killed (its agent stops: no status, no renewal).
pub struct Agents {
    clock: Arc<dyn Clock>,
    timings: Timings,
    beats: BTreeMap<String, NodeHeartbeat>,
    pub dead: BTreeSet<String>,
}

impl Agents {
    pub fn new(clock: Arc<dyn Clock>, timings: Timings) -> Agents {
        Agents {
            clock,
            timings,
            beats: BTreeMap::new(),
            dead: BTreeSet::new(),
        }
    }

    /// Starts the agent of `node`: its heartbeat lease.
    pub fn join(&mut self, store: &MemStore, node: &str) {
        let beat = NodeHeartbeat::start(
            store,
            node,
            self.timings.lease_ttl,
            self.timings.lease_renew,
            self.clock.clone(),
        )
        .unwrap();
        self.beats.insert(node.to_string(), beat);
    }

    /// Stops `node`'s agent, as SIGKILL would.
    pub fn kill(&mut self, node: &str) {
        self.beats.remove(node);
        self.dead.insert(node.to_string());
    }

    /// One round of every live agent: renew the lease; report a pod bound here Pending, then
    /// Running and ready on the next round.
    pub fn step(&mut self, store: &MemStore) {
        for beat in self.beats.values_mut() {
            beat.tick(store).unwrap();
        }
        let statuses = pod_statuses(store).unwrap();
        for (pod, _) in list_pods(store).unwrap() {
            let Some(node) = pod.spec.node_name.as_deref() else {
                continue;
            };
            if !self.beats.contains_key(node) {
                continue;
            }
            let name = &pod.metadata.name;
            let (phase, ready) = match statuses.get(name) {
                None => (PodPhase::Pending, false),
                Some(s) if s.phase == PodPhase::Pending => (PodPhase::Running, true),
                Some(_) => continue,
            };
            let status = PodStatus {
                node: node.to_string(),
                phase,
                ready,
                restarts: 0,
                last_exit: None,
                since: self.clock.now(),
            };
            write_pod_status(store, name, &status).unwrap();
        }
    }

    /// Marks `pod` Failed, as its agent would after its last allowed exit.
    pub fn fail(&self, store: &MemStore, pod: &str) {
        let mut status = pod_statuses(store).unwrap().remove(pod).unwrap();
        status.phase = PodPhase::Failed;
        status.ready = false;
        status.last_exit = Some(1);
        write_pod_status(store, pod, &status).unwrap();
    }
}

/// Whether `key` holds a status.
pub fn has_status(store: &MemStore, pod: &str) -> bool {
    store.get(&status_key(pod)).unwrap().is_some()
}
