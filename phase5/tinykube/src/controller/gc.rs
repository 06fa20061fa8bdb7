//! Garbage collection: what a controller created carries its owner in [`OWNER_LABEL`]; when the
//! owner is gone, so is the object (Kubernetes' background cascading deletion). Pods owned by a
//! missing replica set, replica sets owned by a missing deployment, and status records of pods that
//! no longer exist are deleted; an object without the label, or naming a kind the collector does
//! not know, is left alone.
use std::collections::BTreeSet;

use super::replicaset::delete_pod;
use super::{ControllerError, OWNER_LABEL, deployment_key, list_json, replicaset_key, status_key};
use crate::objects::ReplicaSet;
use crate::scheduler::{list_pods, pod_key};
use crate::store::{Expect, Store, StoreError};

/// Deletes what lost its owner.
#[derive(Debug)]
pub struct GarbageCollector<'s, S: Store> {
    store: &'s S,
}

/// Whether `owner` (`Kind/name`) names an object that is gone; unknown kinds are never gone.
fn orphaned(owner: &str, replicasets: &BTreeSet<String>, deployments: &BTreeSet<String>) -> bool {
    match owner.split_once('/') {
        Some(("ReplicaSet", name)) => !replicasets.contains(name),
        Some(("Deployment", name)) => !deployments.contains(name),
        _ => false,
    }
}

fn names<S: Store>(store: &S, prefix: &str) -> Result<BTreeSet<String>, StoreError> {
    Ok(store
        .list(prefix)?
        .items
        .into_iter()
        .map(|kv| kv.key[prefix.len()..].to_string())
        .collect())
}

impl<'s, S: Store> GarbageCollector<'s, S> {
    /// A collector on `store`.
    pub fn new(store: &'s S) -> Self {
        GarbageCollector { store }
    }

    /// One pass; the keys deleted.
    pub fn step(&mut self) -> Result<Vec<String>, ControllerError> {
        let mut deleted = Vec::new();
        let deployments = names(self.store, &deployment_key(""))?;
        for (name, rs, revision) in list_json::<S, ReplicaSet>(self.store, &replicaset_key(""))? {
            if rs
                .metadata
                .labels
                .get(OWNER_LABEL)
                .is_some_and(|o| orphaned(o, &BTreeSet::new(), &deployments))
            {
                match self
                    .store
                    .delete(&replicaset_key(&name), Expect::Revision(revision))
                {
                    Ok(_) => deleted.push(replicaset_key(&name)),
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let replicasets = names(self.store, &replicaset_key(""))?;
        let mut pods = BTreeSet::new();
        for (pod, _) in list_pods(self.store)? {
            let name = pod.metadata.name;
            if pod
                .metadata
                .labels
                .get(OWNER_LABEL)
                .is_some_and(|o| orphaned(o, &replicasets, &deployments))
            {
                if delete_pod(self.store, &name)? {
                    deleted.push(pod_key(&name));
                }
            } else {
                pods.insert(name);
            }
        }
        let prefix = status_key("");
        for kv in self.store.list(&prefix)?.items {
            if pods.contains(&kv.key[prefix.len()..]) {
                continue;
            }
            match self
                .store
                .delete(&kv.key, Expect::Revision(kv.mod_revision))
            {
                Ok(_) => deleted.push(kv.key),
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(deleted)
    }
}
