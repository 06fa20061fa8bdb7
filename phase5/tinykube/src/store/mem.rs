//! The in-memory store: the current keys in a `BTreeMap` (prefix scans in key order) and every
//! change since the last compaction in a log, all under one mutex. A condition variable wakes
//! watchers when the revision moves.
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::leases::LeaseTable;
use super::{Clock, Event, Expect, KeyValue, LeaseId, Listing, Store, StoreError, SystemClock};
use super::{check, wait_until};

/// A [`Store`] in memory: fast, and gone with the process.
pub struct MemStore {
    state: Mutex<State>,
    /// Notified on every write; watchers wait on it for the revision to move.
    moved: Condvar,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct State {
    revision: u64,
    /// Revisions up to this one are compacted away.
    compacted: u64,
    keys: BTreeMap<String, KeyValue>,
    /// Changes after `compacted`, in revision order.
    log: VecDeque<Event>,
    next_lease: u64,
    leases: LeaseTable,
}

impl std::fmt::Debug for MemStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemStore")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Default for MemStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock::new()))
    }

    /// An empty store whose leases read `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemStore {
            state: Mutex::new(State::default()),
            moved: Condvar::new(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written: every write below
        // checks first and mutates after, so the data is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl State {
    /// Ends `lease` and deletes its keys, one revision each; false if there is no such lease.
    fn revoke(&mut self, lease: LeaseId) -> bool {
        if !self.leases.remove(lease) {
            return false;
        }
        let attached: Vec<String> = self
            .keys
            .values()
            .filter(|kv| kv.lease == Some(lease))
            .map(|kv| kv.key.clone())
            .collect();
        for key in attached {
            self.delete_key(&key);
        }
        true
    }

    fn delete_key(&mut self, key: &str) -> Option<u64> {
        self.keys.remove(key)?;
        self.revision += 1;
        self.log.push_back(Event::Delete {
            key: key.to_string(),
            revision: self.revision,
        });
        Some(self.revision)
    }
}

impl Store for MemStore {
    fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.lock().revision)
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        Ok(self.lock().keys.get(key).cloned())
    }

    fn list(&self, prefix: &str) -> Result<Listing, StoreError> {
        let s = self.lock();
        let items = s
            .keys
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, kv)| kv.clone())
            .collect();
        Ok(Listing {
            items,
            revision: s.revision,
        })
    }

    fn put(
        &self,
        key: &str,
        value: &[u8],
        expect: Expect,
        lease: Option<LeaseId>,
    ) -> Result<u64, StoreError> {
        let mut s = self.lock();
        check(key, s.keys.get(key), expect)?;
        s.leases.check_attachable(lease)?;
        s.revision += 1;
        let revision = s.revision;
        let create_revision = s.keys.get(key).map_or(revision, |kv| kv.create_revision);
        let kv = KeyValue {
            key: key.to_string(),
            value: value.to_vec(),
            create_revision,
            mod_revision: revision,
            lease,
        };
        s.keys.insert(key.to_string(), kv.clone());
        s.log.push_back(Event::Put(kv));
        drop(s);
        self.moved.notify_all();
        Ok(revision)
    }

    fn delete(&self, key: &str, expect: Expect) -> Result<Option<u64>, StoreError> {
        let mut s = self.lock();
        check(key, s.keys.get(key), expect)?;
        let revision = s.delete_key(key);
        drop(s);
        self.moved.notify_all();
        Ok(revision)
    }

    fn compact(&self, revision: u64) -> Result<(), StoreError> {
        let mut s = self.lock();
        let revision = revision.min(s.revision);
        s.compacted = s.compacted.max(revision);
        while s.log.front().is_some_and(|e| e.revision() <= revision) {
            s.log.pop_front();
        }
        Ok(())
    }

    fn changes_since(
        &self,
        prefix: &str,
        from: u64,
        max: usize,
    ) -> Result<(Vec<Event>, u64), StoreError> {
        let s = self.lock();
        if from <= s.compacted {
            return Err(StoreError::Compacted {
                requested: from,
                compacted: s.compacted,
            });
        }
        // The log holds revisions compacted+1 ..= revision, one event each: index by offset.
        let start = usize::try_from(from - s.compacted - 1).unwrap_or(usize::MAX);
        let events = s
            .log
            .iter()
            .skip(start)
            .filter(|e| e.key().starts_with(prefix))
            .take(max)
            .cloned()
            .collect();
        Ok((events, s.revision))
    }

    fn wait_for_revision(&self, revision: u64, timeout: Duration) -> bool {
        wait_until(self.lock(), &self.moved, timeout, |s| {
            s.revision >= revision
        })
    }

    fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, StoreError> {
        if ttl.is_zero() {
            return Err(StoreError::ZeroTtl);
        }
        let now = self.clock.now();
        let mut s = self.lock();
        s.next_lease += 1;
        let id = LeaseId(s.next_lease);
        s.leases.insert(id, ttl, now);
        Ok(id)
    }

    fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.lock().leases.renew(lease, now)
    }

    fn revoke_lease(&self, lease: LeaseId) -> Result<(), StoreError> {
        let revoked = self.lock().revoke(lease);
        self.moved.notify_all();
        if revoked {
            Ok(())
        } else {
            Err(StoreError::LeaseNotFound(lease))
        }
    }

    fn expire_leases(&self) -> Result<Vec<LeaseId>, StoreError> {
        let now = self.clock.now();
        // Under one lock: a lease renewed after this point is not expired, so it is not revoked.
        let mut s = self.lock();
        let expired = s.leases.expired(now);
        for &id in &expired {
            s.revoke(id);
        }
        drop(s);
        self.moved.notify_all();
        Ok(expired)
    }
}
