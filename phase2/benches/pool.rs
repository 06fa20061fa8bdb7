//! Worker pools: per-job overhead and the price of ordered output.
//!
//! - `pool/tiny-jobs`, parameter `jobs=10000`: one iteration runs 10 000 jobs that each bump a
//!   counter, and waits for all of them. `ours` (2 workers, queue of 1024, one `JobResult` per job
//!   collected by the caller), `ours-cap16384` (the same with a queue that holds the whole burst, as
//!   the other pools' unbounded queues do: the difference is what the bound costs), `threadpool` (2 threads, `execute` + `join`), `rayon-spawn`
//!   (`rayon::spawn` on rayon's global pool; the last job signals completion), `rayon-scope`
//!   (`rayon::scope` + `spawn`), `tokio-spawn-blocking` (a runtime capped at 2 blocking threads,
//!   every handle awaited). Every pool is built once, outside the measurement.
//! - `pool/ordered-vs-unordered`, parameter `jobs=1000,window=16`: jobs of uneven cost (one in 8
//!   spins 300 µs, the others 20 µs: 15×, well above the ~1-2 µs per-job overhead) through
//!   `map_window` on 2 workers, `ours-ordered` vs `ours-unordered`.
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phase2::pool::{Pool, map_window};

const JOBS: usize = 10_000;
const WORKERS: usize = 2;

fn tiny_jobs(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool/tiny-jobs");
    g.throughput(Throughput::Elements(JOBS as u64));
    let param = format!("jobs={JOBS}");
    // Relaxed everywhere below: the counters are only totals, and each pool's own completion
    // signal (results, join, channel, scope end, awaited handles) orders them for the reader.
    let counter = Arc::new(AtomicUsize::new(0));

    for (name, cap) in [("ours", 1024usize), ("ours-cap16384", 16_384)] {
        let mut ours: Pool<()> = Pool::new("bench-pool", WORKERS, cap);
        g.bench_function(benchkit::id(name, &param), |b| {
            b.iter(|| {
                for _ in 0..JOBS {
                    let counter = counter.clone();
                    ours.submit(move |_| {
                        counter.fetch_add(1, Ordering::Relaxed);
                    })
                    .expect("open");
                }
                for _ in 0..JOBS {
                    black_box(ours.recv().expect("alive"));
                }
            })
        });
        drop(ours);
    }

    let tp = threadpool::ThreadPool::new(WORKERS);
    g.bench_function(benchkit::id("threadpool", &param), |b| {
        b.iter(|| {
            for _ in 0..JOBS {
                let counter = counter.clone();
                tp.execute(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                });
            }
            tp.join();
        })
    });
    drop(tp);

    g.bench_function(benchkit::id("rayon-spawn", &param), |b| {
        b.iter(|| {
            let left = Arc::new(AtomicUsize::new(JOBS));
            let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
            for _ in 0..JOBS {
                let (counter, left, done_tx) = (counter.clone(), left.clone(), done_tx.clone());
                rayon::spawn(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                    // AcqRel: the job that takes the count to zero sees every other job's work.
                    if left.fetch_sub(1, Ordering::AcqRel) == 1 {
                        done_tx.send(()).expect("waiting");
                    }
                });
            }
            done_rx.recv().expect("the last job signals");
        })
    });

    g.bench_function(benchkit::id("rayon-scope", &param), |b| {
        b.iter(|| {
            rayon::scope(|s| {
                for _ in 0..JOBS {
                    let counter = &counter;
                    s.spawn(move |_| {
                        counter.fetch_add(1, Ordering::Relaxed);
                    });
                }
            })
        })
    });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .max_blocking_threads(WORKERS)
        .build()
        .expect("runtime");
    g.bench_function(benchkit::id("tokio-spawn-blocking", &param), |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..JOBS)
                    .map(|_| {
                        let counter = counter.clone();
                        tokio::task::spawn_blocking(move || {
                            counter.fetch_add(1, Ordering::Relaxed);
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.expect("no panic");
                }
            })
        })
    });
    drop(rt);
    g.finish();
    black_box(counter.load(Ordering::Relaxed));
}

/// Busy work of `micros`, in place of a sleep (too coarse at this scale).
fn spin(micros: u64) {
    let end = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

fn ordered_vs_unordered(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool/ordered-vs-unordered");
    let (jobs, window) = (1_000u64, 16);
    g.throughput(Throughput::Elements(jobs));
    let param = format!("jobs={jobs},window={window}");
    let uneven = |i: u64| {
        spin(if i.is_multiple_of(8) { 300 } else { 20 });
        i
    };
    let mut pool = Pool::new("bench-ord", WORKERS, 64);
    for (name, ordered) in [("ours-ordered", true), ("ours-unordered", false)] {
        g.bench_function(benchkit::id(name, &param), |b| {
            b.iter(|| {
                map_window(&mut pool, 0..jobs, window, ordered, uneven, |id, v| {
                    black_box((id, v));
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = benchkit::config();
    targets = tiny_jobs, ordered_vs_unordered
}
criterion_main!(benches);
