//! Queue order under load: FIFO vs LIFO, on a discrete clock.
//!
//! Go's channels are FIFO; a work-stealing deque pops its own end LIFO. Under overload the order
//! decides who waits: both orders serve the same items at the same instants (one per tick), so the
//! total — and mean — wait is identical, but LIFO lets the oldest item sit until the queue empties.
use std::collections::VecDeque;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Which end of the queue the server takes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Oldest first.
    Fifo,
    /// Newest first.
    Lifo,
}

/// Arrivals per tick: during the first `overload_ticks` ticks, 0..=3 items uniformly (mean 1.5, above
/// the service rate of 1 per tick); nothing afterwards. Seeded.
pub fn bursty_arrivals(overload_ticks: usize, seed: u64) -> Vec<usize> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..overload_ticks)
        .map(|_| rng.random_range(0..=3))
        .collect()
}

/// Serves one item per tick in `order` until every arrival is served; returns each item's wait in
/// ticks (served tick − arrival tick), in arrival order.
pub fn simulate(arrivals: &[usize], order: Order) -> Vec<u64> {
    let total: usize = arrivals.iter().sum();
    let mut waits = vec![0u64; total];
    let mut queue: VecDeque<(usize, u64)> = VecDeque::new();
    let (mut next_id, mut served, mut tick) = (0usize, 0usize, 0u64);
    while served < total {
        for _ in 0..arrivals.get(tick as usize).copied().unwrap_or(0) {
            queue.push_back((next_id, tick));
            next_id += 1;
        }
        let item = match order {
            Order::Fifo => queue.pop_front(),
            Order::Lifo => queue.pop_back(),
        };
        if let Some((id, arrived)) = item {
            waits[id] = tick - arrived;
            served += 1;
        }
        tick += 1;
    }
    waits
}
