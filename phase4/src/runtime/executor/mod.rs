//! A mini multi-threaded executor, from scratch: Go's G–P–M in a few hundred lines.
//!
//! Go's scheduler gives every P a 256-slot local run queue, keeps a global run queue for overflow and
//! for goroutines made runnable from outside, lets an idle P steal half of another P's queue, and
//! parks Ms that find nothing. tokio's multi-thread scheduler is the same design for futures; this is
//! a small version of it:
//!
//! - `task`: one allocation per task (state word, reference count, future, output slot); its
//!   [`Waker`](std::task::Waker) is a raw waker over that count and queues the task where it was
//!   woken;
//! - per-worker [`LocalRing`]: bounded (256), owner pushes/pops, others steal half; overflow moves
//!   half to the injector;
//! - the global injector: a `Mutex<VecDeque>`, fed by `spawn` from outside and by overflow, drained
//!   in batches; checked first every 61 ticks so it cannot starve (Go's `schedtick % 61`);
//! - [`Sleepers`]: idle workers park without losing a wake-up, and a producer wakes one only when
//!   no worker is already searching for work (Go's `nmspinning`; see its docs);
//! - [`Executor::spawn`] returns a [`JoinHandle`]; [`block_on`] drives a future on the caller's thread;
//! - `owned`: every live task is on the owned-task list, so shutdown reaches the waiting ones too;
//! - dropping the [`Executor`] stops and joins every worker, then cancels every task that has not
//!   finished: queued ones where their queue is drained, waiting ones through the owned-task list
//!   (their futures are dropped at once, whoever still holds their wakers).
//!
//! Not here (tokio has them): a LIFO slot, a timer or IO driver, a blocking pool, and coop
//! budgeting.

pub(crate) mod join;
pub(crate) mod owned;
pub mod ring;
pub mod sleepers;
pub(crate) mod state;
pub(crate) mod task;
mod waker;
pub mod work_hint;

mod block_on;

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::{self, JoinHandle as ThreadHandle};

pub use block_on::block_on;
pub use join::{JoinError, JoinHandle};
pub use ring::LocalRing;
pub use sleepers::{Sleepers, Slept};

use crossbeam_utils::CachePadded;
use owned::OwnedTasks;
use task::TaskRef;

/// Slots in a worker's local ring (Go's and tokio's size).
pub const LOCAL_CAPACITY: usize = 256;
/// Every this many tasks, a worker looks at the injector before its own ring.
const INJECTOR_INTERVAL: u32 = 61;

type Ring = LocalRing<TaskRef, LOCAL_CAPACITY>;

/// Counters of one worker, for the exercise's tables. All Relaxed: statistics.
#[derive(Default)]
struct WorkerStats {
    polls: AtomicU64,
    steals: AtomicU64,
    stolen_tasks: AtomicU64,
    injector_batches: AtomicU64,
    parks: AtomicU64,
}

/// A snapshot of one worker's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Tasks polled.
    pub polls: u64,
    /// Successful steals from another worker's ring.
    pub steals: u64,
    /// Tasks taken from other rings by those steals.
    pub stolen_tasks: u64,
    /// Batches taken from the global injector.
    pub injector_batches: u64,
    /// Times the worker parked.
    pub parks: u64,
}

struct Injector {
    queue: VecDeque<TaskRef>,
    /// Set at shutdown; a push after it cancels the task instead.
    closed: bool,
}

/// State shared by the handle, the workers and every task.
///
/// Every part two threads write is on its own cache line (`CachePadded`): the rings (each worker
/// writes its own, stealers CAS their `head`), the injector and its length (written by outside
/// spawners), the sleepers' count, and each worker's counters (bumped on every poll). Unpadded,
/// two workers' rings or counters share a 64-byte line and every poll on one core invalidates
/// the other core's copy: false sharing, as `exercise2 false-sharing` measures.
pub(crate) struct Shared {
    rings: Box<[CachePadded<Ring>]>,
    injector: CachePadded<Mutex<Injector>>,
    /// Tasks in the injector (a hint for idle checks; the queue itself is the truth).
    injector_len: CachePadded<AtomicUsize>,
    sleepers: CachePadded<Sleepers>,
    /// Read on every loop turn, written once: kept off the lines above.
    shutdown: CachePadded<AtomicBool>,
    stats: Box<[CachePadded<WorkerStats>]>,
    /// Every task not yet finished (sharded; each shard on its own line).
    owned: OwnedTasks,
}

