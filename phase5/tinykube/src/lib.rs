//! # tinykube — the core of a miniature Kubernetes
//!
//! A Kubernetes control plane is a database with a watch (etcd), objects written into it, and
//! control loops that read, decide and write back by compare-and-swap. This crate is that core:
//! the objects and their manifests, the [`Store`] a control plane needs, and the scheduler's
//! decisions as pure functions with a bind that is safe when schedulers race.
//!
//! ## Manifests
//! Kubernetes-shaped YAML (`kind`, `metadata`, `spec`), several documents per file. An error names the
//! file, the line and the field, and says what was wrong:
//! ```
//! use tinykube::parse_manifests;
//!
//! let err = parse_manifests("web.yaml", "
//! kind: Pod
//! metadata: {name: web}
//! spec:
//!   command: [sleep, '60']
//!   requests: {cpu: 200m, memory: 64MB}
//! ").unwrap_err();
//! assert_eq!(err.to_string(), "web.yaml:6:33: spec.requests.memory: unknown suffix `MB` in `64MB` (known: k M G T Ki Mi Gi Ti)");
//! ```
//!
//! ## The store
//! One global revision; get, list, put, delete, each optionally a compare-and-swap on the key's
//! revision; a watch from any revision not yet compacted; leases on an injectable clock. [`MemStore`]
//! keeps it in memory, [`RedbStore`] in a redb file that survives a restart:
//! ```
//! use std::time::Duration;
//! use tinykube::store::{Event, Expect, MemStore, Store, StoreError};
//!
//! let store = MemStore::new();
//! let lease = store.grant_lease(Duration::from_secs(40))?;
//! let created = store.put("/nodes/n1", b"ready", Expect::Absent, Some(lease))?;
//! let listing = store.list("/nodes/")?;
//! assert_eq!(listing.items.len(), 1);
//! // A controller lists, then watches from the revision after its listing: it misses nothing.
//! let mut watch = store.watch("/nodes/", listing.revision + 1);
//! store.revoke_lease(lease)?; // the node's key goes with its lease
//! let event = watch.next_timeout(Duration::from_secs(1))?.unwrap();
//! assert!(matches!(event, Event::Delete { revision, .. } if revision == created + 1));
//! # Ok::<(), StoreError>(())
//! ```
//!
//! ## The scheduler
//! [`scheduler::schedule`] filters the nodes of a [`scheduler::Snapshot`] (resources, node selector,
//! taints), recording which filter removed which node and why, and ranks the rest by weighted
//! scores. [`scheduler::bind`] reserves the pod's requests on the node and writes the binding, both by
//! compare-and-swap, so two schedulers on one store never bind a pod twice nor over-commit a node.
//!
//! [`scheduler::SchedulingQueue`] orders pending pods by priority and backs off unschedulable ones;
//! [`scheduler::why_pending`] names the smallest change that would let a pod fit, preemption
//! included, and [`scheduler::evict`] removes preemption's victims.
//!
//! ## The control loops
//! [`controller`] drives the core: the scheduler loop (watch → queue → schedule → bind, backoff,
//! preemption with a nominated node), the ReplicaSet and Deployment controllers (a rolling update
//! within max surge / max unavailable, [`controller::rollout_status`]), node lifecycle (a lapsed
//! lease → NotReady after a grace → pods evicted after their toleration) and garbage collection.
//! Each is a struct whose `step` reads the store and writes back by compare-and-swap; node agents
//! report [`PodStatus`] under its own key and renew a lease.
//!
//! ## The node agent
//! [`agent::Supervisor`] runs one pod as a real process group: captured output, restarts with
//! CrashLoopBackOff, liveness probes, SIGTERM / grace / SIGKILL, events and a status snapshot.
//! [`agent::NodeAgent`] is the loop around them: it renews the node's lease, watches the store for
//! the pods bound to its node, and writes their status back.
//!
//! ## The API server (feature `server`)
//! `server::ApiServer` serves a store as JSON over HTTP (CAS as 409, watch streams with a 410
//! relist); `server::Client` is its blocking client, and feature `cli` adds the `tkctl` and
//! `tinykube serve` binaries.
//!
//! What is not built yet: a scheduler that keeps a crash-looped pod's replacement off its node,
//! and `phase5/exercise5` (see the README).
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod agent;
pub mod controller;
mod manifest;
mod objects;
mod quantity;
pub mod scheduler;
#[cfg(feature = "server")]
pub mod server;
pub mod store;

pub use manifest::{ManifestError, load_manifests, parse_manifests};
pub use objects::{
    Capacity, Deployment, DeploymentSpec, ExecAction, HttpGetAction, IntOrPercent, Node, NodeSpec,
    NodeStatus, Object, ObjectMeta, Pod, PodPhase, PodSpec, PodStatus, PodTemplate, Probe,
    ProbeAction, ReplicaSet, ReplicaSetSpec, Requests, RestartPolicy, RollingUpdate, Taint,
    TaintEffect, TcpSocketAction, TemplateMeta, Toleration, TolerationOperator,
};
pub use quantity::{Cpu, Memory, QuantityError};
pub use store::{MemStore, RedbStore, Store};

// The store and the errors cross threads: a control plane shares one store among its loops.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<MemStore>();
    send_sync::<RedbStore>();
    send_sync::<store::StoreError>();
    send_sync::<ManifestError>();
    send_sync::<scheduler::BindError>();
    send_sync::<controller::ControllerError>();
    send_sync::<agent::Supervisor>();
    send_sync::<agent::AgentError>();
    send_sync::<agent::NodeAgent>();
    send_sync::<agent::NodeAgentError>();
};
