//! "Why pending": for a pod no node takes, the smallest changes that would let it fit, one per kind
//! of change. Kubernetes only aggregates the filter failures ("0/3 nodes are available: 2 Insufficient
//! cpu, 1 node(s) had untolerated taint"); this names the change: how much more CPU on which node,
//! which taint to tolerate and how many nodes that admits, which label the selector could drop, which
//! lower-priority pods preemption would evict.
use std::collections::BTreeMap;
use std::fmt;

use super::{Snapshot, Usage};
use crate::objects::{Node, Pod, Taint, TaintEffect};
use crate::quantity::{Cpu, Memory};

/// One change that would let the pod be scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suggestion {
    /// Tolerating this taint admits `nodes` nodes (where it is the only obstacle).
    Tolerate {
        /// The taint.
        taint: Taint,
        /// Nodes it admits.
        nodes: usize,
    },
    /// Dropping this label from the node selector admits `nodes` nodes.
    DropSelector {
        /// The label key.
        key: String,
        /// The value the selector wants.
        value: String,
        /// Nodes it admits.
        nodes: usize,
    },
    /// Evicting these lower-priority pods from `node` frees room for the pod.
    Preempt {
        /// The node.
        node: String,
        /// The pods evicted, fewest possible.
        victims: Vec<String>,
        /// The highest priority among them.
        max_priority: i32,
    },
    /// The node closest to fitting needs this much more (on a node the other filters pass).
    MoreResources {
        /// The node.
        node: String,
        /// CPU missing.
        cpu: Cpu,
        /// Memory missing.
        memory: Memory,
    },
}

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match self {
            Suggestion::Tolerate { taint, nodes } => write!(
                f,
                "tolerating taint {}={}:{:?} admits {nodes} node{}",
                taint.key,
                taint.value,
                taint.effect,
                plural(*nodes)
            ),
            Suggestion::DropSelector { key, value, nodes } => {
                write!(
                    f,
                    "dropping nodeSelector {key}={value} admits {nodes} node{}",
                    plural(*nodes)
                )
            }
            Suggestion::Preempt {
                node,
                victims,
                max_priority,
            } => write!(
                f,
                "preempting {} priority-{max_priority} pod{} on {node} frees it",
                victims.len(),
                plural(victims.len())
            ),
            Suggestion::MoreResources { node, cpu, memory } => {
                let mut parts = Vec::new();
                if cpu.0 > 0 {
                    parts.push(format!("{cpu} more CPU"));
                }
                if memory.0 > 0 {
                    parts.push(format!("{memory} more memory"));
                }
                write!(f, "needs {} on {node}", parts.join(" and "))
            }
        }
    }
}

/// What stands between the pod and one node, every filter checked (not only the first failing).
struct Obstacles<'a> {
    node: &'a Node,
    selector: Vec<(&'a String, &'a String)>,
    taints: Vec<&'a Taint>,
    short: (u64, u64),
}

fn obstacles<'a>(pod: &'a Pod, node: &'a Node, usage: Usage) -> Obstacles<'a> {
    let selector = pod
        .spec
        .node_selector
        .iter()
        .filter(|(k, v)| node.metadata.labels.get(*k) != Some(*v))
        .collect();
    let taints = node
        .spec
        .taints
        .iter()
        .filter(|t| t.effect != TaintEffect::PreferNoSchedule)
        .filter(|t| !pod.spec.tolerations.iter().any(|tol| tol.tolerates(t)))
        .collect();
    let cap = node.spec.capacity;
    let short = (
        (usage.cpu.0 + pod.spec.requests.cpu.0).saturating_sub(cap.cpu.0),
        (usage.memory.0 + pod.spec.requests.memory.0).saturating_sub(cap.memory.0),
    );
    Obstacles {
        node,
        selector,
        taints,
        short,
    }
}

/// The fewest lower-priority pods to evict from `node` for `pod` to fit: lowest priority first,
/// then the largest first; `None` if evicting them all is not enough.
fn victims(pod: &Pod, node: &Node, usage: Usage, bound: &[Pod]) -> Option<(Vec<String>, i32)> {
    let mut candidates: Vec<&Pod> = bound
        .iter()
        .filter(|p| p.spec.node_name.as_deref() == Some(node.metadata.name.as_str()))
        .filter(|p| p.spec.priority < pod.spec.priority)
        .collect();
    candidates.sort_by(|a, b| {
        a.spec.priority.cmp(&b.spec.priority).then_with(|| {
            let size = |p: &Pod| (p.spec.requests.cpu.0, p.spec.requests.memory.0);
            size(b)
                .cmp(&size(a))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        })
    });
    let (mut cpu, mut memory) = (usage.cpu.0, usage.memory.0);
    let fits = |cpu: u64, memory: u64| {
        cpu + pod.spec.requests.cpu.0 <= node.spec.capacity.cpu.0
            && memory + pod.spec.requests.memory.0 <= node.spec.capacity.memory.0
    };
    let mut chosen = Vec::new();
    let mut max_priority = i32::MIN;
    for victim in candidates {
        if fits(cpu, memory) {
            break;
        }
        cpu -= victim.spec.requests.cpu.0;
        memory -= victim.spec.requests.memory.0;
        max_priority = max_priority.max(victim.spec.priority);
        chosen.push(victim.metadata.name.clone());
    }
    (fits(cpu, memory) && !chosen.is_empty()).then_some((chosen, max_priority))
}

