//! The scheduler loop: the framework's queue → schedule → bind, driven by a watch.
//!
//! It lists pods and nodes, then follows their changes from the listed revision (listing again
//! when the store compacted what it needs). Unbound pods wait in a [`SchedulingQueue`] by
//! priority; each step pops the ready ones, schedules each against a snapshot of its cache and
//! binds by compare-and-swap. A pod no node takes backs off (1 s doubling to 10 s), unless
//! preemption can make room: then the victims are evicted and the node is *nominated* for the
//! preemptor, so a pod of lower priority scheduled before the preemptor's next try counts the room
//! as taken. A node change, or a bound pod leaving, sends every pending pod back to the ready set.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{ControllerError, parse};
use crate::objects::{Node, Pod};
use crate::scheduler::{
    Backoff, BindError, SchedulingQueue, Snapshot, Suggestion, Weights, bind, evict, node_key,
    pod_key, schedule, why_pending,
};
use crate::store::{Clock, Event, Store, StoreError};

/// How the loop schedules.
#[derive(Debug, Clone, Default)]
pub struct SchedulerConfig {
    /// The scores and their weights.
    pub weights: Weights,
    /// The backoff of unschedulable pods (1 s → 10 s by default).
    pub backoff: Backoff,
}

/// What one [`SchedulerLoop::step`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Pods bound, with their node.
    pub bound: Vec<(String, String)>,
    /// Pods no node took (backing off).
    pub unschedulable: Vec<String>,
    /// Pods evicted to make room for a higher-priority one.
    pub preempted: Vec<String>,
    /// Binds lost to a concurrent change (another scheduler, an edit): retried after the watch
    /// brings the change.
    pub conflicts: usize,
    /// Whether the step listed again (first step, or after compaction).
    pub relisted: bool,
}

impl StepReport {
    /// Whether the step changed anything in the store.
    pub fn wrote(&self) -> bool {
        !self.bound.is_empty() || !self.preempted.is_empty()
    }
}

/// A scheduler: a cache fed by a watch, a queue, and the nominations of its preemptors.
pub struct SchedulerLoop<'s, S: Store> {
    store: &'s S,
    config: SchedulerConfig,
    queue: SchedulingQueue,
    /// Every pod, with the revision bind compares.
    pods: BTreeMap<String, (Pod, u64)>,
    nodes: BTreeMap<String, Node>,
    /// Preemptor → the node its victims freed.
    nominated: BTreeMap<String, String>,
    /// The next revision to read under `/pods/` and `/nodes/`; `None`: list first.
    cursor: Option<(u64, u64)>,
    /// Set by a relist, reported (and cleared) by the step.
    relisted: bool,
}

