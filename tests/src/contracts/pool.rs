//! The pool contract: what "a pool of worker threads" means here, so one conformance suite serves our
//! `workpool` and the ecosystem's pools alike.
//!
//! Go has no pool type: a pool is N goroutines ranging over a (buffered) channel, and the channel's
//! capacity is the queue bound. Rust has several crates with different promises, so the contract
//! spells the promises out as a [`PoolSpec`] (how many workers, how big a queue, what happens when it
//! is full) and a [`ContractPool`] built from it, whose [`submit`](ContractPool::submit) hands back a
//! [`TaskHandle`] that reports a [`TaskOutcome`].
//!
//! The core is small: build, submit, join, (cancel). The big optional features — resize, scoped
//! borrows, task groups, priorities, a shutdown report — are methods with a default that returns
//! [`Unsupported`], so an adapter implements only what its pool has, and the suite prints a loud
//! `SKIP` for the rest. A pool that has an API but not the behaviour the suite checks (a `Drop`
//! that detaches instead of joining, say) declares it in [`PoolFlavor::known_lack`]: the case still
//! runs and must fail, so the declaration cannot go stale silently.
//!
//! Adapters for the ecosystem live here ([`ThreadpoolFlavor`], [`RustyPoolFlavor`],
//! [`RayonFlavor`], [`TokioBlockingFlavor`]); ours lives next to our pool (`phase5/workpool`).
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

/// A task as the suite submits it: runs once, returns a value the suite checks.
pub type Job = Box<dyn FnOnce() -> u64 + Send + 'static>;

/// A task of a [`ContractPool::scope`]: may borrow from the caller's stack (`'env`).
pub type ScopedJob<'env> = Box<dyn FnOnce() + Send + 'env>;

/// A task of a [`ContractPool::group`]: an `Err` fails the group and cancels its unstarted tasks.
pub type GroupJob = Box<dyn FnOnce() -> Result<u64, String> + Send + 'static>;

/// How many tasks may wait for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueBound {
    /// With every worker busy, at most this many tasks wait. `Bounded(0)` is hand-off only: a task
    /// is admitted only when a worker is free to take it.
    Bounded(usize),
    /// No bound: `submit` never finds the queue full.
    Unbounded,
}

/// What `submit` does when the queue is full (every worker busy and `capacity` tasks waiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wait until a slot frees.
    Block,
    /// Refuse at once: [`SubmitRefused::Rejected`].
    Reject,
    /// Run the task on the submitting thread before `submit` returns (its handle reports the result).
    CallerRuns,
    /// Admit the new task and evict the oldest queued one, whose handle reports
    /// [`TaskOutcome::Dropped`].
    DropOldest,
    /// Wait at most this long, then refuse: [`SubmitRefused::TimedOut`].
    Timeout(Duration),
}

/// What to build: the suite asks for a pool by spec; a flavor that cannot honour a spec says so with
/// [`Unsupported`] (never by building something else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    /// Workers kept alive when idle (after `keep_alive`). `min == max`: a fixed pool.
    pub min_workers: usize,
    /// Most tasks running at once.
    pub max_workers: usize,
    /// The queue bound.
    pub queue: QueueBound,
    /// What a full queue does to `submit` (irrelevant for [`QueueBound::Unbounded`]).
    pub overflow: Overflow,
    /// How long a worker above `min_workers` stays idle before it exits.
    pub keep_alive: Duration,
    /// Prefix for the worker threads' names, unique in the process (see [`PoolSpec::fixed`]). At
    /// most 9 bytes, so a name with a worker number still fits the kernel's 15.
    pub name: String,
}

static NEXT_POOL: AtomicUsize = AtomicUsize::new(0);

impl PoolSpec {
    /// A fixed pool of `workers` threads, unbounded queue, `Block`, and a fresh thread-name prefix
    /// (`pl<n>-`: no prefix of one pool is a prefix of another's names).
    pub fn fixed(workers: usize) -> Self {
        // Relaxed: only uniqueness matters.
        let n = NEXT_POOL.fetch_add(1, Ordering::Relaxed) % 100_000;
        PoolSpec {
            min_workers: workers,
            max_workers: workers,
            queue: QueueBound::Unbounded,
            overflow: Overflow::Block,
            keep_alive: Duration::from_secs(60),
            name: format!("pl{n}-"),
        }
    }

