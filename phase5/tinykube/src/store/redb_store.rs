//! The durable store: the same model as [`MemStore`](super::MemStore) in a redb file. Keys, the
//! change log, the counters and the leases' TTLs are tables; every write is one redb transaction,
//! committed (fsync'd) before it returns, so a control plane killed and restarted finds its state.
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use super::leases::LeaseTable;
use super::{Clock, Event, Expect, KeyValue, LeaseId, Listing, Store, StoreError, SystemClock};
use super::{check, wait_until};

const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("keys");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Lease id → TTL in nanoseconds.
const LEASES: TableDefinition<u64, u64> = TableDefinition::new("leases");

/// Converts any of redb's error types into a [`StoreError`].
fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Database(Box::new(e.into()))
}

/// A [`Store`] in a redb file: it survives a restart.
///
/// ```
/// use tinykube::store::{Expect, RedbStore, Store};
/// # let dir = std::env::temp_dir().join(format!("tk-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("state.redb");
/// let store = RedbStore::open(&path)?;
/// let revision = store.put("/nodes/n1", b"{}", Expect::Absent, None)?;
/// drop(store);
/// let reopened = RedbStore::open(&path)?;
/// assert_eq!(reopened.get("/nodes/n1")?.unwrap().mod_revision, revision);
/// # drop(reopened); std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RedbStore {
    db: Database,
    /// Lease deadlines (in memory: the file keeps TTLs) and the last committed revision; writers
    /// hold this lock across their transaction, so revisions are assigned in commit order.
    state: Mutex<Volatile>,
    moved: Condvar,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct Volatile {
    revision: u64,
    leases: LeaseTable,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn encode(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + kv.value.len());
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&kv.mod_revision.to_le_bytes());
    out.extend_from_slice(&kv.lease.map_or(0, |l| l.0).to_le_bytes());
    out.extend_from_slice(&kv.value);
    out
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

fn decode(key: &str, bytes: &[u8]) -> KeyValue {
    let lease = word(bytes, 16);
    KeyValue {
        key: key.to_string(),
        create_revision: word(bytes, 0),
        mod_revision: word(bytes, 8),
        lease: (lease != 0).then_some(LeaseId(lease)),
        value: bytes[24..].to_vec(),
    }
}

/// An event at rest: `P` + key length + key + record, or `D` + key.
fn encode_event(e: &Event) -> Vec<u8> {
    match e {
        Event::Put(kv) => {
            let mut out = vec![b'P'];
            out.extend_from_slice(&(kv.key.len() as u64).to_le_bytes());
            out.extend_from_slice(kv.key.as_bytes());
            out.extend_from_slice(&encode(kv));
            out
        }
        Event::Delete { key, .. } => {
            let mut out = vec![b'D'];
            out.extend_from_slice(key.as_bytes());
            out
        }
    }
}

fn decode_event(revision: u64, bytes: &[u8]) -> Event {
    if bytes[0] == b'P' {
        let len = usize::try_from(word(bytes, 1)).unwrap_or(usize::MAX);
        let key = String::from_utf8_lossy(&bytes[9..9 + len]);
        Event::Put(decode(&key, &bytes[9 + len..]))
    } else {
        Event::Delete {
            key: String::from_utf8_lossy(&bytes[1..]).into_owned(),
            revision,
        }
    }
}

fn meta(txn: &WriteTransaction, name: &str) -> Result<u64, StoreError> {
    let table = txn.open_table(META).map_err(db)?;
    let value = table.get(name).map_err(db)?.map_or(0, |v| v.value());
    Ok(value)
}

fn set_meta(txn: &WriteTransaction, name: &str, value: u64) -> Result<(), StoreError> {
    txn.open_table(META)
        .map_err(db)?
        .insert(name, value)
        .map_err(db)?;
    Ok(())
}

