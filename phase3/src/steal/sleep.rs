//! Where the scheduler's idle workers park: a condvar behind a mutex, and two lock-free counters
//! with a SeqCst fence on each side so that a notifier can skip the lock when nobody sleeps.
//!
//! Go parks an idle P's thread and wakes one when work appears (`wakep`); Rust has no runtime, so
//! the pool does it by hand. The protocol (the scheduler's module docs tell why it is shaped so):
//! a worker about to park takes the lock, counts itself in `sleeping` and out of `searching`,
//! SeqCst fence, re-checks for work and only then waits (which releases the lock). A notifier
//! publishes its work, SeqCst fence, reads the counters without the lock, and takes the lock to
//! notify only if someone sleeps. The two fences are a store-buffering pair: either the parker's
//! re-check sees the work, or the notifier sees the parker counted (and its lock acquisition then
//! waits until the parker is inside `wait`). `tests/loom_sleep.rs` checks it, and checks that loom
//! finds the lost wake-up once the fences are removed.
use std::marker::PhantomData;

use phase1::shim::sync::atomic::{AtomicUsize, Ordering, fence};
use phase1::shim::sync::{Condvar, Mutex};

/// Whether the protocol's two SeqCst fences are there. [`Fenced`] is the protocol; under
/// `--cfg loom` only, `NoFences` is the weakened twin the loom model must catch.
pub trait SleepFences: Send + Sync + 'static {
    /// The fences in `park` and in the notifiers (correct: present).
    const FENCES: bool;
}

/// The protocol as it is meant.
#[derive(Debug)]
pub struct Fenced;
impl SleepFences for Fenced {
    const FENCES: bool = true;
}

/// The weakened twin, for `tests/loom_sleep.rs` only: neither side fences, so each can miss the
/// other's write (store buffering) and a wake-up is lost.
#[cfg(loom)]
#[derive(Debug)]
pub struct NoFences;
#[cfg(loom)]
impl SleepFences for NoFences {
    const FENCES: bool = false;
}

/// Idle workers park here.
pub struct Sleep<F: SleepFences = Fenced> {
    lock: Mutex<()>,
    wake: Condvar,
    /// How many workers are parked or about to park (incremented under `lock`).
    sleeping: AtomicUsize,
    /// How many workers are awake and looking for work (spinning before they park). A push need not
    /// wake anyone while one of them is searching: it will find the job, or re-check before parking.
    searching: AtomicUsize,
    _fences: PhantomData<F>,
}

impl<F: SleepFences> Default for Sleep<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: SleepFences> Sleep<F> {
    /// Nobody sleeping, nobody searching.
    pub fn new() -> Self {
        Sleep {
            lock: Mutex::new(()),
            wake: Condvar::new(),
            sleeping: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
            _fences: PhantomData,
        }
    }

    fn fence(&self) {
        if F::FENCES {
            fence(Ordering::SeqCst);
        }
    }

    /// The caller starts looking for work (counted in `searching` until [`Sleep::stop_searching`]).
    pub fn start_searching(&self) {
        // Relaxed: a hint for notifiers; `park` fences before relying on it.
        self.searching.fetch_add(1, Ordering::Relaxed);
    }

    /// The caller found work (or is done) and stops searching.
    pub fn stop_searching(&self) {
        // Relaxed: a hint for notifiers; a stale value costs at most a needless or skipped wake-up
        // that the searcher's own fenced re-check in `park` covers.
        self.searching.fetch_sub(1, Ordering::Relaxed);
    }

    /// Parks unless `ready()` says there is something to do (see the module docs for why no wake-up
    /// is lost). The caller is counted in `searching` on entry and on return. It may return without
    /// a notification (a spurious wake-up): the caller looks for work again either way.
    pub fn park(&self, ready: impl Fn() -> bool) {
        let guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        // Relaxed both: ordered before the re-check by the fence below. `sleeping` first, so a
        // notifier never sees us neither searching nor sleeping.
        self.sleeping.fetch_add(1, Ordering::Relaxed);
        self.searching.fetch_sub(1, Ordering::Relaxed);
        // SeqCst fence: pairs with the one in `notify_*`: either our re-check sees the new work, or
        // the notifier sees us sleeping (and then needs `lock`, which `wait` releases).
        self.fence();
        if !ready() {
            let guard = self.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
            drop(guard);
        }
        // Relaxed: counters; a stale value only costs a notifier a needless wake or a skipped one
        // that the searcher's own re-check covers.
        self.searching.fetch_add(1, Ordering::Relaxed);
        self.sleeping.fetch_sub(1, Ordering::Relaxed);
    }

    /// Called after publishing a job: wakes one parked worker, unless one is already searching.
    pub fn notify_work(&self) {
        // SeqCst fence: pairs with the one in `park` (the job was published before this).
        self.fence();
        // Relaxed: ordered after the publication by the fence.
        if self.searching.load(Ordering::Relaxed) == 0 && self.sleeping.load(Ordering::Relaxed) > 0
        {
            let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            // Any worker will do: every parked worker, joiners included, runs the work it finds.
            self.wake.notify_one();
        }
    }

    /// Called after setting a join latch or injecting a job: wakes every parked worker (the one
    /// waiting on that latch may be any of them).
    pub fn notify_all_parked(&self) {
        // SeqCst fence: pairs with the one in `park`.
        self.fence();
        // Relaxed: ordered after the publication by the fence.
        if self.sleeping.load(Ordering::Relaxed) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.wake.notify_all();
        }
    }

    /// Wakes everyone, unconditionally (shutdown).
    pub fn notify_all(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.wake.notify_all();
    }
}

impl<F: SleepFences> std::fmt::Debug for Sleep<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").finish_non_exhaustive()
    }
}
