//! Task groups: submit many, wait for all, results in submit order; the first failure (an `Err`, a
//! panic, a task that could not run) cancels the group's queued tasks and signals its running ones
//! through their [`TaskContext`] — Go's `errgroup` with `WithContext`, pond's `NewGroupContext`.
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};

use crate::config::TaskOptions;
use crate::error::{GroupError, NotRunReason, TaskError};
use crate::metrics::bump;
use crate::pool::{Job, Pool, make_task};
use crate::task::{Header, Runnable, TaskContext, TaskHandle, abandon};

/// What the members of one group share.
#[derive(Debug, Default)]
pub(crate) struct GroupShared {
    cancelled: AtomicBool,
    /// The index of the first member to fail, by time.
    first: Mutex<Option<usize>>,
    /// Every member, so a failure can abandon the queued ones. Weak: a member's header holds the
    /// group, so a strong reference here would be a cycle that leaks both (ASan found it).
    members: Mutex<Vec<Weak<dyn Runnable>>>,
}

impl GroupShared {
    /// Relaxed: a flag with no data behind it (the failure itself is read under `first`'s lock).
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Relaxed)
    }

    /// Member `index` failed: remember it if it is the first, and cancel the rest.
    pub(crate) fn fail(&self, index: usize) {
        {
            let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
            if first.is_none() {
                *first = Some(index);
            }
        }
        self.cancel_all();
    }

    fn cancel_all(&self) {
        if self.cancelled.swap(true, Relaxed) {
            return;
        }
        // Cloned out: abandoning drops closures (user code), which must not run under our lock.
        let members: Vec<Job> = self
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for m in members {
            abandon(&*m, TaskError::Cancelled);
        }
    }

    fn first(&self) -> Option<usize> {
        *self.first.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A group of tasks on one pool, each returning `Result<T, E>`.
///
/// ```
/// use workpool::{GroupError, Pool};
/// let pool = Pool::builder().workers(2).build()?;
///
/// let mut ok = pool.group();
/// for i in 0..5 {
///     ok.submit(move |_ctx| Ok::<_, String>(i * 10));
/// }
/// assert_eq!(ok.wait(), Ok(vec![0, 10, 20, 30, 40])); // submit order
///
/// let mut failing = pool.group();
/// failing.submit(|_ctx| Ok(1));
/// failing.submit(|_ctx| Err("bad input".to_string()));
/// failing.submit(|ctx| if ctx.is_cancelled() { Ok(0) } else { Ok(3) });
/// assert_eq!(
///     failing.wait(),
///     Err(GroupError::Failed { index: 1, error: "bad input".to_string() })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TaskGroup<'p, T, E> {
    pool: &'p Pool,
    shared: Arc<GroupShared>,
    members: Vec<Result<TaskHandle<Result<T, E>>, NotRunReason>>,
}

impl<T, E> std::fmt::Debug for TaskGroup<'_, T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskGroup")
            .field("members", &self.members.len())
            .field("cancelled", &self.shared.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A new, empty [`TaskGroup`] on this pool.
    pub fn group<T, E>(&self) -> TaskGroup<'_, T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        TaskGroup {
            pool: self,
            shared: Arc::new(GroupShared::default()),
            members: Vec::new(),
        }
    }
}

impl<T, E> TaskGroup<'_, T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Adds a member. Once the group has failed, new members are not submitted (they count as
    /// cancelled); a member the pool refuses fails the group.
    pub fn submit<F>(&mut self, f: F)
    where
        F: FnOnce(&TaskContext<'_>) -> Result<T, E> + Send + 'static,
    {
        self.submit_with(TaskOptions::new(), f)
    }

    /// Adds a member with [`TaskOptions`].
    pub fn submit_with<F>(&mut self, options: TaskOptions, f: F)
    where
        F: FnOnce(&TaskContext<'_>) -> Result<T, E> + Send + 'static,
    {
        let index = self.members.len();
        if self.shared.is_cancelled() {
            self.members
                .push(Err(NotRunReason::Task(TaskError::Cancelled)));
            return;
        }
        let group = self.shared.clone();
        let pool = self.pool.shared.clone();
        let run = move |ctx: &TaskContext<'_>| {
            let out = f(ctx);
            if out.is_err() {
                bump(&pool.counters.failed);
                group.fail(index);
            }
            out
        };
        let header =
            Header::new(options.name, options.priority).in_group(self.shared.clone(), index);
        let (job, handle) = make_task(header, run);
        // Registered before admission, so a failure racing this submit still abandons it.
        self.shared
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&job));
        let admitted = self.pool.shared.admit(
            job,
            options.deadline,
            options.wait.unwrap_or(crate::config::Wait::Policy),
        );
        match admitted {
            Ok(()) => self.members.push(Ok(TaskHandle::new(handle))),
            Err(e) => {
                self.members.push(Err(NotRunReason::Submit(e.clone())));
                self.shared.fail(index);
            }
        }
    }

    /// Members submitted so far.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when no member has been submitted.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Cancels the group: queued members never start, running ones see
    /// [`TaskContext::is_cancelled`].
    ///
    /// ```
    /// use workpool::{GroupError, NotRunReason, Pool, TaskError};
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let blocker = pool.submit(move || rx.recv().ok())?; // holds the worker
    /// let mut group = pool.group::<u32, ()>();
    /// group.submit(|_| Ok(1));
    /// group.cancel();
    /// tx.send(()).unwrap();
    /// blocker.join()?;
    /// let cancelled = GroupError::NotRun { index: 0, reason: NotRunReason::Task(TaskError::Cancelled) };
    /// assert_eq!(group.wait(), Err(cancelled));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) {
        self.shared.cancel_all();
    }

    /// Waits for every member; their values in submit order, or the group's first failure.
    pub fn wait(self) -> Result<Vec<T>, GroupError<E>> {
        let outcomes: Vec<_> = self
            .members
            .into_iter()
            .map(|m| m.map(TaskHandle::join))
            .collect();
        let first = self.shared.first();
        let mut values = Vec::with_capacity(outcomes.len());
        let mut failure = None;
        for (index, outcome) in outcomes.into_iter().enumerate() {
            let err = match outcome {
                Ok(Ok(Ok(v))) => {
                    values.push(v);
                    continue;
                }
                Ok(Ok(Err(error))) => GroupError::Failed { index, error },
                Ok(Err(TaskError::Panicked { message })) => GroupError::Panicked { index, message },
                Ok(Err(e)) => GroupError::NotRun {
                    index,
                    reason: NotRunReason::Task(e),
                },
                Err(reason) => GroupError::NotRun { index, reason },
            };
            // The first failure by time wins; a member cancelled *because* of it is not reported.
            if first == Some(index) || (first.is_none() && failure.is_none()) {
                failure = Some(err);
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(values),
        }
    }
}
