//! What node agents write and controllers read: a pod's status under its own key, and the node's
//! heartbeat, a key attached to a lease the agent renews (Kubernetes' `Lease` objects in
//! `kube-node-lease`). When the agent stops renewing, the store expires the lease and the key goes.
use std::collections::BTreeMap;
use std::time::Duration;

use super::{ControllerError, list_json, put_json};
use crate::objects::PodStatus;
use crate::store::{Clock, Expect, LeaseId, Store, StoreError};

/// The key of a pod's status.
pub fn status_key(pod: &str) -> String {
    format!("/status/pods/{pod}")
}

/// The key of a node's readiness record (written by the node-lifecycle controller).
pub fn node_status_key(node: &str) -> String {
    format!("/status/nodes/{node}")
}

/// The key of a node's heartbeat, attached to its lease.
pub fn lease_key(node: &str) -> String {
    format!("/leases/nodes/{node}")
}

/// Writes `status` for `pod` (what a node agent does after each change of its process).
pub fn write_pod_status<S: Store>(
    store: &S,
    pod: &str,
    status: &PodStatus,
) -> Result<u64, StoreError> {
    put_json(store, &status_key(pod), status, Expect::Any)
}

/// Every pod status, by pod name.
pub fn pod_statuses<S: Store>(store: &S) -> Result<BTreeMap<String, PodStatus>, ControllerError> {
    Ok(list_json(store, &status_key(""))?
        .into_iter()
        .map(|(name, status, _)| (name, status))
        .collect())
}

/// A node agent's heartbeat: a lease and the key attached to it, renewed every `renew`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tinykube::controller::{NodeHeartbeat, lease_key};
/// use tinykube::store::{MemStore, Store, SystemClock};
///
/// let store = MemStore::new();
/// let clock = Arc::new(SystemClock::new());
/// let mut beat = NodeHeartbeat::start(&store, "n1", Duration::from_secs(40), Duration::from_secs(10), clock)?;
/// assert!(store.get(&lease_key("n1"))?.is_some());
/// beat.tick(&store)?; // renews only once `renew` has passed since the last renewal
/// # Ok::<(), tinykube::store::StoreError>(())
/// ```
pub struct NodeHeartbeat {
    node: String,
    lease: LeaseId,
    ttl: Duration,
    renew: Duration,
    last: Duration,
    clock: std::sync::Arc<dyn Clock>,
}

impl std::fmt::Debug for NodeHeartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHeartbeat")
            .field("node", &self.node)
            .field("lease", &self.lease)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl NodeHeartbeat {
    /// Grants a lease of `ttl` and writes the node's heartbeat key under it.
    pub fn start<S: Store>(
        store: &S,
        node: &str,
        ttl: Duration,
        renew: Duration,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<NodeHeartbeat, StoreError> {
        let lease = store.grant_lease(ttl)?;
        store.put(&lease_key(node), node.as_bytes(), Expect::Any, Some(lease))?;
        Ok(NodeHeartbeat {
            node: node.to_string(),
            lease,
            ttl,
            renew,
            last: clock.now(),
            clock,
        })
    }

    /// Renews the lease if `renew` has passed since the last renewal; after the lease was lost
    /// (expired while the agent was away), grants a new one and writes the key again.
    pub fn tick<S: Store>(&mut self, store: &S) -> Result<(), StoreError> {
        let now = self.clock.now();
        if now.saturating_sub(self.last) < self.renew {
            return Ok(());
        }
        match store.keep_alive(self.lease) {
            Ok(()) => {}
            Err(StoreError::LeaseNotFound(_)) => {
                let again = NodeHeartbeat::start(
                    store,
                    &self.node,
                    self.ttl,
                    self.renew,
                    self.clock.clone(),
                )?;
                self.lease = again.lease;
            }
            Err(e) => return Err(e),
        }
        self.last = now;
        Ok(())
    }
}
