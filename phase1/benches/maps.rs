//! `maps/read-heavy`: a 1024-key table of counters, two threads, 95% reads / 5% increments:
//! our ShardedMap against `Mutex<HashMap>`, `RwLock<HashMap>` and dashmap (no parameter: the scenario is
//! fixed, as the ratio report's target names it).
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use dashmap::DashMap;
use phase1::sync::ShardedMap;

const THREADS: usize = 2;
const KEYS: u64 = 1024;

fn on_threads(iters: u64, op: impl Fn(u64) + Sync) -> Duration {
    benchkit::workloads::on_threads(THREADS, iters, op)
}

/// 95% reads, 5% increments, uniform keys.
fn mix(x: u64, read: impl Fn(u64), write: impl Fn(u64)) {
    let k = x % KEYS;
    if (x >> 40) % 100 < 5 {
        write(k)
    } else {
        read(k)
    }
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("maps/read-heavy");

    let ours = ShardedMap::new();
    (0..KEYS).for_each(|k| {
        ours.insert(k, 0u64);
    });
    g.bench_function("ours-sharded", |b| {
        b.iter_custom(|iters| {
            on_threads(iters, |x| {
                mix(
                    x,
                    |k| {
                        black_box(ours.with(&k, |v| *v.expect("present")));
                    },
                    |k| ours.modify(&k, |v| *v += 1).expect("present"),
                )
            })
        })
    });

    let m = std::sync::Mutex::new((0..KEYS).map(|k| (k, 0u64)).collect::<HashMap<_, _>>());
    g.bench_function("std-mutex", |b| {
        b.iter_custom(|iters| {
            on_threads(iters, |x| {
                mix(
                    x,
                    |k| {
                        black_box(m.lock().unwrap()[&k]);
                    },
                    |k| *m.lock().unwrap().get_mut(&k).expect("present") += 1,
                )
            })
        })
    });

    let rw = std::sync::RwLock::new((0..KEYS).map(|k| (k, 0u64)).collect::<HashMap<_, _>>());
    g.bench_function("std-rwlock", |b| {
        b.iter_custom(|iters| {
            on_threads(iters, |x| {
                mix(
                    x,
                    |k| {
                        black_box(rw.read().unwrap()[&k]);
                    },
                    |k| *rw.write().unwrap().get_mut(&k).expect("present") += 1,
                )
            })
        })
    });

    let dash: DashMap<u64, u64> = (0..KEYS).map(|k| (k, 0)).collect();
    g.bench_function("dashmap", |b| {
        b.iter_custom(|iters| {
            on_threads(iters, |x| {
                mix(
                    x,
                    |k| {
                        black_box(*dash.get(&k).expect("present"));
                    },
                    |k| *dash.get_mut(&k).expect("present") += 1,
                )
            })
        })
    });
    g.finish();
}

criterion_group! {name = map_benches; config = benchkit::config(); targets = benches}
criterion_main!(map_benches);
