//! The store conformance suite run against both backends, and what only the durable one promises:
//! its state survives a reopen.
mod store_suite;

use std::sync::Arc;
use std::time::Duration;

use harness::clock::VirtualClock;
use harness::tempdir::TempDir;
use harness::watchdog::within;
use tinykube::store::{Clock, Expect, MemStore, RedbStore, Store, StoreError};

const DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn the_memory_store_conforms() {
    within(DEADLINE, || store_suite::run_all(&MemStore::with_clock));
}

#[test]
fn the_redb_store_conforms() {
    within(DEADLINE, || {
        let dir = TempDir::new("tinykube-conformance").unwrap();
        let n = std::sync::atomic::AtomicUsize::new(0);
        store_suite::run_all(&|clock: Arc<dyn Clock>| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            RedbStore::open_with_clock(dir.path().join(format!("{i}.redb")), clock).unwrap()
        });
    });
}

#[test]
fn the_redb_store_survives_a_reopen() {
    within(DEADLINE, || {
        let dir = TempDir::new("tinykube-reopen").unwrap();
        let path = dir.path().join("state.redb");
        let clock = VirtualClock::new();
        let (lease, revision) = {
            let store = RedbStore::open_with_clock(&path, clock.clone()).unwrap();
            let lease = store.grant_lease(Duration::from_secs(10)).unwrap();
            store
                .put("/nodes/n1", b"node", Expect::Absent, Some(lease))
                .unwrap();
            let r = store.put("/pods/p1", b"pod", Expect::Absent, None).unwrap();
            store.put("/pods/p2", b"pod", Expect::Absent, None).unwrap();
            store.delete("/pods/p2", Expect::Any).unwrap();
            store.compact(r).unwrap();
            (lease, store.revision().unwrap())
        };
        clock.advance(Duration::from_secs(8));
        let store = RedbStore::open_with_clock(&path, clock.clone()).unwrap();
        assert_eq!(store.revision().unwrap(), revision);
        assert_eq!(store.get("/pods/p1").unwrap().unwrap().value, b"pod");
        assert!(store.get("/pods/p2").unwrap().is_none());
        assert!(matches!(
            store.watch("/", 1).next_timeout(DEADLINE),
            Err(StoreError::Compacted { .. })
        ));
        // The history after the compaction point is still there: p2's put and delete.
        let mut watch = store.watch("/pods/", revision - 1);
        assert_eq!(
            watch.next_timeout(DEADLINE).unwrap().unwrap().revision(),
            revision - 1
        );
        // The next write continues the revision sequence.
        assert_eq!(
            store.put("/pods/p3", b"pod", Expect::Any, None).unwrap(),
            revision + 1
        );
        // The lease came back with a full TTL from the reopen: 8 s later it is alive, 10 s later gone.
        clock.advance(Duration::from_secs(8));
        assert!(store.expire_leases().unwrap().is_empty());
        clock.advance(Duration::from_secs(2));
        assert_eq!(store.expire_leases().unwrap(), vec![lease]);
        assert!(store.get("/nodes/n1").unwrap().is_none());
    });
}
