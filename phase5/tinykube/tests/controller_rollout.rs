//! A rolling update, sampled after every step of every control loop (the loops first in an
//! arbitrary order, then in rounds), never passes its bounds: at
//! most `replicas + maxSurge` pods exist, and at least `replicas − maxUnavailable` are ready. The
//! oracle counts pods and their statuses in the store, not the controller's own arithmetic.
mod cluster_sim;

use std::collections::BTreeMap;
use std::time::Duration;

use cluster_sim::{Agents, Loops, add_node, pods_labelled, put, template};
use harness::clock::VirtualClock;
use proptest::prelude::*;
use tinykube::controller::{Timings, deployment_key, rollout_status};
use tinykube::store::{Event, MemStore, Store};
use tinykube::{
    Deployment, DeploymentSpec, IntOrPercent, ObjectMeta, Pod, PodPhase, PodStatus, RollingUpdate,
};

fn deployment(replicas: u32, version: &str, bounds: RollingUpdate) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: "web".into(),
            labels: BTreeMap::new(),
        },
        spec: DeploymentSpec {
            replicas,
            selector: BTreeMap::from([("app".to_string(), "web".to_string())]),
            template: template("web", version, 100),
            rolling_update: bounds,
        },
    }
}

fn bound(spec: (u32, bool)) -> IntOrPercent {
    match spec {
        (n, false) => IntOrPercent::Count(n),
        (n, true) => IntOrPercent::Percent(n * 25),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn a_rolling_update_stays_within_surge_and_unavailability(
        replicas in 1u32..=6,
        surge in (0u32..=3, any::<bool>()),
        unavailable in (0u32..=3, any::<bool>()),
        schedule in prop::collection::vec(any::<u8>(), 0..60),
    ) {
        let bounds = RollingUpdate { max_surge: bound(surge), max_unavailable: bound(unavailable) };
        let max_surge = bounds.max_surge.of(replicas, true);
        let mut max_unavailable = bounds.max_unavailable.of(replicas, false);
        if max_surge == 0 && max_unavailable == 0 {
            max_unavailable = 1;
        }
        let clock = VirtualClock::new();
        let store = MemStore::with_clock(clock.clone());
        let mut agents = Agents::new(clock.clone(), Timings::default());
        let mut loops = Loops::new(&store, clock.clone(), Timings::default());
        for n in ["n1", "n2", "n3"] {
            add_node(&store, n, 100_000);
            agents.join(&store, n);
        }
        put(&store, &deployment_key("web"), &deployment(replicas, "v1", bounds));
        for _ in 0..20 {
            loops.round(&store, &mut agents, &mut |_| {});
        }
        let status = rollout_status(&store, "web").unwrap().unwrap();
        prop_assert!(status.complete(), "v1 did not roll out: {status:?}");
        let before = Initial::read(&store);
        put(&store, &deployment_key("web"), &deployment(replicas, "v2", bounds));
        let mut worst = (0usize, usize::MAX);
        let mut sample = |store: &MemStore| {
            let pods = pods_labelled(store, "app", "web");
            let ready = pods.iter().filter(|(_, r, _)| *r).count();
            worst = (worst.0.max(pods.len()), worst.1.min(ready));
        };
        // First the loops in an arbitrary order (one may run several times before another runs at
        // all), then in rounds until the rollout completes.
        for which in schedule {
            loops.step_one(which, &store, &mut agents);
            sample(&store);
        }
        let mut rounds = 0;
        while !rollout_status(&store, "web").unwrap().unwrap().complete() {
            rounds += 1;
            prop_assert!(rounds <= 100, "v2 did not roll out: {:?}", rollout_status(&store, "web"));
            loops.round(&store, &mut agents, &mut sample);
        }
        // And at every revision in between, replayed from the store's history: the moments inside
        // a loop's step too (the ReplicaSet controller creating before it deletes, say).
        let (most, fewest) = before.replay(&store);
        worst = (worst.0.max(most), worst.1.min(fewest));
        prop_assert!(worst.0 <= (replicas + max_surge) as usize,
            "{} pods, bound {replicas} + {max_surge}", worst.0);
        prop_assert!(worst.1 >= replicas.saturating_sub(max_unavailable) as usize,
            "{} ready, bound {replicas} - {max_unavailable}", worst.1);
        // Every pod is of v2 now.
        for (pod, ready, _) in pods_labelled(&store, "app", "web") {
            prop_assert_eq!(&pod.spec.command, &["sleep".to_string(), "v2".to_string()]);
            prop_assert!(ready);
        }
    }
}

/// The pods labelled `app=web` and which pods are ready, at one revision.
struct Initial {
    revision: u64,
    pods: BTreeMap<String, bool>, // name → labelled app=web
    ready: BTreeMap<String, bool>,
}

impl Initial {
    fn read(store: &MemStore) -> Initial {
        let pods_listing = store.list("/pods/").unwrap();
        let status_listing = store.list("/status/pods/").unwrap();
        assert_eq!(pods_listing.revision, status_listing.revision);
        let pods = pods_listing
            .items
            .iter()
            .map(|kv| {
                (
                    kv.key[6..].to_string(),
                    is_web(&serde_json::from_slice(&kv.value).unwrap()),
                )
            })
            .collect();
        let ready = status_listing
            .items
            .iter()
            .map(|kv| {
                (
                    kv.key[13..].to_string(),
                    is_ready(&serde_json::from_slice(&kv.value).unwrap()),
                )
            })
            .collect();
        Initial {
            revision: pods_listing.revision,
            pods,
            ready,
        }
    }

    /// The most pods labelled `app=web` and the fewest of them ready, over every revision since,
    /// replayed from the store's history of pods and statuses.
    fn replay(self, store: &MemStore) -> (usize, usize) {
        let Initial {
            revision,
            mut pods,
            mut ready,
        } = self;
        let start = revision + 1;
        let count = |pods: &BTreeMap<String, bool>, ready: &BTreeMap<String, bool>| {
            let web: Vec<&String> = pods.iter().filter(|(_, w)| **w).map(|(n, _)| n).collect();
            let up = web.iter().filter(|n| ready.get(**n) == Some(&true)).count();
            (web.len(), up)
        };
        let (mut most, mut fewest) = count(&pods, &ready);
        let mut watch = store.watch("/", start);
        while let Some(event) = watch.next_timeout(Duration::ZERO).unwrap() {
            match event {
                Event::Put(kv) if kv.key.starts_with("/pods/") => {
                    let pod: Pod = serde_json::from_slice(&kv.value).unwrap();
                    pods.insert(kv.key[6..].to_string(), is_web(&pod));
                }
                Event::Put(kv) if kv.key.starts_with("/status/pods/") => {
                    let s: PodStatus = serde_json::from_slice(&kv.value).unwrap();
                    ready.insert(kv.key[13..].to_string(), is_ready(&s));
                }
                Event::Delete { key, .. } if key.starts_with("/pods/") => {
                    pods.remove(&key[6..]);
                }
                Event::Delete { key, .. } if key.starts_with("/status/pods/") => {
                    ready.remove(&key[13..]);
                }
                _ => continue,
            }
            let (n, up) = count(&pods, &ready);
            most = most.max(n);
            fewest = fewest.min(up);
        }
        (most, fewest)
    }
}

fn is_web(pod: &Pod) -> bool {
    pod.metadata.labels.get("app").map(String::as_str) == Some("web")
}

fn is_ready(s: &PodStatus) -> bool {
    s.phase == PodPhase::Running && s.ready
}
