//! The [`Store`]: what a control plane needs from etcd. One global revision that every write moves
//! on by one; get, list by prefix, put and delete, each optionally conditional on the key's revision
//! (compare-and-swap); a watch from any revision not yet compacted; leases whose keys vanish when
//! they are not renewed within their TTL.
//!
//! Two implementations behind it: [`MemStore`] (a map and an event log under one mutex) and
//! [`RedbStore`] (the same on a redb file, which survives a restart). Leases read time from an
//! injectable [`Clock`], so tests expire them without sleeping.
use std::collections::VecDeque;
use std::time::Duration;

pub use shim::clock::{Clock, SystemClock};

mod leases;
mod mem;
mod redb_store;

pub use mem::MemStore;
pub use redb_store::RedbStore;

/// A lease's id (never 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseId(pub u64);

/// A key's current value and its history in revisions, as etcd reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// The revision that created the key (since its last deletion).
    pub create_revision: u64,
    /// The revision of its last write: what a compare-and-swap compares.
    pub mod_revision: u64,
    /// The lease it is attached to.
    pub lease: Option<LeaseId>,
}

/// One change, at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The key now holds this value (created or replaced).
    Put(KeyValue),
    /// The key was deleted at `revision`.
    Delete {
        /// The key.
        key: String,
        /// The revision of the deletion.
        revision: u64,
    },
}

impl Event {
    /// The revision this change made.
    pub fn revision(&self) -> u64 {
        match self {
            Event::Put(kv) => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }

    /// The key it changed.
    pub fn key(&self) -> &str {
        match self {
            Event::Put(kv) => &kv.key,
            Event::Delete { key, .. } => key,
        }
    }
}

/// The condition a write holds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Write whatever is there.
    Any,
    /// Only if the key does not exist (create).
    Absent,
    /// Only if the key's `mod_revision` is this one (compare-and-swap).
    Revision(u64),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the key at another revision (`None`: absent).
    #[error("conflict on `{key}`: expected {expected:?}, found revision {found:?}")]
    Conflict {
        /// The key.
        key: String,
        /// What the write expected.
        expected: Expect,
        /// The key's revision now (`None`: absent).
        found: Option<u64>,
    },
    /// A watch asked for history that compaction removed: list again and watch from there.
    #[error("revision {requested} is compacted (history starts after {compacted}): relist")]
    Compacted {
        /// The revision asked for.
        requested: u64,
        /// The compaction point: revisions up to it are gone.
        compacted: u64,
    },
    /// The lease does not exist (expired or revoked).
    #[error("lease {0:?} not found")]
    LeaseNotFound(LeaseId),
    /// A lease's TTL must be positive.
    #[error("a lease needs a positive TTL")]
    ZeroTtl,
    /// The embedded database failed.
    #[error("database: {0}")]
    Database(#[source] Box<redb::Error>),
}

/// Whether `expect` holds for the key's current state; the conflict if not.
pub(crate) fn check(
    key: &str,
    current: Option<&KeyValue>,
    expect: Expect,
) -> Result<(), StoreError> {
    let found = current.map(|kv| kv.mod_revision);
    let holds = match expect {
        Expect::Any => true,
        Expect::Absent => found.is_none(),
        Expect::Revision(r) => found == Some(r),
    };
    if holds {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            key: key.to_string(),
            expected: expect,
            found,
        })
    }
}

/// Waits on `moved` (real time, up to `timeout`) until `done` holds for the guarded state; whether
/// it does. A poisoned lock is taken over: the stores' writers check before they mutate, so the
/// state is consistent.
pub(crate) fn wait_until<T>(
    mut guard: std::sync::MutexGuard<'_, T>,
    moved: &std::sync::Condvar,
    timeout: Duration,
    done: impl Fn(&T) -> bool,
) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while !done(&guard) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        guard = moved
            .wait_timeout(guard, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    true
}

/// A listing and the revision it was read at: watch from `revision + 1` to miss nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Keys under the prefix, in key order.
    pub items: Vec<KeyValue>,
    /// The store's revision when it was read.
    pub revision: u64,
}