thread_local! {
    /// The executor and worker index of the current thread, when it is a worker.
    static CURRENT: Cell<Option<(*const Shared, usize)>> = const { Cell::new(None) };
}

impl Shared {
    fn current_worker(self: &Arc<Self>) -> Option<usize> {
        CURRENT.with(|c| match c.get() {
            Some((p, i)) if std::ptr::eq(p, Arc::as_ptr(self)) => Some(i),
            _ => None,
        })
    }

    /// Queues a runnable task: on this worker's ring when called from one of our workers, else on
    /// the injector; then wakes an idle worker if there is one.
    pub(crate) fn schedule(self: &Arc<Self>, task: TaskRef) {
        if let Some(me) = self.current_worker() {
            // SAFETY: `current_worker` says this thread is worker `me`, the ring's only owner.
            match unsafe { self.rings[me].push(task) } {
                Ok(()) => {
                    // The worker will run it itself; waking a sibling only buys parallelism, so a
                    // hint is enough (no lost-wake-up risk: the task is not stranded).
                    if self.sleepers.any_idle() {
                        self.sleepers.notify_one();
                    }
                }
                Err(spill) => {
                    self.push_injector(spill);
                    self.sleepers.notify_one();
                }
            }
        } else {
            self.push_injector(std::iter::once(task));
            self.sleepers.notify_one();
        }
    }

    fn push_injector(&self, tasks: impl IntoIterator<Item = TaskRef>) {
        let mut inj = self.injector.lock().unwrap_or_else(|p| p.into_inner());
        if inj.closed {
            drop(inj);
            for t in tasks {
                t.cancel();
            }
            return;
        }
        let before = inj.queue.len();
        inj.queue.extend(tasks);
        // Relaxed: a hint, updated under the lock; the lock publishes the tasks themselves.
        self.injector_len
            .fetch_add(inj.queue.len() - before, Relaxed);
    }

    /// Takes a batch from the injector: returns one task and moves up to a fair share into `me`'s ring.
    fn pop_injector(&self, me: usize) -> Option<TaskRef> {
        // Relaxed: a hint; a stale zero only delays us to the next look (the parking protocol
        // re-checks under the sleepers' RMW before any sleep).
        if self.injector_len.load(Relaxed) == 0 {
            return None;
        }
        let mut inj = self.injector.lock().unwrap_or_else(|p| p.into_inner());
        let first = inj.queue.pop_front()?;
        let share = (inj.queue.len() / self.rings.len()).min(LOCAL_CAPACITY / 2);
        let ring = &self.rings[me];
        let room = LOCAL_CAPACITY - ring.len();
        let mut moved = 0;
        while moved < share.min(room) {
            let Some(t) = inj.queue.pop_front() else {
                break;
            };
            // SAFETY: called by worker `me` only.
            if let Err(back) = unsafe { ring.push(t) } {
                // Cannot happen with `room` checked, but never lose a task: put them back.
                for t in back.into_iter().rev() {
                    inj.queue.push_front(t);
                }
                break;
            }
            moved += 1;
        }
        // Relaxed: as in `push_injector`.
        self.injector_len.fetch_sub(moved + 1, Relaxed);
        self.stats[me].injector_batches.fetch_add(1, Relaxed);
        Some(first)
    }

