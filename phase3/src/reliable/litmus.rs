//! The store-buffering litmus test, run on this CPU.
//!
//! ```text
//! x = y = 0
//! thread A: x = 1; r1 = y        thread B: y = 1; r2 = x
//! ```
//! Under sequential consistency one of the stores comes first in a single total order, so at least one
//! load sees a 1: `r1 == r2 == 0` is forbidden. With `Relaxed` — and with `Release` stores and `Acquire`
//! loads, which order a store only before *later* stores and a load only before *later* loads — it is
//! allowed, and x86 produces it: each core's store waits in its store buffer while its load runs
//! ahead. `SeqCst` stores compile to `xchg` on x86 (a full barrier), which drains the buffer first.
//!
//! Each iteration uses fresh `x[i]`, `y[i]` (no reset needed) and both threads meet at a spinning
//! barrier before it ([`super::lockstep`]), so their store/load pairs overlap in time;
//! everything runs under a deadline.
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::lockstep;

/// The orderings under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Relaxed store, Relaxed load.
    Relaxed,
    /// Release store, Acquire load.
    AcquireRelease,
    /// SeqCst store, SeqCst load.
    SeqCst,
}

impl Flavor {
    /// All three, weakest first.
    pub const ALL: [Flavor; 3] = [Flavor::Relaxed, Flavor::AcquireRelease, Flavor::SeqCst];

    /// A label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Flavor::Relaxed => "Relaxed store / Relaxed load",
            Flavor::AcquireRelease => "Release store / Acquire load",
            Flavor::SeqCst => "SeqCst store / SeqCst load",
        }
    }
}

// One function per ordering, never inlined, so the store and the load are emitted exactly as written
// with the ordering fixed at compile time (no run-time ordering switch between them).

#[inline(never)]
fn store_then_load_relaxed(mine: &AtomicU32, theirs: &AtomicU32) -> u32 {
    mine.store(1, Ordering::Relaxed); // Relaxed: the litmus test's subject.
    theirs.load(Ordering::Relaxed) // Relaxed: may be satisfied before the store above is visible.
}

#[inline(never)]
fn store_then_load_acqrel(mine: &AtomicU32, theirs: &AtomicU32) -> u32 {
    mine.store(1, Ordering::Release); // Release: orders earlier accesses before it, not later loads.
    theirs.load(Ordering::Acquire) // Acquire: orders later accesses after it; may still pass the store.
}

#[inline(never)]
fn store_then_load_seqcst(mine: &AtomicU32, theirs: &AtomicU32) -> u32 {
    mine.store(1, Ordering::SeqCst); // SeqCst: one total order over both stores and both loads ...
    theirs.load(Ordering::SeqCst) // ... so at least one thread's load sees the other's store.
}

fn step(flavor: Flavor, mine: &AtomicU32, theirs: &AtomicU32) -> u32 {
    match flavor {
        Flavor::Relaxed => store_then_load_relaxed(black_box(mine), black_box(theirs)),
        Flavor::AcquireRelease => store_then_load_acqrel(black_box(mine), black_box(theirs)),
        Flavor::SeqCst => store_then_load_seqcst(black_box(mine), black_box(theirs)),
    }
}

/// What one run of the litmus test counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LitmusResult {
    /// The orderings used.
    pub flavor: Flavor,
    /// Iterations both threads completed before the deadline.
    pub iterations: usize,
    /// Iterations with `r1 == 0 && r2 == 0`, the outcome sequential consistency forbids.
    pub both_zero: usize,
    /// Iterations with exactly one load seeing 0 (one thread ran first).
    pub one_zero: usize,
    /// Iterations where both loads saw 1 (the pairs overlapped, in an SC-allowed way).
    pub both_one: usize,
    /// Iterations where a load returned neither 0 (the initial value) nor 1 (the only value stored):
    /// no ordering allows that, so anything but 0 means the test itself is broken.
    pub impossible: usize,
    /// True when the deadline cut the run short.
    pub cut_short: bool,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The CPUs the two threads were pinned to, when pinning succeeded.
    pub pinned: Option<(usize, usize)>,
}

/// Runs the store-buffering test with `flavor` for `iterations` (or until `deadline`) on 2 threads.
pub fn store_buffering(flavor: Flavor, iterations: usize, deadline: Duration) -> LitmusResult {
    let x: Arc<Vec<AtomicU32>> = Arc::new((0..iterations).map(|_| AtomicU32::new(0)).collect());
    let y: Arc<Vec<AtomicU32>> = Arc::new((0..iterations).map(|_| AtomicU32::new(0)).collect());
    let run = lockstep::run("sb", iterations, deadline, move |is_a, i| {
        let r = if is_a {
            step(flavor, &x[i], &y[i]) // A: x = 1; r1 = y
        } else {
            step(flavor, &y[i], &x[i]) // B: y = 1; r2 = x
        };
        r as u8
    });
    let (mut both_zero, mut one_zero, mut both_one, mut impossible) = (0, 0, 0, 0);
    for pair in run.pairs() {
        match pair {
            (0, 0) => both_zero += 1,
            (0, 1) | (1, 0) => one_zero += 1,
            (1, 1) => both_one += 1,
            _ => impossible += 1,
        }
    }
    LitmusResult {
        flavor,
        iterations: run.iterations(),
        both_zero,
        one_zero,
        both_one,
        impossible,
        cut_short: run.iterations() < iterations,
        elapsed: run.elapsed,
        pinned: run.pinned,
    }
}
