//! The scheduler's core, after the Kubernetes scheduling framework: filter the nodes a pod cannot
//! run on (recording which filter removed which node and why), score the rest with weighted scores,
//! pick the best; then reserve the pod's requests on the node and bind it, each by compare-and-swap
//! in the [`Store`](crate::store::Store), so schedulers racing on one store never bind a pod twice
//! nor over-commit a node.
//!
//! Filtering and scoring are pure functions over a [`Snapshot`]; only [`bind`] touches the store.
mod bind;
mod filter;
mod queue;
mod score;
mod why;

pub use bind::{BindError, bind, evict, list_pods, node_key, pod_key, reservation_key};
pub use filter::{Filter, Rejection};
pub use queue::{Backoff, SchedulingQueue};
pub use score::{Score, Weights};
pub use why::{Suggestion, why_pending};

use crate::objects::{Node, Pod};
use crate::quantity::{Cpu, Memory};

/// What is already requested on a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU requested by the pods on it.
    pub cpu: Cpu,
    /// Memory requested by the pods on it.
    pub memory: Memory,
}

/// The cluster as one scheduling pass sees it: nodes and what their bound pods request.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every node, with its usage.
    pub nodes: Vec<(Node, Usage)>,
    /// The bound pods (preemption picks its victims among them).
    pub pods: Vec<Pod>,
}

impl Snapshot {
    /// Sums the requests of the bound pods (those with a `nodeName`) per node.
    pub fn new(nodes: Vec<Node>, pods: &[Pod]) -> Snapshot {
        let nodes = nodes
            .into_iter()
            .map(|node| {
                let mut usage = Usage::default();
                for pod in pods
                    .iter()
                    .filter(|p| p.spec.node_name.as_deref() == Some(&node.metadata.name))
                {
                    usage.cpu.0 += pod.spec.requests.cpu.0;
                    usage.memory.0 += pod.spec.requests.memory.0;
                }
                (node, usage)
            })
            .collect();
        let pods = pods
            .iter()
            .filter(|p| p.spec.node_name.is_some())
            .cloned()
            .collect();
        Snapshot { nodes, pods }
    }
}

/// One node's scores: each weighted score's raw value (0-100) and the weighted total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeScore {
    /// The node.
    pub node: String,
    /// Each score's raw value, in the order of the weights.
    pub parts: Vec<(Score, u64)>,
    /// Σ weight × value.
    pub total: u64,
}

/// Why a pod went where it did (or nowhere): what `describe pod` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The pod.
    pub pod: String,
    /// Every node a filter removed, with the filter and its reason, in node order.
    pub rejected: Vec<Rejection>,
    /// Every node that passed, scored, best first (ties broken by node name).
    pub scores: Vec<NodeScore>,
}

impl Decision {
    /// The node chosen: the best score, if any node passed.
    pub fn chosen(&self) -> Option<&str> {
        self.scores.first().map(|s| s.node.as_str())
    }
}

/// Filters and scores every node of `snapshot` for `pod`.
///
/// ```
/// use tinykube::scheduler::{Filter, Snapshot, Weights, schedule};
/// use tinykube::{Object, parse_manifests};
///
/// let objects = parse_manifests("cluster.yaml", "
/// kind: Node
/// metadata: {name: small}
/// spec: {capacity: {cpu: 500m, memory: 1Gi}}
/// ---
/// kind: Node
/// metadata: {name: big}
/// spec: {capacity: {cpu: 4, memory: 8Gi}}
/// ---
/// kind: Pod
/// metadata: {name: web}
/// spec: {command: [sleep, '60'], requests: {cpu: 1, memory: 64Mi}}
/// ")?;
/// let mut nodes = Vec::new();
/// let mut pod = None;
/// for o in objects {
///     match o {
///         Object::Node(n) => nodes.push(n),
///         Object::Pod(p) => pod = Some(p),
///         _ => {}
///     }
/// }
/// let decision = schedule(&pod.unwrap(), &Snapshot::new(nodes, &[]), &Weights::default());
/// assert_eq!(decision.chosen(), Some("big"));
/// assert_eq!(decision.rejected[0].node, "small");
/// assert_eq!(decision.rejected[0].filter, Filter::ResourcesFit);
/// # Ok::<(), tinykube::ManifestError>(())
/// ```
pub fn schedule(pod: &Pod, snapshot: &Snapshot, weights: &Weights) -> Decision {
    let mut rejected = Vec::new();
    let mut scores = Vec::new();
    for (node, usage) in &snapshot.nodes {
        match filter::run_all(pod, node, *usage) {
            Err(rejection) => rejected.push(rejection),
            Ok(()) => scores.push(weights.score(pod, node, *usage)),
        }
    }
    scores.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.node.cmp(&b.node)));
    Decision {
        pod: pod.metadata.name.clone(),
        rejected,
        scores,
    }
}