/// What a control plane needs from etcd.
///
/// ```
/// use tinykube::store::{Expect, MemStore, Store, StoreError};
///
/// let store = MemStore::new();
/// let r1 = store.put("/pods/web", b"v1", Expect::Absent, None)?;
/// // Compare-and-swap: only the writer who read r1 may replace it.
/// let r2 = store.put("/pods/web", b"v2", Expect::Revision(r1), None)?;
/// assert!(matches!(
///     store.put("/pods/web", b"stale", Expect::Revision(r1), None),
///     Err(StoreError::Conflict { found: Some(r), .. }) if r == r2
/// ));
/// // A watch from r1 sees both writes, in order.
/// let mut watch = store.watch("/pods/", r1);
/// let first = watch.next_timeout(std::time::Duration::from_secs(1))?.unwrap();
/// assert_eq!(first.revision(), r1);
/// # Ok::<(), StoreError>(())
/// ```
pub trait Store: Send + Sync {
    /// The revision of the last write (0 for an empty store).
    fn revision(&self) -> Result<u64, StoreError>;
    /// The key's current value.
    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;
    /// Every key starting with `prefix`, and the revision read at.
    fn list(&self, prefix: &str) -> Result<Listing, StoreError>;
    /// Writes `value` at a new revision (returned) if `expect` holds, attached to `lease`.
    fn put(
        &self,
        key: &str,
        value: &[u8],
        expect: Expect,
        lease: Option<LeaseId>,
    ) -> Result<u64, StoreError>;
    /// Deletes the key at a new revision (returned) if `expect` holds; `None` if it was absent.
    fn delete(&self, key: &str, expect: Expect) -> Result<Option<u64>, StoreError>;
    /// Forgets the history up to and including `revision`: watches from there fail with
    /// [`StoreError::Compacted`].
    fn compact(&self, revision: u64) -> Result<(), StoreError>;
    /// Up to `max` changes under `prefix` from revision `from` on, and the store's revision when read.
    fn changes_since(
        &self,
        prefix: &str,
        from: u64,
        max: usize,
    ) -> Result<(Vec<Event>, u64), StoreError>;
    /// Blocks until the store's revision reaches `revision` or `timeout` passes (real time); true if
    /// it did.
    fn wait_for_revision(&self, revision: u64, timeout: Duration) -> bool;
    /// A new lease that expires `ttl` after its last renewal, on the store's clock.
    fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, StoreError>;
    /// Renews the lease for another TTL.
    fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError>;
    /// Ends the lease now and deletes its keys (one revision each).
    fn revoke_lease(&self, lease: LeaseId) -> Result<(), StoreError>;
    /// Revokes every lease past its deadline on the store's clock; the control plane calls this
    /// periodically. Returns the leases it revoked.
    fn expire_leases(&self) -> Result<Vec<LeaseId>, StoreError>;

    /// Every change under `prefix` from revision `from` on, in revision order.
    fn watch(&self, prefix: &str, from: u64) -> Watch<'_, Self>
    where
        Self: Sized,
    {
        Watch {
            store: self,
            prefix: prefix.to_string(),
            next: from.max(1),
            buffered: VecDeque::new(),
        }
    }
}

/// A stream of changes from a [`Store`], read with a deadline.
#[derive(Debug)]
pub struct Watch<'s, S: Store> {
    store: &'s S,
    prefix: String,
    /// The first revision not yet read from the store.
    next: u64,
    buffered: VecDeque<Event>,
}

impl<S: Store> Watch<'_, S> {
    /// The next change, waiting up to `timeout` for one; `Ok(None)` when none came. Fails with
    /// [`StoreError::Compacted`] when the store no longer has the history this watch needs.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Event>, StoreError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(event) = self.buffered.pop_front() {
                return Ok(Some(event));
            }
            let (events, head) = self.store.changes_since(&self.prefix, self.next, 256)?;
            match events.last() {
                Some(last) => self.next = last.revision() + 1,
                // Nothing under the prefix up to `head`: skip past it.
                None => self.next = self.next.max(head + 1),
            }
            self.buffered.extend(events);
            if !self.buffered.is_empty() {
                continue;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || !self.store.wait_for_revision(self.next, left) {
                return Ok(None);
            }
        }
    }
}
