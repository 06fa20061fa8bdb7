//! The Deployment controller: one replica set per pod template (named after a hash of it), rolled
//! from the old ones to the new one within the deployment's bounds, as Kubernetes' rolling update:
//!
//! - *surge*: the pods of all its replica sets never pass `replicas + maxSurge`. A replica set counts
//!   as `max(its replica count, its pods)`: a set scaled down still has its pods until the
//!   ReplicaSet controller deletes them, and they count.
//! - *unavailability*: ready pods never drop below `replicas − maxUnavailable`. A replica set counts
//!   as `min(its ready pods, its replica count)`: scaling a set down to `k` leaves it at least
//!   `min(ready, k)` ready pods, because the ReplicaSet controller deletes not-ready pods first.
//!
//! Old sets first lose the replicas that are not ready (that costs no availability), then as many as
//! the availability above the floor allows; the new set grows into the room under the surge bound.
use std::collections::BTreeMap;

use super::replicaset::{is_ready, owned_pods};
use super::{
    ControllerError, OWNER_LABEL, TEMPLATE_HASH_LABEL, deployment_key, get_json, list_json,
    pod_statuses, put_json, replicaset_key,
};
use crate::objects::{Deployment, ObjectMeta, PodStatus, PodTemplate, ReplicaSet, ReplicaSetSpec};
use crate::store::{Expect, Store, StoreError};

/// Where a rolling update stands: what `tkctl rollout status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RolloutStatus {
    /// The replica count asked for.
    pub desired: u32,
    /// Pods of the current template.
    pub updated: u32,
    /// Pods of the current template that are ready.
    pub updated_ready: u32,
    /// Ready pods of every template.
    pub ready: u32,
    /// Pods of every template.
    pub total: u32,
    /// Pods of older templates.
    pub old: u32,
}

impl RolloutStatus {
    /// Whether the rollout is done: every pod is of the current template and ready.
    pub fn complete(&self) -> bool {
        self.updated == self.desired && self.updated_ready == self.desired && self.old == 0
    }
}

