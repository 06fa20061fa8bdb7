//! Scoped tasks: tasks that borrow from the caller's stack, all finished before `scope` returns —
//! `std::thread::scope` on a pool's workers.
//!
//! The borrow is sound because `scope` does not return (nor unwind) before every task it was given
//! has been run or discarded *and* its output dropped: what is left of a task cell after that (in
//! the queue, say, until a worker reaches its dead entry) holds no value of the scope's lifetime.
//!
//! A scoped task the pool cannot take (its queue is full, it is shut down) is not refused: it waits
//! in the scope, and the scope's thread runs it when it is joined or when the scope ends — as does
//! any task of the scope still queued by then, so a scope used from inside a worker of the same
//! pool (or on a pool whose workers are all busy) cannot deadlock waiting for a worker.
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex};

use crate::config::Wait;
use crate::error::TaskError;
use crate::metrics::bump;
use crate::pool::{Job, Pool, make_task};
use crate::task::{Header, Owned, Priority, Runnable, TaskContext};

/// The scope of [`Pool::scope`]: submit tasks that borrow from outside it.
pub struct Scope<'scope, 'env: 'scope> {
    pool: &'scope Pool,
    /// Every task of the scope, with whether the pool admitted it.
    tasks: Mutex<Vec<(Job, bool)>>,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tasks.lock().map_or(0, |t| t.len());
        f.debug_struct("Scope")
            .field("tasks", &n)
            .finish_non_exhaustive()
    }
}

/// The handle of a scoped task.
#[must_use = "a scoped task is joined by the scope anyway; join it to get its value"]
pub struct ScopedHandle<'scope, T> {
    pool: &'scope Pool,
    job: Job,
    admitted: bool,
    cell: Arc<dyn Owned<T> + 'scope>,
}

impl<T> std::fmt::Debug for ScopedHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedHandle").finish_non_exhaustive()
    }
}

impl Pool {
    /// Runs `f` with a [`Scope`] whose tasks may borrow anything that outlives the call; returns
    /// after every one of them has finished. If a task panicked and was not joined, `scope` panics
    /// with its message after all have finished (as `std::thread::scope` does).
    ///
    /// ```
    /// let pool = workpool::Pool::builder().workers(2).build()?;
    /// let data = vec![1, 2, 3, 4, 5, 6];
    /// let (left, right) = data.split_at(3);
    /// let total = pool.scope(|s| {
    ///     let a = s.submit(|| left.iter().sum::<i32>());
    ///     let b = s.submit(|| right.iter().sum::<i32>());
    ///     a.join().unwrap() + b.join().unwrap()
    /// });
    /// assert_eq!(total, 21);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        let scope = Scope {
            pool: self,
            tasks: Mutex::new(Vec::new()),
            scope: PhantomData,
            env: PhantomData,
        };
        let result = catch_unwind(AssertUnwindSafe(|| f(&scope)));
        let panicked = scope.finish();
        match result {
            Err(payload) => resume_unwind(payload),
            Ok(value) => {
                if let Some(message) = panicked {
                    panic!("a scoped task panicked: {message}");
                }
                value
            }
        }
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Submits `f`, which may borrow from outside the scope.
    pub fn submit<F, T>(&'scope self, f: F) -> ScopedHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let (job, cell) = make_task::<'scope, _, T>(
            Header::new(None, Priority::Normal),
            move |_: &TaskContext<'_>| f(),
        );
        // SAFETY: only the lifetime is erased. `Pool::scope` does not return or unwind before
        // `finish` has run or discarded this task and dropped its output (see the module docs), so
        // nothing borrowed for 'scope is reached through this `Job` after 'scope ends.
        let job: Job = unsafe { std::mem::transmute::<Arc<dyn Runnable + 'scope>, Job>(job) };
        let admitted = self
            .pool
            .shared
            .admit_quietly(job.clone(), Wait::Never)
            .is_ok();
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((job.clone(), admitted));
        ScopedHandle {
            pool: self.pool,
            job,
            admitted,
            cell,
        }
    }

    /// Runs what no worker has started, waits for the rest, drops unjoined outputs; the first
    /// unjoined panic's message.
    fn finish(&self) -> Option<String> {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for (job, admitted) in &tasks {
            run_here_if_queued(self.pool, job, *admitted);
        }
        let mut first_panic = None;
        for (job, _) in &tasks {
            job.wait_complete();
            if let Some(message) = job.discard_output() {
                first_panic.get_or_insert(message);
            }
        }
        first_panic
    }
}

fn run_here_if_queued(pool: &Pool, job: &Job, admitted: bool) {
    if job.header().state.try_start() {
        let s = &pool.shared;
        if !admitted {
            bump(&s.counters.submitted);
        }
        bump(&s.counters.caller_ran);
        s.run_inline(job);
    }
}

impl<T> ScopedHandle<'_, T> {
    /// Waits for the task (running it on this thread if no worker has started it yet).
    pub fn join(self) -> Result<T, TaskError> {
        run_here_if_queued(self.pool, &self.job, self.admitted);
        crate::task::join_cell(&*self.cell)
    }
}
