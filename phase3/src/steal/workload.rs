//! The unbalanced recursive workload: the sum over a skewed binary tree.
//!
//! A subtree of `n` nodes is its root plus a left subtree of about `n · 7/8` nodes and a right one of
//! the rest, so the tree is deep on the left and shallow on the right: a static split (half the
//! top-level children to each thread) would leave one thread with ~7/8 of the work. Each node costs
//! a few rounds of a 64-bit mixer (about 20 ns), and subtrees below [`GRAIN`] nodes are summed
//! sequentially, as any fork-join code does, so the measurement is about scheduling, not about
//! forking single nodes. Sequential, rayon and our pool compute the same value by the same recursion.
use harness::contracts::deque::WorkDeque;

use super::scheduler::WorkerCtx;

/// Subtrees smaller than this are summed without forking.
pub const GRAIN: u64 = 512;

/// The tree's split: the left subtree gets `SKEW_NUM / SKEW_DEN` of a node's descendants.
const SKEW_NUM: u64 = 7;
const SKEW_DEN: u64 = 8;

/// The value of one node: a deterministic hash of its label, costing a few nanoseconds per round.
#[inline]
pub fn node_value(label: u64) -> u64 {
    let mut x = label;
    for _ in 0..6 {
        // splitmix64's finaliser.
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE5_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    x >> 40 // 24 bits: sums over billions of nodes cannot overflow
}

/// The children of a subtree of `n >= 1` nodes labelled `label`: `(label, n)` of left and right.
#[inline]
fn split(label: u64, n: u64) -> ((u64, u64), (u64, u64)) {
    let rest = n - 1;
    let left = rest * SKEW_NUM / SKEW_DEN;
    ((label + 1, left), (label + 1 + left, rest - left))
}

/// The sum over the subtree of `n` nodes whose root is labelled `label`, sequentially.
pub fn sequential(label: u64, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let ((ll, ln), (rl, rn)) = split(label, n);
    node_value(label) + sequential(ll, ln) + sequential(rl, rn)
}

/// The same sum with `rayon::join` at every node above the grain.
pub fn rayon(label: u64, n: u64) -> u64 {
    if n < GRAIN {
        return sequential(label, n);
    }
    let ((ll, ln), (rl, rn)) = split(label, n);
    let (a, b) = ::rayon::join(|| rayon(ll, ln), || rayon(rl, rn));
    node_value(label) + a + b
}

/// The same sum with our pool's `join` at every node above the grain (call it inside `install`).
pub fn ours<D: WorkDeque>(ctx: &WorkerCtx<D>, label: u64, n: u64) -> u64 {
    if n < GRAIN {
        return sequential(label, n);
    }
    let ((ll, ln), (rl, rn)) = split(label, n);
    let (a, b) = ctx.join(|c| ours(c, ll, ln), |c| ours(c, rl, rn));
    node_value(label) + a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_has_n_nodes_and_is_skewed() {
        fn count(label: u64, n: u64, depth: u32, max_depth: &mut u32) -> u64 {
            *max_depth = (*max_depth).max(depth);
            if n == 0 {
                return 0;
            }
            let ((ll, ln), (rl, rn)) = split(label, n);
            1 + count(ll, ln, depth + 1, max_depth) + count(rl, rn, depth + 1, max_depth)
        }
        let mut depth = 0;
        assert_eq!(count(0, 10_000, 0, &mut depth), 10_000);
        // A balanced tree of 10 000 nodes is 14 deep; this one is far deeper on the left.
        assert!(depth > 40, "depth {depth}");
    }
}
