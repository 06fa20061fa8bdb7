//! The builder, and the options of one submission.
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc as StdArc;
use std::time::{Duration, Instant};

use crate::error::BuildError;
use crate::pool::Pool;
use crate::task::Priority;
use crate::watchdog::StuckTask;

/// How many tasks may wait for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// At most this many tasks wait while every worker is busy. `Bounded(0)` is a hand-off: a task
    /// is admitted only when an idle worker (or one the pool may still start) will take it.
    Bounded(usize),
    /// No bound: memory grows with the backlog (what `threadpool`, rayon and tokio's blocking pool do).
    Unbounded,
}

/// What `submit` does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for room (backpressure). A worker of this pool that submits to its own full pool runs
    /// the task itself instead: waiting for a slot only its own siblings can free could deadlock.
    Block,
    /// Refuse at once with [`SubmitError::Full`](crate::SubmitError::Full).
    Reject,
    /// Run the task on the submitting thread, before `submit` returns (Java's `CallerRunsPolicy`):
    /// the submitter slows down to the pool's pace.
    CallerRuns,
    /// Evict the oldest queued task of the lowest non-empty priority lane (its handle reports
    /// [`TaskError::Dropped`](crate::TaskError::Dropped)) and admit the new one. With nothing to
    /// evict (a hand-off queue) the new task is refused with `Full`.
    DropOldest,
    /// Wait for room at most this long, then refuse with
    /// [`SubmitError::TimedOut`](crate::SubmitError::TimedOut).
    Timeout(Duration),
}

type ThreadHook = StdArc<dyn Fn(usize) + Send + Sync>;
type StuckHook = StdArc<dyn Fn(&StuckTask) + Send + Sync>;

/// Everything a pool is built from (cloned into the pool).
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) min_workers: usize,
    pub(crate) max_workers: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) queue: Queue,
    pub(crate) overflow: Overflow,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_start: Option<ThreadHook>,
    pub(crate) on_exit: Option<ThreadHook>,
    pub(crate) aging: usize,
    pub(crate) stuck_after: Option<Duration>,
    pub(crate) on_stuck: Option<StuckHook>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("name", &self.name)
            .field("min_workers", &self.min_workers)
            .field("max_workers", &self.max_workers)
            .field("keep_alive", &self.keep_alive)
            .field("queue", &self.queue)
            .field("overflow", &self.overflow)
            .field("stack_size", &self.stack_size)
            .field("aging", &self.aging)
            .field("stuck_after", &self.stuck_after)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Pool`].
///
/// Defaults: as many workers as the machine has CPUs (fixed), a queue of 1024 tasks that blocks the
/// submitter when full (backpressure, not unbounded memory), a 10 s keep-alive for workers above the
/// minimum, aging after 16 higher-priority starts, threads named `workpool-N`.
///
/// ```
/// use std::time::Duration;
/// use workpool::{Overflow, Pool, Queue};
///
/// let pool = Pool::builder()
///     .name("resize")
///     .min_workers(1)
///     .max_workers(4)
///     .keep_alive(Duration::from_secs(5))
///     .queue(Queue::Bounded(100))
///     .overflow(Overflow::Timeout(Duration::from_millis(50)))
///     .build()?;
/// assert_eq!(pool.submit(|| "done")?.join(), Ok("done"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until .build()"]
pub struct Builder {
    config: Config,
}

impl Default for Builder {
    fn default() -> Builder {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Builder {
            config: Config {
                name: "workpool".to_string(),
                min_workers: cpus,
                max_workers: cpus,
                keep_alive: Duration::from_secs(10),
                queue: Queue::Bounded(1024),
                overflow: Overflow::Block,
                stack_size: None,
                on_start: None,
                on_exit: None,
                aging: 16,
                stuck_after: None,
                on_stuck: None,
            },
        }
    }
}

