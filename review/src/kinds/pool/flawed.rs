//! **Broken on purpose.** One fixed-size pool with a switch per catalogued flaw: `Flawed<BUG>` is a
//! correct pool (a `VecDeque` of numbered tasks behind a `Mutex`, results left in a map keyed by the
//! task's number) except for the one mistake `BUG` names, so the review of each must name exactly
//! that flaw (`review/tests/diagnosis_pool.rs`). Each mistake is one a reader makes when writing a
//! pool for the first time; the line that makes it is marked `BUG`.
//!
//! `Flawed<CORRECT>` has no mistake: its clean review shows that the switches, off, leave a pool the
//! reviewer accepts. The race of [`RESULTS_MIXED_UP`] is made likely on any machine by a
//! `yield_now` between reading the next task number and writing it back.
use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use harness::contracts::pool::{
    ContractPool, Job, Overflow, PoolFlavor, PoolSpec, QueueBound, ShutdownMode, ShutdownReport,
    SubmitRefused, TaskHandle, TaskOutcome, Unsupported,
};

/// No mistake.
pub const CORRECT: u8 = 0;
/// The task runs without `catch_unwind`: its panic unwinds and ends the worker thread.
pub const PANIC_KILLS_WORKER: u8 = 1;
/// `shutdown(Drain)` clears the queue, as `Abandon` does.
pub const SHUTDOWN_DROPS_QUEUED: u8 = 2;
/// Closing sets the flag but wakes no sleeping worker: `Drop` then joins workers asleep for good.
pub const SHUTDOWN_HANGS: u8 = 3;
/// `shutdown` returns as soon as it set the flag, without waiting for the queue and running tasks.
pub const TASKS_RUN_AFTER_SHUTDOWN: u8 = 4;
/// `submit` never looks at the flag: a task submitted after shutdown is queued, and never runs.
pub const SUBMIT_AFTER_SHUTDOWN_ACCEPTED: u8 = 5;
/// The fullness check is `len > cap` instead of `len >= cap`: one task too many is admitted.
pub const BOUNDED_OVER_ADMITS: u8 = 6;
/// The task number is read, then written back plus one, in two steps: two concurrent submits can
/// take the same number, and their results go to the wrong handle or to none.
pub const RESULTS_MIXED_UP: u8 = 7;

/// Each switch and the catalogue id its review must name (`None` for [`CORRECT`]).
pub const SWITCHES: [(u8, Option<&str>); 8] = [
    (CORRECT, None),
    (PANIC_KILLS_WORKER, Some("panic-kills-worker")),
    (SHUTDOWN_DROPS_QUEUED, Some("shutdown-drops-queued")),
    (SHUTDOWN_HANGS, Some("shutdown-hangs")),
    (TASKS_RUN_AFTER_SHUTDOWN, Some("tasks-run-after-shutdown")),
    (
        SUBMIT_AFTER_SHUTDOWN_ACCEPTED,
        Some("submit-after-shutdown-accepted"),
    ),
    (BOUNDED_OVER_ADMITS, Some("bounded-over-admits")),
    (RESULTS_MIXED_UP, Some("results-mixed-up")),
];

const NAMES: [&str; 8] = [
    "flawed: none",
    "flawed: panic-kills-worker",
    "flawed: shutdown-drops-queued",
    "flawed: shutdown-hangs",
    "flawed: tasks-run-after-shutdown",
    "flawed: submit-after-shutdown-accepted",
    "flawed: bounded-over-admits",
    "flawed: results-mixed-up",
];

/// The flavor: builds a [`FlawedPool`] with mistake `BUG` (one of the constants above).
#[derive(Debug)]
pub struct Flawed<const BUG: u8>;

struct Queued {
    /// (waiting tasks with their numbers, workers asleep, running, workers alive, ran, closed)
    tasks: VecDeque<(u64, Job)>,
    idle: usize,
    running: usize,
    alive: usize,
    ran: usize,
    closed: bool,
}

struct Inner {
    queued: Mutex<Queued>,
    wake: Condvar,
    /// Room in the queue, a worker gone idle, a worker exited.
    changed: Condvar,
    results: Mutex<HashMap<u64, TaskOutcome>>,
    result_in: Condvar,
    next: AtomicU64,
    cap: Option<usize>,
    reject: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn deliver(&self, id: u64, outcome: TaskOutcome) {
        lock(&self.results).insert(id, outcome);
        self.result_in.notify_all();
    }

    fn worker<const BUG: u8>(&self) {
        let mut q = lock(&self.queued);
        loop {
            if let Some((id, job)) = q.tasks.pop_front() {
                q.running += 1;
                self.changed.notify_all();
                drop(q);
                let outcome = if BUG == PANIC_KILLS_WORKER {
                    TaskOutcome::Done(job()) // BUG: a panic here unwinds out of the worker
                } else {
                    match catch_unwind(AssertUnwindSafe(job)) {
                        Ok(v) => TaskOutcome::Done(v),
                        Err(p) => TaskOutcome::Panicked(Some(shim::panic_message(&*p))),
                    }
                };
                self.deliver(id, outcome);
                q = lock(&self.queued);
                q.running -= 1;
                q.ran += 1;
            } else if q.closed {
                q.alive -= 1;
                self.changed.notify_all();
                return;
            } else {
                q.idle += 1;
                self.changed.notify_all();
                q = self.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                q.idle -= 1;
            }
        }
    }

