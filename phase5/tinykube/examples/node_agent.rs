//! A cluster on one store: the control loops on a thread, two node agents running real `sleep`
//! processes for a Deployment of three pods. Then node `b`'s agent stops, as if its machine
//! died: its lease lapses, the node goes NotReady, its pods are evicted after their toleration, and
//! the replica set's replacements run on `a`. Short timings (1 s lease, grace and toleration); the
//! run ends when the pods run on `a` only, or after 20 s.
//!
//! `cargo run -p tinykube --example node_agent`
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tinykube::agent::{NodeAgent, NodeAgentConfig, become_subreaper};
use tinykube::controller::{
    DeploymentController, GarbageCollector, NodeLifecycleController, ReplicaSetController,
    SchedulerConfig, SchedulerLoop, Timings, deployment_key, pod_statuses,
};
use tinykube::scheduler::{list_pods, node_key};
use tinykube::store::{Clock, Expect, MemStore, Store, SystemClock};
use tinykube::{Object, PodPhase, parse_manifests};

const MANIFEST: &str = "
kind: Node
metadata: {name: a}
spec: {capacity: {cpu: 2, memory: 1Gi}}
---
kind: Node
metadata: {name: b}
spec: {capacity: {cpu: 2, memory: 1Gi}}
---
kind: Deployment
metadata: {name: nap}
spec:
  replicas: 3
  selector: {app: nap}
  template:
    metadata: {labels: {app: nap}}
    spec: {command: [sleep, '600'], requests: {cpu: 500m}}
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    become_subreaper()?;
    let timings = Timings {
        lease_ttl: Duration::from_secs(1),
        lease_renew: Duration::from_millis(100),
        grace: Duration::from_secs(1),
        toleration: Duration::from_secs(1),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let store = Arc::new(MemStore::with_clock(clock.clone()));
    for object in parse_manifests("example.yaml", MANIFEST)? {
        let (key, json) = match &object {
            Object::Node(n) => (node_key(&n.metadata.name), serde_json::to_vec(n)?),
            Object::Deployment(d) => (deployment_key(&d.metadata.name), serde_json::to_vec(d)?),
            _ => continue,
        };
        store.put(&key, &json, Expect::Absent, None)?;
    }
    let logs = std::env::temp_dir().join(format!("tinykube-node-agent-{}", std::process::id()));
    let agent = |node: &str| -> Result<NodeAgent, Box<dyn std::error::Error>> {
        let dir = logs.join(node);
        std::fs::create_dir_all(&dir)?;
        let mut config = NodeAgentConfig::new(&dir);
        config.lease_ttl = timings.lease_ttl;
        config.lease_renew = timings.lease_renew;
        config.supervisor.grace = Duration::from_millis(500);
        config.clock = clock.clone();
        Ok(NodeAgent::start(store.clone(), node, config)?)
    };
    let a = agent("a")?;
    let mut b = Some(agent("b")?);

    let stop = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<(), Box<dyn std::error::Error>> {
        let control = scope.spawn(|| -> Result<(), tinykube::controller::ControllerError> {
            let store = &*store;
            let mut deployments = DeploymentController::new(store);
            let mut replicasets = ReplicaSetController::new(store);
            let mut scheduler =
                SchedulerLoop::new(store, SchedulerConfig::default(), clock.clone());
            let mut lifecycle = NodeLifecycleController::new(store, clock.clone(), timings);
            let mut gc = GarbageCollector::new(store);
            // Relaxed: the flag carries no data; the scope's join orders the rest.
            while !stop.load(Ordering::Relaxed) {
                deployments.step()?;
                replicasets.step()?;
                scheduler.step()?;
                for node in lifecycle.step()?.not_ready {
                    println!(
                        "{:>5.1}s  node {node} NotReady",
                        started.elapsed().as_secs_f64()
                    );
                }
                gc.step()?;
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(())
        });
        let mut last = String::new();
        let outcome = loop {
            let now = started.elapsed();
            let placed = placement(&store)?;
            if placed != last {
                println!("{:>5.1}s  {placed}", now.as_secs_f64());
                last = placed;
            }
            let running = running_on(&store)?;
            if b.is_some()
                && running.get("a").copied().unwrap_or(0) + running.get("b").copied().unwrap_or(0)
                    == 3
            {
                println!(
                    "{:>5.1}s  stopping node b's agent (its pods' processes go with it)",
                    now.as_secs_f64()
                );
                if let Some(agent) = b.take() {
                    agent.stop()?;
                }
            }
            if b.is_none() && running.get("a").copied() == Some(3) && running.len() == 1 {
                break Ok(());
            }
            if now > Duration::from_secs(20) {
                break Err("the pods did not settle on node a within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        stop.store(true, Ordering::Relaxed);
        control.join().map_err(|_| "control loop panicked")??;
        outcome?;
        Ok(())
    })?;
    println!(
        "{:>5.1}s  every pod runs on node a; stopping node a's agent",
        started.elapsed().as_secs_f64()
    );
    a.stop()?;
    std::fs::remove_dir_all(&logs)?;
    Ok(())
}

/// Pods that run, counted per node.
fn running_on(store: &MemStore) -> Result<BTreeMap<String, usize>, Box<dyn std::error::Error>> {
    let statuses = pod_statuses(store)?;
    let mut counts = BTreeMap::new();
    for (pod, _) in list_pods(store)? {
        if let Some(s) = statuses.get(&pod.metadata.name)
            && s.phase == PodPhase::Running
            && pod.spec.node_name.as_deref() == Some(s.node.as_str())
        {
            *counts.entry(s.node.clone()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// One line: each pod, its node and its phase.
fn placement(store: &MemStore) -> Result<String, Box<dyn std::error::Error>> {
    let statuses = pod_statuses(store)?;
    let pods: Vec<String> = list_pods(store)?
        .into_iter()
        .map(|(pod, _)| {
            let name = &pod.metadata.name;
            let node = pod.spec.node_name.as_deref().unwrap_or("-");
            let phase = match statuses.get(name) {
                Some(s) if s.node == node => format!("{:?}", s.phase),
                _ => "unbound".to_string(),
            };
            let phase = if node == "-" {
                "pending".to_string()
            } else {
                phase
            };
            format!("{name}@{node}:{phase}")
        })
        .collect();
    Ok(pods.join("  "))
}
