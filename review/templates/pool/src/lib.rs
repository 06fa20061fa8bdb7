//! A pool of your own: start here. This is a naive fixed-size worker pool that works — N threads
//! taking boxed tasks from one `VecDeque` behind a `Mutex`, a `Condvar` to wake them — and reviews
//! clean. Make it yours: a queue per worker with stealing, a lock-free injector, elastic workers;
//! break it and see the review name what broke (`make review NAME=<your attempt>`).
//!
//! What the review runs against is [`Attempt`], a `harness::contracts::pool::PoolFlavor`: a factory,
//! `build(spec)`, for a pool that implements `ContractPool` — `submit` (admit a task, or refuse it
//! per the queue bound and overflow policy, or because the pool is shut down), `shutdown` (stop
//! admitting, run or discard what is queued, wait for the running tasks, report), and a handle whose
//! `join` reports how the task ended. Keep those; everything behind them is yours. A spec this pool
//! cannot honour (elastic workers, the overflow policies but `Block` and `Reject`) is refused with
//! `Unsupported`, never built as something else.
//!
//! The mutex and condvars come from `shim::sync`: the same path is `std::sync` normally and loom's
//! model-checked types under `RUSTFLAGS="--cfg loom"`.
//!
//! Rules this naive version keeps, and the review checks (phase2/README.md#exercise1--worker-pool-bounded-concurrency
//! and phase5/workpool/README.md explain them): a task's panic is caught on its worker, which lives
//! on; the admission check and the push are one step under the lock; shutdown wakes every sleeping
//! worker, refuses new tasks, and returns only once the queue it was asked to drain has run; every
//! task carries its own result slot.
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use harness::contracts::pool::{
    ContractPool, Job, Overflow, PoolFlavor, PoolSpec, QueueBound, ShutdownMode, ShutdownReport,
    SubmitRefused, TaskHandle, TaskOutcome, Unsupported,
};
use shim::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Where a task's outcome is left for its handle: `None` until the task ended.
#[derive(Debug, Default)]
struct Slot {
    outcome: Mutex<Option<TaskOutcome>>,
    filled: Condvar,
}

impl Slot {
    fn fill(&self, outcome: TaskOutcome) {
        *lock(&self.outcome) = Some(outcome);
        self.filled.notify_all();
    }
}

/// A queued task and the slot its handle waits on.
struct Task {
    job: Job,
    slot: Arc<Slot>,
}

/// What the lock guards.
struct State {
    queue: VecDeque<Task>,
    /// Workers asleep waiting for a task: a task may be admitted for each, beyond the bound.
    idle: usize,
    /// Tasks running now.
    running: usize,
    /// Workers not yet exited.
    alive: usize,
    /// Tasks that ran to their end (returned or panicked), over the pool's life.
    ran: usize,
    /// Set by `shutdown` or `Drop`: refuse new tasks; workers exit once the queue is empty.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Workers wait here for a task (or for `closed`).
    work: Condvar,
    /// Submitters wait here for room (`Overflow::Block`); `shutdown` waits here for the workers.
    changed: Condvar,
    bound: Option<usize>,
    overflow: Overflow,
}

/// Locks, ignoring poisoning: no code here panics while holding a lock (tasks run outside it).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn full(&self, s: &State) -> bool {
        self.bound.is_some_and(|cap| s.queue.len() >= cap + s.idle)
    }

    fn worker(&self) {
        let mut s = lock(&self.state);
        loop {
            if let Some(task) = s.queue.pop_front() {
                s.running += 1;
                self.changed.notify_all(); // room for a blocked submitter
                drop(s);
                let outcome = match catch_unwind(AssertUnwindSafe(task.job)) {
                    Ok(v) => TaskOutcome::Done(v),
                    Err(payload) => TaskOutcome::Panicked(Some(shim::panic_message(&*payload))),
                };
                task.slot.fill(outcome);
                s = lock(&self.state);
                s.running -= 1;
                s.ran += 1;
            } else if s.closed {
                s.alive -= 1;
                self.changed.notify_all(); // `shutdown` may be waiting for the last worker
                return;
            } else {
                s.idle += 1;
                // An idle worker is room for one more task (a hand-off queue admits only then).
                self.changed.notify_all();
                s = self.work.wait(s).unwrap_or_else(|e| e.into_inner());
                s.idle -= 1;
            }
        }
    }

    /// Stops admitting and wakes everyone; with `abandon`, discards the queue. The tasks discarded.
    fn close(&self, abandon: bool) -> usize {
        let mut s = lock(&self.state);
        s.closed = true;
        let dropped: Vec<Task> = if abandon {
            s.queue.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(s);
        self.work.notify_all();
        self.changed.notify_all();
        for t in &dropped {
            t.slot.fill(TaskOutcome::Dropped);
        }
        dropped.len()
    }
}

