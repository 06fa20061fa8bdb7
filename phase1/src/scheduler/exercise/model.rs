//! Section `model`: OS threads (1:1) vs tokio tasks (M:N).
//!
//! Go: a goroutine starts with a 2 KiB stack that grows by copying, and `go f()` costs a few hundred
//! nanoseconds. Rust: `thread::spawn` asks the kernel for a thread with a fixed stack *reservation*
//! (2 MiB by default, `RUST_MIN_STACK` or `Builder::stack_size` change it); a tokio task is a
//! heap-allocated state machine whose size the compiler knows (`size_of_val` of the future).
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use harness::exercise::Ctx;
use harness::stats::{Summary, fmt_bytes, fmt_duration};

use crate::scheduler::OneShotEvent;

/// Go's G-P-M, and where each piece lives in tokio's multi-thread runtime.
const GPM: &[(&str, &str, &str)] = &[
    (
        "G  goroutine",
        "task (tokio::spawn)",
        "a heap-allocated future + header; runs until it returns Pending",
    ),
    (
        "M  OS thread",
        "worker thread",
        "one per core by default (worker_threads); here 2",
    ),
    (
        "P  processor: local runq (256) + runnext",
        "a worker's core: local run queue (256) + LIFO slot",
        "the LIFO slot runs the task just woken next, at most 3 times in a row",
    ),
    (
        "global runq, checked every 61st schedule",
        "injection queue",
        "spawns from outside the runtime; checked every ~200 µs of polling (self-tuned)",
    ),
    (
        "work stealing (half of a victim's runq)",
        "steal half of a sibling's local queue",
        "when a worker runs dry",
    ),
    (
        "netpoller",
        "the IO + timer driver",
        "polled when a worker parks, and every 61 ticks",
    ),
    (
        "syscall hand-off (M leaves its P)",
        "spawn_blocking pool / block_in_place",
        "only if you ask: up to 512 extra threads",
    ),
    (
        "async preemption (sysmon, 10 ms)",
        "none: a cooperative budget of 128 ops per poll",
        "a task that never awaits holds its worker",
    ),
];

/// `VmSize` and `VmRSS` of this process, in bytes, from `/proc/self/status`.
pub fn vm_size_and_rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmSize:"), field("VmRSS:"))
}

/// Growth of (VmSize, VmRSS) per thread while `n` threads (stack `stack`, or the default) are parked.
pub fn parked_threads_footprint(n: usize, stack: Option<usize>) -> (u64, u64) {
    let release = OneShotEvent::new();
    let started = Arc::new(AtomicUsize::new(0));
    let (vm0, rss0) = vm_size_and_rss();
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (release, started) = (release.clone(), started.clone());
            let mut b = std::thread::Builder::new().name("sched-idle".into());
            if let Some(s) = stack {
                b = b.stack_size(s);
            }
            b.spawn(move || {
                started.fetch_add(1, Relaxed); // A count; the event carries no data.
                release.wait();
            })
            .expect("spawn")
        })
        .collect();
    while started.load(Relaxed) < n {
        std::thread::yield_now();
    }
    let (vm1, rss1) = vm_size_and_rss();
    release.set();
    for h in handles {
        h.join().expect("idle thread");
    }
    (
        vm1.saturating_sub(vm0) / n as u64,
        rss1.saturating_sub(rss0) / n as u64,
    )
}

/// A 2-worker multi-thread runtime with named workers.
pub fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Growth of VmRSS per task while `n` tasks are pending on a semaphore.
pub fn pending_tasks_footprint(rt: &tokio::runtime::Runtime, n: usize) -> u64 {
    rt.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let (_, rss0) = vm_size_and_rss();
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (gate, started) = (gate.clone(), started.clone());
                tokio::spawn(async move {
                    started.fetch_add(1, Relaxed); // A count; no data hangs on it.
                    let _permit = gate.acquire().await.expect("gate open");
                })
            })
            .collect();
        while started.load(Relaxed) < n {
            tokio::task::yield_now().await;
        }
        let (_, rss1) = vm_size_and_rss();
        gate.add_permits(n);
        for h in handles {
            h.await.expect("task");
        }
        rss1.saturating_sub(rss0) / n as u64
    })
}

