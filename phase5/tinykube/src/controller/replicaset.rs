//! The ReplicaSet controller: for each replica set, count its pods (those carrying its owner label),
//! delete the ones whose process ended for good (Failed or Succeeded, per their status) and
//! reconcile to the replica count: create pods from the template with generated names, or delete
//! the extras, unbound first, then not ready, then the newest (Kubernetes' ranking, simplified).
use std::collections::BTreeMap;

use super::{ControllerError, OWNER_LABEL, list_json, pod_statuses, replicaset_key, status_key};
use crate::objects::{ObjectMeta, Pod, PodPhase, PodStatus, ReplicaSet};
use crate::scheduler::{BindError, evict, pod_key};
use crate::store::{Expect, KeyValue, Store, StoreError};

/// Keeps every replica set at its replica count.
#[derive(Debug)]
pub struct ReplicaSetController<'s, S: Store> {
    store: &'s S,
}

/// A stored pod, with the revision that created it (younger pods go first when scaling down).
pub(crate) struct OwnedPod {
    pub(crate) pod: Pod,
    pub(crate) created: u64,
}

/// The pods carrying `owner` in their owner label, by name.
pub(crate) fn owned_pods<S: Store>(
    store: &S,
    owner: &str,
) -> Result<BTreeMap<String, OwnedPod>, ControllerError> {
    let mut out = BTreeMap::new();
    for kv in store.list(&pod_key(""))?.items {
        let KeyValue {
            key,
            value,
            create_revision,
            ..
        } = kv;
        let pod: Pod = super::parse(&key, &value)?;
        if pod.metadata.labels.get(OWNER_LABEL).map(String::as_str) == Some(owner) {
            out.insert(
                pod.metadata.name.clone(),
                OwnedPod {
                    pod,
                    created: create_revision,
                },
            );
        }
    }
    Ok(out)
}

/// Deletes a pod and its status; false if it changed meanwhile (the next step decides again).
pub(crate) fn delete_pod<S: Store>(store: &S, pod: &str) -> Result<bool, ControllerError> {
    match evict(store, pod) {
        Ok(()) => {}
        Err(BindError::PodChanged(_)) => return Ok(false),
        Err(BindError::PodNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    store.delete(&status_key(pod), Expect::Any)?;
    Ok(true)
}

/// Whether the pod counts as available: Running and ready.
pub(crate) fn is_ready(status: Option<&PodStatus>) -> bool {
    status.is_some_and(|s| s.phase == PodPhase::Running && s.ready)
}

impl<'s, S: Store> ReplicaSetController<'s, S> {
    /// A controller on `store`.
    pub fn new(store: &'s S) -> Self {
        ReplicaSetController { store }
    }

    /// Reconciles every replica set once; the number of pods created or deleted.
    pub fn step(&mut self) -> Result<usize, ControllerError> {
        let statuses = pod_statuses(self.store)?;
        let mut writes = 0;
        for (name, rs, _) in list_json::<S, ReplicaSet>(self.store, &replicaset_key(""))? {
            writes += self.reconcile(&name, &rs, &statuses)?;
        }
        Ok(writes)
    }

    fn reconcile(
        &mut self,
        name: &str,
        rs: &ReplicaSet,
        statuses: &BTreeMap<String, PodStatus>,
    ) -> Result<usize, ControllerError> {
        let owner = format!("ReplicaSet/{name}");
        let mut writes = 0;
        let mut active = Vec::new();
        for (pod_name, owned) in owned_pods(self.store, &owner)? {
            let ended = statuses
                .get(&pod_name)
                .is_some_and(|s| matches!(s.phase, PodPhase::Failed | PodPhase::Succeeded));
            if ended {
                writes += usize::from(delete_pod(self.store, &pod_name)?);
            } else {
                active.push(owned);
            }
        }
        let want = rs.spec.replicas as usize;
        if active.len() < want {
            for _ in active.len()..want {
                self.create(name, rs, &owner)?;
                writes += 1;
            }
        } else if active.len() > want {
            // Delete first what costs least: unbound, then not ready, then the youngest.
            active.sort_by_key(|o| {
                (
                    o.pod.spec.node_name.is_some(),
                    is_ready(statuses.get(&o.pod.metadata.name)),
                    std::cmp::Reverse(o.created),
                )
            });
            for extra in &active[..active.len() - want] {
                writes += usize::from(delete_pod(self.store, &extra.pod.metadata.name)?);
            }
        }
        Ok(writes)
    }

    /// Creates one pod from the template, named `<rs>-<suffix>` (the suffix from the store's
    /// revision, retried on a clash).
    fn create(&self, name: &str, rs: &ReplicaSet, owner: &str) -> Result<(), ControllerError> {
        let mut labels = rs.spec.template.metadata.labels.clone();
        labels.insert(OWNER_LABEL.to_string(), owner.to_string());
        let mut spec = rs.spec.template.spec.clone();
        spec.node_name = None;
        let mut suffix = self.store.revision()? + 1;
        loop {
            let pod = Pod {
                metadata: ObjectMeta {
                    name: format!("{name}-{suffix:x}"),
                    labels: labels.clone(),
                },
                spec: spec.clone(),
            };
            match super::put_json(
                self.store,
                &pod_key(&pod.metadata.name),
                &pod,
                Expect::Absent,
            ) {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => suffix += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}