    /// An elastic pool: `min` threads kept, up to `max`, the others reaped after `keep_alive` idle.
    pub fn elastic(min: usize, max: usize, keep_alive: Duration) -> Self {
        PoolSpec {
            min_workers: min,
            keep_alive,
            ..Self::fixed(max)
        }
    }

    /// The same spec with a bounded queue of `capacity` and the given overflow policy.
    pub fn bounded(mut self, capacity: usize, overflow: Overflow) -> Self {
        self.queue = QueueBound::Bounded(capacity);
        self.overflow = overflow;
        self
    }

    /// True when `min_workers == max_workers`.
    pub fn is_fixed(&self) -> bool {
        self.min_workers == self.max_workers
    }
}

/// A feature a pool does not have, with the reason (printed by the suite's `SKIP` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Why `submit` did not admit a task. The task was not run and never will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitRefused {
    /// The queue was full under [`Overflow::Reject`].
    Rejected,
    /// The queue stayed full for the whole [`Overflow::Timeout`].
    TimedOut,
    /// The pool is shutting down or shut down.
    ShutDown,
}

/// How an admitted task ended, as its handle reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// It ran and returned this.
    Done(u64),
    /// It panicked; the message when the pool kept the payload.
    Panicked(Option<String>),
    /// It was cancelled before it started, and never ran.
    Cancelled,
    /// It was evicted from a full queue ([`Overflow::DropOldest`]) or abandoned at shutdown, and
    /// never ran.
    Dropped,
}

/// The handle `submit` returns.
pub trait TaskHandle: Send + 'static {
    /// Waits for the task to end.
    fn join(self) -> TaskOutcome;
    /// Asks that the task not start. A queued task then never runs and `join` reports
    /// [`TaskOutcome::Cancelled`]; a running one is unaffected.
    fn cancel(&self) -> Result<(), Unsupported> {
        Err(Unsupported("its handles cannot cancel a task"))
    }
}

/// How [`ContractPool::shutdown`] treats queued tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Run every admitted task, then stop.
    Drain,
    /// Queued tasks never start (their handles report `Cancelled` or `Dropped`); running ones finish.
    Abandon,
}

/// What [`ContractPool::shutdown`] reports, over the pool's whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Tasks that ran to their end (returned or panicked).
    pub ran: usize,
    /// Queued tasks the shutdown discarded: they never started.
    pub abandoned: usize,
    /// Tasks still running when the deadline passed (they are left to finish; `Drop` joins them).
    pub still_running: usize,
}

/// Why a [`ContractPool::group`] failed: its first failure, by time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupError {
    /// Member `index` (in submission order) returned this error.
    Failed {
        /// The member's position.
        index: usize,
        /// Its error.
        error: String,
    },
    /// Member `index` panicked.
    Panicked {
        /// The member's position.
        index: usize,
        /// The panic's message.
        message: String,
    },
    /// Member `index` never ran for a reason outside the group (refused, shut down, evicted).
    NotRun {
        /// The member's position.
        index: usize,
    },
}

/// A task's priority: among queued tasks a higher one starts first (within one, first in first
/// out), subject to the pool's starvation bound ([`ContractPool::starvation_bound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Runs when no higher work waits, or when the starvation bound says it waited long enough.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Runs before `Normal` and `Low` work.
    High,
}

