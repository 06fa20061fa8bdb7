//! The control loops. In Go's Kubernetes each controller is an informer (list, then watch from the
//! listed revision) feeding a work queue drained by goroutines that reconcile by compare-and-swap;
//! here each loop is a struct whose `step` reads the store, decides, and writes back, driven by a
//! thread or by a test that steps a virtual clock instead of sleeping.
//!
//! - [`SchedulerLoop`]: watch pods and nodes, queue the unbound ones by priority, schedule → bind,
//!   back off the unschedulable, preempt and nominate the node it freed.
//! - [`ReplicaSetController`]: keep `replicas` pods, replacing failed ones.
//! - [`DeploymentController`]: a replica set per template, rolled within max surge / max
//!   unavailable; [`rollout_status`] reports progress as data.
//! - [`NodeLifecycleController`]: a node whose lease lapsed is NotReady after a grace period, and its
//!   pods are evicted after their toleration (their replica set replaces them elsewhere).
//! - [`GarbageCollector`]: pods and replica sets whose owner is gone, status records of gone pods.
//!
//! Node agents write [`PodStatus`](crate::PodStatus) records and renew a [`NodeHeartbeat`]; every
//! timing is in [`Timings`], Kubernetes' by default.
//!
//! A deployment rolled out on one node, each loop stepped by hand and the node agent's part (report
//! the pods Running) played by the caller:
//! ```
//! use std::sync::Arc;
//! use tinykube::controller::{
//!     DeploymentController, ReplicaSetController, SchedulerConfig, SchedulerLoop,
//!     deployment_key, rollout_status, write_pod_status,
//! };
//! use tinykube::scheduler::{list_pods, node_key};
//! use tinykube::store::{Clock, Expect, MemStore, Store, SystemClock};
//! use tinykube::{Object, PodPhase, PodStatus, parse_manifests};
//!
//! let store = MemStore::new();
//! let clock = Arc::new(SystemClock::new());
//! for object in parse_manifests("web.yaml", "
//! kind: Node
//! metadata: {name: n1}
//! spec: {capacity: {cpu: 2, memory: 1Gi}}
//! ---
//! kind: Deployment
//! metadata: {name: web}
//! spec:
//!   replicas: 2
//!   selector: {app: web}
//!   template:
//!     metadata: {labels: {app: web}}
//!     spec: {command: [sleep, '60'], requests: {cpu: 500m}}
//! ")? {
//!     let (key, json) = match &object {
//!         Object::Node(n) => (node_key(&n.metadata.name), serde_json::to_vec(n)?),
//!         Object::Deployment(d) => (deployment_key(&d.metadata.name), serde_json::to_vec(d)?),
//!         _ => unreachable!(),
//!     };
//!     store.put(&key, &json, Expect::Absent, None)?;
//! }
//! DeploymentController::new(&store).step()?; // its replica set, `web-<template hash>`, 2 replicas
//! ReplicaSetController::new(&store).step()?; // 2 pods, `web-<hash>-<suffix>`
//! let bound = SchedulerLoop::new(&store, SchedulerConfig::default(), clock.clone()).step()?.bound;
//! assert_eq!(bound.len(), 2);
//! assert!(!rollout_status(&store, "web")?.unwrap().complete()); // not running yet
//! for (pod, _) in list_pods(&store)? {
//!     let running = PodStatus {
//!         node: "n1".into(),
//!         phase: PodPhase::Running,
//!         ready: true,
//!         restarts: 0,
//!         last_exit: None,
//!         since: clock.now(),
//!         reason: None,
//!     };
//!     write_pod_status(&store, &pod.metadata.name, &running)?;
//! }
//! assert!(rollout_status(&store, "web")?.unwrap().complete());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
mod deployment;
mod gc;
mod node_lifecycle;
mod replicaset;
mod scheduler_loop;
mod status;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use deployment::{DeploymentController, RolloutStatus, rollout_status};
pub use gc::GarbageCollector;
pub use node_lifecycle::{LifecycleReport, NOT_READY_TAINT, NodeLifecycleController};
pub use replicaset::ReplicaSetController;
pub use scheduler_loop::{SchedulerConfig, SchedulerLoop, StepReport};
pub use status::{
    NodeHeartbeat, lease_key, node_status_key, pod_statuses, status_key, write_pod_status,
};

use crate::scheduler::BindError;
use crate::store::{Expect, Store, StoreError};

/// The label a controller stamps on what it creates: `<Kind>/<name>` of the owner. The garbage
/// collector deletes a labelled object whose owner is gone; an unlabelled one is nobody's.
pub const OWNER_LABEL: &str = "tinykube/owner";

/// The label a deployment puts on its replica sets and their pods: a hash of the pod template.
pub const TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// The key a replica set is stored under (its JSON).
pub fn replicaset_key(name: &str) -> String {
    format!("/replicasets/{name}")
}

/// The key a deployment is stored under (its JSON).
pub fn deployment_key(name: &str) -> String {
    format!("/deployments/{name}")
}

/// Every timing of the control plane, Kubernetes' by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// A node lease's TTL (`node-lease-duration-seconds`: 40 s).
    pub lease_ttl: Duration,
    /// How often an agent renews its lease (10 s, a quarter of the TTL).
    pub lease_renew: Duration,
    /// How long a node may go unheard before it is NotReady (`node-monitor-grace-period`: 50 s).
    pub grace: Duration,
    /// How long a pod stays on a NotReady node when it does not say otherwise
    /// (`default-not-ready-toleration-seconds`: 300 s).
    pub toleration: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            lease_ttl: Duration::from_secs(40),
            lease_renew: Duration::from_secs(10),
            grace: Duration::from_secs(50),
            toleration: Duration::from_secs(300),
        }
    }
}

/// Why a control loop's step failed.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bind or an eviction failed in a way the loop does not handle itself.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// A stored object is not valid JSON for its kind.
    #[error("stored object at `{key}` is corrupt: {source}")]
    Corrupt {
        /// The key.
        key: String,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// One stored object: its key's revision and the value.
pub(crate) fn get_json<S: Store, T: DeserializeOwned>(
    store: &S,
    key: &str,
) -> Result<Option<(T, u64)>, ControllerError> {
    match store.get(key)? {
        None => Ok(None),
        Some(kv) => Ok(Some((parse(key, &kv.value)?, kv.mod_revision))),
    }
}

/// Every object under `prefix`, with its name (the key past the prefix) and revision.
pub(crate) fn list_json<S: Store, T: DeserializeOwned>(
    store: &S,
    prefix: &str,
) -> Result<Vec<(String, T, u64)>, ControllerError> {
    store
        .list(prefix)?
        .items
        .iter()
        .map(|kv| {
            let name = kv.key[prefix.len()..].to_string();
            Ok((name, parse(&kv.key, &kv.value)?, kv.mod_revision))
        })
        .collect()
}

pub(crate) fn parse<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, ControllerError> {
    serde_json::from_slice(bytes).map_err(|source| ControllerError::Corrupt {
        key: key.to_string(),
        source,
    })
}

/// Writes `value` as JSON if `expect` holds.
pub(crate) fn put_json<S: Store, T: Serialize>(
    store: &S,
    key: &str,
    value: &T,
    expect: Expect,
) -> Result<u64, StoreError> {
    // Serialising these plain structs (string keys, no custom failures) cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    store.put(key, &bytes, expect, None)
}
