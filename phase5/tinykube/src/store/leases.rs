//! Lease deadlines, kept in memory by both stores: a durable store persists the TTLs only, and gives
//! every lease a fresh TTL when it reopens (as etcd does when a new leader takes over).
use std::collections::HashMap;
use std::time::Duration;

use super::{LeaseId, StoreError};

/// Each live lease's TTL and deadline (time on the store's clock).
#[derive(Debug, Default)]
pub(crate) struct LeaseTable {
    leases: HashMap<LeaseId, (Duration, Duration)>,
}

impl LeaseTable {
    pub(crate) fn insert(&mut self, id: LeaseId, ttl: Duration, now: Duration) {
        self.leases.insert(id, (ttl, now + ttl));
    }

    /// Moves the deadline a TTL past `now`.
    pub(crate) fn renew(&mut self, id: LeaseId, now: Duration) -> Result<(), StoreError> {
        let (ttl, deadline) = self
            .leases
            .get_mut(&id)
            .ok_or(StoreError::LeaseNotFound(id))?;
        *deadline = now + *ttl;
        Ok(())
    }

    /// Ok if a key may be attached to `lease`: no lease, or a live one.
    pub(crate) fn check_attachable(&self, lease: Option<LeaseId>) -> Result<(), StoreError> {
        match lease {
            Some(id) if !self.contains(id) => Err(StoreError::LeaseNotFound(id)),
            _ => Ok(()),
        }
    }

    pub(crate) fn contains(&self, id: LeaseId) -> bool {
        self.leases.contains_key(&id)
    }

    pub(crate) fn remove(&mut self, id: LeaseId) -> bool {
        self.leases.remove(&id).is_some()
    }

    /// The leases whose deadline is at or before `now`, in id order.
    pub(crate) fn expired(&self, now: Duration) -> Vec<LeaseId> {
        let mut ids: Vec<LeaseId> = self
            .leases
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }
}
