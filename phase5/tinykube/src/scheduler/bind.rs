//! Reserve and bind, the framework's last two steps, by compare-and-swap.
//!
//! 1. *Reserve*: add the pod's requests to the node's reservation record (`/reservations/<node>`,
//!    pod name → requests) by CAS on that record's revision, refusing when the sum would pass the
//!    node's capacity. Two schedulers placing different pods on one node serialise here, whatever
//!    their snapshots said.
//! 2. *Bind*: write the pod with `nodeName` set by CAS on the pod's revision as the scheduler read
//!    it. Two schedulers binding one pod serialise here: one wins, the other's CAS fails.
//! 3. *Unreserve* when the bind lost: the reservation comes back off the node.
use std::collections::BTreeMap;

use crate::objects::{Node, Pod, Requests};
use crate::store::{Expect, Store, StoreError};

/// The key a pod is stored under (its JSON).
pub fn pod_key(name: &str) -> String {
    format!("/pods/{name}")
}

/// The key a node is stored under (its JSON).
pub fn node_key(name: &str) -> String {
    format!("/nodes/{name}")
}

/// The key of a node's reservations: pod name → requests, JSON.
pub fn reservation_key(node: &str) -> String {
    format!("/reservations/{node}")
}

/// Every stored pod with its revision (what [`bind`] compares), in name order.
pub fn list_pods<S: Store>(store: &S) -> Result<Vec<(Pod, u64)>, BindError> {
    store
        .list(&pod_key(""))?
        .items
        .iter()
        .map(|kv| Ok((parse(&kv.key, &kv.value)?, kv.mod_revision)))
        .collect()
}

/// Why a bind did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such pod.
    #[error("pod `{0}` not found")]
    PodNotFound(String),
    /// No such node.
    #[error("node `{0}` not found")]
    NodeNotFound(String),
    /// The pod changed since the scheduler read it (another scheduler bound it, or it was edited),
    /// or another scheduler holds a reservation for it on the node.
    #[error("pod `{0}` changed since it was read: schedule it again")]
    PodChanged(String),
    /// The pod is bound already.
    #[error("pod `{pod}` is already bound to `{node}`")]
    AlreadyBound {
        /// The pod.
        pod: String,
        /// Its node.
        node: String,
    },
    /// Reservations made since the snapshot leave no room for the pod.
    #[error("pod `{pod}` no longer fits on `{node}`")]
    NoLongerFits {
        /// The pod.
        pod: String,
        /// The node.
        node: String,
    },
    /// A stored object is not valid JSON for its kind.
    #[error("stored object at `{key}` is corrupt: {source}")]
    Corrupt {
        /// The key.
        key: String,
        /// The parse error.
        source: serde_json::Error,
    },
}