impl Builder {
    /// The default builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the pool; its threads are `NAME-0`, `NAME-1`, … (Linux shows the first 15 bytes).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.config.name = name.into();
        self
    }

    /// A fixed number of workers: `min_workers(n).max_workers(n)`, all started by `build`.
    pub fn workers(mut self, n: usize) -> Builder {
        self.config.min_workers = n;
        self.config.max_workers = n;
        self
    }

    /// Workers kept alive when idle (started by `build`). May be 0: the pool then scales to zero.
    pub fn min_workers(mut self, n: usize) -> Builder {
        self.config.min_workers = n;
        self
    }

    /// The most workers running at once. Above the minimum, a worker starts when a task arrives and
    /// no worker is idle, and exits after [`keep_alive`](Builder::keep_alive) without work.
    pub fn max_workers(mut self, n: usize) -> Builder {
        self.config.max_workers = n;
        self
    }

    /// How long a worker above the minimum waits for work before it exits. `Duration::ZERO`: it
    /// exits as soon as it finds the queue empty.
    pub fn keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.config.keep_alive = keep_alive;
        self
    }

    /// The queue's bound (see [`Queue`]).
    pub fn queue(mut self, queue: Queue) -> Builder {
        self.config.queue = queue;
        self
    }

    /// What `submit` does when the queue is full (see [`Overflow`]).
    pub fn overflow(mut self, overflow: Overflow) -> Builder {
        self.config.overflow = overflow;
        self
    }

    /// Each worker thread's stack size in bytes (the platform's default otherwise).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.config.stack_size = Some(bytes);
        self
    }

    /// Called on each worker thread when it starts, with its index. A panic in it is contained.
    pub fn on_thread_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Builder {
        self.config.on_start = Some(StdArc::new(hook));
        self
    }

    /// Called on each worker thread just before it exits, with its index. A panic in it is contained.
    pub fn on_thread_exit(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Builder {
        self.config.on_exit = Some(StdArc::new(hook));
        self
    }

    /// The starvation bound: the oldest task of a lower-priority lane starts after at most `starts`
    /// starts from higher lanes (counted from when it reached the head of its lane). At least 1
    /// (0 counts as 1); `usize::MAX` disables aging: strict priority, where lower lanes may starve.
    pub fn aging(mut self, starts: usize) -> Builder {
        self.config.aging = starts.max(1);
        self
    }

    /// Reports a task that runs longer than `threshold`: counted in the metrics, listed by
    /// [`Pool::stuck_tasks`], and passed to [`on_stuck`](Builder::on_stuck) once. A watchdog thread
    /// checks a few times per threshold.
    pub fn stuck_after(mut self, threshold: Duration) -> Builder {
        self.config.stuck_after = Some(threshold);
        self
    }

    /// Called (on the watchdog thread) once for each task found running past
    /// [`stuck_after`](Builder::stuck_after). A panic in it is contained.
    pub fn on_stuck(mut self, hook: impl Fn(&StuckTask) + Send + Sync + 'static) -> Builder {
        self.config.on_stuck = Some(StdArc::new(hook));
        self
    }

    /// Builds the pool and starts its minimum of workers.
    pub fn build(self) -> Result<Pool, BuildError> {
        let c = &self.config;
        if c.max_workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        if c.min_workers > c.max_workers {
            return Err(BuildError::MinAboveMax {
                min: c.min_workers,
                max: c.max_workers,
            });
        }
        Pool::start(self.config)
    }
}

/// When a submission may wait for room in a full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// As the pool's [`Overflow`] policy says.
    Policy,
    /// Never: refuse at once when full.
    Never,
    /// Until this instant, then `TimedOut`.
    Until(Instant),
    /// For as long as it takes (a timeout too long to represent).
    Forever,
}

/// The options of one submission, for [`Pool::submit_with`].
///
/// ```
/// use workpool::{Pool, Priority, TaskOptions};
/// let pool = Pool::builder().workers(1).build()?;
/// let handle = pool.submit_with(TaskOptions::new().name("report").priority(Priority::Low), |ctx| {
///     assert_eq!(ctx.name(), Some("report"));
///     if ctx.is_cancelled() { None } else { Some(1) }
/// })?;
/// assert_eq!(handle.join(), Ok(Some(1)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TaskOptions {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) priority: Priority,
    pub(crate) deadline: Option<Instant>,
    pub(crate) wait: Option<Wait>,
}

impl TaskOptions {
    /// No name, `Normal` priority, no deadline, the pool's overflow policy.
    pub fn new() -> TaskOptions {
        TaskOptions::default()
    }

    /// A name for the watchdog's reports and the task's [`TaskContext`](crate::TaskContext).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> TaskOptions {
        self.name = Some(name.into());
        self
    }

    /// The priority lane.
    pub fn priority(mut self, priority: Priority) -> TaskOptions {
        self.priority = priority;
        self
    }

    /// Deadline-aware admission: refuse at once with
    /// [`SubmitError::DeadlineUnmeetable`](crate::SubmitError::DeadlineUnmeetable) when the
    /// predicted queue wait already passes `deadline`.
    pub fn start_before(mut self, deadline: Instant) -> TaskOptions {
        self.deadline = Some(deadline);
        self
    }

    /// Never wait for room: refuse with `Full` instead (whatever the pool's policy).
    pub fn nonblocking(mut self) -> TaskOptions {
        self.wait = Some(Wait::Never);
        self
    }

    /// Wait for room at most `timeout` (whatever the pool's policy), then refuse with `TimedOut`.
    pub fn wait_at_most(mut self, timeout: Duration) -> TaskOptions {
        self.wait = Some(match Instant::now().checked_add(timeout) {
            Some(t) => Wait::Until(t),
            None => Wait::Forever,
        });
        self
    }
}