/// Deletes `key` at the next revision, inside `txn`; the new revision, or `None` if it was absent.
fn delete_in(txn: &WriteTransaction, key: &str) -> Result<Option<u64>, StoreError> {
    let removed = txn
        .open_table(KEYS)
        .map_err(db)?
        .remove(key)
        .map_err(db)?
        .is_some();
    if !removed {
        return Ok(None);
    }
    let revision = meta(txn, "revision")? + 1;
    set_meta(txn, "revision", revision)?;
    let event = encode_event(&Event::Delete {
        key: key.to_string(),
        revision,
    });
    txn.open_table(EVENTS)
        .map_err(db)?
        .insert(revision, event.as_slice())
        .map_err(db)?;
    Ok(Some(revision))
}

impl RedbStore {
    /// Opens (or creates) the store at `path`, on the system clock.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_clock(path, Arc::new(SystemClock::new()))
    }

    /// Opens (or creates) the store at `path`; leases read `clock`. Every lease found in the file
    /// gets a full TTL from now.
    pub fn open_with_clock(
        path: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let database = Database::create(path.as_ref()).map_err(db)?;
        let txn = database.begin_write().map_err(db)?;
        let mut volatile = Volatile::default();
        {
            txn.open_table(KEYS).map_err(db)?;
            txn.open_table(EVENTS).map_err(db)?;
            txn.open_table(META).map_err(db)?;
            let leases = txn.open_table(LEASES).map_err(db)?;
            let now = clock.now();
            for entry in leases.iter().map_err(db)? {
                let (id, ttl) = entry.map_err(db)?;
                volatile
                    .leases
                    .insert(LeaseId(id.value()), Duration::from_nanos(ttl.value()), now);
            }
        }
        volatile.revision = meta(&txn, "revision")?;
        txn.commit().map_err(db)?;
        Ok(RedbStore {
            db: database,
            state: Mutex::new(volatile),
            moved: Condvar::new(),
            clock,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Volatile> {
        // The guarded state is a cache of what the last committed transaction wrote, refreshed by
        // every writer before it commits: a panic leaves nothing half-done in it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Commits `txn` and publishes the new revision to waiting watchers.
    fn commit(
        &self,
        txn: WriteTransaction,
        mut state: MutexGuard<'_, Volatile>,
    ) -> Result<(), StoreError> {
        let revision = meta(&txn, "revision")?;
        txn.commit().map_err(db)?;
        state.revision = revision;
        drop(state);
        self.moved.notify_all();
        Ok(())
    }

    fn revoke_in(
        &self,
        txn: &WriteTransaction,
        state: &mut Volatile,
        lease: LeaseId,
    ) -> Result<bool, StoreError> {
        if !state.leases.contains(lease) {
            return Ok(false);
        }
        txn.open_table(LEASES)
            .map_err(db)?
            .remove(lease.0)
            .map_err(db)?;
        let attached: Vec<String> = {
            let keys = txn.open_table(KEYS).map_err(db)?;
            let mut found = Vec::new();
            for entry in keys.iter().map_err(db)? {
                let (k, v) = entry.map_err(db)?;
                if word(v.value(), 16) == lease.0 {
                    found.push(k.value().to_string());
                }
            }
            found
        };
        for key in attached {
            delete_in(txn, &key)?;
        }
        Ok(true)
    }
}

impl Store for RedbStore {
    fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.lock().revision)
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let table = txn.open_table(KEYS).map_err(db)?;
        let found = table.get(key).map_err(db)?.map(|v| decode(key, v.value()));
        Ok(found)
    }

    fn list(&self, prefix: &str) -> Result<Listing, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let revision = txn
            .open_table(META)
            .map_err(db)?
            .get("revision")
            .map_err(db)?
            .map_or(0, |v| v.value());
        let table = txn.open_table(KEYS).map_err(db)?;
        let mut items = Vec::new();
        for entry in table.range(prefix..).map_err(db)? {
            let (k, v) = entry.map_err(db)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            items.push(decode(k.value(), v.value()));
        }
        Ok(Listing { items, revision })
    }

    fn put(
        &self,
        key: &str,
        value: &[u8],
        expect: Expect,
        lease: Option<LeaseId>,
    ) -> Result<u64, StoreError> {
        let state = self.lock();
        state.leases.check_attachable(lease)?;
        let txn = self.db.begin_write().map_err(db)?;
        let revision = meta(&txn, "revision")? + 1;
        {
            let mut keys = txn.open_table(KEYS).map_err(db)?;
            let current = keys.get(key).map_err(db)?.map(|v| decode(key, v.value()));
            check(key, current.as_ref(), expect)?;
            let create_revision = current.map_or(revision, |kv| kv.create_revision);
            let kv = KeyValue {
                key: key.to_string(),
                value: value.to_vec(),
                create_revision,
                mod_revision: revision,
                lease,
            };
            keys.insert(key, encode(&kv).as_slice()).map_err(db)?;
            txn.open_table(EVENTS)
                .map_err(db)?
                .insert(revision, encode_event(&Event::Put(kv)).as_slice())
                .map_err(db)?;
        }
        set_meta(&txn, "revision", revision)?;
        self.commit(txn, state)?;
        Ok(revision)
    }

    fn delete(&self, key: &str, expect: Expect) -> Result<Option<u64>, StoreError> {
        let state = self.lock();
        let txn = self.db.begin_write().map_err(db)?;
        {
            let keys = txn.open_table(KEYS).map_err(db)?;
            let current = keys.get(key).map_err(db)?.map(|v| decode(key, v.value()));
            check(key, current.as_ref(), expect)?;
        }
        let revision = delete_in(&txn, key)?;
        self.commit(txn, state)?;
        Ok(revision)
    }

    fn compact(&self, revision: u64) -> Result<(), StoreError> {
        let state = self.lock();
        let txn = self.db.begin_write().map_err(db)?;
        let revision = revision.min(meta(&txn, "revision")?);
        let compacted = meta(&txn, "compacted")?;
        if revision > compacted {
            txn.open_table(EVENTS)
                .map_err(db)?
                .retain_in(..=revision, |_, _| false)
                .map_err(db)?;
            set_meta(&txn, "compacted", revision)?;
        }
        self.commit(txn, state)
    }

    fn changes_since(
        &self,
        prefix: &str,
        from: u64,
        max: usize,
    ) -> Result<(Vec<Event>, u64), StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let (revision, compacted) = {
            let meta = txn.open_table(META).map_err(db)?;
            let read = |name: &str| meta.get(name).map(|v| v.map_or(0, |v| v.value()));
            (
                read("revision").map_err(db)?,
                read("compacted").map_err(db)?,
            )
        };
        if from <= compacted {
            return Err(StoreError::Compacted {
                requested: from,
                compacted,
            });
        }
        let mut events = Vec::new();
        for entry in txn
            .open_table(EVENTS)
            .map_err(db)?
            .range(from..)
            .map_err(db)?
        {
            let (r, bytes) = entry.map_err(db)?;
            let event = decode_event(r.value(), bytes.value());
            if event.key().starts_with(prefix) {
                events.push(event);
                if events.len() == max {
                    break;
                }
            }
        }
        Ok((events, revision))
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
        let mut state = self.lock();
        let txn = self.db.begin_write().map_err(db)?;
        let id = meta(&txn, "next_lease")? + 1;
        set_meta(&txn, "next_lease", id)?;
        let nanos = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
        txn.open_table(LEASES)
            .map_err(db)?
            .insert(id, nanos)
            .map_err(db)?;
        state.leases.insert(LeaseId(id), ttl, self.clock.now());
        self.commit(txn, state)?;
        Ok(LeaseId(id))
    }

    fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.lock().leases.renew(lease, now)
    }

    fn revoke_lease(&self, lease: LeaseId) -> Result<(), StoreError> {
        let mut state = self.lock();
        let txn = self.db.begin_write().map_err(db)?;
        if !self.revoke_in(&txn, &mut state, lease)? {
            return Err(StoreError::LeaseNotFound(lease));
        }
        state.leases.remove(lease);
        self.commit(txn, state)
    }

    fn expire_leases(&self) -> Result<Vec<LeaseId>, StoreError> {
        let now = self.clock.now();
        let mut state = self.lock();
        let expired = state.leases.expired(now);
        if expired.is_empty() {
            return Ok(expired);
        }
        let txn = self.db.begin_write().map_err(db)?;
        for &id in &expired {
            self.revoke_in(&txn, &mut state, id)?;
        }
        for &id in &expired {
            state.leases.remove(id);
        }
        self.commit(txn, state)?;
        Ok(expired)
    }
}
