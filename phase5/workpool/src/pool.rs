//! The pool: one lock over the queue and the worker bookkeeping, three condition variables (work
//! for workers, room for blocked submitters, done for shutdown and `wait_idle`), elastic workers.
//!
//! Why one lock: every decision here reads several quantities at once — "is there room" compares
//! queued tasks with the bound, the idle, spinning and starting workers and the workers the pool may
//! still start; "may this idle worker exit" needs the queue empty *and* the worker count above the
//! minimum. Taken under one lock, each decision is atomic and the protocol is easy to argue (and to
//! model: `tests/loom_pool.rs`).
//!
//! What keeps that lock off the hot path:
//! - *Batches.* A worker takes a fair share of the queue (up to 16 tasks) per round trip, into its
//!   own slot (`metrics::WorkerSlot`), and then pays one uncontended lock per task boundary. It
//!   batches only when no sibling is idle, spinning or starting (one that is would start those tasks
//!   at once), and a worker that runs out of work takes the older half of a busy sibling's batch, so
//!   no task waits behind a long one while a worker is free.
//! - *Spinning before sleeping.* An idle worker watches a lock-free hint of the queue length for
//!   about a microsecond before it sleeps on `work`: a steady stream of submits finds it awake.
//! - *Wake-ups are claims.* A submit notifies a sleeping worker only when more workers sleep than
//!   have already been woken (`idle > wakes`), after releasing the lock, so a burst of submits costs
//!   one futex wake per sleeper, not one per task; a task that finds no sleeper starts a worker if
//!   the pool may grow.
use std::borrow::Cow;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use shim::sync::atomic::AtomicBool;
use shim::sync::{Condvar, Mutex, MutexGuard};
use shim::thread::{self, JoinHandle};

use crate::config::{Builder, Config, Overflow, Queue, TaskOptions, Wait};
use crate::error::{BuildError, SubmitError, TaskError};
use crate::lanes::Lanes;
use crate::metrics::{Counters, Ended, Hist, Metrics, WorkerSlot, bump};
use crate::state::Lifecycle;
use crate::subpool::SubShared;
use crate::sync::{contain, lock};
use crate::task::{
    DetachedCell, Header, Owned, Priority, Ran, Runnable, TaskCell, TaskContext, TaskHandle,
};
use crate::twin::{self, Twin};
use crate::watchdog::{StuckTask, Watchdog};

/// Rounds of `spin_for_work` before an idle worker sleeps: exponential spinning, 127 pause
/// instructions in all. None under loom, whose models would only grow.
const SPIN_STEPS: u32 = if cfg!(loom) { 0 } else { 7 };

/// The most tasks a worker takes from the queue per round trip on the pool's lock (2 under loom,
/// so the models cover batches without growing).
const MAX_BATCH: usize = if cfg!(loom) { 2 } else { 16 };

/// How long a submitter blocked on a full queue sleeps before it looks again by itself. Workers wake
/// blocked submitters only once half the bound is free ([`Core::worth_waking`]), so one whose room
/// came in smaller steps (a worker took a few tasks, then blocked in one of them) is still admitted
/// within this much, never stranded. Not under loom: a timed wait would only grow the models, whose
/// bounds (under 4) wake a blocked submitter on every free slot, as the real code does for them.
const RECHECK: Duration = Duration::from_millis(1);

/// A queued task, as the queue holds it.
pub(crate) type Job = Arc<dyn Runnable>;

/// Builds a task cell and its two views (queue entry, handle) on one allocation.
pub(crate) fn make_task<'a, F, T>(
    header: Header,
    f: F,
) -> (Arc<dyn Runnable + 'a>, Arc<dyn Owned<T> + 'a>)
where
    F: FnOnce(&TaskContext<'_>) -> T + Send + 'a,
    T: Send + 'a,
{
    let cell = Arc::new(TaskCell::new(header, f));
    (cell.clone(), cell)
}

/// Where the pool is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Admitting tasks.
    Open,
    /// Refusing new tasks, running the queued ones.
    Draining,
    /// Refusing new tasks; the queue has been discarded and running tasks are asked to stop.
    Stopped,
}

/// Everything the lock protects.
#[derive(Debug)]
struct Core {
    lanes: Lanes<Job>,
    /// Worker threads alive or starting (a reserved start counts at once).
    workers: usize,
    /// Workers waiting on `work`.
    idle: usize,
    /// Workers spinning for work before they wait (takers too: they see a push within microseconds).
    spinning: usize,
    /// Workers reserved and not yet in their loop (takers too: the first thing they do is look).
    starting: usize,
    /// Notifications sent to `work` that no woken worker has consumed yet.
    wakes: usize,
    /// Workers busy with a batch.
    running: usize,
    /// Tasks taken into workers' batches beyond the one each starts at once (an upper bound while
    /// the batch runs).
    batched: usize,
    min: usize,
    max: usize,
    /// Submitters waiting on `room`.
    blocked: usize,
    /// Threads waiting on `done` in `wait_idle`.
    quiet_waiters: usize,
    phase: Phase,
    peak: usize,
    /// Mean run time of recent tasks in ns: an EWMA (1/16 per sample) kept by the workers, for
    /// deadline-aware admission.
    mean_run_ns: u64,
}

impl Core {
    /// Is there room for one more task? At most `cap` tasks wait beyond those that an idle,
    /// spinning or starting worker, or a worker the pool may still start, is about to take.
    fn has_room(&self, queue: Queue) -> bool {
        self.free(queue) > 0
    }