/// A pool built from a [`PoolSpec`].
///
/// Dropping it must stop and join its workers (after the running tasks end); a flavor that does not
/// declares [`Lack::DropJoins`].
pub trait ContractPool: Send + Sync + 'static {
    /// What `submit` returns.
    type Handle: TaskHandle;

    /// Admits `job` (per the spec's queue bound and overflow policy) or refuses it.
    fn submit(&self, job: Job) -> Result<Self::Handle, SubmitRefused>;

    /// The prefix every worker thread's (kernel) name starts with; `None` if the pool cannot name
    /// its threads (the thread-counting checks are then skipped).
    fn thread_name_prefix(&self) -> Option<&str>;

    /// Sets the most workers to `max` (the minimum is lowered to it if above). Growing takes effect
    /// at once; shrinking as the surplus workers finish their current task.
    fn resize(&self, max: usize) -> Result<(), Unsupported> {
        let _ = max;
        Err(Unsupported("no resize"))
    }

    /// Runs every job on the pool's workers (the calling thread may run some itself while it
    /// waits) and returns once all have ended; the jobs may borrow
    /// from the caller's stack.
    fn scope<'env>(&self, jobs: Vec<ScopedJob<'env>>) -> Result<(), Unsupported> {
        drop(jobs);
        Err(Unsupported("no scoped tasks"))
    }

    /// Runs the jobs as one group and waits for all of them: every value in submission order, or
    /// the first failure, which cancels the group's tasks that have not started yet.
    fn group(&self, jobs: Vec<GroupJob>) -> Result<Result<Vec<u64>, GroupError>, Unsupported> {
        drop(jobs);
        Err(Unsupported("no task groups"))
    }

    /// The starvation bound: a queued lower-priority task starts after at most this many starts of
    /// higher-priority tasks (counted once it is the oldest of its priority).
    fn starvation_bound(&self) -> Result<usize, Unsupported> {
        Err(Unsupported("no priorities"))
    }

    /// Like `submit`, with a [`Priority`].
    fn submit_prioritized(
        &self,
        job: Job,
        priority: Priority,
    ) -> Result<Result<Self::Handle, SubmitRefused>, Unsupported> {
        let _ = (job, priority);
        Err(Unsupported("no priorities"))
    }

    /// Stops admitting tasks (`submit` then refuses with [`SubmitRefused::ShutDown`]), treats the
    /// queue per `mode` (draining it for at most `deadline`, then discarding what is left), waits
    /// up to `deadline` for running tasks, and reports.
    fn shutdown(
        &self,
        mode: ShutdownMode,
        deadline: Duration,
    ) -> Result<ShutdownReport, Unsupported> {
        let _ = (mode, deadline);
        Err(Unsupported("no shutdown report"))
    }
}

/// A behaviour the suite checks that a pool may have the API for but not the promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lack {
    /// `drop(pool)` returns before the running tasks ended and the workers exited.
    DropJoins,
    /// A panicking task does not leave the pool with all its workers (or aborts the process).
    PanicsContained,
    /// Idle workers above `min_workers` are not reaped after `keep_alive`.
    KeepAliveReaping,
}

/// A family of pools (a type-level factory).
pub trait PoolFlavor: 'static {
    /// Short name for reports (`workpool`, `threadpool`, `rayon`).
    const NAME: &'static str;
    /// Its pool type.
    type Pool: ContractPool;
    /// A pool honouring `spec`, or why this flavor cannot.
    fn build(spec: &PoolSpec) -> Result<Self::Pool, Unsupported>;
    /// Behaviours this flavor is known to lack, with the reason. The case still runs and must fail
    /// on it (a pass fails the test: the declaration is stale); the failure is printed as a SKIP.
    fn known_lack(lack: Lack) -> Option<&'static str> {
        let _ = lack;
        None
    }
}

// ---------------------------------------------------------------------------------------------------
// Result handles by channel, for pools that run closures but return nothing.

/// A handle fed by a channel: what a user of a fire-and-forget pool writes to get a result back.
/// The sender travels with the job; if the job unwinds, the sender is dropped unsent, which is the
/// only way such a pool's task can end without a value, so the handle reports a panic (without its
/// message, which the pool does not keep).
#[derive(Debug)]
pub struct ChannelHandle(mpsc::Receiver<u64>);

impl ChannelHandle {
    /// Wraps `job` so that its value reaches the returned handle.
    pub fn wrap(job: Job) -> (impl FnOnce() + Send + 'static, ChannelHandle) {
        let (tx, rx) = mpsc::sync_channel(1);
        (
            move || {
                let _ = tx.send(job());
            },
            ChannelHandle(rx),
        )
    }
}

