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

/// What one request saw and computed.
struct Handled {
    checksum: u64,
    /// The buffer arrived empty, as a fresh `Vec` or one the pool's reset hook cleared. Looked at
    /// before the request writes anything: the writes below overwrite what they touch, so a dirty
    /// buffer handed out by a pool that skipped the reset would go unseen by the checksum.
    arrived_clean: bool,
}

/// One "request": check the working buffer arrived clean, fill it and checksum it.
fn handle(buf: &mut Vec<u8>, i: usize) -> Handled {
    let arrived_clean = buf.is_empty();
    buf.resize(BUF, 0);
    for (j, b) in buf.iter_mut().enumerate().step_by(512) {
        *b = (i + j) as u8;
    }
    Handled {
        checksum: buf.iter().step_by(512).map(|&b| b as u64).sum(),
        arrived_clean,
    }
}

struct Run {
    elapsed: Duration,
    checksum: u64,
    /// Requests whose buffer arrived dirty (not reset).
    dirty: usize,
    allocs: Option<AllocCount>,
}

fn measure(requests: usize, f: impl Fn(usize) -> Handled + Send + Sync + 'static) -> Run {
    let f = Arc::new(f);
    let before = alloc::snapshot();
    let t0 = Instant::now();
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let f = f.clone();
            thread::Builder::new()
                .name("pool-worker".into())
                .spawn(move || {
                    (0..requests / THREADS).map(|i| f(t * requests + i)).fold(
                        (0u64, 0usize),
                        |(sum, dirty), h| {
                            (
                                sum.wrapping_add(h.checksum),
                                dirty + usize::from(!h.arrived_clean),
                            )
                        },
                    )
                })
                .expect("spawn")
        })
        .collect();
    let (checksum, dirty) = hs
        .into_iter()
        .map(|h| h.join().expect("worker"))
        .fold((0u64, 0usize), |(sum, dirty), (s, d)| {
            (sum.wrapping_add(s), dirty + d)
        });
    let elapsed = t0.elapsed();
    let allocs = alloc::snapshot()
        .zip(before)
        .map(|(after, before)| after.since(before));
    Run {
        elapsed,
        checksum,
        dirty,
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
        handle(black_box(&mut buf), i)
    });
    let pool = Arc::new(ObjectPool::new(
        8,
        || Vec::<u8>::with_capacity(BUF),
        |v: &mut Vec<u8>| v.clear(),
    ));
    let p = pool.clone();
    let pooled = measure(requests, move |i| {
        let mut buf = p.get();
        handle(black_box(&mut buf), i)
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
        "every pooled buffer arrived reset (empty), as a fresh one does",
        pooled.dirty == 0 && fresh.dirty == 0,
        format!(
            "{} of {requests} pooled buffers arrived dirty",
            pooled.dirty
        ),
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
