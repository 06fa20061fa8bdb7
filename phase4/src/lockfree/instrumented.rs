//! A mutex that measures itself: how long each caller waited to get it, and how long it was held.
//!
//! Go has the mutex profile (`runtime.SetMutexProfileFraction`, `go tool pprof`) to find the lock
//! everyone queues on. Here the lock keeps two hdrhistograms (nanoseconds), and it needs no extra
//! synchronisation for them: both are recorded *while the lock is held* — the wait right after
//! acquiring, the hold just before releasing — so the lock protects its own statistics.
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::{Mutex, MutexGuard};

struct Inner<T> {
    value: T,
    /// Nanoseconds from `lock()` being called to the lock being acquired.
    wait: Histogram<u64>,
    /// Nanoseconds from acquiring to releasing.
    hold: Histogram<u64>,
    total_wait: Duration,
    total_hold: Duration,
}

/// A `parking_lot::Mutex<T>` that records wait-time and hold-time histograms.
pub struct InstrumentedMutex<T> {
    name: &'static str,
    inner: Mutex<Inner<T>>,
}

/// The guard: derefs to `T`; records the hold time when dropped, then unlocks.
pub struct InstrumentedGuard<'a, T> {
    guard: MutexGuard<'a, Inner<T>>,
    acquired: Instant,
}

/// A snapshot of one lock's statistics.
#[derive(Debug, Clone)]
pub struct LockReport {
    /// The lock's name.
    pub name: &'static str,
    /// Acquisitions recorded (each has one wait and one hold sample).
    pub acquisitions: u64,
    /// Sum of all waits.
    pub total_wait: Duration,
    /// Sum of all holds.
    pub total_hold: Duration,
    /// Wait percentiles (50, 99, max).
    pub wait: [Duration; 3],
    /// Hold percentiles (50, 99, max).
    pub hold: [Duration; 3],
    /// Acquisitions that waited more than 1 µs (the lock was really taken by someone else).
    pub waited_over_1us: u64,
    /// Samples in the hold histogram (equals `acquisitions` once every guard is dropped).
    pub hold_samples: u64,
}

fn histogram() -> Histogram<u64> {
    // 1 ns to 10 min at 3 significant digits; a longer sample saturates at the top instead of failing.
    Histogram::new_with_bounds(1, 600_000_000_000, 3).expect("valid bounds and precision")
}

fn percentiles(h: &Histogram<u64>) -> [Duration; 3] {
    [0.5, 0.99, 1.0].map(|q| Duration::from_nanos(h.value_at_quantile(q)))
}

impl<T> InstrumentedMutex<T> {
    /// A named lock around `value`.
    pub fn new(name: &'static str, value: T) -> Self {
        InstrumentedMutex {
            name,
            inner: Mutex::new(Inner {
                value,
                wait: histogram(),
                hold: histogram(),
                total_wait: Duration::ZERO,
                total_hold: Duration::ZERO,
            }),
        }
    }

    /// The lock's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Locks, recording how long that took.
    pub fn lock(&self) -> InstrumentedGuard<'_, T> {
        let asked = Instant::now();
        let mut guard = self.inner.lock();
        let acquired = Instant::now();
        let waited = acquired - asked;
        guard.wait.saturating_record(waited.as_nanos() as u64);
        guard.total_wait += waited;
        InstrumentedGuard {
            guard,
            // The recording above is bookkeeping, not the caller's hold: start the hold clock after it.
            acquired: Instant::now(),
        }
    }

    /// The statistics so far (taking the lock for the copy, without recording that acquisition).
    pub fn report(&self) -> LockReport {
        let inner = self.inner.lock();
        LockReport {
            name: self.name,
            acquisitions: inner.wait.len(),
            total_wait: inner.total_wait,
            total_hold: inner.total_hold,
            wait: percentiles(&inner.wait),
            hold: percentiles(&inner.hold),
            hold_samples: inner.hold.len(),
            waited_over_1us: inner.wait.count_between(1_001, u64::MAX),
        }
    }
}

impl<T> Deref for InstrumentedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard.value
    }
}

impl<T> DerefMut for InstrumentedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard.value
    }
}

impl<T> Drop for InstrumentedGuard<'_, T> {
    fn drop(&mut self) {
        let held = self.acquired.elapsed();
        self.guard.hold.saturating_record(held.as_nanos() as u64);
        self.guard.total_hold += held;
        // `guard` is dropped after this: the lock is released once the sample is in.
    }
}
