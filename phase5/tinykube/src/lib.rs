//! # tinykube — the core of a miniature Kubernetes
//!
//! Objects parsed from YAML manifests with errors that name the file, line and field; a [`Store`]
//! with what a control plane needs from etcd (a global revision, compare-and-swap, watch from a
//! revision, leases), in memory ([`MemStore`]) and durable on redb ([`RedbStore`]).
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod manifest;
mod objects;
mod quantity;

pub use manifest::{ManifestError, load_manifests, parse_manifests};
pub use objects::{
    Capacity, Deployment, DeploymentSpec, ExecAction, HttpGetAction, IntOrPercent, Node, NodeSpec,
    Object, ObjectMeta, Pod, PodSpec, PodTemplate, Probe, ProbeAction, ReplicaSet, ReplicaSetSpec,
    Requests, RestartPolicy, RollingUpdate, Taint, TaintEffect, TcpSocketAction, TemplateMeta,
    Toleration, TolerationOperator,
};
pub mod scheduler;
pub mod store;
pub use quantity::{Cpu, Memory, QuantityError};
pub use store::{MemStore, RedbStore, Store};
