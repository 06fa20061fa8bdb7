//! The one interleaving a race test rarely hits, forced: a second scheduler binds the pod between
//! the first one's read and its write. A store wrapper runs the intruder just before the first
//! scheduler's pod write reaches the store.
use std::sync::Mutex;
use std::time::Duration;

use tinykube::scheduler::{BindError, bind, node_key, pod_key, reservation_key};
use tinykube::store::{Event, Expect, KeyValue, LeaseId, Listing, MemStore, Store, StoreError};

/// Forwards to a [`MemStore`]; the first put on `trigger` first runs `intruder` on the inner store.
struct Interleave<F: FnMut(&MemStore) + Send> {
    inner: MemStore,
    trigger: String,
    intruder: Mutex<Option<F>>,
}

impl<F: FnMut(&MemStore) + Send> Store for Interleave<F> {
    fn revision(&self) -> Result<u64, StoreError> {
        self.inner.revision()
    }
    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        self.inner.get(key)
    }
    fn list(&self, prefix: &str) -> Result<Listing, StoreError> {
        self.inner.list(prefix)
    }
    fn put(
        &self,
        key: &str,
        value: &[u8],
        expect: Expect,
        lease: Option<LeaseId>,
    ) -> Result<u64, StoreError> {
        if key == self.trigger
            && let Some(mut intruder) = self.intruder.lock().unwrap().take()
        {
            intruder(&self.inner);
        }
        self.inner.put(key, value, expect, lease)
    }
    fn delete(&self, key: &str, expect: Expect) -> Result<Option<u64>, StoreError> {
        self.inner.delete(key, expect)
    }
    fn compact(&self, revision: u64) -> Result<(), StoreError> {
        self.inner.compact(revision)
    }
    fn changes_since(
        &self,
        prefix: &str,
        from: u64,
        max: usize,
    ) -> Result<(Vec<Event>, u64), StoreError> {
        self.inner.changes_since(prefix, from, max)
    }
    fn wait_for_revision(&self, revision: u64, timeout: Duration) -> bool {
        self.inner.wait_for_revision(revision, timeout)
    }
    fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, StoreError> {
        self.inner.grant_lease(ttl)
    }
    fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.inner.keep_alive(lease)
    }
    fn revoke_lease(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.inner.revoke_lease(lease)
    }
    fn expire_leases(&self) -> Result<Vec<LeaseId>, StoreError> {
        self.inner.expire_leases()
    }
}

const NODE: &str = r#"{"metadata":{"name":"NAME"},"spec":{"capacity":{"cpu":"1","memory":"1Gi"}}}"#;
const POD: &str =
    r#"{"metadata":{"name":"p"},"spec":{"command":["true"],"requests":{"cpu":"600m"}}}"#;

/// Sets up n1, n2 and pod p; the intruder binds p to `intruder_node` just before the main bind (to
/// n2) writes `trigger`.
fn race(intruder_node: &'static str, trigger: String) -> (Result<u64, BindError>, impl Store) {
    let inner = MemStore::new();
    for n in ["n1", "n2"] {
        inner
            .put(
                &node_key(n),
                NODE.replace("NAME", n).as_bytes(),
                Expect::Absent,
                None,
            )
            .unwrap();
    }
    let read = inner
        .put(&pod_key("p"), POD.as_bytes(), Expect::Absent, None)
        .unwrap();
    let store = Interleave {
        inner,
        trigger,
        intruder: Mutex::new(Some(move |s: &MemStore| {
            bind(s, "p", read, intruder_node).unwrap();
        })),
    };
    (bind(&store, "p", read, "n2"), store)
}

fn reserved(store: &impl Store, node: &str) -> Vec<String> {
    let held: std::collections::BTreeMap<String, serde_json::Value> = store
        .get(&reservation_key(node))
        .unwrap()
        .map_or_else(Default::default, |kv| {
            serde_json::from_slice(&kv.value).unwrap()
        });
    held.into_keys().collect()
}

#[test]
fn a_loser_on_the_same_node_leaves_the_winners_reservation() {
    // The intruder binds p to n2 just before this bind's reservation on n2 lands.
    let (result, store) = race("n2", reservation_key("n2"));
    assert!(
        matches!(result, Err(BindError::PodChanged(_))),
        "{result:?}"
    );
    assert_eq!(
        reserved(&store, "n2"),
        ["p"],
        "the winner's reservation stands"
    );
}

#[test]
fn a_bind_that_loses_the_pod_race_fails_and_gives_its_reservation_back() {
    // The other scheduler read the same revision and binds p to n1 just before this one writes p.
    let (result, store) = race("n1", pod_key("p"));
    match result {
        Err(BindError::PodChanged(pod)) => assert_eq!(pod, "p"),
        other => panic!("the losing bind: {other:?}"),
    }
    let bound: tinykube::Pod =
        serde_json::from_slice(&store.get(&pod_key("p")).unwrap().unwrap().value).unwrap();
    assert_eq!(
        bound.spec.node_name.as_deref(),
        Some("n1"),
        "the winner's bind stands"
    );
    assert!(
        reserved(&store, "n2").is_empty(),
        "the loser's reservation on n2 is given back"
    );
    assert_eq!(reserved(&store, "n1"), ["p"]);
}
