//! A periodic worker: runs a job every `period`, never two runs at once, with seeded jitter and a
//! clean shutdown.
//!
//! Go's idiom is a goroutine with `for { select { case <-ticker.C: job(); case <-ctx.Done(): return } }`:
//! the job runs on the ticker's goroutine, so runs never overlap, and a late run makes the ticker
//! drop ticks (Go's channel has a buffer of one). Here one thread runs the job between waits on a
//! stop channel: no overlap by construction, missed periods are skipped (tokio's `Skip`), and the
//! stop signal interrupts the wait immediately.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The schedule: run `k` is due at `origin + k * period + offset_k`, `offset_k` drawn uniformly from
/// `[-jitter, +jitter]` by an RNG seeded with `seed` (so a schedule can be replayed exactly).
#[derive(Debug, Clone)]
pub struct Schedule {
    period: Duration,
    jitter: Duration,
    rng: SmallRng,
}

impl Schedule {
    /// A schedule; `jitter` is clamped below half the period so runs stay in order.
    pub fn new(period: Duration, jitter: Duration, seed: u64) -> Self {
        Schedule {
            period,
            jitter: jitter.min(period / 2 - Duration::from_nanos(1).min(period / 2)),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// The due offset of run `k` from the origin.
    pub fn due(&mut self, k: u32) -> Duration {
        let base = self.period * k;
        if self.jitter.is_zero() {
            return base;
        }
        let j = self.jitter.as_nanos() as i64;
        let off = self.rng.random_range(-j..=j);
        if off >= 0 {
            base + Duration::from_nanos(off as u64)
        } else {
            base.saturating_sub(Duration::from_nanos(off.unsigned_abs()))
        }
    }
}

/// A running periodic worker. Dropping it (or [`PeriodicWorker::stop`]) stops and joins the thread.
#[derive(Debug)]
pub struct PeriodicWorker {
    /// Dropping it wakes the worker's wait with `Disconnected`.
    stop: Option<mpsc::Sender<()>>,
    /// Returns the number of runs; `Some` until joined.
    thread: Option<JoinHandle<u64>>,
}

impl PeriodicWorker {
    /// Start a worker thread named `name` running `job(k)` for run index `k` on `schedule`.
    pub fn spawn(
        name: &str,
        mut schedule: Schedule,
        mut job: impl FnMut(u32) + Send + 'static,
    ) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let origin = Instant::now();
                let period = schedule.period;
                let mut runs = 0;
                let mut k = 0u32;
                loop {
                    let due = origin + schedule.due(k);
                    let wait = due.saturating_duration_since(Instant::now());
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return runs,
                    }
                    job(k);
                    runs += 1;
                    // Skip every period that started while the job ran: the next run is the first
                    // whose period has not begun yet.
                    let elapsed = origin.elapsed();
                    let next = (elapsed.as_nanos() / period.as_nanos()) as u32 + 1;
                    k = next.max(k + 1);
                }
            })
            .expect("spawn periodic worker");
        PeriodicWorker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stop the worker (a run in progress finishes first) and return how many runs it made.
    pub fn stop(mut self) -> u64 {
        self.shutdown()
    }

    fn shutdown(&mut self) -> u64 {
        drop(self.stop.take());
        self.thread
            .take()
            .map_or(0, |t| t.join().expect("periodic job panicked"))
    }
}

impl Drop for PeriodicWorker {
    fn drop(&mut self) {
        if !thread::panicking() {
            self.shutdown();
        } else {
            drop(self.stop.take());
        }
    }
}
