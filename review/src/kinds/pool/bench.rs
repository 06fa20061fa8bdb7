//! The quick bench: the attempt, ours (`workpool`) and `threadpool` on the same two workloads in
//! one process, best of three runs each, interleaved so that a change in the machine's load hits all
//! three alike. Only ratios are reported: an absolute time from a quick run on an unknown machine
//! means nothing, a ratio measured in one run does.
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use harness::contracts::pool::{
    ContractPool, PoolFlavor, PoolSpec, TaskHandle, TaskOutcome, ThreadpoolFlavor,
};

use super::ours::Workpool;
use crate::{Verdict, Workload};

const TASKS: u64 = 20_000;
const RUNS: usize = 3;
/// A run that takes longer is stuck: it stops and fails the sum check.
const GIVE_UP: Duration = Duration::from_secs(10);

/// `submitters` threads submit `TASKS` tiny tasks (each returns its number) in all to a fixed pool
/// of 4, then join every handle. `None` if the values do not add up, or a submit is refused, or it
/// takes longer than [`GIVE_UP`].
fn tiny_tasks<F: PoolFlavor>(submitters: u64) -> Option<Duration> {
    let pool = Arc::new(F::build(&PoolSpec::fixed(4)).ok()?);
    let each = TASKS / submitters;
    let start = Instant::now();
    let threads: Vec<_> = (0..submitters)
        .map(|s| {
            let pool = pool.clone();
            thread::spawn(move || {
                let handles: Vec<_> = (s * each..(s + 1) * each)
                    .map(|v| pool.submit(Box::new(move || v)).ok())
                    .collect::<Option<_>>()?;
                let mut sum = 0;
                for h in handles {
                    if start.elapsed() > GIVE_UP {
                        return None;
                    }
                    match h.join() {
                        TaskOutcome::Done(v) => sum += v,
                        _ => return None,
                    }
                }
                Some(sum)
            })
        })
        .collect();
    let mut sum = 0;
    for t in threads {
        sum += crate::join_within(t, GIVE_UP + GIVE_UP)??;
    }
    let elapsed = start.elapsed();
    // The pool drops outside the timing (a detaching peer and a joining one pay differently).
    drop(pool);
    let n = each * submitters;
    (sum == (n - 1) * n / 2).then_some(elapsed)
}

fn one_submitter<F: PoolFlavor>() -> Option<Duration> {
    tiny_tasks::<F>(1)
}

fn four_submitters<F: PoolFlavor>() -> Option<Duration> {
    tiny_tasks::<F>(4)
}

/// The bench scenario: ratios of the attempt's best time to ours and threadpool's.
pub(super) fn bench<F: PoolFlavor>() -> Verdict {
    let workloads: [Workload; 2] = [
        (
            "fixed(4), 1 submitter, 20000 tiny tasks, each joined",
            [
                one_submitter::<F>,
                one_submitter::<Workpool>,
                one_submitter::<ThreadpoolFlavor>,
            ],
        ),
        (
            "fixed(4), 4 submitters, 20000 tiny tasks, each joined",
            [
                four_submitters::<F>,
                four_submitters::<Workpool>,
                four_submitters::<ThreadpoolFlavor>,
            ],
        ),
    ];
    crate::best_of_ratios(
        &workloads,
        [Workpool::NAME, ThreadpoolFlavor::NAME],
        RUNS,
        "a task was refused, or the values returned do not add up",
    )
}
