//! The queue: one FIFO lane per priority, and the aging rule that bounds how long a lower lane waits.
//!
//! Strict priority starves: with a steady stream of `High` work a `Low` task never starts (the
//! complaint behind pond#50). Here each lane counts the starts taken by *higher* lanes since its
//! current head reached the front; once that count reaches the bound `k`, the next start goes to it.
//! So the head of a lane starts after at most `k` higher-priority starts — a bound in starts, not in
//! time, which holds whatever the tasks' run times and is measured by the tests and the exercise.
use std::collections::VecDeque;

use crate::task::Priority;

const LANES: usize = Priority::ALL.len();

/// The lanes, generic over the entry so the bookkeeping is tested without tasks.
#[derive(Debug)]
pub(crate) struct Lanes<J> {
    lanes: [VecDeque<J>; LANES],
    /// `passed[l]`: starts from lanes above `l` since `l`'s head reached the front.
    passed: [usize; LANES],
    aging: usize,
    len: usize,
}

impl<J> Lanes<J> {
    pub(crate) fn new(aging: usize) -> Lanes<J> {
        Lanes {
            lanes: Default::default(),
            passed: [0; LANES],
            aging: aging.max(1),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entries waiting in lanes at `priority` or above (what a task of that priority waits behind).
    pub(crate) fn len_at_or_above(&self, priority: Priority) -> usize {
        self.lanes[..=priority as usize]
            .iter()
            .map(VecDeque::len)
            .sum()
    }

    pub(crate) fn push(&mut self, priority: Priority, job: J) {
        let lane = &mut self.lanes[priority as usize];
        if lane.is_empty() {
            self.passed[priority as usize] = 0;
        }
        lane.push_back(job);
        self.len += 1;
    }

    /// The next entry to start: the lowest lane whose head has been passed over `aging` times, else
    /// the highest non-empty lane. Counts the start against every non-empty lane below it.
    pub(crate) fn pop(&mut self) -> Option<J> {
        let highest = (0..LANES).find(|&l| !self.lanes[l].is_empty())?;
        let chosen = (highest + 1..LANES)
            .rev()
            .find(|&l| !self.lanes[l].is_empty() && self.passed[l] >= self.aging)
            .unwrap_or(highest);
        for l in chosen + 1..LANES {
            if !self.lanes[l].is_empty() {
                self.passed[l] = self.passed[l].saturating_add(1);
            }
        }
        self.passed[chosen] = 0;
        self.len -= 1;
        self.lanes[chosen].pop_front()
    }

    /// The entry `DropOldest` evicts: the oldest of the lowest non-empty lane. Not a start.
    pub(crate) fn pop_oldest_lowest(&mut self) -> Option<J> {
        let l = (0..LANES).rev().find(|&l| !self.lanes[l].is_empty())?;
        self.passed[l] = 0;
        self.len -= 1;
        self.lanes[l].pop_front()
    }

    /// Removes the first entry matching `pred`; true if one was found (a rare path: O(n)).
    pub(crate) fn remove(&mut self, pred: impl Fn(&J) -> bool) -> bool {
        for lane in &mut self.lanes {
            if let Some(i) = lane.iter().position(&pred) {
                lane.remove(i);
                self.len -= 1;
                return true;
            }
        }
        false
    }

    /// Everything, highest lane first (shutdown).
    pub(crate) fn drain(&mut self) -> Vec<J> {
        self.len = 0;
        self.passed = [0; LANES];
        self.lanes.iter_mut().flat_map(|l| l.drain(..)).collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use Priority::*;

    #[test]
    fn strict_priority_without_backlog_below() {
        let mut q = Lanes::new(usize::MAX);
        q.push(Low, 1);
        q.push(High, 2);
        q.push(Normal, 3);
        q.push(High, 4);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [2, 4, 3, 1]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn the_low_head_starts_after_exactly_k_high_starts() {
        for k in [1, 2, 5] {
            let mut q = Lanes::new(k);
            q.push(Low, usize::MAX);
            for i in 0..20 {
                q.push(High, i);
            }
            let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            let low_at = order.iter().position(|&j| j == usize::MAX).unwrap();
            assert_eq!(low_at, k, "aging {k}: {order:?}");
        }
    }

    #[test]
    fn three_lanes_each_bounded() {
        let k = 3;
        let mut q = Lanes::new(k);
        for i in 0..30 {
            q.push(High, (0, i));
        }
        for i in 0..5 {
            q.push(Normal, (1, i));
            q.push(Low, (2, i));
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        // Between two consecutive starts of a lane (while it has work), at most k starts from
        // the lanes above it.
        for lane in [1, 2] {
            let mut above = 0;
            let mut remaining = 5;
            for &(l, _) in &order {
                if remaining == 0 {
                    break;
                }
                if l == lane {
                    assert!(above <= k, "lane {lane} waited {above} > {k}: {order:?}");
                    above = 0;
                    remaining -= 1;
                } else if l < lane {
                    above += 1;
                }
            }
        }
    }

    #[test]
    fn drop_oldest_takes_the_lowest_lane_first() {
        let mut q = Lanes::new(4);
        q.push(High, 1);
        q.push(Low, 2);
        q.push(Low, 3);
        assert_eq!(q.pop_oldest_lowest(), Some(2));
        assert_eq!(q.len_at_or_above(Normal), 1);
        assert_eq!(q.len(), 2);
    }
}