    fn steal(&self, me: usize, start: usize) -> Option<TaskRef> {
        let n = self.rings.len();
        for k in 0..n {
            let victim = (start + k) % n;
            if victim == me {
                continue;
            }
            // SAFETY: worker `me` owns `rings[me]` and steals from another ring.
            if let Some(t) = unsafe { self.rings[victim].steal_into(&self.rings[me]) } {
                let s = &self.stats[me];
                s.steals.fetch_add(1, Relaxed);
                s.stolen_tasks
                    .fetch_add(1 + self.rings[me].len() as u64, Relaxed);
                return Some(t);
            }
        }
        None
    }

    /// The "last look" of the parking protocol (after `Sleepers::register`'s AcqRel RMW), and the
    /// spin check before it. Lock-free: the injector's length counter, not its lock. That is
    /// enough: a spawner raises `injector_len` before its `notify_one` RMW, so a worker whose
    /// register RMW comes later sees the raised count (Acquire), and one whose RMW comes earlier
    /// is woken by that `notify_one`. (Taking the injector lock here made every idle spin contend
    /// with the spawner's pushes.)
    fn has_work(&self) -> bool {
        work_hint::has_work(
            &self.shutdown,
            &self.injector_len,
            self.rings.iter().map(|r| &**r),
        )
    }
}

fn worker_loop(shared: Arc<Shared>, me: usize) {
    CURRENT.with(|c| c.set(Some((Arc::as_ptr(&shared), me))));
    let ring = &shared.rings[me];
    let mut tick: u32 = 0;
    // A tiny xorshift for the steal victim order.
    let mut rng: u32 = 0x9E37_79B9 ^ (me as u32).wrapping_mul(0x85EB_CA6B) | 1;
    // Out of local work and counted as searching in `Sleepers` (see there: producers skip their
    // wake-ups while someone searches, so a searcher that finds work must pass the wake-up on).
    let mut searching = false;
    loop {
        // Acquire: pairs with the Release store in `Executor::drop`.
        if shared.shutdown.load(Acquire) {
            break;
        }
        tick = tick.wrapping_add(1);
        let local = if tick.is_multiple_of(INJECTOR_INTERVAL) {
            shared.pop_injector(me).or_else(|| {
                // SAFETY: worker `me` owns `ring`.
                unsafe { ring.pop() }
            })
        } else {
            // SAFETY: worker `me` owns `ring`.
            unsafe { ring.pop() }
        };
        let next = local.or_else(|| {
            if !searching {
                shared.sleepers.start_searching();
                searching = true;
            }
            shared.pop_injector(me).or_else(|| {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                shared.steal(me, rng as usize)
            })
        });
        match next {
            Some(task) => {
                if searching {
                    searching = false;
                    if shared.sleepers.stop_searching() {
                        // The last searcher: wake-ups skipped while we searched are ours to pass on.
                        shared.sleepers.notify_one();
                    }
                }
                shared.stats[me].polls.fetch_add(1, Relaxed);
                if let Some(again) = task.run() {
                    shared.schedule(again);
                }
            }
            None => {
                // A short spin before sleeping: waking a parked thread costs far more than this.
                if (0..16).any(|_| {
                    thread::yield_now();
                    shared.has_work()
                }) {
                    continue;
                }
                // Either way we are searching afterwards: `FoundWork` keeps our search, and a
                // producer that wakes us counts us as a searcher.
                if shared
                    .sleepers
                    .sleep_unless(me, searching, || shared.has_work())
                    == Slept::Woken
                {
                    shared.stats[me].parks.fetch_add(1, Relaxed);
                }
                searching = true;
            }
        }
    }
    CURRENT.with(|c| c.set(None));
    // Cancel what is left in our ring (nobody steals any more: every worker is leaving).
    // SAFETY: worker `me` owns `ring`.
    while let Some(t) = unsafe { ring.pop() } {
        t.cancel();
    }
}

/// Configures an [`Executor`].
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    name: String,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            workers: 2,
            name: "mini-exec".into(),
        }
    }
}