/// The smallest change of each kind that would let `pod` onto a node of `snapshot`; empty when it
/// fits already. In order: tolerate a taint, drop a selector label, preempt, more resources.
///
/// ```
/// use tinykube::scheduler::{Snapshot, why_pending};
/// use tinykube::{Cpu, Memory, Node, Pod, PodSpec};
///
/// let nodes = vec![Node::new("n1", Cpu(1000), Memory(1 << 30)), Node::new("n2", Cpu(2000), Memory(1 << 30))];
/// let pod = Pod::new("big", PodSpec::new(["true"]).with_requests(Cpu(2200), Memory(0)));
/// let why = why_pending(&pod, &Snapshot::new(nodes, &[]));
/// assert_eq!(why[0].to_string(), "needs 200m more CPU on n2");
/// ```
pub fn why_pending(pod: &Pod, snapshot: &Snapshot) -> Vec<Suggestion> {
    let all: Vec<(Obstacles<'_>, Usage)> = snapshot
        .nodes
        .iter()
        .map(|(node, usage)| (obstacles(pod, node, *usage), *usage))
        .collect();
    let fits =
        |o: &Obstacles<'_>| o.selector.is_empty() && o.taints.is_empty() && o.short == (0, 0);
    if all.iter().any(|(o, _)| fits(o)) {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Taints: nodes where a single taint is the only obstacle, grouped by that taint.
    let mut by_taint: BTreeMap<(String, String, String), (Taint, usize)> = BTreeMap::new();
    for (o, _) in &all {
        if let [taint] = o.taints[..]
            && o.selector.is_empty()
            && o.short == (0, 0)
        {
            let key = (
                taint.key.clone(),
                taint.value.clone(),
                format!("{:?}", taint.effect),
            );
            by_taint.entry(key).or_insert_with(|| (taint.clone(), 0)).1 += 1;
        }
    }
    if let Some((taint, nodes)) = by_taint.into_values().max_by_key(|(_, n)| *n) {
        out.push(Suggestion::Tolerate { taint, nodes });
    }
    // Selector: nodes where a single selector label is the only obstacle.
    let mut by_label: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (o, _) in &all {
        if let [(k, v)] = o.selector[..]
            && o.taints.is_empty()
            && o.short == (0, 0)
        {
            *by_label.entry((k.clone(), v.clone())).or_default() += 1;
        }
    }
    if let Some(((key, value), nodes)) = by_label.into_iter().max_by_key(|(_, n)| *n) {
        out.push(Suggestion::DropSelector { key, value, nodes });
    }
    // Resources, on nodes the other filters pass: preemption first, then the smallest shortfall.
    let placeable: Vec<&(Obstacles<'_>, Usage)> = all
        .iter()
        .filter(|(o, _)| o.selector.is_empty() && o.taints.is_empty())
        .collect();
    let preemption = placeable
        .iter()
        .filter_map(|(o, usage)| {
            victims(pod, o.node, *usage, &snapshot.pods)
                .map(|(v, p)| (o.node.metadata.name.clone(), v, p))
        })
        .min_by(|a, b| {
            a.1.len()
                .cmp(&b.1.len())
                .then(a.2.cmp(&b.2))
                .then_with(|| a.0.cmp(&b.0))
        });
    if let Some((node, victims, max_priority)) = preemption {
        out.push(Suggestion::Preempt {
            node,
            victims,
            max_priority,
        });
    }
    let closest = placeable.iter().min_by_key(|(o, _)| {
        (
            usize::from(o.short.0 > 0) + usize::from(o.short.1 > 0),
            o.short,
            &o.node.metadata.name,
        )
    });
    if let Some((o, _)) = closest {
        out.push(Suggestion::MoreResources {
            node: o.node.metadata.name.clone(),
            cpu: Cpu(o.short.0),
            memory: Memory(o.short.1),
        });
    }
    out
}