impl TaskHandle for ChannelHandle {
    fn join(self) -> TaskOutcome {
        match self.0.recv() {
            Ok(v) => TaskOutcome::Done(v),
            Err(_) => TaskOutcome::Panicked(None),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// threadpool

/// `threadpool::ThreadPool`: fixed size, unbounded queue (an mpsc channel behind a mutex), no
/// handles (results by channel, [`ChannelHandle`]); a panicking task's worker is replaced;
/// `set_num_threads` resizes; `Drop` detaches the workers.
pub struct ThreadpoolFlavor;

/// A `threadpool::ThreadPool` behind the contract (the mutex because `set_num_threads` takes
/// `&mut self`).
pub struct ThreadpoolPool {
    pool: Mutex<threadpool::ThreadPool>,
    name: String,
}

impl ContractPool for ThreadpoolPool {
    type Handle = ChannelHandle;
    fn submit(&self, job: Job) -> Result<ChannelHandle, SubmitRefused> {
        let (run, handle) = ChannelHandle::wrap(job);
        self.pool.lock().unwrap().execute(run);
        Ok(handle)
    }
    fn thread_name_prefix(&self) -> Option<&str> {
        Some(&self.name)
    }
    fn resize(&self, max: usize) -> Result<(), Unsupported> {
        self.pool.lock().unwrap().set_num_threads(max);
        Ok(())
    }
}

impl PoolFlavor for ThreadpoolFlavor {
    const NAME: &'static str = "threadpool";
    type Pool = ThreadpoolPool;
    fn build(spec: &PoolSpec) -> Result<ThreadpoolPool, Unsupported> {
        if !spec.is_fixed() {
            return Err(Unsupported("threadpool is fixed-size (no keep-alive)"));
        }
        if spec.queue != QueueBound::Unbounded {
            return Err(Unsupported("threadpool's queue is unbounded"));
        }
        let pool = threadpool::Builder::new()
            .num_threads(spec.max_workers)
            .thread_name(spec.name.clone())
            .build();
        Ok(ThreadpoolPool {
            pool: Mutex::new(pool),
            name: spec.name.clone(),
        })
    }
    fn known_lack(lack: Lack) -> Option<&'static str> {
        match lack {
            Lack::DropJoins => {
                Some("dropping a threadpool detaches its workers (call join() first)")
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// rusty_pool

/// `rusty_pool::ThreadPool`: `core_size` kept, up to `max_size`, the extra ones reaped after
/// `keep_alive`; unbounded crossbeam channel; `evaluate` returns a `JoinHandle` (a panic breaks its
/// oneshot channel); a panicking worker is replaced; `Drop` disconnects the channel and detaches.
pub struct RustyPoolFlavor;

/// A `rusty_pool::ThreadPool` behind the contract.
pub struct RustyPool {
    pool: rusty_pool::ThreadPool,
}

/// `rusty_pool::JoinHandle` behind the contract.
pub struct RustyHandle(rusty_pool::JoinHandle<u64>);

impl TaskHandle for RustyHandle {
    fn join(self) -> TaskOutcome {
        match self.0.try_await_complete() {
            Ok(v) => TaskOutcome::Done(v),
            Err(_canceled) => TaskOutcome::Panicked(None),
        }
    }
}

impl ContractPool for RustyPool {
    type Handle = RustyHandle;
    fn submit(&self, job: Job) -> Result<RustyHandle, SubmitRefused> {
        self.pool
            .try_evaluate(job)
            .map(RustyHandle)
            .map_err(|_disconnected| SubmitRefused::ShutDown)
    }
    fn thread_name_prefix(&self) -> Option<&str> {
        Some(self.pool.get_name())
    }
}

impl PoolFlavor for RustyPoolFlavor {
    const NAME: &'static str = "rusty_pool";
    type Pool = RustyPool;
    fn build(spec: &PoolSpec) -> Result<RustyPool, Unsupported> {
        if spec.queue != QueueBound::Unbounded {
            return Err(Unsupported("rusty_pool's queue is unbounded"));
        }
        let pool = rusty_pool::Builder::new()
            .name(spec.name.clone())
            .core_size(spec.min_workers)
            .max_size(spec.max_workers)
            .keep_alive(spec.keep_alive)
            .build();
        Ok(RustyPool { pool })
    }
    fn known_lack(lack: Lack) -> Option<&'static str> {
        match lack {
            Lack::DropJoins => Some(
                "dropping a rusty_pool disconnects its channel and detaches the workers \
                 (shutdown_join waits for the work, not for the threads)",
            ),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// rayon

/// `rayon::ThreadPool`: fixed size, work-stealing; `spawn` is fire-and-forget (results by channel);
/// a panic in `spawn` aborts the process unless a `panic_handler` is set, which this adapter does;
/// `scope` runs borrowing tasks; `Drop` tells the workers to stop and detaches them.
pub struct RayonFlavor;

/// A `rayon::ThreadPool` behind the contract.
pub struct RayonPool {
    pool: rayon::ThreadPool,
    name: String,
}

impl ContractPool for RayonPool {
    type Handle = ChannelHandle;
    fn submit(&self, job: Job) -> Result<ChannelHandle, SubmitRefused> {
        let (run, handle) = ChannelHandle::wrap(job);
        self.pool.spawn(run);
        Ok(handle)
    }
    fn thread_name_prefix(&self) -> Option<&str> {
        Some(&self.name)
    }
    fn scope<'env>(&self, jobs: Vec<ScopedJob<'env>>) -> Result<(), Unsupported> {
        self.pool.scope(|s| {
            for job in jobs {
                s.spawn(move |_| job());
            }
        });
        Ok(())
    }
}

impl PoolFlavor for RayonFlavor {
    const NAME: &'static str = "rayon";
    type Pool = RayonPool;
    fn build(spec: &PoolSpec) -> Result<RayonPool, Unsupported> {
        if !spec.is_fixed() {
            return Err(Unsupported("a rayon pool is fixed-size (no keep-alive)"));
        }
        if spec.queue != QueueBound::Unbounded {
            return Err(Unsupported("rayon's queues are unbounded"));
        }
        let prefix = spec.name.clone();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(spec.max_workers)
            .thread_name(move |i| format!("{prefix}{i}"))
            // Without a handler a panicking `spawn` aborts the process. The panic still breaks the
            // task's result channel, which is how its handle learns of it.
            .panic_handler(|_payload| {})
            .build()
            .map_err(|_| Unsupported("rayon could not start its threads"))?;
        Ok(RayonPool {
            pool,
            name: spec.name.clone(),
        })
    }
    fn known_lack(lack: Lack) -> Option<&'static str> {
        match lack {
            Lack::DropJoins => {
                Some("dropping a rayon ThreadPool signals its workers to stop and detaches them")
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// tokio spawn_blocking

/// tokio's blocking pool (`spawn_blocking` on a runtime with `max_blocking_threads(n)`): threads
/// start on demand up to `n` and exit after `thread_keep_alive` idle (it keeps no minimum); the
/// queue is unbounded; the `JoinHandle` reports a panic as a `JoinError`, and `abort()` of a task
/// that has not started cancels it. Dropping the runtime joins the blocking threads.
#[cfg(not(loom))]
pub struct TokioBlockingFlavor;

/// A tokio runtime used only for its blocking pool.
#[cfg(not(loom))]
pub struct TokioBlockingPool {
    runtime: tokio::runtime::Runtime,
    name: String,
}

/// A blocking task's `JoinHandle`, with the runtime handle that `join` blocks on.
#[cfg(not(loom))]
pub struct TokioHandle {
    task: tokio::task::JoinHandle<u64>,
    runtime: tokio::runtime::Handle,
}

#[cfg(not(loom))]
impl TaskHandle for TokioHandle {
    fn join(self) -> TaskOutcome {
        match self.runtime.block_on(self.task) {
            Ok(v) => TaskOutcome::Done(v),
            Err(e) if e.is_cancelled() => TaskOutcome::Cancelled,
            Err(e) => TaskOutcome::Panicked(Some(crate::exercise::panic_message(&*e.into_panic()))),
        }
    }
    fn cancel(&self) -> Result<(), Unsupported> {
        self.task.abort(); // cancels a blocking task only if it has not started
        Ok(())
    }
}

#[cfg(not(loom))]
impl ContractPool for TokioBlockingPool {
    type Handle = TokioHandle;
    fn submit(&self, job: Job) -> Result<TokioHandle, SubmitRefused> {
        Ok(TokioHandle {
            task: self.runtime.spawn_blocking(job),
            runtime: self.runtime.handle().clone(),
        })
    }
    fn thread_name_prefix(&self) -> Option<&str> {
        Some(&self.name)
    }
}

#[cfg(not(loom))]
impl PoolFlavor for TokioBlockingFlavor {
    const NAME: &'static str = "tokio-spawn_blocking";
    type Pool = TokioBlockingPool;
    fn build(spec: &PoolSpec) -> Result<TokioBlockingPool, Unsupported> {
        if spec.queue != QueueBound::Unbounded {
            return Err(Unsupported("tokio's blocking queue is unbounded"));
        }
        if !spec.is_fixed() && spec.min_workers > 0 {
            return Err(Unsupported(
                "tokio's blocking pool keeps no minimum: every idle thread is reaped",
            ));
        }
        // A current-thread runtime has no worker threads of its own: every thread carrying the name
        // is a blocking-pool thread.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(spec.max_workers)
            .thread_keep_alive(spec.keep_alive)
            .thread_name(spec.name.clone())
            .build()
            .map_err(|_| Unsupported("tokio could not build a runtime"))?;
        Ok(TokioBlockingPool {
            runtime,
            name: spec.name.clone(),
        })
    }
}
