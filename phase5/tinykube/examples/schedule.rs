//! Loads a manifest, stores its objects in a durable store, and schedules every pod in priority
//! order: for each, the decision trace (which filter removed which node, the scores) and, for a pod
//! no node takes, "why pending".
//!
//! `cargo run -p tinykube --example schedule -- phase5/tinykube/examples/cluster.yaml`
use std::process::ExitCode;
use std::sync::Arc;

use tinykube::scheduler::{
    Backoff, SchedulingQueue, Snapshot, Weights, bind, list_pods, node_key, pod_key, schedule,
    why_pending,
};
use tinykube::store::{Expect, RedbStore, Store, SystemClock};
use tinykube::{Node, Object, Pod, load_manifests};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: schedule MANIFEST.yaml");
        return ExitCode::from(2);
    };
    let objects = match load_manifests(&path) {
        Ok(objects) => objects,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(objects) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(objects: Vec<Object>) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("tinykube-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = RedbStore::open(dir.join("cluster.redb"))?;
    let mut nodes = Vec::new();
    let mut queue = SchedulingQueue::new(Arc::new(SystemClock::new()), Backoff::default());
    for object in &objects {
        match object {
            Object::Node(n) => {
                store.put(
                    &node_key(&n.metadata.name),
                    &serde_json::to_vec(n)?,
                    Expect::Any,
                    None,
                )?;
                nodes.push(n.clone());
            }
            Object::Pod(p) => {
                store.put(
                    &pod_key(&p.metadata.name),
                    &serde_json::to_vec(p)?,
                    Expect::Any,
                    None,
                )?;
                queue.add(p.metadata.name.clone(), p.spec.priority);
            }
            other => println!(
                "({} {} is not scheduled: no controller yet)",
                other.kind(),
                other.name()
            ),
        }
    }
    while let Some(name) = queue.pop() {
        let kv = store.get(&pod_key(&name))?.ok_or("pod vanished")?;
        let pod: Pod = serde_json::from_slice(&kv.value)?;
        let snapshot = snapshot(&store, &nodes)?;
        let decision = schedule(&pod, &snapshot, &Weights::default());
        println!("pod {name} (priority {}):", pod.spec.priority);
        for r in &decision.rejected {
            println!(
                "  {:<8} removed by {:<16} {}",
                r.node,
                r.filter.to_string(),
                r.reason
            );
        }
        for s in &decision.scores {
            println!("  {:<8} score {:>3}  {:?}", s.node, s.total, s.parts);
        }
        match decision.chosen() {
            Some(node) => {
                bind(&store, &name, kv.mod_revision, node)?;
                println!("  → bound to {node}");
            }
            None => {
                for suggestion in why_pending(&pod, &snapshot) {
                    println!("  pending: {suggestion}");
                }
                queue.remove(&name); // one pass only: a scheduler loop would back off and retry
            }
        }
    }
    drop(store);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn snapshot(store: &RedbStore, nodes: &[Node]) -> Result<Snapshot, Box<dyn std::error::Error>> {
    let pods: Vec<Pod> = list_pods(store)?.into_iter().map(|(p, _)| p).collect();
    Ok(Snapshot::new(nodes.to_vec(), &pods))
}
