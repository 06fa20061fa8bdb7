//! The store conformance suite: every check is a generic function over [`Store`], so each backend
//! (memory, redb, and later etcd) runs the same checks. A backend is given as a factory taking the
//! clock its leases read.
use std::sync::{Arc, Barrier};
use std::time::Duration;

use harness::clock::VirtualClock;
use tinykube::store::{Clock, Event, Expect, Store, StoreError};

/// Real-time bound on any single blocking wait in the suite.
const WAIT: Duration = Duration::from_secs(10);

/// Every write moves the revision on by exactly one; reads see what was written.
pub fn revisions_and_reads<S: Store>(store: &S) {
    let base = store.revision().unwrap();
    let r1 = store.put("/a/1", b"one", Expect::Any, None).unwrap();
    let r2 = store.put("/a/2", b"two", Expect::Any, None).unwrap();
    let r3 = store.put("/b/1", b"three", Expect::Any, None).unwrap();
    assert_eq!((r1, r2, r3), (base + 1, base + 2, base + 3));
    let r4 = store.put("/a/1", b"uno", Expect::Any, None).unwrap();
    let kv = store.get("/a/1").unwrap().unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.create_revision, kv.mod_revision),
        (&b"uno"[..], r1, r4)
    );
    let listing = store.list("/a/").unwrap();
    let keys: Vec<&str> = listing.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/a/1", "/a/2"]);
    assert_eq!(listing.revision, r4);
    assert_eq!(store.delete("/a/2", Expect::Any).unwrap(), Some(r4 + 1));
    assert_eq!(
        store.delete("/a/2", Expect::Any).unwrap(),
        None,
        "deleting nothing is no write"
    );
    assert_eq!(store.revision().unwrap(), r4 + 1);
    assert!(store.get("/a/2").unwrap().is_none());
    // Recreated: a new create revision.
    let r6 = store.put("/a/2", b"again", Expect::Absent, None).unwrap();
    assert_eq!(store.get("/a/2").unwrap().unwrap().create_revision, r6);
}

/// Conditional writes hold to their condition and report what they found.
pub fn compare_and_swap<S: Store>(store: &S) {
    let r1 = store.put("/cas", b"1", Expect::Absent, None).unwrap();
    match store.put("/cas", b"x", Expect::Absent, None) {
        Err(StoreError::Conflict { found: Some(r), .. }) => assert_eq!(r, r1),
        other => panic!("create over an existing key: {other:?}"),
    }
    let r2 = store.put("/cas", b"2", Expect::Revision(r1), None).unwrap();
    assert!(matches!(
        store.put("/cas", b"stale", Expect::Revision(r1), None),
        Err(StoreError::Conflict { found: Some(r), .. }) if r == r2
    ));
    assert!(matches!(
        store.delete("/cas", Expect::Revision(r1)),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.get("/cas").unwrap().unwrap().value,
        b"2",
        "a failed write changes nothing"
    );
    assert!(
        store
            .delete("/cas", Expect::Revision(r2))
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store.put("/cas", b"x", Expect::Revision(r2), None),
        Err(StoreError::Conflict { found: None, .. })
    ));
}

/// `threads` writers read the same revision and race to swap it: exactly one wins each round, and the
/// value is the winner's.
pub fn cas_race_has_one_winner<S: Store>(store: &S, threads: usize, rounds: usize) {
    store.put("/race", b"start", Expect::Any, None).unwrap();
    for round in 0..rounds {
        let seen = store.get("/race").unwrap().unwrap().mod_revision;
        let barrier = Barrier::new(threads);
        let winners: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        let value = format!("{round}:{t}");
                        match store.put("/race", value.as_bytes(), Expect::Revision(seen), None) {
                            Ok(_) => Some(t),
                            Err(StoreError::Conflict { .. }) => None,
                            Err(e) => panic!("{e}"),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let value = store.get("/race").unwrap().unwrap().value;
        assert_eq!(value, format!("{round}:{}", winners[0]).into_bytes());
    }
}

/// A watcher started before a writer sees every revision under its prefix, once, in order, with the
/// writer's values; a second prefix's writes are not in it.
pub fn watch_sees_every_revision_in_order<S: Store>(store: &S, writes: usize) {
    let from = store.revision().unwrap() + 1;
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut mine = Vec::new();
            for i in 0..writes {
                let key = format!("/w/{}", i % 7);
                if i % 5 == 4 {
                    if store.delete(&key, Expect::Any).unwrap().is_some() {
                        mine.push((key, None));
                    }
                } else {
                    let value = format!("v{i}").into_bytes();
                    store.put(&key, &value, Expect::Any, None).unwrap();
                    mine.push((key, Some(value)));
                }
                store.put("/other/x", b"noise", Expect::Any, None).unwrap();
            }
            mine
        });
        let mut watch = store.watch("/w/", from);
        let mut seen: Vec<Event> = Vec::new();
        let mine = writer.join().unwrap();
        while seen.len() < mine.len() {
            match watch.next_timeout(WAIT).unwrap() {
                Some(e) => seen.push(e),
                None => panic!(
                    "watch stalled after {} of {} events",
                    seen.len(),
                    mine.len()
                ),
            }
        }
        assert!(
            watch
                .next_timeout(Duration::from_millis(20))
                .unwrap()
                .is_none(),
            "an extra event"
        );
        let revisions: Vec<u64> = seen.iter().map(Event::revision).collect();
        assert!(
            revisions.windows(2).all(|w| w[0] < w[1]),
            "out of order: {revisions:?}"
        );
        let changes: Vec<(String, Option<Vec<u8>>)> = seen
            .into_iter()
            .map(|e| match e {
                Event::Put(kv) => (kv.key, Some(kv.value)),
                Event::Delete { key, .. } => (key, None),
            })
            .collect();
        assert_eq!(changes, mine, "the watch's changes are not the writer's");
    });
}

