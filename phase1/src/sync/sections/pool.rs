//! `pool`: an object pool against allocating a fresh buffer per request, with allocations counted by
//! the counting global allocator that `exercise3` installs.
use std::hint::black_box;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::{fmt_bytes, fmt_duration};

use crate::sync::alloc::{self, AllocCount};
use crate::sync::{ObjectPool, PoolStats};

const BUF: usize = 64 * 1024;
const THREADS: usize = 2;

/// One "request": fill a working buffer and checksum it.
fn handle(buf: &mut Vec<u8>, i: usize) -> u64 {
    buf.resize(BUF, 0);
    for (j, b) in buf.iter_mut().enumerate().step_by(512) {
        *b = (i + j) as u8;
    }
    buf.iter().step_by(512).map(|&b| b as u64).sum()
}

struct Run {
    elapsed: Duration,
    checksum: u64,
    allocs: Option<AllocCount>,
}

fn measure(requests: usize, f: impl Fn(usize) -> u64 + Send + Sync + 'static) -> Run {
    let f = Arc::new(f);
    let before = alloc::snapshot();
    let t0 = Instant::now();
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let f = f.clone();
            thread::Builder::new()
                .name("pool-worker".into())
                .spawn(move || {
                    (0..requests / THREADS)
                        .map(|i| f(t * requests + i))
                        .fold(0u64, u64::wrapping_add)
                })
                .expect("spawn")
        })
        .collect();
    let checksum = hs
        .into_iter()
        .map(|h| h.join().expect("worker"))
        .fold(0u64, u64::wrapping_add);
    let elapsed = t0.elapsed();
    let allocs = alloc::snapshot()
        .zip(before)
        .map(|(after, before)| after.since(before));
    Run {
        elapsed,
        checksum,
        allocs,
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    ctx.say(
        "Go's sync.Pool keeps per-P caches of objects so hot paths stop allocating (the GC empties it).\n\
         Ours: a private slot per thread + a bounded shared overflow list; get() returns a guard that resets\n\
         the object and puts it back on drop. 2 threads serve requests that each need a 64 KiB buffer.",
    );
    let requests: usize = ctx.pick(40_000, 4_000);
    let fresh = measure(requests, |i| {
        let mut buf = Vec::new();
        black_box(handle(&mut buf, i))
    });
    let pool = Arc::new(ObjectPool::new(
        8,
        || Vec::<u8>::with_capacity(BUF),
        |v: &mut Vec<u8>| v.clear(),
    ));
    let p = pool.clone();
    let pooled = measure(requests, move |i| {
        let mut buf = p.get();
        black_box(handle(&mut buf, i))
    });
    let stats: PoolStats = pool.stats();
    let installed = alloc::installed();
    let mut t = ctx.table(
        format!(
            "{requests} requests on {THREADS} threads, a {} buffer each",
            fmt_bytes(BUF as u64)
        ),
        &[
            "variant",
            "time/request",
            "allocations",
            "bytes allocated",
            "pool hit rate",
        ],
    );
    let cells = |r: &Run| match r.allocs {
        Some(a) => (a.allocations.to_string(), fmt_bytes(a.bytes)),
        None => ("(no counting allocator)".to_string(), "-".to_string()),
    };
    let (fa, fb) = cells(&fresh);
    let (pa, pb) = cells(&pooled);
    t.row([
        "fresh Vec per request".to_string(),
        fmt_duration(fresh.elapsed / requests as u32),
        fa,
        fb,
        "-".to_string(),
    ]);
    t.row([
        "ObjectPool::get()".to_string(),
        fmt_duration(pooled.elapsed / requests as u32),
        pa,
        pb,
        format!(
            "{:.2}% (local {}, shared {}, created {})",
            100.0 * stats.hit_rate(),
            stats.local_hits,
            stats.shared_hits,
            stats.misses
        ),
    ]);
    ctx.show(t);
    ctx.record("hit_rate", stats.hit_rate());
    ctx.check(
        "both variants computed the same checksums",
        fresh.checksum == pooled.checksum,
    );
    ctx.check_with(
        "the pool reused objects for ≥ 99% of requests",
        stats.hit_rate() >= 0.99,
        format!("{:.3}%, {} created", 100.0 * stats.hit_rate(), stats.misses),
    );
    match (fresh.allocs, pooled.allocs) {
        (Some(f), Some(p)) if installed => {
            ctx.record("allocations_fresh", f.allocations);
            ctx.record("allocations_pooled", p.allocations);
            let avoided = f.allocations.saturating_sub(p.allocations);
            ctx.check_with(
                "fresh buffers allocate at least once per request",
                f.allocations >= requests as u64,
                format!("{} allocations for {requests} requests", f.allocations),
            );
            ctx.check_with(
                "the pool allocates at most 1 per 100 requests",
                p.allocations * 100 <= requests as u64,
                format!("{} allocations", p.allocations),
            );
            ctx.takeaway(format!(
                "the pool avoided {avoided} allocations ({} of {}) with a {:.1}% hit rate",
                fmt_bytes(f.bytes.saturating_sub(p.bytes)),
                fmt_bytes(f.bytes),
                100.0 * stats.hit_rate()
            ));
        }
        _ => {
            ctx.say(
                "No counting allocator is installed in this process (only the exercise3 binary installs one),\n\
                 so allocation counts are not measured here.",
            );
            ctx.takeaway(format!(
                "hit rate {:.1}%: every hit is a request that did not allocate",
                100.0 * stats.hit_rate()
            ));
        }
    }
}