/// p50 over `rounds` of (time to spawn `batch` items and join them all) / `batch`.
fn per_item(rounds: usize, batch: usize, mut round: impl FnMut(usize)) -> Duration {
    let mut per: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t0 = Instant::now();
            round(batch);
            t0.elapsed() / batch as u32
        })
        .collect();
    Summary::of(&mut per).p50
}

/// Spawn+join cost per item: (std thread, tokio task, rayon job).
pub fn spawn_costs(rt: &tokio::runtime::Runtime, quick: bool) -> (Duration, Duration, Duration) {
    let rounds = if quick { 3 } else { 7 };
    let thread = per_item(rounds, if quick { 20 } else { 100 }, |b| {
        let hs: Vec<_> = (0..b)
            .map(|i| std::thread::spawn(move || black_box(i)))
            .collect();
        for h in hs {
            h.join().expect("thread");
        }
    });
    let task = per_item(rounds, if quick { 2_000 } else { 20_000 }, |b| {
        rt.block_on(async {
            let hs: Vec<_> = (0..b)
                .map(|i| tokio::spawn(async move { black_box(i) }))
                .collect();
            for h in hs {
                h.await.expect("task");
            }
        })
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .thread_name(|i| format!("sched-rayon-{i}"))
        .build()
        .expect("rayon pool");
    let job = per_item(rounds, if quick { 2_000 } else { 20_000 }, |b| {
        pool.scope(|s| {
            for i in 0..b {
                s.spawn(move |_| {
                    black_box(i);
                });
            }
        })
    });
    (thread, task, job)
}

async fn holds_a_buffer() -> u8 {
    let buf = [7u8; 1024];
    tokio::task::yield_now().await;
    buf[black_box(3)]
}

/// The section.
pub fn run(ctx: &mut Ctx) {
    ctx.say(
        "Go's scheduler, mapped onto tokio's multi-thread runtime. Rust's std::thread::spawn is 1:1: \
         each spawn is a kernel thread with its own stack; a tokio task is a future on the heap.",
    );
    let mut t = ctx.table("G-P-M on tokio", &["Go", "tokio", "note"]);
    for (go, tokio, note) in GPM {
        t.row([*go, *tokio, *note]);
    }
    ctx.show(t);

    // Memory first, and with care: the first threads that allocate make glibc create its per-thread
    // malloc arenas (64 MiB of address space each), so a warm-up round goes first; and glibc caches
    // the stacks of exited threads for reuse by a later thread asking for at most as much (and no
    // less than a quarter), so the warm-up uses 32 KiB stacks, which no later request can reuse.
    let n_threads = ctx.pick(64, 16);
    let n_tasks = ctx.pick(20_000, 5_000);
    let small = 64 * 1024;
    parked_threads_footprint(n_threads, Some(32 * 1024));
    let (vm_small, rss_small) = parked_threads_footprint(n_threads, Some(small));
    let (vm_default, rss_default) = parked_threads_footprint(n_threads, None);
    let rt = runtime("sched-tokio");
    let rss_task = pending_tasks_footprint(&rt, n_tasks);
    let min_stack = std::env::var("RUST_MIN_STACK").ok();
    let mut m = ctx.table(
        format!("memory per parked thread ({n_threads}) vs per pending task ({n_tasks}); growth of /proc/self/status"),
        &["what", "address space (VmSize)", "resident (VmRSS)"],
    );
    m.row([
        format!(
            "thread, default stack{}",
            min_stack
                .as_ref()
                .map_or(String::new(), |v| format!(" (RUST_MIN_STACK={v})"))
        ),
        fmt_bytes(vm_default),
        fmt_bytes(rss_default),
    ]);
    m.row([
        "thread, Builder::stack_size(64 KiB)".to_string(),
        fmt_bytes(vm_small),
        fmt_bytes(rss_small),
    ]);
    m.row([
        "tokio task pending on a semaphore".to_string(),
        "(heap)".to_string(),
        fmt_bytes(rss_task),
    ]);
    ctx.show(m);
    ctx.say(
        "The default stack is a 2 MiB reservation (RUST_MIN_STACK=<bytes> changes it for every thread \
         spawned without a size; Builder::stack_size for one thread). Only the pages a thread touches \
         become resident: address space is what a thread costs up front, not RAM.",
    );
    ctx.record("vm_per_thread_default", vm_default);
    ctx.record("vm_per_thread_64k", vm_small);
    ctx.record("rss_per_thread_default", rss_default);
    ctx.record("rss_per_task", rss_task);

    let entered = rt.enter(); // `sleep` registers with the runtime's timer
    let sleep = tokio::time::sleep(Duration::from_millis(1));
    let sizes: Vec<(&str, usize)> = vec![
        ("async {}", std::mem::size_of_val(&async {})),
        ("tokio::time::sleep(..)", std::mem::size_of_val(&sleep)),
        (
            "async fn holding [u8; 1024] across .await",
            std::mem::size_of_val(&holds_a_buffer()),
        ),
        (
            "tokio::spawn'ed JoinHandle",
            std::mem::size_of::<tokio::task::JoinHandle<()>>(),
        ),
    ];
    drop(sleep);
    drop(entered);
    let mut f = ctx.table(
        "size_of_val of a few futures (what a task stores instead of a stack)",
        &["future", "bytes"],
    );
    for (what, n) in &sizes {
        f.row([what.to_string(), n.to_string()]);
    }
    ctx.show(f);
    let largest_future = sizes.iter().map(|s| s.1).max().unwrap_or(0) as u64;

    let (thread, task, job) = spawn_costs(&rt, ctx.quick());
    drop(rt);
    let mut s = ctx.table(
        "spawn + join, p50 per item over batches",
        &["unit of work", "per item", "vs tokio task"],
    );
    for (what, d) in [
        ("std::thread::spawn + join", thread),
        ("tokio::spawn + await (2 workers)", task),
        ("rayon scope.spawn (2 threads)", job),
    ] {
        s.row([
            what.to_string(),
            fmt_duration(d),
            harness::stats::fmt_ratio(d, task),
        ]);
    }
    ctx.show(s);
    ctx.record("thread_spawn_ns", thread.as_nanos() as u64);
    ctx.record("task_spawn_ns", task.as_nanos() as u64);
    ctx.record("rayon_spawn_ns", job.as_nanos() as u64);

    let ratio = thread.as_secs_f64() / task.as_secs_f64().max(1e-12);
    ctx.takeaway(format!(
        "a thread costs {} to spawn+join and reserves {} of address space; a task costs {} ({ratio:.0}× less) \
         and ~{} resident: spawn tasks per request, keep threads per core",
        fmt_duration(thread),
        fmt_bytes(vm_default),
        fmt_duration(task),
        fmt_bytes(rss_task),
    ));
    ctx.check_with(
        "a tokio task spawn+join is ≥ 5× cheaper than a thread's",
        ratio >= 5.0,
        format!(
            "thread {} vs task {}",
            fmt_duration(thread),
            fmt_duration(task)
        ),
    );
    ctx.check_with(
        "the largest future measured is < 1/100 of a thread's stack reservation",
        largest_future * 100 < vm_default,
        format!("{largest_future} B vs {}", fmt_bytes(vm_default)),
    );
    ctx.check_with(
        "Builder::stack_size(64 KiB) reserves < 128 KiB per thread (the size asked for, plus guard and TLS)",
        vm_small < 128 * 1024,
        format!("{} vs {}", fmt_bytes(vm_small), fmt_bytes(vm_default)),
    );
}
