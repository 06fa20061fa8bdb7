//! Bytes per key: this crate's `Keyed` against governor's keyed limiter (`RateLimiter::keyed`, a
//! `DashMap` of `AtomicU64`), measured by a counting global allocator.
//!
//! Two scenarios, one million distinct `u64` keys, one check each:
//! - **live**: a quota of one request an hour, so every key is still in debt at the end and both
//!   limiters must track all of them (ours with `max_keys` ≥ 10^6);
//! - **passing**: a quota of a million a second (burst 1), so each key is full again a microsecond
//!   after its request: nothing needs remembering. governor keeps every key until `retain_recent`
//!   is called; ours forgets them by itself.
//!
//! `cargo run --release -p ratelimit --example keyed_memory`
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use ratelimit::{AtCap, Bounds, FastClock, Keyed, KeyedRateLimiter, Quota};

/// The system allocator, counting the bytes currently allocated and the peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds GlobalAlloc's contract; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed through to `System`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const KEYS: u64 = 1_000_000;

/// Bytes held after running `f` (which builds and fills a limiter and returns it) and the peak
/// reached meanwhile, both above what was allocated before.
fn measure<T>(f: impl FnOnce() -> T) -> (usize, usize, T) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let kept = f();
    let held = CURRENT.load(Ordering::Relaxed) - base;
    let peak = PEAK.load(Ordering::Relaxed) - base;
    (held, peak, kept)
}

fn row(name: &str, scenario: &str, tracked: usize, held: usize, peak: usize) {
    println!(
        "{name:<34} {scenario:<8} {tracked:>9} {held:>12} {peak:>12} {:>9.1} {:>9.1}",
        held as f64 / KEYS as f64,
        peak as f64 / KEYS as f64
    );
}

fn ours(quota: Quota, scenario: &str) {
    let bounds = Bounds {
        max_keys: NonZeroUsize::new(1 << 20).expect("non-zero"),
        at_cap: AtCap::DenyNewKeys,
        ..Bounds::default()
    };
    let (held, peak, l) = measure(|| {
        let l = Keyed::<u64, _>::with_bounds(quota, bounds, FastClock::new(), Default::default());
        for k in 0..KEYS {
            let _ = black_box(l.check_key(&k));
        }
        l
    });
    row("ours (Keyed, 64 shards)", scenario, l.len(), held, peak);
}

fn governor(quota: governor::Quota, scenario: &str) {
    let (held, peak, l) = measure(|| {
        let l = governor::RateLimiter::<u64, _, _>::keyed(quota);
        for k in 0..KEYS {
            let _ = black_box(l.check_key(&k));
        }
        l
    });
    row("governor (keyed: DashMap)", scenario, l.len(), held, peak);
    let before = CURRENT.load(Ordering::Relaxed);
    l.retain_recent();
    l.shrink_to_fit();
    let freed = before.saturating_sub(CURRENT.load(Ordering::Relaxed));
    println!(
        "{:<34} {scenario:<8} {:>9} {:>12}   (retain_recent + shrink_to_fit freed {freed} bytes)",
        "  then swept by hand",
        l.len(),
        held - freed,
    );
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "one million distinct u64 keys, one check each; {cpus} CPUs (governor's DashMap shards = 4 × CPUs)"
    );
    println!(
        "{:<34} {:<8} {:>9} {:>12} {:>12} {:>9} {:>9}",
        "limiter", "scenario", "tracked", "bytes held", "peak bytes", "B/key", "peak B/key"
    );
    let hourly = Quota::per_hour(1).expect("quota");
    let fast = Quota::per_second(1_000_000)
        .expect("quota")
        .with_burst(1)
        .expect("burst");
    let g_hourly = governor::Quota::per_hour(std::num::NonZeroU32::new(1).expect("non-zero"));
    let g_fast =
        governor::Quota::per_second(std::num::NonZeroU32::new(1_000_000).expect("non-zero"))
            .allow_burst(std::num::NonZeroU32::new(1).expect("non-zero"));
    ours(hourly, "live");
    governor(g_hourly, "live");
    ours(fast, "passing");
    governor(g_fast, "passing");
}
