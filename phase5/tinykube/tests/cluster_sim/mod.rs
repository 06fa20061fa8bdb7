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
                reason: None,
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

/// Every control loop on one store, run in a fixed order; `sample` is called after each one, so a
/// test checks its invariant at every intermediate state.
pub struct Loops<'s> {
    pub scheduler: tinykube::controller::SchedulerLoop<'s, MemStore>,
    pub replicasets: tinykube::controller::ReplicaSetController<'s, MemStore>,
    pub deployments: tinykube::controller::DeploymentController<'s, MemStore>,
    pub lifecycle: tinykube::controller::NodeLifecycleController<'s, MemStore>,
    pub gc: tinykube::controller::GarbageCollector<'s, MemStore>,
}

impl<'s> Loops<'s> {
    pub fn new(store: &'s MemStore, clock: Arc<dyn Clock>, timings: Timings) -> Loops<'s> {
        use tinykube::controller::*;
        Loops {
            scheduler: SchedulerLoop::new(store, SchedulerConfig::default(), clock.clone()),
            replicasets: ReplicaSetController::new(store),
            deployments: DeploymentController::new(store),
            lifecycle: NodeLifecycleController::new(store, clock, timings),
            gc: GarbageCollector::new(store),
        }
    }

    /// One loop's step, chosen by `which` (mod 5): deployments, replica sets, scheduler, agents,
    /// node lifecycle and garbage collection.
    pub fn step_one(&mut self, which: u8, store: &MemStore, agents: &mut Agents) {
        match which % 5 {
            0 => drop(self.deployments.step().unwrap()),
            1 => drop(self.replicasets.step().unwrap()),
            2 => drop(self.scheduler.step().unwrap()),
            3 => agents.step(store),
            _ => {
                self.lifecycle.step().unwrap();
                self.gc.step().unwrap();
            }
        }
    }

    /// One round: deployments, replica sets, scheduler, agents, node lifecycle, garbage collection.
    /// Returns the pods the lifecycle controller evicted.
    pub fn round(
        &mut self,
        store: &MemStore,
        agents: &mut Agents,
        sample: &mut dyn FnMut(&MemStore),
    ) -> Vec<String> {
        self.deployments.step().unwrap();
        sample(store);
        self.replicasets.step().unwrap();
        sample(store);
        self.scheduler.step().unwrap();
        sample(store);
        agents.step(store);
        sample(store);
        let evicted = self.lifecycle.step().unwrap().evicted;
        sample(store);
        self.gc.step().unwrap();
        sample(store);
        evicted
    }
}

/// The pods carrying `key=value`, each with whether its status says Running and ready, and whether
/// it says Running at all.
pub fn pods_labelled(store: &MemStore, key: &str, value: &str) -> Vec<(Pod, bool, bool)> {
    let statuses = pod_statuses(store).unwrap();
    list_pods(store)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.metadata.labels.get(key).map(String::as_str) == Some(value))
        .map(|p| {
            let s = statuses.get(&p.metadata.name);
            let running = s.is_some_and(|s| s.phase == PodPhase::Running);
            let ready = running && s.is_some_and(|s| s.ready);
            (p, ready, running)
        })
        .collect()
}

/// A pod template labelled `app=<app>`, running `sleep <arg>`, requesting `cpu`.
pub fn template(app: &str, arg: &str, cpu: u64) -> tinykube::PodTemplate {
    tinykube::PodTemplate {
        metadata: tinykube::TemplateMeta {
            labels: BTreeMap::from([("app".to_string(), app.to_string())]),
        },
        spec: PodSpec::new(["sleep", arg]).with_requests(Cpu(cpu), Memory(0)),
    }
}