/// The replica set a deployment's current template belongs in: `<deployment>-<hash>`.
fn template_hash(template: &PodTemplate) -> String {
    // FNV-1a over the template's JSON: stable across runs and builds, unlike `DefaultHasher`.
    let json = serde_json::to_vec(template).unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    for byte in json {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// One of a deployment's replica sets as the rollout sees it.
#[derive(Debug)]
struct Owned {
    name: String,
    rs: ReplicaSet,
    revision: u64,
    pods: u32,
    ready: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The deployment's replica sets, the current one (if created) split from the old ones.
fn observe<S: Store>(
    store: &S,
    name: &str,
    deployment: &Deployment,
    statuses: &BTreeMap<String, PodStatus>,
) -> Result<(Option<Owned>, Vec<Owned>), ControllerError> {
    let owner = format!("Deployment/{name}");
    let current = format!("{name}-{}", template_hash(&deployment.spec.template));
    let mut new = None;
    let mut old = Vec::new();
    for (rs_name, rs, revision) in list_json::<S, ReplicaSet>(store, &replicaset_key(""))? {
        if rs.metadata.labels.get(OWNER_LABEL) != Some(&owner) {
            continue;
        }
        let pods = owned_pods(store, &format!("ReplicaSet/{rs_name}"))?;
        let ready = pods.keys().filter(|p| is_ready(statuses.get(*p))).count();
        let owned = Owned {
            pods: count(pods.len()),
            ready: count(ready),
            name: rs_name,
            rs,
            revision,
        };
        if owned.name == current {
            new = Some(owned);
        } else {
            old.push(owned);
        }
    }
    Ok((new, old))
}

/// Where the rollout of deployment `name` stands; `None` if there is no such deployment.
pub fn rollout_status<S: Store>(
    store: &S,
    name: &str,
) -> Result<Option<RolloutStatus>, ControllerError> {
    let Some((deployment, _)) = get_json::<S, Deployment>(store, &deployment_key(name))? else {
        return Ok(None);
    };
    let statuses = pod_statuses(store)?;
    let (new, old) = observe(store, name, &deployment, &statuses)?;
    let (updated, updated_ready) = new.as_ref().map_or((0, 0), |n| (n.pods, n.ready));
    let old_pods: u32 = old.iter().map(|o| o.pods).sum();
    let old_ready: u32 = old.iter().map(|o| o.ready).sum();
    Ok(Some(RolloutStatus {
        desired: deployment.spec.replicas,
        updated,
        updated_ready,
        ready: updated_ready + old_ready,
        total: updated + old_pods,
        old: old_pods,
    }))
}

/// Rolls every deployment towards its current template, one bounded move per step.
#[derive(Debug)]
pub struct DeploymentController<'s, S: Store> {
    store: &'s S,
}

impl<'s, S: Store> DeploymentController<'s, S> {
    /// A controller on `store`.
    pub fn new(store: &'s S) -> Self {
        DeploymentController { store }
    }

    /// Reconciles every deployment once; the number of replica sets written.
    pub fn step(&mut self) -> Result<usize, ControllerError> {
        let statuses = pod_statuses(self.store)?;
        let mut writes = 0;
        for (name, deployment, _) in list_json::<S, Deployment>(self.store, &deployment_key(""))? {
            writes += self.reconcile(&name, &deployment, &statuses)?;
        }
        Ok(writes)
    }

    fn reconcile(
        &mut self,
        name: &str,
        deployment: &Deployment,
        statuses: &BTreeMap<String, PodStatus>,
    ) -> Result<usize, ControllerError> {
        let (new, mut old) = observe(self.store, name, deployment, statuses)?;
        let desired = deployment.spec.replicas;
        let bounds = deployment.spec.rolling_update;
        let surge = bounds.max_surge.of(desired, true);
        let mut unavailable = bounds.max_unavailable.of(desired, false);
        if surge == 0 && unavailable == 0 {
            unavailable = 1; // as Kubernetes: a rollout must be able to move
        }
        let mut writes = 0;
        // Old sets: drop the replicas that are not ready, then what availability allows.
        let held = |o: &Owned| o.rs.spec.replicas.min(o.ready);
        let new_available = new.as_ref().map_or(0, held);
        let available: u32 = new_available + old.iter().map(held).sum::<u32>();
        let mut spare = available.saturating_sub(desired.saturating_sub(unavailable));
        old.sort_by_key(|o| o.revision); // oldest first
        for o in &mut old {
            let keep_unready_free = held(o);
            let take = spare.min(keep_unready_free);
            let target = keep_unready_free - take;
            if target != o.rs.spec.replicas {
                spare -= take;
                writes += self.scale(&o.name, &o.rs, o.revision, target)?;
                o.rs.spec.replicas = target;
            }
        }
        // The new set: grow into the room under the surge bound.
        let total: u32 = new.as_ref().map_or(0, |n| n.rs.spec.replicas.max(n.pods))
            + old
                .iter()
                .map(|o| o.rs.spec.replicas.max(o.pods))
                .sum::<u32>();
        let room = (desired + surge).saturating_sub(total);
        match new {
            None => {
                let replicas = room.min(desired);
                writes += self.create(name, deployment, replicas)?;
            }
            Some(n) if n.rs.spec.replicas < desired => {
                let target = n.rs.spec.replicas + room.min(desired - n.rs.spec.replicas);
                if target != n.rs.spec.replicas {
                    writes += self.scale(&n.name, &n.rs, n.revision, target)?;
                }
            }
            Some(n) if n.rs.spec.replicas > desired => {
                writes += self.scale(&n.name, &n.rs, n.revision, desired)?;
            }
            Some(_) => {}
        }
        // Old sets scaled to zero with no pods left are done with.
        for o in old
            .iter()
            .filter(|o| o.rs.spec.replicas == 0 && o.pods == 0)
        {
            match self
                .store
                .delete(&replicaset_key(&o.name), Expect::Revision(o.revision))
            {
                Ok(_) => writes += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(writes)
    }

    /// Sets a replica set's count by compare-and-swap; 0 writes if it changed meanwhile.
    fn scale(
        &self,
        name: &str,
        rs: &ReplicaSet,
        revision: u64,
        replicas: u32,
    ) -> Result<usize, ControllerError> {
        let mut rs = rs.clone();
        rs.spec.replicas = replicas;
        match put_json(
            self.store,
            &replicaset_key(name),
            &rs,
            Expect::Revision(revision),
        ) {
            Ok(_) => Ok(1),
            Err(StoreError::Conflict { .. }) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    fn create(
        &self,
        name: &str,
        deployment: &Deployment,
        replicas: u32,
    ) -> Result<usize, ControllerError> {
        let hash = template_hash(&deployment.spec.template);
        let mut template = deployment.spec.template.clone();
        template
            .metadata
            .labels
            .insert(TEMPLATE_HASH_LABEL.to_string(), hash.clone());
        let mut selector = deployment.spec.selector.clone();
        selector.insert(TEMPLATE_HASH_LABEL.to_string(), hash.clone());
        let rs_name = format!("{name}-{hash}");
        let rs = ReplicaSet {
            metadata: ObjectMeta {
                name: rs_name.clone(),
                labels: BTreeMap::from([(OWNER_LABEL.to_string(), format!("Deployment/{name}"))]),
            },
            spec: ReplicaSetSpec {
                replicas,
                selector,
                template,
            },
        };
        match put_json(self.store, &replicaset_key(&rs_name), &rs, Expect::Absent) {
            Ok(_) => Ok(1),
            Err(StoreError::Conflict { .. }) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}