    /// How many more tasks may wait now (`usize::MAX` unbounded).
    fn free(&self, queue: Queue) -> usize {
        match queue {
            Queue::Unbounded => usize::MAX,
            Queue::Bounded(cap) => {
                let takers = self.idle
                    + self.spinning
                    + self.starting
                    + self.max.saturating_sub(self.workers);
                cap.saturating_add(takers)
                    .saturating_sub(self.lanes.len() + self.batched)
            }
        }
    }

    /// Should a worker that has just taken tasks wake the submitters blocked on the full queue?
    /// Only once half the bound is free (one slot for bounds under 4, as before): a submitter woken
    /// for every batch taken pushes a batch's worth and sleeps again, a futex wake and a context
    /// switch per batch, and the default pool (1024 slots, Block) measured 1.4-1.5× the time of an
    /// unbounded one on tiny tasks that way. A worker about to go idle wakes one at once whatever
    /// the room, and a blocked submitter looks again by itself after [`RECHECK`].
    fn worth_waking(&self, queue: Queue) -> bool {
        let half = match queue {
            Queue::Unbounded => 1,
            Queue::Bounded(cap) => (cap / 2).max(1),
        };
        self.blocked > 0 && self.free(queue) >= half
    }

    /// Queues `job` and claims a wake-up of a sleeper that nobody has woken yet, or reserves a
    /// new worker. The caller acts on it once the lock is released ([`Shared::after_push`]): a
    /// worker woken while the lock is still held would only block on it.
    fn push_and_wake(&mut self, job: Job) -> AfterPush {
        let after = self.wake_or_grow(&job);
        self.lanes.push(job.header().priority, job);
        after
    }

    fn wake_or_grow(&mut self, job: &Job) -> AfterPush {
        if self.idle > self.wakes {
            self.wakes += 1;
            AfterPush::Wake
        } else if self.workers < self.max {
            self.reserve_worker();
            AfterPush::Start(job.clone())
        } else {
            AfterPush::Nothing
        }
    }

    fn reserve_worker(&mut self) {
        self.workers += 1;
        self.starting += 1;
        self.peak = self.peak.max(self.workers);
    }
}

#[cfg(not(loom))]
std::thread_local! {
    /// The address of the pool whose worker this thread is (0: none). Lets a worker that submits to
    /// its own full pool run the task itself instead of blocking on a slot only its siblings free.
    static CURRENT_POOL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// Loom runs a model's threads on one OS thread: only its own thread-locals are per model thread.
#[cfg(loom)]
loom::thread_local! {
    static CURRENT_POOL: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    core: Mutex<Core>,
    work: Condvar,
    room: Condvar,
    done: Condvar,
    /// Set when the pool stops: every running task's context reports it as cancelled.
    pub(crate) stop: AtomicBool,
    pub(crate) counters: Counters,
    next_worker: AtomicU64,
    /// How many workers may spin at once: one core fewer than the machine has (none on one core).
    max_spinners: usize,
    /// `lanes.len()` as of the last change, readable without the lock: what a spinning worker
    /// watches. Only a hint (Relaxed): the worker re-reads the lanes under the lock.
    queued_hint: std::sync::atomic::AtomicUsize,
    slots: Mutex<Vec<Arc<WorkerSlot>>>,
    retired: Mutex<Hist>,
    /// Tasks run on a caller's thread (CallerRuns, scopes) record here.
    inline: WorkerSlot,
    handles: Mutex<Vec<JoinHandle<()>>>,
    subs: Mutex<Vec<std::sync::Weak<SubShared>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What [`Pool::shutdown`] and [`Pool::shutdown_now`] report: the fate of every task the pool
/// admitted. `submitted == completed + panicked + cancelled + dropped + unstarted + still_running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Tasks admitted over the pool's life.
    pub submitted: u64,
    /// Tasks that ran and returned.
    pub completed: u64,
    /// Tasks that ran and panicked.
    pub panicked: u64,
    /// Tasks cancelled before they started (through a handle or a group).
    pub cancelled: u64,
    /// Tasks evicted by `DropOldest`.
    pub dropped: u64,
    /// Tasks the shutdown discarded before they started.
    pub unstarted: u64,
    /// Tasks still running when the shutdown returned (asked to stop; `Drop` waits for them).
    pub still_running: u64,
}

impl ShutdownReport {
    /// True when every admitted task is accounted for exactly once.
    pub fn is_consistent(&self) -> bool {
        self.submitted
            == self.completed
                + self.panicked
                + self.cancelled
                + self.dropped
                + self.unstarted
                + self.still_running
    }
}

/// A worker pool. See the [crate docs](crate) for a tour.
///
/// Dropping the pool runs every queued task and joins every worker (it never detaches one); use
/// [`shutdown`](Pool::shutdown) or [`shutdown_now`](Pool::shutdown_now) first for a bounded stop.
pub struct Pool {
    pub(crate) shared: Arc<Shared>,
    watchdog: Option<Watchdog>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = lock(&self.shared.core);
        f.debug_struct("Pool")
            .field("name", &self.shared.config.name)
            .field("workers", &core.workers)
            .field("queued", &core.lanes.len())
            .field("phase", &core.phase)
            .finish()
    }
}

/// What a push asks of the submitter once it has released the lock.
#[derive(Debug)]
enum AfterPush {
    /// Notify one sleeping worker (its wake-up is already counted in `wakes`).
    Wake,
    /// Start the worker reserved in `workers`; the task it was reserved for, in case it cannot
    /// start. (Only here does the submitter keep a reference past the push: on the common paths
    /// the task moves into the queue, and no reference count is touched on a line the worker
    /// that takes it is already writing.)
    Start(Job),
    Nothing,
}

