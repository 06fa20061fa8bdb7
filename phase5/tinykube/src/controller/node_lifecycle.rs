//! The node-lifecycle controller. An agent renews its node's lease every 10 s; when the lease lapses
//! (the store expires it and the heartbeat key goes), the node is NotReady once the grace period has
//! passed since the controller last saw the key (50 s). A NotReady node gets the `NoExecute` taint
//! [`NOT_READY_TAINT`]: the scheduler's taint filter keeps new pods off it, and each pod on it is
//! evicted when its toleration of that taint runs out (its own `tolerationSeconds`, else the
//! default 300 s; a toleration without seconds keeps it there), so its replica set makes a
//! replacement that the scheduler places elsewhere. A node heard from again is Ready and untainted.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::replicaset::delete_pod;
use super::{ControllerError, Timings, get_json, lease_key, list_json, node_status_key, put_json};
use crate::objects::{Node, NodeStatus, Pod, Taint, TaintEffect};
use crate::scheduler::{list_pods, node_key};
use crate::store::{Clock, Expect, Store, StoreError};

/// The taint a NotReady node carries (Kubernetes' `node.kubernetes.io/unreachable`).
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/unreachable";

fn not_ready_taint() -> Taint {
    Taint {
        key: NOT_READY_TAINT.to_string(),
        value: String::new(),
        effect: TaintEffect::NoExecute,
    }
}

/// Marks nodes whose lease lapsed NotReady and evicts their pods after the toleration.
pub struct NodeLifecycleController<'s, S: Store> {
    store: &'s S,
    clock: Arc<dyn Clock>,
    timings: Timings,
    /// When each node's heartbeat key was last seen (or the node first seen, if never).
    last_seen: BTreeMap<String, Duration>,
}

impl<S: Store> std::fmt::Debug for NodeLifecycleController<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLifecycleController")
            .field("timings", &self.timings)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

/// What one step of the node-lifecycle controller did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    /// Nodes that became NotReady.
    pub not_ready: Vec<String>,
    /// Nodes that became Ready.
    pub ready: Vec<String>,
    /// Pods evicted from NotReady nodes.
    pub evicted: Vec<String>,
}

impl<'s, S: Store> NodeLifecycleController<'s, S> {
    /// A controller on `store` reading `clock` (the store's leases should read the same one).
    pub fn new(store: &'s S, clock: Arc<dyn Clock>, timings: Timings) -> Self {
        NodeLifecycleController {
            store,
            clock,
            timings,
            last_seen: BTreeMap::new(),
        }
    }

    /// Expires lapsed leases, updates every node's readiness, evicts the pods whose toleration ran
    /// out.
    pub fn step(&mut self) -> Result<LifecycleReport, ControllerError> {
        self.store.expire_leases()?;
        let now = self.clock.now();
        let mut report = LifecycleReport::default();
        let pods = list_pods(self.store)?;
        for (name, node, revision) in list_json::<S, Node>(self.store, &node_key(""))? {
            if self.store.get(&lease_key(&name))?.is_some() {
                self.last_seen.insert(name.clone(), now);
            }
            let seen = *self.last_seen.entry(name.clone()).or_insert(now);
            let alive = now.saturating_sub(seen) < self.timings.grace;
            let status = get_json::<S, NodeStatus>(self.store, &node_status_key(&name))?;
            let since = match status {
                Some((s, _)) if s.ready == alive => s.since,
                _ => {
                    self.set(&name, node, revision, alive, now)?;
                    if alive {
                        report.ready.push(name.clone());
                    } else {
                        report.not_ready.push(name.clone());
                    }
                    now
                }
            };
            if alive {
                continue;
            }
            for (pod, _) in pods
                .iter()
                .filter(|(p, _)| p.spec.node_name.as_deref() == Some(name.as_str()))
            {
                let Some(toleration) = self.toleration(pod) else {
                    continue; // tolerates NotReady forever
                };
                if now.saturating_sub(since) >= toleration
                    && delete_pod(self.store, &pod.metadata.name)?
                {
                    report.evicted.push(pod.metadata.name.clone());
                }
            }
        }
        Ok(report)
    }

    /// How long `pod` stays on a NotReady node; `None`: forever.
    fn toleration(&self, pod: &Pod) -> Option<Duration> {
        let taint = not_ready_taint();
        match pod.spec.tolerations.iter().find(|t| t.tolerates(&taint)) {
            Some(t) => t.toleration_seconds.map(Duration::from_secs),
            None => Some(self.timings.toleration),
        }
    }

    /// Records the node's readiness and sets or clears its taint (by compare-and-swap: a node
    /// edited meanwhile is left for the next step).
    fn set(
        &self,
        name: &str,
        mut node: Node,
        revision: u64,
        ready: bool,
        now: Duration,
    ) -> Result<(), ControllerError> {
        let taint = not_ready_taint();
        let tainted = node.spec.taints.contains(&taint);
        if ready && tainted {
            node.spec.taints.retain(|t| *t != taint);
        } else if !ready && !tainted {
            node.spec.taints.push(taint);
        }
        if ready == tainted {
            match put_json(
                self.store,
                &node_key(name),
                &node,
                Expect::Revision(revision),
            ) {
                Ok(_) => {}
                Err(StoreError::Conflict { .. }) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        put_json(
            self.store,
            &node_status_key(name),
            &NodeStatus { ready, since: now },
            Expect::Any,
        )?;
        Ok(())
    }
}
