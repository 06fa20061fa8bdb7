//! The quick bench: the attempt, ours (phase 1's futex `Mutex`) and `parking_lot::Mutex` on the
//! same two workloads in one process, best of three runs each, interleaved so that a change in the
//! machine's load hits all three alike. Only ratios are reported: an absolute time from a quick run
//! on an unknown machine means nothing, a ratio measured in one run does.
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use harness::contracts::lock::Lock;

use crate::{Verdict, Workload};

const INCREMENTS: u64 = 200_000;
const RUNS: usize = 3;

type Ours = phase1::sync::Mutex<u64>;
type ParkingLot = parking_lot::Mutex<u64>;

/// `threads` threads share `INCREMENTS` increments of one counter under the lock. `None` if the
/// total is wrong.
fn counter<L: Lock<u64> + 'static>(threads: u64) -> Option<Duration> {
    let lock = Arc::new(L::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let lock = lock.clone();
            thread::spawn(move || {
                for _ in 0..INCREMENTS / threads {
                    *lock.lock() += 1;
                }
            })
        })
        .collect();
    for w in workers {
        w.join().ok()?;
    }
    let elapsed = start.elapsed();
    let total = *lock.lock();
    (total == INCREMENTS / threads * threads).then_some(elapsed)
}

fn uncontended<L: Lock<u64> + 'static>() -> Option<Duration> {
    counter::<L>(1)
}

fn contended<L: Lock<u64> + 'static>() -> Option<Duration> {
    counter::<L>(4)
}

/// The bench scenario: ratios of the attempt's best time to ours and parking_lot's.
pub(super) fn bench<L: Lock<u64> + 'static>() -> Verdict {
    let workloads: [Workload; 2] = [
        (
            "uncontended, 1 thread, 200000 lock/unlock",
            [
                uncontended::<L>,
                uncontended::<Ours>,
                uncontended::<ParkingLot>,
            ],
        ),
        (
            "contended, 4 threads, 200000 lock/unlock",
            [contended::<L>, contended::<Ours>, contended::<ParkingLot>],
        ),
    ];
    crate::best_of_ratios(
        &workloads,
        [<Ours as Lock<u64>>::NAME, <ParkingLot as Lock<u64>>::NAME],
        RUNS,
        "the counter does not add up to the increments made",
    )
}