enum OnFull {
    Refuse,
    Wait(Option<Instant>),
    RunHere,
    Evict,
}

impl Pool {
    /// A [`Builder`] with the defaults.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn start(config: Config) -> Result<Pool, BuildError> {
        let min = config.min_workers;
        let shared = Arc::new(Shared {
            core: Mutex::new(Core {
                lanes: Lanes::new(config.aging),
                workers: 0,
                idle: 0,
                spinning: 0,
                starting: 0,
                wakes: 0,
                running: 0,
                batched: 0,
                min,
                max: config.max_workers,
                blocked: 0,
                quiet_waiters: 0,
                phase: Phase::Open,
                peak: 0,
                mean_run_ns: 0,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            done: Condvar::new(),
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            next_worker: AtomicU64::new(0),
            queued_hint: std::sync::atomic::AtomicUsize::new(0),
            max_spinners: std::thread::available_parallelism().map_or(1, |n| n.get()) - 1,
            slots: Mutex::new(Vec::new()),
            retired: Mutex::new(Hist::new()),
            inline: WorkerSlot::new(None),
            handles: Mutex::new(Vec::new()),
            subs: Mutex::new(Vec::new()),
            config,
        });
        let watchdog = Watchdog::start(&shared);
        let pool = Pool { shared, watchdog };
        for _ in 0..min {
            lock(&pool.shared.core).reserve_worker();
            if let Err(e) = pool.shared.spawn_worker() {
                // `pool` drops here: the workers already started are shut down and joined.
                return Err(BuildError::Spawn(e));
            }
        }
        Ok(pool)
    }

    /// Submits `f`; its [`TaskHandle`] joins it. When the queue is full the pool's
    /// [`Overflow`] policy decides.
    ///
    /// ```
    /// let pool = workpool::Pool::builder().workers(2).build()?;
    /// let handles: Vec<_> = (0..4).map(|i| pool.submit(move || i * i)).collect::<Result<_, _>>()?;
    /// let squares: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    /// assert_eq!(squares, [0, 1, 4, 9]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit<F, T>(&self, f: F) -> Result<TaskHandle<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_with(TaskOptions::new(), move |_| f())
    }

    /// Submits `f` with [`TaskOptions`] (name, priority, admission deadline, how long to wait for
    /// room); `f` gets a [`TaskContext`] to check for cancellation.
    pub fn submit_with<F, T>(
        &self,
        options: TaskOptions,
        f: F,
    ) -> Result<TaskHandle<T>, SubmitError>
    where
        F: FnOnce(&TaskContext<'_>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, handle) = make_task(Header::new(options.name, options.priority), f);
        self.shared
            .admit(job, options.deadline, options.wait.unwrap_or(Wait::Policy))?;
        Ok(TaskHandle::new(handle))
    }

