//! What each pool costs besides time: heap allocations per task, and OS threads.
//!
//! ```text
//! cargo run --release -p workpool --example footprint
//! ```
//!
//! 1. Allocations per task, on the benches' `tiny [1x100k]` scenario (one submitter, 100 000 tasks of
//!    about 1 µs, 2 workers, `execute` then wait until idle): a counting global allocator counts
//!    every `alloc`/`realloc` of the process (the pool's threads included) during one run, after a
//!    warm-up run of the same size (so queues have grown and lazy threads have started).
//! 2. Peak OS threads, on the `sleep [10k-1ms]` scenario (10 000 tasks sleeping 1 ms, 100 workers): a
//!    sampler thread counts `/proc/self/task` every 500 µs; the table gives the threads the pool
//!    added at build and at the peak (the process's own threads subtracted).
//!
//! The pools are the benches' contenders (`benches/contenders/mod.rs`), built and driven the same way.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

// Shared with the benches; this binary uses all of it but the bench-only helpers.
#[allow(dead_code)]
#[path = "../benches/contenders/mod.rs"]
mod contenders;
use contenders::{Contender, LABELS, tiny_task};

/// Counts allocations (calls and bytes) on top of the system allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged (so `System`'s
// guarantees are this allocator's), and only adds two Relaxed counters, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: forwarded as is; `ptr` came from this allocator, that is from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator, that is from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TINY_WORKERS: usize = 2;
const TINY_TASKS: usize = 100_000;
const SLEEP_WORKERS: usize = 100;
const SLEEP_TASKS: usize = 10_000;

fn tiny_run(pool: &Contender) {
    for i in 0..TINY_TASKS {
        pool.execute(move || tiny_task(i as u64));
    }
    pool.wait_idle();
}

fn allocations() {
    println!(
        "1. Heap allocations per task: 1 submitter × {TINY_TASKS} tiny tasks, {TINY_WORKERS} workers"
    );
    println!("   (every alloc/realloc of the process during one run, after a warm-up run)\n");
    println!(
        "   {:<22} {:>12} {:>12} {:>10}",
        "pool", "allocs/task", "bytes/task", "run"
    );
    for label in LABELS {
        let pool = Contender::new(label, TINY_WORKERS);
        tiny_run(&pool);
        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        let t0 = Instant::now();
        tiny_run(&pool);
        let took = t0.elapsed();
        let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        pool.shutdown();
        let n = TINY_TASKS as f64;
        println!(
            "   {label:<22} {:>12.2} {:>12.1} {:>8.1?}",
            (a1 - a0) as f64 / n,
            (b1 - b0) as f64 / n,
            took
        );
    }
    println!();
}

/// Threads of this process, from `/proc/self/task` (one entry per thread).
fn os_threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// Waits (at most 5 s) until the process is back to `threads` threads: a pool's threads may still be
/// exiting after it was dropped (threadpool does not join them).
fn settle(threads: usize) {
    harness::wait::poll_until(Duration::from_secs(5), || os_threads() <= threads);
}

fn threads() {
    println!(
        "2. OS threads: {SLEEP_TASKS} tasks sleeping 1 ms, {SLEEP_WORKERS} workers (threads the pool added)\n"
    );
    println!(
        "   {:<22} {:>12} {:>12} {:>10}",
        "pool", "after build", "peak in run", "run"
    );
    let peak = Arc::new(AtomicUsize::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        thread::spawn(move || {
            while sampling.load(Relaxed) {
                peak.fetch_max(os_threads(), Relaxed);
                thread::sleep(Duration::from_micros(500));
            }
        })
    };
    // This process's own threads (main and the sampler), which every figure below leaves out.
    let own = os_threads();
    for label in LABELS {
        settle(own);
        let pool = Contender::new(label, SLEEP_WORKERS);
        let built = os_threads() - own;
        peak.store(0, Relaxed);
        let t0 = Instant::now();
        for _ in 0..SLEEP_TASKS {
            pool.execute(|| thread::sleep(Duration::from_millis(1)));
        }
        pool.wait_idle();
        let took = t0.elapsed();
        let at_peak = peak.load(Relaxed).max(os_threads()) - own;
        pool.shutdown();
        println!("   {label:<22} {built:>12} {at_peak:>12} {took:>8.1?}");
    }
    sampling.store(false, Relaxed);
    sampler.join().expect("the sampler panicked");
    println!();
}

fn main() {
    allocations();
    threads();
    println!(
        "Allocation counts include what the pool's own threads allocate while the tasks run; thread \
         counts are sampled every 500 µs, so a thread that lived less than that may be missed."
    );
}