impl Builder {
    /// Two workers named `mini-exec-N`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of worker threads (at least 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Thread-name prefix (the kernel keeps 15 bytes of `prefix-N`).
    pub fn name(mut self, prefix: impl Into<String>) -> Self {
        self.name = prefix.into();
        self
    }

    /// Starts the workers.
    pub fn build(self) -> io::Result<Executor> {
        let shared = Arc::new(Shared {
            rings: (0..self.workers)
                .map(|_| CachePadded::new(Ring::new()))
                .collect(),
            injector: CachePadded::new(Mutex::new(Injector {
                queue: VecDeque::new(),
                closed: false,
            })),
            injector_len: CachePadded::new(AtomicUsize::new(0)),
            sleepers: CachePadded::new(Sleepers::new(self.workers)),
            shutdown: CachePadded::new(AtomicBool::new(false)),
            stats: (0..self.workers)
                .map(|_| CachePadded::new(WorkerStats::default()))
                .collect(),
            owned: OwnedTasks::new(),
        });
        let mut threads = Vec::with_capacity(self.workers);
        for i in 0..self.workers {
            let s = Arc::clone(&shared);
            let spawned = thread::Builder::new()
                .name(format!("{}-{i}", self.name))
                .spawn(move || worker_loop(s, i));
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    // Stop the ones already started before reporting.
                    drop(Executor { shared, threads });
                    return Err(e);
                }
            }
        }
        Ok(Executor { shared, threads })
    }
}

/// The executor: worker threads and their queues. Dropping it shuts it down and joins the workers.
pub struct Executor {
    shared: Arc<Shared>,
    threads: Vec<ThreadHandle<()>>,
}

/// A cloneable spawner for an [`Executor`], usable inside its tasks.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Executor {
    /// An executor with `workers` threads named `mini-exec-N`.
    pub fn new(workers: usize) -> io::Result<Self> {
        Builder::new().workers(workers).build()
    }

    /// A spawner to move into tasks.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Spawns `future`; see [`Handle::spawn`].
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, future)
    }

    /// Runs `future` to completion on the calling thread (its tasks run on the workers).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on(future)
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Per-worker counters so far.
    pub fn stats(&self) -> Vec<WorkerReport> {
        self.shared
            .stats
            .iter()
            // Relaxed: statistics.
            .map(|s| WorkerReport {
                polls: s.polls.load(Relaxed),
                steals: s.steals.load(Relaxed),
                stolen_tasks: s.stolen_tasks.load(Relaxed),
                injector_batches: s.injector_batches.load(Relaxed),
                parks: s.parks.load(Relaxed),
            })
            .collect()
    }
}

impl Handle {
    /// Spawns `future` on the executor: on the current worker's ring when called from a task, on
    /// the injector otherwise. The handle yields its output, or the panic that ended it.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_on(&self.shared, future)
    }
}

fn spawn_on<F>(shared: &Arc<Shared>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (task, handle) = TaskRef::spawn(future, Arc::clone(shared));
    shared.schedule(task);
    handle
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Release: pairs with the workers' Acquire load at the top of their loop.
        self.shared.shutdown.store(true, Release);
        self.shared.sleepers.unpark_all();
        for t in self.threads.drain(..) {
            let _ = t.join(); // a worker never panics: task panics stop at `Harness`
        }
        // Close the injector and cancel what it holds; later wake-ups cancel their task.
        let left: Vec<_> = {
            let mut inj = self
                .shared
                .injector
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            inj.closed = true;
            inj.queue.drain(..).collect()
        };
        for t in left {
            t.cancel();
        }
        // Then every task still waiting: no worker is left to poll it, so drop its future now
        // rather than when (if ever) its last waker goes.
        for task in self.shared.owned.close() {
            // SAFETY: `close` unlinked it and hands us the list's reference.
            unsafe { TaskRef::cancel_owned(task) };
        }
    }
}

/// Gives the scheduler a turn: returns `Pending` once (after waking itself), then `Ready`.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
