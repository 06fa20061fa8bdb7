//! Thread tickers: the right one stops when its owner drops it, the leaky one never does.
//!
//! Go's `time.NewTicker` must be `Stop`ped (before Go 1.23 an unstopped ticker was never even
//! collected); `time.Tick` hands out a ticker nobody can stop. In Rust, ownership gives the fix:
//! [`Ticker`] holds the stop channel's sender, and dropping the ticker drops the sender, which
//! wakes the thread at once (`recv_timeout` returns `Disconnected`) and `Drop` joins it.
//! [`LeakyTicker`] is the `time.Tick` mistake: its thread loops on a flag that its owner never sets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A thread that calls `on_tick` every `period` until the ticker is dropped (or [`Ticker::stop`]).
#[derive(Debug)]
pub struct Ticker {
    /// Dropping it disconnects the channel: the thread's `recv_timeout` returns at once.
    stop: Option<mpsc::Sender<()>>,
    /// `Some` until the thread is joined.
    thread: Option<JoinHandle<()>>,
    ticks: Arc<AtomicU64>,
}

impl Ticker {
    /// Start a ticker thread named `name` (keep it ≤ 15 bytes: the leak checker reads the name).
    pub fn spawn(name: &str, period: Duration, mut on_tick: impl FnMut() + Send + 'static) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let ticks = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&ticks);
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // The timeout is the tick; a message or a disconnect is the stop signal.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                    on_tick();
                    // Relaxed: a statistic; the join in `stop` orders it before any final read.
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawn ticker thread");
        Ticker {
            stop: Some(stop),
            thread: Some(thread),
            ticks,
        }
    }

    /// Ticks so far.
    pub fn ticks(&self) -> u64 {
        // Relaxed: a statistic read while the thread runs; no other data depends on it.
        self.ticks.load(Ordering::Relaxed)
    }

    /// Stop the thread and wait for it; returns the total number of ticks.
    pub fn stop(mut self) -> u64 {
        self.shutdown();
        self.ticks()
    }

    fn shutdown(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            // A panic in `on_tick` ended the thread already; nothing more to do for it.
            let _ = t.join();
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The mistake: a ticker whose owner has no way (and no duty) to stop it. Dropping the owner changes
/// nothing; the thread keeps ticking. For the demo, [`LeakyTicker::spawn`] hands the *experiment*
/// a [`Containment`] so that it can stop and join the thread afterwards.
#[derive(Debug)]
pub struct LeakyTicker {
    ticks: Arc<AtomicU64>,
}

/// The experiment's side door into a [`LeakyTicker`]: count its ticks, stop it, join it.
#[derive(Debug)]
pub struct Containment {
    ticks: Arc<AtomicU64>,
    halt: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl LeakyTicker {
    /// Start the leaky ticker; the [`Containment`] is for the experiment, not the owner.
    pub fn spawn(name: &str, period: Duration) -> (LeakyTicker, Containment) {
        let ticks = Arc::new(AtomicU64::new(0));
        let halt = Arc::new(AtomicBool::new(false));
        let (counter, flag) = (Arc::clone(&ticks), Arc::clone(&halt));
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // Acquire pairs with the Release in `Containment::stop`; the flag guards no data,
                // but the pair makes "stop was requested" a clean happens-before edge.
                while !flag.load(Ordering::Acquire) {
                    thread::sleep(period);
                    // Relaxed: a statistic; `Containment::stop` joins before its final read.
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawn leaky ticker thread");
        (
            LeakyTicker {
                ticks: Arc::clone(&ticks),
            },
            Containment {
                ticks,
                halt,
                thread,
            },
        )
    }

    /// Ticks so far.
    pub fn ticks(&self) -> u64 {
        // Relaxed: a statistic.
        self.ticks.load(Ordering::Relaxed)
    }
}

impl Containment {
    /// Ticks so far.
    pub fn ticks(&self) -> u64 {
        // Relaxed: a statistic.
        self.ticks.load(Ordering::Relaxed)
    }

    /// Stop the leaked thread and join it; returns the total number of ticks.
    pub fn stop(self) -> u64 {
        // Release pairs with the Acquire load in the ticker loop.
        self.halt.store(true, Ordering::Release);
        let _ = self.thread.join();
        // Relaxed: the join above ordered every increment before this read.
        self.ticks.load(Ordering::Relaxed)
    }
}
