//! A task: one allocation holding its state word, its closure and its completion slot, seen by the
//! queue as a [`Runnable`] and by its handle as an [`Owned<T>`].
//!
//! Go's pools hand a `func()` to a goroutine and return results over a channel or a `Wait`; here a
//! task is a cell shared by the queue and the [`TaskHandle`], so that `join`, `cancel`, `await` and
//! the pool's own bookkeeping all meet in one place without a second allocation.
use std::borrow::Cow;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use shim::UnsafeCell;
use shim::sync::atomic::{AtomicBool, Ordering::Relaxed};
use shim::sync::{Condvar, Mutex};
use std::sync::Arc;

use crate::error::{CancelOutcome, TaskError};
use crate::group::GroupShared;
use crate::state::{Lifecycle, State};
use crate::subpool::SubShared;
use crate::sync::{contain, lock};

/// A task's priority lane. Within a lane, first in first out; across lanes, higher first, with the
/// starvation bound of [`Builder::aging`](crate::Builder::aging).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Runs before `Normal` and `Low` work.
    High = 0,
    /// The default.
    #[default]
    Normal = 1,
    /// Runs when no higher work waits, or when aging says it has waited long enough.
    Low = 2,
}

impl Priority {
    /// Every lane, highest first.
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];
}

/// What the pool knows of a task besides its closure and output. What most tasks lack (a name, a
/// group, a subpool) sits behind one pointer, so a plain task's cell stays small: 64 bytes with its
/// reference counts for a closure of one word, where those fields inline made it 104 (a queued
/// backlog's memory, `examples/footprint.rs`). A named, grouped or subpool task pays a second
/// allocation for them.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) priority: Priority,
    pub(crate) submitted_at: crate::sync::Stamp,
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Default)]
struct Extra {
    name: Option<Cow<'static, str>>,
    /// The group it belongs to and its index there.
    group: Option<(Arc<GroupShared>, usize)>,
    /// The subpool whose concurrency it counts against.
    sub: Option<Arc<SubShared>>,
}

impl Header {
    pub(crate) fn new(name: Option<Cow<'static, str>>, priority: Priority) -> Header {
        Header {
            state: State::new(),
            priority,
            submitted_at: crate::sync::Stamp::now(),
            extra: name.map(|name| {
                Box::new(Extra {
                    name: Some(name),
                    ..Extra::default()
                })
            }),
        }
    }

    /// The same header, counted in `group` at `index`.
    pub(crate) fn in_group(mut self, group: Arc<GroupShared>, index: usize) -> Header {
        self.extra.get_or_insert_default().group = Some((group, index));
        self
    }

    /// The same header, counted against the subpool `sub`.
    pub(crate) fn in_sub(mut self, sub: Arc<SubShared>) -> Header {
        self.extra.get_or_insert_default().sub = Some(sub);
        self
    }

    pub(crate) fn name(&self) -> Option<&Cow<'static, str>> {
        self.extra.as_ref()?.name.as_ref()
    }

    pub(crate) fn group(&self) -> Option<&(Arc<GroupShared>, usize)> {
        self.extra.as_ref()?.group.as_ref()
    }

    pub(crate) fn sub(&self) -> Option<&Arc<SubShared>> {
        self.extra.as_ref()?.sub.as_ref()
    }
}

/// How a claimed task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ran {
    Returned,
    Panicked,
}

/// The queue's view of a task. The caller of `run_claimed` / `abandon_claimed` must have won the
/// matching transition of `header().state` (`try_start` / `try_abandon`).
pub(crate) trait Runnable: Send + Sync {
    fn header(&self) -> &Header;
    /// Runs the closure, stores its output (or its panic) and wakes the joiner. Never unwinds.
    fn run_claimed(&self, ctx: &TaskContext<'_>) -> Ran;
    /// Drops the closure (containing a panic of its captures' `Drop`) and completes with `why`.
    fn abandon_claimed(&self, why: TaskError);
    /// Blocks until the task has completed (ran or was abandoned).
    fn wait_complete(&self);
    /// Drops an output nobody took; the panic message if that output was a panic.
    fn discard_output(&self) -> Option<String>;
}

impl std::fmt::Debug for dyn Runnable + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.header().name())
            .field("priority", &self.header().priority)
            .field("state", &self.header().state.lifecycle())
            .finish()
    }
}

/// Abandons `job` if it is still queued: true when this call did it.
pub(crate) fn abandon(job: &dyn Runnable, why: TaskError) -> bool {
    if job.header().state.try_abandon() {
        job.abandon_claimed(why);
        true
    } else {
        false
    }
}

