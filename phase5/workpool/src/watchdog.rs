//! The stuck-task watchdog: a thread that looks at what every worker is running a few times per
//! threshold and reports, once per task, each one running longer than the threshold — by name, so
//! a wedged blocking call is found without attaching a debugger (tokio, rayon and pond give no
//! view of a task that never returns).
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use crate::pool::Shared;
use crate::sync::contain;

/// A task found running longer than [`Builder::stuck_after`](crate::Builder::stuck_after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckTask {
    /// Its name ([`TaskOptions::name`](crate::TaskOptions::name)), if it has one.
    pub name: Option<String>,
    /// The index of the worker running it (`usize::MAX`: a caller's thread).
    pub worker: usize,
    /// How long it had been running when found.
    pub running_for: Duration,
    /// The pool-wide sequence number of its start (tells two runs of one name apart).
    pub task_seq: u64,
}

/// The watchdog thread and its stop signal. It holds the pool weakly: it never keeps a pool alive.
#[derive(Debug)]
pub(crate) struct Watchdog {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: std::thread::JoinHandle<()>,
}

impl Watchdog {
    /// Starts the watchdog when the pool has a `stuck_after` threshold (never under loom: it only
    /// waits with timeouts, which loom does not model).
    pub(crate) fn start(shared: &Arc<Shared>) -> Option<Watchdog> {
        let threshold = shared.config.stuck_after?;
        if cfg!(loom) {
            return None;
        }
        let period = (threshold / 4).clamp(Duration::from_millis(1), Duration::from_millis(250));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let pool: Weak<Shared> = Arc::downgrade(shared);
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{}-watchdog", shared.config.name))
            .spawn(move || {
                let (stopped, cv) = &*signal;
                let mut guard = stopped.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    guard = cv
                        .wait_timeout(guard, period)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    if *guard {
                        return;
                    }
                    let Some(pool) = pool.upgrade() else { return };
                    for task in pool.scan_stuck(threshold, true) {
                        if let Some(hook) = &pool.config.on_stuck {
                            contain(|| hook(&task));
                        }
                    }
                }
            })
            .ok()?;
        Some(Watchdog { stop, thread })
    }

    pub(crate) fn stop(self) {
        let (stopped, cv) = &*self.stop;
        *stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
        let _ = self.thread.join();
    }
}