impl<S: Store> std::fmt::Debug for SchedulerLoop<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerLoop")
            .field("queue", &self.queue)
            .field("nominated", &self.nominated)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl<'s, S: Store> SchedulerLoop<'s, S> {
    /// A loop on `store` whose backoff reads `clock`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tinykube::controller::{SchedulerConfig, SchedulerLoop};
    /// use tinykube::scheduler::{node_key, pod_key};
    /// use tinykube::store::{Expect, MemStore, Store, SystemClock};
    /// use tinykube::{Cpu, Memory, Node, Pod, PodSpec};
    ///
    /// let store = MemStore::new();
    /// let put = |key: &str, json: Vec<u8>| store.put(key, &json, Expect::Absent, None);
    /// put(&node_key("n1"), serde_json::to_vec(&Node::new("n1", Cpu(1000), Memory(1 << 30)))?)?;
    /// put(&pod_key("web"), serde_json::to_vec(&Pod::new("web", PodSpec::new(["sleep", "60"])))?)?;
    /// let mut scheduler = SchedulerLoop::new(&store, SchedulerConfig::default(), Arc::new(SystemClock::new()));
    /// let report = scheduler.step()?;
    /// assert_eq!(report.bound, [("web".to_string(), "n1".to_string())]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(store: &'s S, config: SchedulerConfig, clock: Arc<dyn Clock>) -> Self {
        let queue = SchedulingQueue::new(clock, config.backoff);
        SchedulerLoop {
            store,
            config,
            queue,
            pods: BTreeMap::new(),
            nodes: BTreeMap::new(),
            nominated: BTreeMap::new(),
            cursor: None,
            relisted: false,
        }
    }

    /// The node nominated for `pod` by its preemption, if any.
    pub fn nominated(&self, pod: &str) -> Option<&str> {
        self.nominated.get(pod).map(String::as_str)
    }

    /// Pods waiting to be scheduled (ready or backing off).
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Reads the changes since the last step, then schedules every pod that is ready.
    pub fn step(&mut self) -> Result<StepReport, ControllerError> {
        let mut report = StepReport::default();
        match self.sync() {
            Ok(()) => {}
            Err(ControllerError::Store(StoreError::Compacted { .. })) => {
                self.cursor = None;
                self.sync()?;
            }
            Err(e) => return Err(e),
        }
        report.relisted = self.relisted;
        self.relisted = false;
        let mut retry = Vec::new();
        while let Some(name) = self.queue.pop() {
            let Some((pod, revision)) = self.pods.get(&name).cloned() else {
                continue;
            };
            if pod.spec.node_name.is_some() {
                continue;
            }
            let snapshot = self.snapshot_for(&pod);
            let decision = schedule(&pod, &snapshot, &self.config.weights);
            if let Some(node) = decision.chosen() {
                match bind(self.store, &name, revision, node) {
                    Ok(bound_at) => {
                        let mut bound = pod.clone();
                        bound.spec.node_name = Some(node.to_string());
                        self.pods.insert(name.clone(), (bound, bound_at));
                        self.nominated.remove(&name);
                        self.queue.remove(&name);
                        report.bound.push((name, node.to_string()));
                    }
                    // The watch brings the change that beat us (bound elsewhere, or edited: then
                    // it is queued again).
                    Err(BindError::PodChanged(_) | BindError::AlreadyBound { .. }) => {
                        report.conflicts += 1
                    }
                    Err(BindError::PodNotFound(_)) => self.forget(&name),
                    // Our snapshot was stale: try again after the next sync.
                    Err(BindError::NoLongerFits { .. } | BindError::NodeNotFound(_)) => {
                        report.conflicts += 1;
                        retry.push((name, pod.spec.priority));
                    }
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            if self.preempt(&pod, &snapshot, &mut report)? {
                retry.push((name, pod.spec.priority));
            } else {
                self.queue.unschedulable(name.clone(), pod.spec.priority);
                report.unschedulable.push(name);
            }
        }
        for (name, priority) in retry {
            self.queue.add(name, priority);
        }
        Ok(report)
    }

    /// Steps until `stop` is set, waiting (real time, at most `idle`) for the store to move when a
    /// step did nothing.
    pub fn run(&mut self, stop: &AtomicBool, idle: Duration) -> Result<(), ControllerError> {
        // Relaxed: the flag carries no data; the loop only needs to see it eventually.
        while !stop.load(Ordering::Relaxed) {
            let report = self.step()?;
            if !report.wrote() && report.conflicts == 0 {
                let next = self.cursor.map_or(0, |(p, n)| p.min(n));
                self.store.wait_for_revision(next, idle);
            }
        }
        Ok(())
    }

    /// The snapshot `pod` is scheduled against: the nodes, the bound pods, and the pods nominated
    /// elsewhere with at least its priority, counted on their nominated node.
    fn snapshot_for(&self, pod: &Pod) -> Snapshot {
        let mut counted: Vec<Pod> = self
            .pods
            .values()
            .filter(|(p, _)| p.spec.node_name.is_some())
            .map(|(p, _)| p.clone())
            .collect();
        for (name, node) in &self.nominated {
            if *name == pod.metadata.name {
                continue;
            }
            if let Some((nominee, _)) = self.pods.get(name)
                && nominee.spec.priority >= pod.spec.priority
            {
                let mut held = nominee.clone();
                held.spec.node_name = Some(node.clone());
                counted.push(held);
            }
        }
        Snapshot::new(self.nodes.values().cloned().collect(), &counted)
    }

    /// Evicts the victims "why pending" names for `pod`, if any, and nominates their node; whether
    /// any was evicted.
    fn preempt(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
        report: &mut StepReport,
    ) -> Result<bool, ControllerError> {
        let Some(Suggestion::Preempt { node, victims, .. }) = why_pending(pod, snapshot)
            .into_iter()
            .find(|s| matches!(s, Suggestion::Preempt { .. }))
        else {
            return Ok(false);
        };
        let mut evicted = false;
        for victim in victims {
            match evict(self.store, &victim) {
                Ok(()) => {
                    self.forget(&victim);
                    report.preempted.push(victim);
                    evicted = true;
                }
                // Changed or gone since the snapshot: the preemptor decides again.
                Err(BindError::PodChanged(_) | BindError::PodNotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if evicted {
            self.nominated.insert(pod.metadata.name.clone(), node);
        }
        Ok(evicted)
    }

    fn forget(&mut self, pod: &str) {
        self.pods.remove(pod);
        self.queue.remove(pod);
        self.nominated.remove(pod);
    }

    /// Every pending pod back to the ready set: a node or a freed slot may let it fit now.
    fn requeue_pending(&mut self) {
        for (name, (pod, _)) in &self.pods {
            if pod.spec.node_name.is_none() {
                self.queue.add(name.clone(), pod.spec.priority);
            }
        }
    }

    fn sync(&mut self) -> Result<(), ControllerError> {
        let Some((pods_next, nodes_next)) = self.cursor else {
            return self.relist();
        };
        let (pod_events, pods_head) = self.store.changes_since(&pod_key(""), pods_next, 1024)?;
        let (node_events, nodes_head) =
            self.store.changes_since(&node_key(""), nodes_next, 1024)?;
        let pods_next = pod_events
            .last()
            .map_or(pods_next.max(pods_head + 1), |e| e.revision() + 1);
        let nodes_next = node_events
            .last()
            .map_or(nodes_next.max(nodes_head + 1), |e| e.revision() + 1);
        let mut freed = false;
        for event in pod_events {
            freed |= self.apply_pod(event)?;
        }
        for event in node_events {
            match event {
                Event::Put(kv) => {
                    let node: Node = parse(&kv.key, &kv.value)?;
                    self.nodes.insert(node.metadata.name.clone(), node);
                }
                Event::Delete { key, .. } => {
                    self.nodes.remove(&key[node_key("").len()..]);
                }
            }
            freed = true;
        }
        self.cursor = Some((pods_next, nodes_next));
        if freed {
            self.requeue_pending();
        }
        Ok(())
    }

    /// Applies one pod change to the cache and the queue; whether it freed room on a node.
    fn apply_pod(&mut self, event: Event) -> Result<bool, ControllerError> {
        let prefix = pod_key("").len();
        match event {
            Event::Put(kv) => {
                let name = kv.key[prefix..].to_string();
                if self
                    .pods
                    .get(&name)
                    .is_some_and(|(_, r)| *r >= kv.mod_revision)
                {
                    return Ok(false); // our own write, already applied
                }
                let pod: Pod = parse(&kv.key, &kv.value)?;
                let was_bound = self
                    .pods
                    .get(&name)
                    .is_some_and(|(p, _)| p.spec.node_name.is_some());
                if pod.spec.node_name.is_none() {
                    self.queue.add(name.clone(), pod.spec.priority);
                } else {
                    self.queue.remove(&name);
                    self.nominated.remove(&name);
                }
                let unbound = was_bound && pod.spec.node_name.is_none();
                self.pods.insert(name, (pod, kv.mod_revision));
                Ok(unbound)
            }
            Event::Delete { key, .. } => {
                let name = &key[prefix..];
                let was_bound = self
                    .pods
                    .get(name)
                    .is_some_and(|(p, _)| p.spec.node_name.is_some());
                self.forget(name);
                Ok(was_bound)
            }
        }
    }

    fn relist(&mut self) -> Result<(), ControllerError> {
        let pods = self.store.list(&pod_key(""))?;
        let nodes = self.store.list(&node_key(""))?;
        self.pods.clear();
        self.nodes.clear();
        for kv in &pods.items {
            let pod: Pod = parse(&kv.key, &kv.value)?;
            self.pods
                .insert(pod.metadata.name.clone(), (pod, kv.mod_revision));
        }
        for kv in &nodes.items {
            let node: Node = parse(&kv.key, &kv.value)?;
            self.nodes.insert(node.metadata.name.clone(), node);
        }
        let gone: Vec<String> = self
            .nominated
            .keys()
            .filter(|p| !self.pods.contains_key(*p))
            .cloned()
            .collect();
        for pod in gone {
            self.nominated.remove(&pod);
        }
        // A put replayed from before the node listing is applied and then superseded in order.
        self.cursor = Some((pods.revision + 1, pods.revision.min(nodes.revision) + 1));
        self.relisted = true;
        self.requeue_pending();
        Ok(())
    }
}
