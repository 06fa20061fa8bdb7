//! Subpools: a share of the parent's workers. A subpool runs at most `max_concurrency` of its tasks
//! at once on the parent's workers (pond's `NewSubpool`), so one tenant or one kind of work cannot
//! take the whole pool, while an idle subpool takes nothing from anyone.
//!
//! Tasks beyond the limit wait in the subpool's own backlog (bounded like the parent's queue;
//! refused with `Full` past it); each task of the subpool that leaves the parent — run, or reached
//! cancelled — forwards the next one. Forwarded tasks enter the parent's queue past its bound (the
//! subpool admitted them already), so the parent's queue holds at most `max_concurrency` more.
use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use shim::sync::Mutex;

use crate::config::{Queue, TaskOptions};
use crate::error::{SubmitError, TaskError};
use crate::metrics::bump;
use crate::pool::{Job, Pool, Shared, make_task};
use crate::sync::{contain, lock};
use crate::task::{Header, TaskContext, TaskHandle};

#[derive(Debug)]
struct SubState {
    running: usize,
    backlog: VecDeque<Job>,
}

pub(crate) struct SubShared {
    limit: usize,
    bound: Option<usize>,
    parent: Weak<Shared>,
    state: Mutex<SubState>,
}

impl std::fmt::Debug for SubShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubShared")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl SubShared {
    /// One of our tasks left the parent's queue: forward the next, or free the slot.
    pub(crate) fn release(&self) {
        loop {
            let next = {
                let mut st = lock(&self.state);
                match st.backlog.pop_front() {
                    Some(next) => next,
                    None => {
                        st.running -= 1;
                        return;
                    }
                }
            };
            let parent = self.parent.upgrade();
            let refused = match &parent {
                Some(p) => match p.push_unbounded(next) {
                    Ok(()) => return,
                    Err(job) => job,
                },
                None => next,
            };
            // The parent is closed: this task never runs, and its slot passes to the next one.
            if refused.header().state.try_abandon() {
                if let Some(p) = &parent {
                    bump(&p.counters.unstarted);
                }
                refused.abandon_claimed(TaskError::ShutDown);
            } else if let Some(p) = &parent {
                bump(&p.counters.cancelled); // cancelled while in the backlog
            }
            contain(move || drop(refused));
        }
    }

    /// The parent is closing: every task still in the backlog is discarded unstarted.
    pub(crate) fn discard_backlog(&self, parent: &Shared) {
        let backlog = std::mem::take(&mut lock(&self.state).backlog);
        for job in backlog {
            if job.header().state.try_abandon() {
                bump(&parent.counters.unstarted);
                job.abandon_claimed(TaskError::ShutDown);
            } else {
                bump(&parent.counters.cancelled);
            }
            contain(move || drop(job));
        }
    }
}

/// A share of a [`Pool`]'s workers: at most `max_concurrency` of its tasks run at once.
///
/// ```
/// let pool = workpool::Pool::builder().workers(4).build()?;
/// let reports = pool.subpool(1); // never more than one report at a time
/// let a = reports.submit(|| "a")?;
/// let b = reports.submit(|| "b")?;
/// assert_eq!((a.join()?, b.join()?), ("a", "b"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SubPool<'p> {
    pool: &'p Pool,
    shared: Arc<SubShared>,
}

impl std::fmt::Debug for SubPool<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubPool")
            .field("max_concurrency", &self.shared.limit)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A subpool running at most `max_concurrency` (at least 1) tasks at once on this pool's
    /// workers, with a backlog bounded like this pool's queue.
    pub fn subpool(&self, max_concurrency: usize) -> SubPool<'_> {
        let bound = match self.shared.config.queue {
            Queue::Bounded(n) => Some(n),
            Queue::Unbounded => None,
        };
        let shared = Arc::new(SubShared {
            limit: max_concurrency.max(1),
            bound,
            parent: Arc::downgrade(&self.shared),
            state: Mutex::new(SubState {
                running: 0,
                backlog: VecDeque::new(),
            }),
        });
        self.shared.register_sub(&shared);
        SubPool { pool: self, shared }
    }
}

impl SubPool<'_> {
    /// Submits `f` to the subpool.
    pub fn submit<F, T>(&self, f: F) -> Result<TaskHandle<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_with(TaskOptions::new(), move |_| f())
    }

    /// Submits `f` with options (name and priority apply; the subpool never waits for room).
    pub fn submit_with<F, T>(
        &self,
        options: TaskOptions,
        f: F,
    ) -> Result<TaskHandle<T>, SubmitError>
    where
        F: FnOnce(&TaskContext<'_>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let parent = &self.pool.shared;
        if !parent.is_open() {
            bump(&parent.counters.rejected);
            return Err(SubmitError::ShutDown);
        }
        let header = Header::new(options.name, options.priority).in_sub(self.shared.clone());
        let (job, handle) = make_task(header, f);
        let mut st = lock(&self.shared.state);
        if st.running < self.shared.limit {
            st.running += 1;
            drop(st);
            bump(&parent.counters.submitted);
            if let Err(job) = parent.push_unbounded(job) {
                // Closed between the check above and now: the task reports ShutDown.
                if job.header().state.try_abandon() {
                    bump(&parent.counters.unstarted);
                    job.abandon_claimed(TaskError::ShutDown);
                }
                self.shared.release();
            }
        } else if self.shared.bound.is_some_and(|b| st.backlog.len() >= b) {
            drop(st);
            bump(&parent.counters.rejected);
            return Err(SubmitError::Full);
        } else {
            st.backlog.push_back(job);
            bump(&parent.counters.submitted);
        }
        Ok(TaskHandle::new(handle))
    }

    /// The most tasks of this subpool that run at once.
    pub fn max_concurrency(&self) -> usize {
        self.shared.limit
    }

    /// Tasks of this subpool in the parent (running or queued there) and in its own backlog.
    pub fn in_flight(&self) -> (usize, usize) {
        let st = lock(&self.shared.state);
        (st.running, st.backlog.len())
    }
}