/// Waits for a task and takes its output (the handle that owns it does this once).
pub(crate) fn join_cell<T>(cell: &(dyn Owned<T> + '_)) -> Result<T, TaskError> {
    let done = cell.completion();
    done.wait_ready(None);
    done.take()
        .expect("the output is taken once, by the handle that owns it")
}

/// The handle's view of a task.
pub(crate) trait Owned<T>: Runnable {
    fn completion(&self) -> &Completion<T>;
}

/// One task. `job` is touched only by the party that moved `header.state` out of `QUEUED`.
pub(crate) struct TaskCell<F, T> {
    header: Header,
    job: UnsafeCell<Option<F>>,
    done: Completion<T>,
}

// SAFETY: `job` is read (taken) or dropped only by the single party whose compare-and-swap moved the
// state out of QUEUED (`State::try_start` / `try_abandon`), so no two threads ever touch it; `F: Send`
// lets that party be any thread. The output goes through the completion mutex (`T: Send`).
unsafe impl<F: Send, T: Send> Sync for TaskCell<F, T> {}

impl<F, T> TaskCell<F, T>
where
    F: FnOnce(&TaskContext<'_>) -> T + Send,
    T: Send,
{
    pub(crate) fn new(header: Header, job: F) -> TaskCell<F, T> {
        TaskCell {
            header,
            job: UnsafeCell::new(Some(job)),
            done: Completion::new(),
        }
    }

    fn complete(&self, out: Result<T, TaskError>) {
        self.done.complete(out);
    }

    fn take_job(&self) -> F {
        // SAFETY: the caller won the state transition out of QUEUED (the trait's contract), so this
        // thread alone accesses `job`, once.
        let job = self.job.with_mut(|p| unsafe { (*p).take() });
        job.expect("a task's closure is taken once, by the winner of its state word")
    }
}

impl<F, T> Runnable for TaskCell<F, T>
where
    F: FnOnce(&TaskContext<'_>) -> T + Send,
    T: Send,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn run_claimed(&self, ctx: &TaskContext<'_>) -> Ran {
        let job = self.take_job();
        // The closure's captures are dropped inside the call, so a panicking `Drop` of a capture is
        // caught here too.
        let (out, ran) = match catch_unwind(AssertUnwindSafe(move || job(ctx))) {
            Ok(value) => (Ok(value), Ran::Returned),
            Err(payload) => {
                let message = shim::panic_message(&*payload);
                contain(move || drop(payload));
                (Err(TaskError::Panicked { message }), Ran::Panicked)
            }
        };
        if ran == Ran::Panicked
            && let Some((group, index)) = self.header.group()
        {
            // Before the handle completes: the group's `wait` sees the failure with the value,
            // and no queued sibling starts once the failure is known.
            group.fail(*index);
        }
        self.header.state.finish();
        self.complete(out);
        ran
    }

    fn abandon_claimed(&self, why: TaskError) {
        let job = self.take_job();
        contain(move || drop(job));
        self.complete(Err(why));
    }

    fn wait_complete(&self) {
        self.done.wait_ready(None);
    }

    fn discard_output(&self) -> Option<String> {
        match self.done.take() {
            Some(Err(TaskError::Panicked { message })) => Some(message),
            Some(other) => {
                contain(move || drop(other));
                None
            }
            None => None,
        }
    }
}

impl<F, T> Owned<T> for TaskCell<F, T>
where
    F: FnOnce(&TaskContext<'_>) -> T + Send,
    T: Send,
{
    fn completion(&self) -> &Completion<T> {
        &self.done
    }
}

/// A task nobody will join (`Pool::execute`): no completion slot, so a smaller allocation and no
/// lock when it ends. Its output is `()`; a panic is counted by the pool.
pub(crate) struct DetachedCell<F> {
    header: Header,
    job: UnsafeCell<Option<F>>,
}

// SAFETY: as for `TaskCell`: `job` is touched only by the winner of the state word's transition.
unsafe impl<F: Send> Sync for DetachedCell<F> {}

impl<F: FnOnce() + Send> DetachedCell<F> {
    pub(crate) fn new(header: Header, job: F) -> DetachedCell<F> {
        DetachedCell {
            header,
            job: UnsafeCell::new(Some(job)),
        }
    }

    fn take_job(&self) -> F {
        // SAFETY: the caller won the state transition out of QUEUED (the trait's contract).
        let job = self.job.with_mut(|p| unsafe { (*p).take() });
        job.expect("a task's closure is taken once, by the winner of its state word")
    }
}

impl<F: FnOnce() + Send> Runnable for DetachedCell<F> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn run_claimed(&self, _ctx: &TaskContext<'_>) -> Ran {
        let job = self.take_job();
        let ran = if contain(job) {
            Ran::Panicked
        } else {
            Ran::Returned
        };
        self.header.state.finish();
        ran
    }

    fn abandon_claimed(&self, _why: TaskError) {
        let job = self.take_job();
        contain(move || drop(job));
    }

    fn wait_complete(&self) {
        unreachable!("a detached task is never waited for")
    }

    fn discard_output(&self) -> Option<String> {
        None
    }
}

/// The output slot, with the joiner's way to wait: a condvar for threads, a waker for futures.
pub(crate) struct Completion<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
}

struct Slot<T> {
    out: Out<T>,
    waker: Option<Waker>,
    /// A thread waits on `ready`: only then does `complete` pay for a notify (a futex wake).
    thread_waiting: bool,
}

enum Out<T> {
    Pending,
    Ready(Result<T, TaskError>),
    Taken,
}

impl<T> Completion<T> {
    fn new() -> Completion<T> {
        Completion {
            slot: Mutex::new(Slot {
                out: Out::Pending,
                waker: None,
                thread_waiting: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn complete(&self, out: Result<T, TaskError>) {
        let mut slot = lock(&self.slot);
        debug_assert!(matches!(slot.out, Out::Pending), "a task completes once");
        slot.out = Out::Ready(out);
        let waker = slot.waker.take();
        let notify = slot.thread_waiting;
        drop(slot);
        if notify {
            self.ready.notify_all();
        }
        if let Some(waker) = waker {
            // A waker is user code (an executor's): its panic must not reach the worker.
            contain(move || waker.wake());
        }
    }

    /// Waits until the output is ready (or taken), at most until `deadline`; true when it is.
    fn wait_ready(&self, deadline: Option<Instant>) -> bool {
        let mut slot = lock(&self.slot);
        loop {
            if !matches!(slot.out, Out::Pending) {
                slot.thread_waiting = false;
                return true;
            }
            slot.thread_waiting = true;
            match deadline {
                None => slot = self.ready.wait(slot).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        slot.thread_waiting = false;
                        return false;
                    }
                    slot = self
                        .ready
                        .wait_timeout(slot, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }

    fn take(&self) -> Option<Result<T, TaskError>> {
        let mut slot = lock(&self.slot);
        match std::mem::replace(&mut slot.out, Out::Taken) {
            Out::Ready(out) => Some(out),
            Out::Pending => {
                slot.out = Out::Pending;
                None
            }
            Out::Taken => None,
        }
    }

    fn is_ready(&self) -> bool {
        !matches!(lock(&self.slot).out, Out::Pending)
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        let mut slot = lock(&self.slot);
        match std::mem::replace(&mut slot.out, Out::Taken) {
            Out::Ready(out) => Poll::Ready(out),
            Out::Taken => panic!("a TaskHandle polled after it returned Ready"),
            Out::Pending => {
                slot.out = Out::Pending;
                match &slot.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => slot.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

/// What a running task can ask of the pool: whether it has been asked to stop, and its name.
///
/// A task is asked to stop when its handle's [`cancel`](TaskHandle::cancel) finds it running, when a
/// sibling in its [`TaskGroup`](crate::TaskGroup) fails, or when the pool is
/// [stopped](crate::Pool::shutdown_now) or its [shutdown](crate::Pool::shutdown) deadline passes.
/// Stopping is cooperative: the task checks.
#[derive(Debug)]
pub struct TaskContext<'a> {
    header: &'a Header,
    stop: &'a AtomicBool,
}

impl<'a> TaskContext<'a> {
    pub(crate) fn new(header: &'a Header, stop: &'a AtomicBool) -> TaskContext<'a> {
        TaskContext { header, stop }
    }

    /// True once this task, its group or its pool has been asked to stop. Relaxed loads: a flag
    /// with no data behind it, polled; a late read only delays the stop.
    pub fn is_cancelled(&self) -> bool {
        self.header.state.cancel_requested()
            || self.stop.load(Relaxed)
            || self.header.group().is_some_and(|(g, _)| g.is_cancelled())
    }

    /// The name given with [`TaskOptions::name`](crate::TaskOptions::name), if any.
    pub fn name(&self) -> Option<&str> {
        self.header.name().map(|n| &**n)
    }

    /// The task's priority lane.
    pub fn priority(&self) -> Priority {
        self.header.priority
    }
}

/// The handle of a submitted task: join it (blocking, with a timeout, or without waiting), cancel
/// it, or `.await` it (it is a [`Future`], runtime-agnostic: it needs no particular executor).
///
/// Dropping the handle detaches the task: it still runs, and its output is dropped.
///
/// Awaiting it needs no runtime of ours; any executor's waker is woken when the task ends:
/// ```
/// # use std::future::Future;
/// # use std::pin::pin;
/// # use std::sync::Arc;
/// # use std::task::{Context, Poll, Wake};
/// struct Unpark(std::thread::Thread);
/// impl Wake for Unpark {
///     fn wake(self: Arc<Self>) { self.0.unpark() }
/// }
/// fn block_on<F: Future>(f: F) -> F::Output {
///     let waker = Arc::new(Unpark(std::thread::current())).into();
///     let mut cx = Context::from_waker(&waker);
///     let mut f = pin!(f);
///     loop {
///         if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
///         std::thread::park();
///     }
/// }
/// let pool = workpool::Pool::builder().workers(1).build()?;
/// assert_eq!(block_on(pool.submit(|| 5)?), Ok(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ```
/// let pool = workpool::Pool::builder().workers(2).build()?;
/// let handle = pool.submit(|| 6 * 7)?;
/// assert_eq!(handle.join(), Ok(42));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a TaskHandle detaches the task; join it, await it or drop it on purpose"]
pub struct TaskHandle<T> {
    cell: Arc<dyn Owned<T>>,
}

impl<T> std::fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHandle")
            .field("name", &self.cell.header().name())
            .field("state", &self.cell.header().state.lifecycle())
            .finish()
    }
}

impl<T> TaskHandle<T> {
    pub(crate) fn new(cell: Arc<dyn Owned<T>>) -> TaskHandle<T> {
        TaskHandle { cell }
    }

    /// Waits for the task and returns its value, or why there is none.
    pub fn join(self) -> Result<T, TaskError> {
        join_cell(&*self.cell)
    }

    /// Waits at most `timeout`. `Err(self)` gives the handle back when the task has not finished.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let pool = workpool::Pool::builder().workers(1).build()?;
    /// let slow = pool.submit(|| std::thread::sleep(Duration::from_millis(200)))?;
    /// let slow = slow.join_timeout(Duration::from_millis(1)).unwrap_err(); // not yet
    /// assert_eq!(slow.join(), Ok(()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, TaskHandle<T>> {
        let deadline = Instant::now().checked_add(timeout);
        if !self.cell.completion().wait_ready(deadline) {
            return Err(self);
        }
        Ok(self.cell.completion().take().expect("taken once"))
    }

    /// Returns the result if the task has finished, the handle otherwise. Never blocks.
    pub fn try_join(self) -> Result<Result<T, TaskError>, TaskHandle<T>> {
        match self.cell.completion().take() {
            Some(out) => Ok(out),
            None => Err(self),
        }
    }

    /// True once the task has finished, or will never run.
    pub fn is_finished(&self) -> bool {
        self.cell.completion().is_ready()
    }

    /// Cancels the task: a queued task never starts (its closure is dropped now); a running one is
    /// signalled through its [`TaskContext`].
    ///
    /// ```
    /// use workpool::{CancelOutcome, TaskError};
    /// let pool = workpool::Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let blocker = pool.submit(move || rx.recv().ok())?; // holds the only worker
    /// let queued = pool.submit(|| unreachable!("never starts"))?;
    /// assert_eq!(queued.cancel(), CancelOutcome::Cancelled);
    /// tx.send(()).unwrap();
    /// assert_eq!(blocker.join(), Ok(Some(())));
    /// assert_eq!(queued.join(), Err(TaskError::Cancelled));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) -> CancelOutcome {
        if abandon(&*self.cell, TaskError::Cancelled) {
            return CancelOutcome::Cancelled;
        }
        match self.cell.header().state.request_cancel() {
            Lifecycle::Running => CancelOutcome::Signalled,
            // Queued is impossible here (the CAS above failed, and nothing returns to QUEUED).
            Lifecycle::Queued | Lifecycle::Finished | Lifecycle::Abandoned => {
                CancelOutcome::TooLate
            }
        }
    }

    /// The name given at submission, if any.
    pub fn name(&self) -> Option<&str> {
        self.cell.header().name().map(|n| &**n)
    }
}

impl<T> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.cell.completion().poll(cx)
    }
}

impl<T> Unpin for TaskHandle<T> {}
