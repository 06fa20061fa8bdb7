//! Scores: each rates a node that passed the filters from 0 to 100 for one pod; [`Weights`] sums
//! them. The formulas are Kubernetes' `NodeResourcesFit` strategies and `BalancedAllocation`, over
//! CPU and memory with equal weight, counting the pod as placed.
use super::{NodeScore, Usage};
use crate::objects::{Node, Pod};

/// A scoring strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Score {
    /// Free share after placing the pod: spreads pods out.
    LeastAllocated,
    /// Used share after placing the pod: packs pods in (frees whole nodes).
    MostAllocated,
    /// 100 minus the gap between the CPU and memory shares: keeps both resources in step.
    Balanced,
}

/// The scores a scheduler uses, each with a weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weights(pub Vec<(Score, u64)>);

impl Default for Weights {
    /// Least allocated (weight 1) and balanced (weight 1), as Kubernetes' default profile.
    fn default() -> Self {
        Weights(vec![(Score::LeastAllocated, 1), (Score::Balanced, 1)])
    }
}

/// `used / capacity` in per-mille, the pod counted; a node with no capacity counts as full.
fn share(used: u64, capacity: u64) -> u64 {
    if capacity == 0 {
        1000
    } else {
        (u128::from(used) * 1000 / u128::from(capacity)).min(1000) as u64
    }
}

impl Score {
    /// This score (0-100) of `node` for `pod`, given what is requested on it already.
    pub fn of(self, pod: &Pod, node: &Node, usage: Usage) -> u64 {
        let cpu = share(
            usage.cpu.0 + pod.spec.requests.cpu.0,
            node.spec.capacity.cpu.0,
        );
        let memory = share(
            usage.memory.0 + pod.spec.requests.memory.0,
            node.spec.capacity.memory.0,
        );
        match self {
            Score::LeastAllocated => ((1000 - cpu) + (1000 - memory)) / 20,
            Score::MostAllocated => (cpu + memory) / 20,
            Score::Balanced => 100 - cpu.abs_diff(memory) / 10,
        }
    }
}

impl Weights {
    pub(crate) fn score(&self, pod: &Pod, node: &Node, usage: Usage) -> NodeScore {
        let parts: Vec<(Score, u64)> = self
            .0
            .iter()
            .map(|&(s, _)| (s, s.of(pod, node, usage)))
            .collect();
        let total = parts
            .iter()
            .zip(&self.0)
            .map(|((_, v), (_, w))| v * w)
            .sum();
        NodeScore {
            node: node.metadata.name.clone(),
            parts,
            total,
        }
    }
}