    fn close<const BUG: u8>(&self, abandon: bool) -> usize {
        let mut q = lock(&self.queued);
        q.closed = true;
        let dropped: Vec<(u64, Job)> = if abandon {
            q.tasks.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(q);
        if BUG != SHUTDOWN_HANGS {
            self.wake.notify_all(); // BUG (SHUTDOWN_HANGS): skipped, sleeping workers never see `closed`
        }
        self.changed.notify_all();
        for (id, _) in &dropped {
            self.deliver(*id, TaskOutcome::Dropped);
        }
        dropped.len()
    }
}

/// The pool with mistake `BUG`.
pub struct FlawedPool<const BUG: u8> {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    name: String,
}

/// A handle: the task's number, looked up in the results map.
pub struct FlawedHandle {
    inner: Arc<Inner>,
    id: u64,
}

impl TaskHandle for FlawedHandle {
    fn join(self) -> TaskOutcome {
        let mut r = lock(&self.inner.results);
        loop {
            if let Some(o) = r.remove(&self.id) {
                return o;
            }
            r = self
                .inner
                .result_in
                .wait(r)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl<const BUG: u8> ContractPool for FlawedPool<BUG> {
    type Handle = FlawedHandle;

    fn submit(&self, job: Job) -> Result<FlawedHandle, SubmitRefused> {
        let inner = &*self.inner;
        let id = if BUG == RESULTS_MIXED_UP {
            // BUG: read, then write back, in two steps; another submit can read the same number.
            let id = inner.next.load(SeqCst);
            thread::yield_now();
            inner.next.store(id + 1, SeqCst);
            id
        } else {
            inner.next.fetch_add(1, SeqCst) // SeqCst: a counter; any order gives distinct numbers
        };
        let mut q = lock(&inner.queued);
        loop {
            if q.closed && BUG != SUBMIT_AFTER_SHUTDOWN_ACCEPTED {
                return Err(SubmitRefused::ShutDown); // BUG (SUBMIT_AFTER_...): this check missing
            }
            let full = match inner.cap {
                None => false,
                // BUG (BOUNDED_OVER_ADMITS): `>` where `>=` is meant.
                Some(cap) if BUG == BOUNDED_OVER_ADMITS => q.tasks.len() > cap + q.idle,
                Some(cap) => q.tasks.len() >= cap + q.idle,
            };
            if !full {
                break;
            }
            if inner.reject {
                return Err(SubmitRefused::Rejected);
            }
            q = inner.changed.wait(q).unwrap_or_else(|e| e.into_inner());
        }
        q.tasks.push_back((id, job));
        drop(q);
        inner.wake.notify_one();
        Ok(FlawedHandle {
            inner: self.inner.clone(),
            id,
        })
    }

    fn thread_name_prefix(&self) -> Option<&str> {
        Some(&self.name)
    }

    fn shutdown(
        &self,
        mode: ShutdownMode,
        deadline: Duration,
    ) -> Result<ShutdownReport, Unsupported> {
        let inner = &*self.inner;
        let end = Instant::now() + deadline;
        // BUG (SHUTDOWN_DROPS_QUEUED): the queue is discarded whatever the mode.
        let abandon = mode == ShutdownMode::Abandon || BUG == SHUTDOWN_DROPS_QUEUED;
        let abandoned = inner.close::<BUG>(abandon);
        let mut q = lock(&inner.queued);
        // BUG (TASKS_RUN_AFTER_SHUTDOWN): no waiting at all.
        while q.alive > 0 && BUG != TASKS_RUN_AFTER_SHUTDOWN {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            q = inner
                .changed
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let late: Vec<(u64, Job)> = if BUG == TASKS_RUN_AFTER_SHUTDOWN {
            Vec::new()
        } else {
            q.tasks.drain(..).collect()
        };
        let report = ShutdownReport {
            ran: q.ran,
            abandoned: abandoned + late.len(),
            still_running: q.running,
        };
        drop(q);
        for (id, _) in late {
            inner.deliver(id, TaskOutcome::Dropped);
        }
        Ok(report)
    }
}

impl<const BUG: u8> Drop for FlawedPool<BUG> {
    fn drop(&mut self) {
        self.inner.close::<BUG>(false);
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
    }
}

impl<const BUG: u8> PoolFlavor for Flawed<BUG> {
    const NAME: &'static str = NAMES[BUG as usize];
    type Pool = FlawedPool<BUG>;

    fn build(spec: &PoolSpec) -> Result<FlawedPool<BUG>, Unsupported> {
        if !spec.is_fixed() || spec.max_workers == 0 {
            return Err(Unsupported("a fixed pool of at least one worker only"));
        }
        let cap = match spec.queue {
            QueueBound::Unbounded => None,
            QueueBound::Bounded(_)
                if !matches!(spec.overflow, Overflow::Block | Overflow::Reject) =>
            {
                return Err(Unsupported("overflow policies: Block and Reject only"));
            }
            QueueBound::Bounded(cap) => Some(cap),
        };
        let inner = Arc::new(Inner {
            queued: Mutex::new(Queued {
                tasks: VecDeque::new(),
                idle: 0,
                running: 0,
                alive: spec.max_workers,
                ran: 0,
                closed: false,
            }),
            wake: Condvar::new(),
            changed: Condvar::new(),
            results: Mutex::new(HashMap::new()),
            result_in: Condvar::new(),
            next: AtomicU64::new(0),
            cap,
            reject: spec.overflow == Overflow::Reject,
        });
        let pool = FlawedPool {
            inner,
            threads: Mutex::new(Vec::new()),
            name: spec.name.clone(),
        };
        for i in 0..spec.max_workers {
            let inner = pool.inner.clone();
            let t = thread::Builder::new()
                .name(format!("{}{i}", spec.name))
                .spawn(move || inner.worker::<BUG>())
                .map_err(|_| Unsupported("could not spawn a worker thread"))?;
            lock(&pool.threads).push(t);
        }
        Ok(pool)
    }
}
