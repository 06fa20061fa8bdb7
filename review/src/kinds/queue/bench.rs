//! The quick bench: the attempt, ours (phase 4's Vyukov queue) and crossbeam's `ArrayQueue` on the
//! same two workloads in one process, best of three runs each, interleaved so that a change in the
//! machine's load hits all three alike. Only ratios are reported: an absolute time from a quick run on
//! an unknown machine means nothing, a ratio measured in one run does.
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use harness::contracts::queue::{ConcurrentQueue, CrossbeamArrayQueue, QueueFlavor};
use phase4::lockfree::OursVyukov;

use crate::{Verdict, Workload};

const VALUES: u64 = 100_000;
const RUNS: usize = 3;
/// A run that takes longer has lost values (or is stuck): it stops and fails the sum check.
const GIVE_UP: Duration = Duration::from_secs(10);

/// `pairs` producers and `pairs` consumers move `VALUES` u64 through a queue of capacity 1024,
/// retrying (with a yield) when it is full or empty. `None` if the values received do not add up
/// (or not within [`GIVE_UP`]).
fn transfer<F: QueueFlavor>(pairs: u64) -> Option<Duration> {
    let q = Arc::new(F::with_capacity::<u64>(1024));
    let each = VALUES / pairs;
    let start = Instant::now();
    let producers: Vec<_> = (0..pairs)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for v in p * each..(p + 1) * each {
                    while q.try_push(v).is_err() {
                        if start.elapsed() > GIVE_UP {
                            return;
                        }
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..pairs)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                let (mut sum, mut got) = (0u64, 0);
                while got < each && start.elapsed() < GIVE_UP {
                    match q.try_pop() {
                        Some(v) => {
                            sum += v;
                            got += 1;
                        }
                        None => thread::yield_now(),
                    }
                }
                sum
            })
        })
        .collect();
    for p in producers {
        p.join().ok()?;
    }
    let mut sum = 0;
    for c in consumers {
        sum += c.join().ok()?;
    }
    let elapsed = start.elapsed();
    let n = each * pairs;
    (sum == (n - 1) * n / 2).then_some(elapsed)
}

fn spsc<F: QueueFlavor>() -> Option<Duration> {
    transfer::<F>(1)
}

fn mpmc<F: QueueFlavor>() -> Option<Duration> {
    transfer::<F>(2)
}

/// The bench scenario: ratios of the attempt's best time to ours and crossbeam's.
pub(super) fn bench<F: QueueFlavor>() -> Verdict {
    let workloads: [Workload; 2] = [
        (
            "1 producer, 1 consumer, capacity 1024, 100000 u64",
            [spsc::<F>, spsc::<OursVyukov>, spsc::<CrossbeamArrayQueue>],
        ),
        (
            "2 producers, 2 consumers, capacity 1024, 100000 u64",
            [mpmc::<F>, mpmc::<OursVyukov>, mpmc::<CrossbeamArrayQueue>],
        ),
    ];
    crate::best_of_ratios(
        &workloads,
        [OursVyukov::NAME, CrossbeamArrayQueue::NAME],
        RUNS,
        "the values received do not add up to the values sent",
    )
}
