//! The executor workloads that the `work-stealing` section and `benches/executor.rs` both measure,
//! written once for both runtimes, so that the exercise and the bench time the same code on ours and
//! on tokio. Each returns what its tasks returned, so a caller checks the work was done (an oracle
//! independent of the executor's own counters).
use std::fmt::Debug;
use std::future::Future;

use super::executor::{Handle, yield_now};

/// spawn-many on ours: spawns `tasks` tasks (from wherever this runs) that return their index, and
/// awaits every handle. Returns the sum of the outputs, `tasks·(tasks−1)/2`.
pub async fn spawn_many(h: &Handle, tasks: u64) -> u64 {
    sum_outputs((0..tasks).map(|i| h.spawn(async move { i })).collect()).await
}

/// spawn-many on tokio (run it inside a tokio runtime).
pub async fn spawn_many_tokio(tasks: u64) -> u64 {
    sum_outputs((0..tasks).map(|i| tokio::spawn(async move { i })).collect()).await
}

/// yield-many on ours: `tasks` tasks that each yield `yields` times. Returns how many yields
/// returned, `tasks·yields`.
pub async fn yield_many(h: &Handle, tasks: u64, yields: u64) -> u64 {
    let task = || count_yields(yields, yield_now);
    sum_outputs((0..tasks).map(|_| h.spawn(task())).collect()).await
}

/// yield-many on tokio (run it inside a tokio runtime).
pub async fn yield_many_tokio(tasks: u64, yields: u64) -> u64 {
    let task = || count_yields(yields, tokio::task::yield_now);
    sum_outputs((0..tasks).map(|_| tokio::spawn(task())).collect()).await
}

/// Yields `yields` times through `yield_now`; how many of them returned.
async fn count_yields<Y: Future<Output = ()>>(yields: u64, yield_now: fn() -> Y) -> u64 {
    let mut done = 0;
    for _ in 0..yields {
        yield_now().await;
        done += 1;
    }
    done
}

/// Awaits every handle in order; the sum of their outputs. A task that panicked fails the workload.
async fn sum_outputs<E: Debug>(handles: Vec<impl Future<Output = Result<u64, E>>>) -> u64 {
    let mut sum = 0;
    for h in handles {
        sum += h.await.expect("no task panics");
    }
    sum
}
