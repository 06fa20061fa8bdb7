//! workpool vs its peers on tasks that block: `workpool/sleep [10k-1ms]`, 10 000 tasks that each
//! sleep 1 ms, on 100 workers (ours `workers(100)`, threadpool 100, rusty_pool 100/100, rayon 100
//! threads, tokio `max_blocking_threads(100)`), one submitter, then a wait until all have run. The
//! floor is 100 rounds of 1 ms sleeps (plus the kernel's timer slack, ~50 µs a sleep): about 105 ms an
//! iteration, so this group takes 10 samples (criterion's minimum), flat.
//!
//! What it shows: the cost of handing work to many mostly-sleeping threads — a wake-up per task,
//! and how the pool picks which sleeper to wake. Sizes shrink under `debug_assertions`.
use std::thread;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

// The tiny task of the shared module is not used here.
#[allow(dead_code)]
mod contenders;
use contenders::{Contender, LABELS};

const WORKERS: usize = 100;
const TASKS: usize = if cfg!(debug_assertions) { 500 } else { 10_000 };
const SLEEP: Duration = Duration::from_millis(1);

fn sleep_tasks(c: &mut Criterion) {
    let mut g = c.benchmark_group("workpool/sleep");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(TASKS as u64));
    let param = if TASKS >= 1000 {
        format!("{}k-1ms", TASKS / 1000)
    } else {
        format!("{TASKS}-1ms")
    };
    for label in LABELS {
        let pool = Contender::new(label, WORKERS);
        g.bench_function(benchkit::id(label, &param), |b| {
            b.iter(|| {
                for _ in 0..TASKS {
                    pool.execute(|| thread::sleep(SLEEP));
                }
                pool.wait_idle();
            })
        });
        pool.shutdown();
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = sleep_tasks
}
criterion_main!(benches);