    /// Submits without ever waiting: `Err(Full)` when the queue is full, whatever the policy
    /// (`DropOldest` still evicts; `CallerRuns` refuses rather than run the task here).
    ///
    /// ```
    /// use workpool::{Pool, Queue, SubmitError};
    /// let pool = Pool::builder().workers(1).queue(Queue::Bounded(0)).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let busy = pool.submit(move || rx.recv().ok())?; // the one worker is taken
    /// assert_eq!(pool.try_submit(|| ()).unwrap_err(), SubmitError::Full);
    /// tx.send(()).unwrap();
    /// busy.join()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_submit<F, T>(&self, f: F) -> Result<TaskHandle<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_with(TaskOptions::new().nonblocking(), move |_| f())
    }

    /// Submits, waiting for room at most `timeout` (whatever the policy), then `Err(TimedOut)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workpool::{Pool, Queue, SubmitError};
    /// let pool = Pool::builder().workers(1).queue(Queue::Bounded(0)).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let busy = pool.submit(move || rx.recv().ok())?;
    /// let refused = pool.submit_timeout(Duration::from_millis(20), || ());
    /// assert_eq!(refused.unwrap_err(), SubmitError::TimedOut);
    /// tx.send(()).unwrap();
    /// busy.join()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_timeout<F, T>(
        &self,
        timeout: Duration,
        f: F,
    ) -> Result<TaskHandle<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_with(TaskOptions::new().wait_at_most(timeout), move |_| f())
    }

    /// Deadline-aware admission: refuses at once with
    /// [`SubmitError::DeadlineUnmeetable`] when the predicted wait before a worker starts the task
    /// (queued work ahead of it × recent mean run time ÷ workers, Little's law) already passes
    /// `deadline`, instead of letting the caller find out later.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let pool = workpool::Pool::builder().workers(1).build()?;
    /// let soon = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(pool.submit_before(soon, || 1)?.join(), Ok(1)); // an idle pool: no wait
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_before<F, T>(&self, deadline: Instant, f: F) -> Result<TaskHandle<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_with(TaskOptions::new().start_before(deadline), move |_| f())
    }

    /// Fire and forget: no handle, and no completion slot to fill. A panic is counted in the metrics.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let pool = workpool::Pool::builder().workers(2).build()?;
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..10 {
    ///     let done = done.clone();
    ///     pool.execute(move || { done.fetch_add(1, Ordering::Relaxed); })?;
    /// }
    /// pool.wait_idle();
    /// assert_eq!(done.load(Ordering::Relaxed), 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute<F>(&self, f: F) -> Result<(), SubmitError>
    where
        F: FnOnce() + Send + 'static,
    {
        let job: Job = Arc::new(DetachedCell::new(Header::new(None, Priority::Normal), f));
        self.shared.admit(job, None, Wait::Policy)
    }

    /// Waits until the queue is empty and no worker runs a task.
    pub fn wait_idle(&self) {
        let s = &self.shared;
        let mut core = lock(&s.core);
        core.quiet_waiters += 1;
        while core.lanes.len() > 0 || core.running > 0 {
            core = s.done.wait(core).unwrap_or_else(|e| e.into_inner());
        }
        core.quiet_waiters -= 1;
    }

    /// Sets the most workers to `max` (at least 1; the minimum is lowered to it if above). Growing
    /// starts workers at once for queued work; shrinking lets the surplus exit as they finish
    /// their current batch.
    ///
    /// ```
    /// let pool = workpool::Pool::builder().workers(4).build()?;
    /// pool.resize(1);
    /// let one_at_a_time: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect::<Result<_, _>>()?;
    /// assert!(one_at_a_time.into_iter().all(|h| h.join().is_ok()));
    /// assert!(pool.metrics().workers <= 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resize(&self, max: usize) {
        let s = &self.shared;
        let max = max.max(1);
        let mut core = lock(&s.core);
        core.max = max;
        core.min = core.min.min(max);
        let mut starts = 0;
        while core.workers < core.min
            || (core.workers < core.max && core.lanes.len() > core.idle + starts)
        {
            core.reserve_worker();
            starts += 1;
        }
        s.work.notify_all();
        s.room.notify_all();
        drop(core);
        for _ in 0..starts {
            if s.spawn_worker().is_err() {
                break; // counted back inside spawn_worker
            }
        }
    }

    /// A snapshot of the counters, gauges and latency histograms.
    ///
    /// ```
    /// let pool = workpool::Pool::builder().workers(1).build()?;
    /// pool.submit(|| ())?.join()?;
    /// let _ = pool.submit(|| panic!("boom"))?.join(); // the worker survives
    /// pool.wait_idle();
    /// let m = pool.metrics();
    /// assert_eq!((m.submitted, m.completed, m.panicked), (2, 1, 1));
    /// assert_eq!(m.run_time.count, 2); // queue wait and run time are kept apart
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics(&self) -> Metrics {
        let s = &self.shared;
        let mut m = Metrics::default();
        {
            let core = lock(&s.core);
            m.workers = core.workers;
            m.peak_workers = core.peak;
            m.idle = core.idle + core.spinning;
            m.queued = core.lanes.len() + core.batched;
        }
        let (hist, running) = s.totals();
        m.fill(&s.counters, &hist);
        m.running = running;
        m.started = m.completed + m.panicked + running as u64;
        m
    }

    /// Tasks running now for longer than [`Builder::stuck_after`] (empty when it is not set).
    ///
    /// ```
    /// use std::time::Duration;
    /// use workpool::{Pool, TaskOptions};
    /// let pool = Pool::builder().workers(1).stuck_after(Duration::from_millis(10)).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let wedged = pool.submit_with(TaskOptions::new().name("wedged"), move |_| rx.recv().ok())?;
    /// std::thread::sleep(Duration::from_millis(50));
    /// let stuck = pool.stuck_tasks();
    /// assert_eq!(stuck[0].name.as_deref(), Some("wedged"));
    /// tx.send(()).unwrap();
    /// wedged.join()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stuck_tasks(&self) -> Vec<StuckTask> {
        match self.shared.config.stuck_after {
            Some(threshold) => self.shared.scan_stuck(threshold, false),
            None => Vec::new(),
        }
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    /// Stops admitting, runs the queued tasks for at most `timeout`, then discards what is still
    /// queued and asks running tasks to stop. Returns the fate of every task admitted. Idempotent;
    /// `Drop` still joins the workers (waiting for tasks that ignore the request to stop).
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.shared
            .close(false, Instant::now().checked_add(timeout))
    }

    /// Stops at once: discards every queued task (they report [`TaskError::ShutDown`]), asks
    /// running tasks to stop, and waits at most `timeout` for them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workpool::{Pool, TaskError};
    /// let pool = Pool::builder().workers(1).build()?;
    /// let running = pool.submit_with(Default::default(), |ctx| {
    ///     while !ctx.is_cancelled() { std::thread::sleep(Duration::from_millis(1)); }
    ///     "stopped when asked"
    /// })?;
    /// while pool.metrics().running == 0 { std::thread::yield_now(); }
    /// let queued = pool.submit(|| "never")?;
    /// let report = pool.shutdown_now(Duration::from_secs(5));
    /// assert_eq!((report.unstarted, report.completed), (1, 1));
    /// assert!(report.is_consistent());
    /// assert_eq!(queued.join(), Err(TaskError::ShutDown));
    /// assert_eq!(running.join(), Ok("stopped when asked"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_now(&self, timeout: Duration) -> ShutdownReport {
        self.shared.close(true, Instant::now().checked_add(timeout))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.close(false, None);
        if let Some(w) = self.watchdog.take() {
            w.stop();
        }
        let handles = std::mem::take(&mut *lock(&self.shared.handles));
        let me = thread::current().id();
        for h in handles {
            // A pool dropped by one of its own tasks cannot join the thread it runs on: that worker
            // exits when the task returns (the pool is closed).
            if h.thread().id() != me {
                let _ = h.join();
            }
        }
    }
}

