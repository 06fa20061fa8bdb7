//! Filters: each removes the nodes a pod cannot run on, and says why.
use std::fmt;

use super::Usage;
use crate::objects::{Node, Pod, TaintEffect};

/// The filters, in the order they run (the first that fails names the rejection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// The node carries every label of the pod's `nodeSelector`.
    NodeSelector,
    /// The pod tolerates every `NoSchedule` / `NoExecute` taint of the node.
    TaintToleration,
    /// The node's free CPU and memory cover the pod's requests.
    ResourcesFit,
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Filter::NodeSelector => "NodeSelector",
            Filter::TaintToleration => "TaintToleration",
            Filter::ResourcesFit => "ResourcesFit",
        })
    }
}

/// A node removed by a filter, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The node.
    pub node: String,
    /// The filter that removed it.
    pub filter: Filter,
    /// Why, in words (`needs 200m more CPU`).
    pub reason: String,
}

fn reject(node: &Node, filter: Filter, reason: String) -> Result<(), Rejection> {
    Err(Rejection {
        node: node.metadata.name.clone(),
        filter,
        reason,
    })
}

/// Runs the filters in order; the first failure.
pub(crate) fn run_all(pod: &Pod, node: &Node, usage: Usage) -> Result<(), Rejection> {
    node_selector(pod, node)?;
    taint_toleration(pod, node)?;
    resources_fit(pod, node, usage)
}

fn node_selector(pod: &Pod, node: &Node) -> Result<(), Rejection> {
    for (key, want) in &pod.spec.node_selector {
        match node.metadata.labels.get(key) {
            Some(have) if have == want => {}
            Some(have) => {
                return reject(
                    node,
                    Filter::NodeSelector,
                    format!("label {key}={have}, wants {key}={want}"),
                );
            }
            None => {
                return reject(
                    node,
                    Filter::NodeSelector,
                    format!("no label {key}, wants {key}={want}"),
                );
            }
        }
    }
    Ok(())
}

fn taint_toleration(pod: &Pod, node: &Node) -> Result<(), Rejection> {
    for taint in &node.spec.taints {
        if taint.effect == TaintEffect::PreferNoSchedule {
            continue;
        }
        if !pod.spec.tolerations.iter().any(|t| t.tolerates(taint)) {
            return reject(
                node,
                Filter::TaintToleration,
                format!(
                    "untolerated taint {}={}:{:?}",
                    taint.key, taint.value, taint.effect
                ),
            );
        }
    }
    Ok(())
}

fn resources_fit(pod: &Pod, node: &Node, usage: Usage) -> Result<(), Rejection> {
    let want = pod.spec.requests;
    let cap = node.spec.capacity;
    let free_cpu = cap.cpu.0.saturating_sub(usage.cpu.0);
    let free_memory = cap.memory.0.saturating_sub(usage.memory.0);
    let mut short = Vec::new();
    if want.cpu.0 > free_cpu {
        short.push(format!("{} more CPU", crate::Cpu(want.cpu.0 - free_cpu)));
    }
    if want.memory.0 > free_memory {
        short.push(format!(
            "{} more memory",
            crate::Memory(want.memory.0 - free_memory)
        ));
    }
    if short.is_empty() {
        Ok(())
    } else {
        reject(
            node,
            Filter::ResourcesFit,
            format!("needs {}", short.join(" and ")),
        )
    }
}