/// The pool the review runs.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    name: String,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("name", &self.name).finish()
    }
}

/// What `submit` hands back: waits on the task's slot.
#[derive(Debug)]
pub struct Handle(Arc<Slot>);

impl TaskHandle for Handle {
    fn join(self) -> TaskOutcome {
        let mut o = lock(&self.0.outcome);
        loop {
            if let Some(outcome) = o.take() {
                return outcome;
            }
            o = self.0.filled.wait(o).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl ContractPool for Pool {
    type Handle = Handle;

    fn submit(&self, job: Job) -> Result<Handle, SubmitRefused> {
        let sh = &*self.shared;
        let mut s = lock(&sh.state);
        loop {
            if s.closed {
                return Err(SubmitRefused::ShutDown);
            }
            if !sh.full(&s) {
                break;
            }
            match sh.overflow {
                Overflow::Reject => return Err(SubmitRefused::Rejected),
                _ => s = sh.changed.wait(s).unwrap_or_else(|e| e.into_inner()),
            }
        }
        let slot = Arc::new(Slot::default());
        s.queue.push_back(Task {
            job,
            slot: slot.clone(),
        });
        drop(s);
        sh.work.notify_one();
        Ok(Handle(slot))
    }

    fn thread_name_prefix(&self) -> Option<&str> {
        Some(&self.name)
    }

    fn shutdown(
        &self,
        mode: ShutdownMode,
        deadline: Duration,
    ) -> Result<ShutdownReport, Unsupported> {
        let sh = &*self.shared;
        let end = Instant::now() + deadline;
        let abandoned = sh.close(mode == ShutdownMode::Abandon);
        let mut s = lock(&sh.state);
        // Drain (or let the running tasks end) until the deadline; what is still queued then is
        // discarded.
        while s.alive > 0 {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = sh
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let late: Vec<Task> = s.queue.drain(..).collect();
        let report = ShutdownReport {
            ran: s.ran,
            abandoned: abandoned + late.len(),
            still_running: s.running,
        };
        drop(s);
        for t in late {
            t.slot.fill(TaskOutcome::Dropped);
        }
        Ok(report)
    }
}

impl Drop for Pool {
    /// Stops admitting, lets the workers run what is queued, and joins them.
    fn drop(&mut self) {
        self.shared.close(false);
        for w in lock(&self.workers).drain(..) {
            let _ = w.join();
        }
    }
}

/// The factory the review calls: `Attempt::build(spec)`.
#[derive(Debug)]
pub struct Attempt;

impl PoolFlavor for Attempt {
    const NAME: &'static str = "naive template";
    type Pool = Pool;

    fn build(spec: &PoolSpec) -> Result<Pool, Unsupported> {
        if !spec.is_fixed() {
            return Err(Unsupported(
                "a fixed pool only (min_workers == max_workers)",
            ));
        }
        if spec.max_workers == 0 {
            return Err(Unsupported("a pool needs at least one worker"));
        }
        let bound = match spec.queue {
            QueueBound::Unbounded => None,
            QueueBound::Bounded(cap) => {
                if !matches!(spec.overflow, Overflow::Block | Overflow::Reject) {
                    return Err(Unsupported("overflow policies: Block and Reject only"));
                }
                Some(cap)
            }
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                idle: 0,
                running: 0,
                alive: spec.max_workers,
                ran: 0,
                closed: false,
            }),
            work: Condvar::new(),
            changed: Condvar::new(),
            bound,
            overflow: spec.overflow,
        });
        let pool = Pool {
            shared,
            workers: Mutex::new(Vec::new()),
            name: spec.name.clone(),
        };
        for i in 0..spec.max_workers {
            let shared = pool.shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{}{i}", spec.name))
                .spawn(move || shared.worker());
            match spawned {
                Ok(w) => lock(&pool.workers).push(w),
                Err(_) => {
                    // Only `i` workers exist; dropping the pool stops and joins them.
                    lock(&pool.shared.state).alive = i;
                    return Err(Unsupported("could not spawn a worker thread"));
                }
            }
        }
        Ok(pool)
    }
}
