//! Two threads in lockstep: before every iteration both meet at a spinning barrier, so their
//! iteration-`i` steps run at the same moment and a race between them has a real chance to show.
//! Each thread is pinned to its own CPU where the affinity mask allows (as litmus-test tools do):
//! left alone, a loaded scheduler often keeps both on one core, where they can only take turns.
//! Everything runs under a deadline: a thread that waits too long (the other one is off-core on a
//! shared machine) stops both, and the run reports how many iterations completed.
use std::hint;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use harness::affinity::{Pinned, allowed_cpus};

/// The results of a lockstep run: what each thread's step returned, per completed iteration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockstep {
    /// Thread A's results; `a.len()` = iterations it completed.
    pub a: Vec<u8>,
    /// Thread B's results.
    pub b: Vec<u8>,
    /// Wall time.
    pub elapsed: Duration,
    /// The CPUs the two threads were pinned to, when pinning succeeded.
    pub pinned: Option<(usize, usize)>,
}

impl Lockstep {
    /// Iterations both threads completed.
    pub fn iterations(&self) -> usize {
        self.a.len().min(self.b.len())
    }

    /// The completed iterations' result pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (u8, u8)> + '_ {
        self.a.iter().copied().zip(self.b.iter().copied())
    }
}

/// Spins (each a few ns to tens of ns) before a waiting thread starts yielding its core.
const SPIN_LIMIT: u32 = 512;

struct Barrier {
    /// Each thread adds 1 on arriving at iteration i; both pass once it reaches 2(i + 1).
    arrived: AtomicUsize,
    /// Set by a thread that hit the deadline; the other stops spinning and leaves too.
    stop: AtomicBool,
}

/// Runs `step(is_a, i)` for i in 0..iterations on two threads (`name`-a, `name`-b), in lockstep,
/// stopping early at `deadline`.
pub fn run<F>(name: &str, iterations: usize, deadline: Duration, step: F) -> Lockstep
where
    F: Fn(bool, usize) -> u8 + Send + Sync + 'static,
{
    let step = Arc::new(step);
    let barrier = Arc::new(Barrier {
        arrived: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
    });
    let cpus = allowed_cpus();
    let pins = (cpus.len() >= 2).then(|| (cpus[0], cpus[1]));
    let t0 = Instant::now();
    let end = t0 + deadline;
    let spawn = |is_a: bool| {
        let (step, barrier) = (Arc::clone(&step), Arc::clone(&barrier));
        let pin = pins.map(|(a, b)| if is_a { a } else { b });
        thread::Builder::new()
            .name(format!("{name}-{}", if is_a { 'a' } else { 'b' }))
            .spawn(move || {
                let pin = pin.map(Pinned::to);
                let pinned = pin.as_ref().is_some_and(Pinned::is_pinned);
                let mut results = Vec::with_capacity(iterations);
                for i in 0..iterations {
                    // SeqCst RMW: a full barrier *before* the step, so it cannot hide the step's own
                    // reorderings; its job is only to line the two threads up.
                    barrier.arrived.fetch_add(1, Ordering::SeqCst);
                    let mut spins = 0u32;
                    // Acquire: pairs with the other thread's arrival (the step's data is per iteration).
                    while barrier.arrived.load(Ordering::Acquire) < 2 * (i + 1) {
                        spins = spins.wrapping_add(1);
                        if spins < SPIN_LIMIT {
                            hint::spin_loop();
                            continue;
                        }
                        // The other thread is likely off-core (2 cores shared with other work): give
                        // the core away instead of burning the time slice it may be waiting for.
                        thread::yield_now();
                        // Relaxed: a stop request carries no data.
                        if spins.is_multiple_of(64)
                            && (Instant::now() >= end || barrier.stop.load(Ordering::Relaxed))
                        {
                            barrier.stop.store(true, Ordering::Relaxed); // Relaxed: as above.
                            return (results, pinned);
                        }
                    }
                    results.push(step(is_a, i));
                }
                (results, pinned)
            })
            .expect("spawn lockstep thread")
    };
    let a = spawn(true);
    let b = spawn(false);
    let (a, pinned_a) = a.join().expect("lockstep thread a");
    let (b, pinned_b) = b.join().expect("lockstep thread b");
    Lockstep {
        a,
        b,
        elapsed: t0.elapsed(),
        pinned: pins.filter(|_| pinned_a && pinned_b),
    }
}