impl Shared {
    fn is_own_worker(&self) -> bool {
        CURRENT_POOL.with(|c| c.get()) == self as *const Shared as usize
    }

    /// Admits `job` or says why not (the job is dropped on refusal).
    pub(crate) fn admit(
        self: &Arc<Self>,
        job: Job,
        deadline: Option<Instant>,
        wait: Wait,
    ) -> Result<(), SubmitError> {
        self.admit_inner(job, deadline, wait, true)
    }

    /// Admits like `admit`, but a refusal is not counted as rejected (a scope runs the task itself).
    pub(crate) fn admit_quietly(self: &Arc<Self>, job: Job, wait: Wait) -> Result<(), SubmitError> {
        self.admit_inner(job, None, wait, false)
    }

    fn admit_inner(
        self: &Arc<Self>,
        job: Job,
        deadline: Option<Instant>,
        wait: Wait,
        count_refusal: bool,
    ) -> Result<(), SubmitError> {
        let refuse = |core: MutexGuard<'_, Core>, e: SubmitError| {
            drop(core);
            if count_refusal {
                bump(&self.counters.rejected);
            }
            Err(e)
        };
        let priority = job.header().priority;
        let on_full = match wait {
            Wait::Never => OnFull::Refuse,
            Wait::Until(t) => OnFull::Wait(Some(t)),
            Wait::Forever => OnFull::Wait(None),
            Wait::Policy => match self.config.overflow {
                Overflow::Block => OnFull::Wait(None),
                Overflow::Reject => OnFull::Refuse,
                Overflow::CallerRuns => OnFull::RunHere,
                Overflow::DropOldest => OnFull::Evict,
                Overflow::Timeout(d) => OnFull::Wait(Instant::now().checked_add(d)),
            },
        };
        let on_full = match on_full {
            OnFull::Wait(None) if self.is_own_worker() => OnFull::RunHere,
            other => other,
        };
        let mut core = lock(&self.core);
        loop {
            if core.phase != Phase::Open {
                return refuse(core, SubmitError::ShutDown);
            }
            if twin::is(Twin::AdmitPhaseOutsideLock) {
                drop(core); // the broken twin: the check above no longer holds below
                core = lock(&self.core);
            }
            if let Some(deadline) = deadline
                && let Some(e) = self.unmeetable(&core, priority, deadline)
            {
                return refuse(core, e);
            }
            if core.has_room(self.config.queue) {
                let after = core.push_and_wake(job);
                self.queued_hint.store(core.lanes.len(), Relaxed);
                bump(&self.counters.submitted);
                drop(core);
                return self.after_push(after);
            }
            match on_full {
                OnFull::Refuse => return refuse(core, SubmitError::Full),
                OnFull::RunHere => {
                    drop(core);
                    bump(&self.counters.submitted);
                    bump(&self.counters.caller_ran);
                    if job.header().state.try_start() {
                        self.run_inline(&job);
                    }
                    return Ok(());
                }
                OnFull::Evict => {
                    // Dead entries (cancelled in the queue) at the front go first: removing them may
                    // make room without evicting anyone.
                    let mut evicted = None;
                    let mut dead = Vec::new();
                    while !core.has_room(self.config.queue) {
                        let Some(old) = core.lanes.pop_oldest_lowest() else {
                            break;
                        };
                        if old.header().state.try_abandon() {
                            evicted = Some(old);
                            break;
                        }
                        self.count_dead(&old);
                        dead.push(old);
                    }
                    let admitted = evicted.is_some() || core.has_room(self.config.queue);
                    let mut after = AfterPush::Nothing;
                    if admitted {
                        if evicted.is_some() {
                            // The evicted task's worker-to-be takes this one instead.
                            core.lanes.push(priority, job);
                            bump(&self.counters.dropped);
                        } else {
                            after = core.push_and_wake(job);
                        }
                        self.queued_hint.store(core.lanes.len(), Relaxed);
                        bump(&self.counters.submitted);
                    }
                    drop(core);
                    // Outside the lock: completing, releasing a subpool slot (which may push) and
                    // dropping closures (user code).
                    for old in dead.into_iter().chain(evicted.clone()) {
                        self.release_sub(&old);
                    }
                    if let Some(old) = evicted {
                        old.abandon_claimed(TaskError::Dropped);
                        contain(move || drop(old));
                    }
                    if admitted {
                        return self.after_push(after);
                    }
                    if count_refusal {
                        bump(&self.counters.rejected);
                    }
                    return Err(SubmitError::Full);
                }
                OnFull::Wait(until) => {
                    core.blocked += 1;
                    let timed_out = match until {
                        None => {
                            core = if cfg!(loom) {
                                self.room.wait(core).unwrap_or_else(|e| e.into_inner())
                            } else {
                                let waited = self.room.wait_timeout(core, RECHECK);
                                waited.unwrap_or_else(|e| e.into_inner()).0
                            };
                            false
                        }
                        Some(t) => {
                            let now = Instant::now();
                            if now >= t {
                                true
                            } else {
                                let nap = if cfg!(loom) {
                                    t - now
                                } else {
                                    (t - now).min(RECHECK)
                                };
                                let (c, r) = self
                                    .room
                                    .wait_timeout(core, nap)
                                    .unwrap_or_else(|e| e.into_inner());
                                core = c;
                                r.timed_out() && Instant::now() >= t
                            }
                        }
                    };
                    core.blocked -= 1;
                    if timed_out && core.phase == Phase::Open && !core.has_room(self.config.queue) {
                        return refuse(core, SubmitError::TimedOut);
                    }
                }
            }
        }
    }

    /// Pushes a task past the queue bound (a subpool forwarding work it already admitted).
    /// `Err(job)` once the pool has stopped; a draining pool still takes it (it runs).
    pub(crate) fn push_unbounded(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        let mut core = lock(&self.core);
        if core.phase == Phase::Stopped || (core.phase == Phase::Draining && core.workers == 0) {
            return Err(job);
        }
        let after = core.push_and_wake(job);
        self.queued_hint.store(core.lanes.len(), Relaxed);
        drop(core);
        let _ = self.after_push(after);
        Ok(())
    }

    /// Wakes the worker claimed, or starts the worker reserved, by `wake_or_grow`. The notify after
    /// the unlock cannot be lost: the sleeper counted in `idle` entered `wait` under the lock, so it
    /// is already waiting on `work` when this runs.
    fn after_push(self: &Arc<Self>, after: AfterPush) -> Result<(), SubmitError> {
        match after {
            AfterPush::Wake => self.work.notify_one(),
            AfterPush::Start(job) if self.spawn_worker().is_err() => {
                return self.undo_after_failed_start(&job);
            }
            AfterPush::Start(_) | AfterPush::Nothing => {}
        }
        Ok(())
    }

    pub(crate) fn is_open(&self) -> bool {
        lock(&self.core).phase == Phase::Open
    }

    fn unmeetable(
        &self,
        core: &Core,
        priority: Priority,
        deadline: Instant,
    ) -> Option<SubmitError> {
        let now = Instant::now();
        let time_left = deadline.saturating_duration_since(now);
        let ahead = core.lanes.len_at_or_above(priority);
        let free = core.idle + core.max.saturating_sub(core.workers);
        if ahead < free {
            return None; // a worker takes it at once
        }
        let mean = core.mean_run_ns as f64;
        let predicted =
            Duration::from_nanos(((ahead + 1 - free) as f64 * mean / core.max as f64) as u64);
        (predicted > time_left).then_some(SubmitError::DeadlineUnmeetable {
            predicted_wait: predicted,
            time_left,
        })
    }

    /// A worker we reserved could not start. If others exist they will run the job; if none does,
    /// take the job back out of the queue and refuse it (its handle is never returned).
    fn undo_after_failed_start(&self, job: &Job) -> Result<(), SubmitError> {
        let mut core = lock(&self.core);
        if core.workers > 0 || !core.lanes.remove(|j| Arc::ptr_eq(j, job)) {
            return Ok(());
        }
        drop(core);
        self.counters.submitted.fetch_sub(1, Relaxed);
        bump(&self.counters.rejected);
        Err(SubmitError::SpawnFailed)
    }

    /// Starts a worker thread for a slot already reserved in `core.workers`.
    pub(crate) fn spawn_worker(self: &Arc<Self>) -> io::Result<()> {
        let id = self.next_worker.fetch_add(1, Relaxed) as usize;
        let mut b = thread::Builder::new().name(format!("{}-{}", self.config.name, id));
        if let Some(size) = self.config.stack_size {
            b = b.stack_size(size);
        }
        let shared = self.clone();
        match b.spawn(move || shared.worker_main(id)) {
            Ok(h) => {
                let mut handles = lock(&self.handles);
                // Reaped workers' handles are joined here, so an elastic pool does not collect
                // handles forever.
                #[cfg(not(loom))]
                {
                    let (finished, alive): (Vec<_>, Vec<_>) = std::mem::take(&mut *handles)
                        .into_iter()
                        .partition(|h| h.is_finished());
                    *handles = alive;
                    for f in finished {
                        let _ = f.join();
                    }
                }
                handles.push(h);
                Ok(())
            }
            Err(e) => {
                let mut core = lock(&self.core);
                core.workers -= 1;
                core.starting -= 1;
                self.done.notify_all();
                Err(e)
            }
        }
    }

    fn worker_main(self: Arc<Self>, id: usize) {
        CURRENT_POOL.with(|c| c.set(Arc::as_ptr(&self) as usize));
        let slot = Arc::new(WorkerSlot::new(Some(id)));
        lock(&self.slots).push(slot.clone());
        if let Some(hook) = &self.config.on_start {
            contain(|| hook(id));
        }
        let keep_alive = self.config.keep_alive;
        let watch = self.config.stuck_after.is_some();
        let mut dead = Vec::new();
        let mut spun = false;
        let mut core = lock(&self.core);
        core.starting -= 1;
        loop {
            if core.workers > core.max {
                break; // resized down: the surplus leaves
            }
            let took = if let Some(first) = core.lanes.pop() {
                // A fair share of what waits, up to MAX_BATCH per round trip on the pool's lock —
                // but only when no sibling is idle, spinning or starting: one that is would start those
                // tasks now, where this worker starts them one after another.
                let share = if core.idle + core.spinning + core.starting > 0 {
                    1
                } else {
                    (core.lanes.len() + 1)
                        .div_ceil(core.workers.max(1))
                        .min(MAX_BATCH)
                };
                let mut extra = 0;
                let mut inner = lock(&slot.inner);
                inner.local.push_back(first);
                while extra + 1 < share {
                    let Some(job) = core.lanes.pop() else { break };
                    inner.local.push_back(job);
                    extra += 1;
                }
                Some(extra)
            } else {
                // Tasks a busy sibling took in its batch. They stay counted in the sibling's
                // `extra` until it is back, and in ours until we are: counted twice for a while
                // (stricter), never not at all.
                self.steal_into(&slot).map(|stolen| stolen - 1)
            };
            if let Some(extra) = took {
                spun = false;
                self.queued_hint.store(core.lanes.len(), Relaxed);
                // The batch counts as queued for admission until the worker is back (a bound that
                // is briefly stricter, never looser).
                core.batched += extra;
                core.running += 1;
                let wake = core.worth_waking(self.config.queue);
                drop(core);
                if wake {
                    self.room.notify_all(); // half the queue is free: every blocked submitter may fit
                }
                let mut ended = None;
                while let Some((job, started)) =
                    slot.next(ended.take(), watch, &self.counters, &mut dead)
                {
                    self.release_dead(&mut dead);
                    let h = job.header();
                    let wait = started.saturating_duration_since(h.submitted_at);
                    let ran = job.run_claimed(&TaskContext::new(h, &self.stop));
                    self.after_run(&job, ran);
                    // The last reference may be ours (a detached task): its output drops here.
                    contain(move || drop(job));
                    ended = Some(Ended {
                        wait,
                        started,
                        panicked: ran == Ran::Panicked,
                    });
                }
                self.release_dead(&mut dead);
                let mean = lock(&slot.inner).mean_run_ns;
                core = lock(&self.core);
                core.running -= 1;
                core.batched -= extra;
                core.mean_run_ns = if core.mean_run_ns == 0 {
                    mean
                } else {
                    core.mean_run_ns - core.mean_run_ns / 16 + mean / 16
                };
                continue;
            }
            if core.running == 0 && core.quiet_waiters > 0 {
                self.done.notify_all();
            }
            if core.phase != Phase::Open {
                break;
            }
            // From here on this worker is a taker for admission (spinning or idle): a submitter
            // blocked on a full queue may now have room.
            if core.blocked > 0 && !twin::is(Twin::SilentWhenIdle) {
                self.room.notify_one();
            }
            if !spun && core.spinning < self.max_spinners {
                // Spin briefly before sleeping: a steady stream of tasks then finds this worker
                // awake, and its submitter pays no futex wake (the cost that dominated tiny tasks).
                // Never on every core at once: the submitter needs one to submit on.
                spun = true;
                core.spinning += 1;
                drop(core);
                self.spin_for_work();
                core = lock(&self.core);
                core.spinning -= 1;
                continue;
            }
            let surplus = core.workers > core.min;
            if surplus && keep_alive.is_zero() {
                if twin::is(Twin::ReapOutsideLock) {
                    drop(core); // the broken twin: decides to exit, leaves the count later
                    core = lock(&self.core);
                }
                break;
            }
            core.idle += 1;
            let timed_out = if surplus {
                let (c, r) = self
                    .work
                    .wait_timeout(core, keep_alive)
                    .unwrap_or_else(|e| e.into_inner());
                core = c;
                r.timed_out()
            } else {
                core = self.work.wait(core).unwrap_or_else(|e| e.into_inner());
                false
            };
            core.idle -= 1;
            core.wakes = core.wakes.saturating_sub(1);
            if timed_out
                && core.lanes.len() == 0
                && core.workers > core.min
                && core.phase == Phase::Open
            {
                break; // keep-alive expired: reaped
            }
        }
        {
            // Retire the slot in one step (lock order: core, slots, retired, a slot), before the
            // count drops: a shutdown that sees this worker gone also sees what it ran.
            let mut slots = lock(&self.slots);
            slots.retain(|s| !Arc::ptr_eq(s, &slot));
            lock(&self.retired).merge(&lock(&slot.inner).hist);
        }
        core.workers -= 1;
        self.done.notify_all();
        if core.blocked > 0 {
            self.room.notify_all(); // one worker fewer: the pool may start another for them
        }
        drop(core);
        if let Some(hook) = &self.config.on_exit {
            contain(|| hook(id));
        }
        CURRENT_POOL.with(|c| c.set(0));
    }

    /// Under the pool's lock, with the queue empty: takes the older half of the first sibling's
    /// batch that has unstarted tasks (the oldest waited longest), so no task waits behind a long
    /// one while this worker is free; how many it took.
    /// (Lock order: pool, slot list, one slot at a time.)
    fn steal_into(&self, slot: &Arc<WorkerSlot>) -> Option<usize> {
        let mut stolen = Vec::new();
        for victim in lock(&self.slots).iter() {
            if Arc::ptr_eq(victim, slot) {
                continue;
            }
            let mut inner = lock(&victim.inner);
            let n = inner.local.len().div_ceil(2);
            if n > 0 {
                stolen.extend(inner.local.drain(..n));
                break;
            }
        }
        if stolen.is_empty() {
            return None;
        }
        let n = stolen.len();
        lock(&slot.inner).local.extend(stolen);
        Some(n)
    }

    /// Spins for about a microsecond while no task is queued. No `yield_now`: on a loaded machine
    /// a yield hands the core to another process for a whole time slice.
    fn spin_for_work(&self) {
        for step in 0..SPIN_STEPS {
            if self.queued_hint.load(Relaxed) > 0 {
                return;
            }
            for _ in 0..1 << step {
                std::hint::spin_loop();
            }
        }
    }

    /// Runs a task whose `try_start` the caller won on the calling thread (not a worker):
    /// CallerRuns, a worker submitting to its own full pool, scopes.
    pub(crate) fn run_inline(&self, job: &Job) {
        let h = job.header();
        let started = self.inline.begin(job, self.config.stuck_after.is_some());
        let ran = job.run_claimed(&TaskContext::new(h, &self.stop));
        self.after_run(job, ran);
        self.inline.end(Ended {
            wait: started.saturating_duration_since(h.submitted_at),
            started,
            panicked: ran == Ran::Panicked,
        });
    }

    /// After a task ran: its subpool slot passes on. (Its group heard of a panic before the
    /// handle completed: `TaskCell::run_claimed`.)
    fn after_run(&self, job: &Job, _ran: Ran) {
        self.release_sub(job);
    }

    /// Entries found dead in a worker's batch (counted already): release their subpool slots and
    /// drop them, outside every lock.
    fn release_dead(&self, dead: &mut Vec<Job>) {
        for job in dead.drain(..) {
            self.release_sub(&job);
            contain(move || drop(job));
        }
    }

    /// A queue entry that left `QUEUED` before a worker reached it: a cancellation (its handle or
    /// its group abandoned it) is counted here, once; an entry a scope ran inline is not.
    fn count_dead(&self, job: &Job) {
        if job.header().state.lifecycle() == Lifecycle::Abandoned {
            bump(&self.counters.cancelled);
        }
    }

    fn release_sub(self: &Shared, job: &Job) {
        if let Some(sub) = job.header().sub() {
            sub.release();
        }
    }

    pub(crate) fn register_sub(&self, sub: &Arc<SubShared>) {
        let mut subs = lock(&self.subs);
        subs.retain(|w| w.strong_count() > 0);
        subs.push(Arc::downgrade(sub));
    }

    /// Closes the pool: `now` discards the queue at once; otherwise it drains until `deadline`
    /// (`None`: forever) and then discards what is left. Waits for the workers to finish.
    fn close(&self, now: bool, deadline: Option<Instant>) -> ShutdownReport {
        let me = usize::from(self.is_own_worker());
        let mut discarded: Vec<(Job, bool)> = Vec::new();
        let mut core = lock(&self.core);
        if core.phase == Phase::Open {
            core.phase = Phase::Draining;
        }
        if now {
            self.stop_now(&mut core, &mut discarded);
        }
        self.work.notify_all();
        self.room.notify_all();
        loop {
            if core.workers <= me {
                break;
            }
            match deadline {
                None => core = self.done.wait(core).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        self.stop_now(&mut core, &mut discarded);
                        break;
                    }
                    core = self
                        .done
                        .wait_timeout(core, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        drop(core);
        for (job, claimed) in discarded {
            if claimed {
                job.abandon_claimed(TaskError::ShutDown);
            }
            self.release_sub(&job);
            contain(move || drop(job));
        }
        // Subpool backlogs hold admitted tasks that never reached the queue.
        let subs: Vec<_> = lock(&self.subs)
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .collect();
        for sub in subs {
            sub.discard_backlog(self);
        }
        let c = &self.counters;
        let (ran, still_running) = self.totals();
        ShutdownReport {
            submitted: c.submitted.load(Relaxed),
            completed: ran.completed,
            panicked: ran.panicked,
            cancelled: c.cancelled.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            unstarted: c.unstarted.load(Relaxed),
            still_running: still_running as u64,
        }
    }

    /// Under the lock: stop, flag running tasks, and take every queue entry out; `true` beside an
    /// entry this call abandoned (the caller completes it once the lock is released).
    fn stop_now(&self, core: &mut Core, discarded: &mut Vec<(Job, bool)>) {
        core.phase = Phase::Stopped;
        // Relaxed: a hint polled by tasks (see TaskContext::is_cancelled).
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.queued_hint.store(0, Relaxed);
        let mut queued = core.lanes.drain();
        // The workers' batches too: under each worker's lock, so each task is either started by
        // its worker or discarded here, never both.
        for slot in lock(&self.slots).iter() {
            queued.extend(lock(&slot.inner).local.drain(..));
        }
        for job in queued {
            let claimed = job.header().state.try_abandon();
            if claimed {
                bump(&self.counters.unstarted);
            } else {
                self.count_dead(&job);
            }
            discarded.push((job, claimed));
        }
        self.work.notify_all();
    }

    /// Every worker's counts and histograms merged, with those of retired workers and callers;
    /// and the tasks running now. Each slot is read under its own lock, so a task is counted once.
    pub(crate) fn totals(&self) -> (Hist, usize) {
        let slots = lock(&self.slots); // held while `retired` is read: no slot moves meanwhile
        let mut hist = lock(&self.retired).clone();
        let mut running = 0;
        for slot in slots.iter().map(|s| &**s).chain([&self.inline]) {
            let inner = lock(&slot.inner);
            hist.merge(&inner.hist);
            running += inner.running;
        }
        (hist, running)
    }

    /// Tasks running past `threshold`; with `report`, each is reported once (counted, and marked).
    pub(crate) fn scan_stuck(&self, threshold: Duration, report: bool) -> Vec<StuckTask> {
        let now = crate::sync::Stamp::now();
        let mut found = Vec::new();
        for slot in lock(&self.slots).iter() {
            let mut inner = lock(&slot.inner);
            let Some(cur) = &inner.current else { continue };
            let running_for = now.saturating_duration_since(cur.since);
            if running_for < threshold || (report && inner.reported == cur.seq) {
                continue;
            }
            let task = StuckTask {
                name: cur.name.clone().map(Cow::into_owned),
                worker: slot.worker.unwrap_or(usize::MAX),
                running_for,
                task_seq: cur.seq,
            };
            if report {
                inner.reported = cur.seq;
                bump(&self.counters.stuck);
            }
            found.push(task);
        }
        found
    }
}