fn parse<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, BindError> {
    serde_json::from_slice(bytes).map_err(|source| BindError::Corrupt {
        key: key.to_string(),
        source,
    })
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs (string keys, no custom failures) cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

type Reservations = BTreeMap<String, Requests>;

/// Adds `pod`'s requests to `node`'s reservations if they fit and the pod holds none there yet.
fn reserve<S: Store>(store: &S, node: &Node, pod: &Pod) -> Result<(), BindError> {
    let key = reservation_key(&node.metadata.name);
    loop {
        let current = store.get(&key)?;
        let (mut held, expect): (Reservations, Expect) = match &current {
            Some(kv) => (parse(&key, &kv.value)?, Expect::Revision(kv.mod_revision)),
            None => (Reservations::new(), Expect::Absent),
        };
        // One reservation per pod: a second scheduler binding the same pod (it read the same
        // revision) must not share the entry, or its unreserve after losing would take the
        // winner's reservation away.
        if held.contains_key(&pod.metadata.name) {
            return Err(BindError::PodChanged(pod.metadata.name.clone()));
        }
        held.insert(pod.metadata.name.clone(), pod.spec.requests);
        let cpu: u64 = held.values().map(|r| r.cpu.0).sum();
        let memory: u64 = held.values().map(|r| r.memory.0).sum();
        if cpu > node.spec.capacity.cpu.0 || memory > node.spec.capacity.memory.0 {
            return Err(BindError::NoLongerFits {
                pod: pod.metadata.name.clone(),
                node: node.metadata.name.clone(),
            });
        }
        match store.put(&key, &json(&held), expect, None) {
            Ok(_) => return Ok(()),
            // Another reservation on this node landed first: read it and try again. Each retry
            // follows someone else's success, so the loop makes progress.
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Takes `pod`'s reservation off `node`.
fn unreserve<S: Store>(store: &S, node: &str, pod: &str) -> Result<(), BindError> {
    let key = reservation_key(node);
    loop {
        let Some(kv) = store.get(&key)? else {
            return Ok(());
        };
        let mut held: Reservations = parse(&key, &kv.value)?;
        if held.remove(pod).is_none() {
            return Ok(());
        }
        match store.put(&key, &json(&held), Expect::Revision(kv.mod_revision), None) {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reserves room for the pod on the node and binds it, if the pod is still at `pod_revision`;
/// returns the revision of the bind.
///
/// ```
/// use tinykube::scheduler::{BindError, bind, node_key, pod_key};
/// use tinykube::store::{Expect, MemStore, Store};
///
/// let store = MemStore::new();
/// store.put(&node_key("n1"), br#"{"metadata":{"name":"n1"},"spec":{"capacity":{"cpu":"1","memory":"1Gi"}}}"#, Expect::Absent, None)?;
/// let read = store.put(&pod_key("p"), br#"{"metadata":{"name":"p"},"spec":{"command":["true"]}}"#, Expect::Absent, None)?;
/// bind(&store, "p", read, "n1")?;
/// // A second scheduler that read the same revision loses.
/// assert!(matches!(bind(&store, "p", read, "n1"), Err(BindError::PodChanged(_))));
/// # Ok::<(), BindError>(())
/// ```
pub fn bind<S: Store>(
    store: &S,
    pod: &str,
    pod_revision: u64,
    node: &str,
) -> Result<u64, BindError> {
    let key = pod_key(pod);
    let kv = store
        .get(&key)?
        .ok_or_else(|| BindError::PodNotFound(pod.to_string()))?;
    if kv.mod_revision != pod_revision {
        return Err(BindError::PodChanged(pod.to_string()));
    }
    let mut object: Pod = parse(&key, &kv.value)?;
    if let Some(bound) = &object.spec.node_name {
        return Err(BindError::AlreadyBound {
            pod: pod.to_string(),
            node: bound.clone(),
        });
    }
    let node_object: Node = {
        let key = node_key(node);
        let kv = store
            .get(&key)?
            .ok_or_else(|| BindError::NodeNotFound(node.to_string()))?;
        parse(&key, &kv.value)?
    };
    reserve(store, &node_object, &object)?;
    object.spec.node_name = Some(node.to_string());
    match store.put(&key, &json(&object), Expect::Revision(pod_revision), None) {
        Ok(revision) => Ok(revision),
        Err(e) => {
            unreserve(store, node, pod)?;
            match e {
                StoreError::Conflict { .. } => Err(BindError::PodChanged(pod.to_string())),
                e => Err(e.into()),
            }
        }
    }
}

/// Evicts a bound pod, as preemption does: deletes it by compare-and-swap on its current revision and
/// takes its reservation off its node. A pod that changed meanwhile is left alone
/// ([`BindError::PodChanged`]): the preemptor decides again.
///
/// ```
/// use tinykube::scheduler::{bind, evict, node_key, pod_key, reservation_key};
/// use tinykube::store::{Expect, MemStore, Store};
///
/// let store = MemStore::new();
/// store.put(&node_key("n1"), br#"{"metadata":{"name":"n1"},"spec":{"capacity":{"cpu":"1","memory":"1Gi"}}}"#, Expect::Absent, None)?;
/// let read = store.put(&pod_key("low"), br#"{"metadata":{"name":"low"},"spec":{"command":["true"],"requests":{"cpu":"1"}}}"#, Expect::Absent, None)?;
/// bind(&store, "low", read, "n1")?;
/// evict(&store, "low")?;
/// assert!(store.get(&pod_key("low"))?.is_none());
/// assert_eq!(store.get(&reservation_key("n1"))?.unwrap().value, b"{}");
/// # Ok::<(), tinykube::scheduler::BindError>(())
/// ```
pub fn evict<S: Store>(store: &S, pod: &str) -> Result<(), BindError> {
    let key = pod_key(pod);
    let kv = store
        .get(&key)?
        .ok_or_else(|| BindError::PodNotFound(pod.to_string()))?;
    let object: Pod = parse(&key, &kv.value)?;
    match store.delete(&key, Expect::Revision(kv.mod_revision)) {
        Ok(_) => {}
        Err(StoreError::Conflict { .. }) => return Err(BindError::PodChanged(pod.to_string())),
        Err(e) => return Err(e.into()),
    }
    match &object.spec.node_name {
        Some(node) => unreserve(store, node, pod),
        None => Ok(()),
    }
}