/// A watch started while its writes are still to come wakes on them (no polling gap).
pub fn watch_wakes_on_a_later_write<S: Store>(store: &S) {
    let from = store.revision().unwrap() + 1;
    std::thread::scope(|s| {
        let watcher = s.spawn(|| store.watch("/late/", from).next_timeout(WAIT).unwrap());
        std::thread::sleep(Duration::from_millis(20)); // lets the watcher block first (either order passes)
        store.put("/late/k", b"v", Expect::Any, None).unwrap();
        let event = watcher.join().unwrap().expect("the watcher timed out");
        assert_eq!(event.key(), "/late/k");
    });
}

/// After compaction a watch from a forgotten revision says "relist"; from the first kept one it works.
pub fn compaction_says_relist<S: Store>(store: &S) {
    let r1 = store.put("/c/1", b"a", Expect::Any, None).unwrap();
    let r2 = store.put("/c/2", b"b", Expect::Any, None).unwrap();
    store.compact(r1).unwrap();
    match store.watch("/c/", r1).next_timeout(WAIT) {
        Err(StoreError::Compacted {
            requested,
            compacted,
        }) => assert_eq!((requested, compacted), (r1, r1)),
        other => panic!("a watch from a compacted revision: {other:?}"),
    }
    let event = store
        .watch("/c/", r1 + 1)
        .next_timeout(WAIT)
        .unwrap()
        .unwrap();
    assert_eq!(event.revision(), r2);
    // The keys themselves are untouched.
    assert_eq!(store.list("/c/").unwrap().items.len(), 2);
}

/// Leases on a virtual clock: keys live while the lease is renewed within its TTL and vanish (with a
/// delete event) once it expires; an unknown lease is an error.
pub fn leases_expire_on_the_clock<S: Store>(make: &dyn Fn(Arc<dyn Clock>) -> S) {
    let clock = VirtualClock::new();
    let store = make(clock.clone());
    assert!(matches!(
        store.grant_lease(Duration::ZERO),
        Err(StoreError::ZeroTtl)
    ));
    let lease = store.grant_lease(Duration::from_secs(10)).unwrap();
    let other = store.grant_lease(Duration::from_secs(100)).unwrap();
    store
        .put("/leases/node-1", b"alive", Expect::Any, Some(lease))
        .unwrap();
    store
        .put("/leases/node-2", b"alive", Expect::Any, Some(other))
        .unwrap();
    let from = store.revision().unwrap() + 1;
    clock.advance(Duration::from_secs(9));
    assert!(store.expire_leases().unwrap().is_empty());
    store.keep_alive(lease).unwrap();
    clock.advance(Duration::from_secs(9)); // 18 s: 9 s after the renewal
    assert!(store.expire_leases().unwrap().is_empty());
    assert!(store.get("/leases/node-1").unwrap().is_some());
    clock.advance(Duration::from_secs(1)); // 10 s after the renewal: the deadline
    assert_eq!(store.expire_leases().unwrap(), vec![lease]);
    assert!(store.get("/leases/node-1").unwrap().is_none());
    assert!(
        store.get("/leases/node-2").unwrap().is_some(),
        "another lease's key stays"
    );
    let event = store
        .watch("/leases/", from)
        .next_timeout(WAIT)
        .unwrap()
        .unwrap();
    assert!(
        matches!(event, Event::Delete { ref key, .. } if key == "/leases/node-1"),
        "{event:?}"
    );
    assert!(matches!(
        store.keep_alive(lease),
        Err(StoreError::LeaseNotFound(_))
    ));
    assert!(matches!(
        store.put("/x", b"", Expect::Any, Some(lease)),
        Err(StoreError::LeaseNotFound(_))
    ));
    store.revoke_lease(other).unwrap();
    assert!(store.get("/leases/node-2").unwrap().is_none());
}

/// Every check that needs only a fresh store.
pub fn run_all<S: Store>(make: &dyn Fn(Arc<dyn Clock>) -> S) {
    let fresh = || make(VirtualClock::new());
    revisions_and_reads(&fresh());
    compare_and_swap(&fresh());
    cas_race_has_one_winner(&fresh(), 4, 20);
    watch_sees_every_revision_in_order(&fresh(), 200);
    watch_wakes_on_a_later_write(&fresh());
    compaction_says_relist(&fresh());
    leases_expire_on_the_clock(make);
}
