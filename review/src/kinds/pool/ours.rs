//! Our pool, `workpool`, behind the contract, as far as the review uses it: build (fixed or elastic,
//! any queue and overflow policy), submit, a handle that joins, shutdown. (The conformance suite's
//! full mapping, with scopes, groups and priorities, is `phase5/workpool/tests/conformance.rs`.)
use std::time::Duration;

use harness::contracts::pool::{
    ContractPool, Job, Overflow, PoolFlavor, PoolSpec, QueueBound, ShutdownMode, ShutdownReport,
    SubmitRefused, TaskHandle, TaskOutcome, Unsupported,
};
use workpool::{Pool, Queue, SubmitError, TaskError};

/// `workpool` as a [`PoolFlavor`].
#[derive(Debug)]
pub struct Workpool;

/// A `workpool::Pool` behind the contract.
#[derive(Debug)]
pub struct WorkpoolPool(Pool);

/// A `workpool::TaskHandle<u64>` behind the contract.
#[derive(Debug)]
pub struct WorkpoolHandle(workpool::TaskHandle<u64>);

impl TaskHandle for WorkpoolHandle {
    fn join(self) -> TaskOutcome {
        match self.0.join() {
            Ok(v) => TaskOutcome::Done(v),
            Err(TaskError::Panicked { message }) => TaskOutcome::Panicked(Some(message)),
            Err(TaskError::Cancelled) => TaskOutcome::Cancelled,
            // Dropped, ShutDown, and any later variant: it never ran.
            Err(_) => TaskOutcome::Dropped,
        }
    }
}

impl ContractPool for WorkpoolPool {
    type Handle = WorkpoolHandle;

    fn submit(&self, job: Job) -> Result<WorkpoolHandle, SubmitRefused> {
        self.0.submit(job).map(WorkpoolHandle).map_err(|e| match e {
            SubmitError::TimedOut => SubmitRefused::TimedOut,
            SubmitError::ShutDown => SubmitRefused::ShutDown,
            _ => SubmitRefused::Rejected,
        })
    }

    fn thread_name_prefix(&self) -> Option<&str> {
        Some(self.0.name())
    }

    fn shutdown(
        &self,
        mode: ShutdownMode,
        deadline: Duration,
    ) -> Result<ShutdownReport, Unsupported> {
        let r = match mode {
            ShutdownMode::Drain => self.0.shutdown(deadline),
            ShutdownMode::Abandon => self.0.shutdown_now(deadline),
        };
        Ok(ShutdownReport {
            ran: (r.completed + r.panicked) as usize,
            abandoned: r.unstarted as usize,
            still_running: r.still_running as usize,
        })
    }
}

impl PoolFlavor for Workpool {
    const NAME: &'static str = "workpool";
    type Pool = WorkpoolPool;

    fn build(spec: &PoolSpec) -> Result<WorkpoolPool, Unsupported> {
        let overflow = match spec.overflow {
            Overflow::Block => workpool::Overflow::Block,
            Overflow::Reject => workpool::Overflow::Reject,
            Overflow::CallerRuns => workpool::Overflow::CallerRuns,
            Overflow::DropOldest => workpool::Overflow::DropOldest,
            Overflow::Timeout(d) => workpool::Overflow::Timeout(d),
        };
        let queue = match spec.queue {
            QueueBound::Bounded(n) => Queue::Bounded(n),
            QueueBound::Unbounded => Queue::Unbounded,
        };
        Pool::builder()
            .name(spec.name.clone())
            .max_workers(spec.max_workers)
            .min_workers(spec.min_workers)
            .keep_alive(spec.keep_alive)
            .queue(queue)
            .overflow(overflow)
            .build()
            .map(WorkpoolPool)
            .map_err(|_| Unsupported("workpool refused the spec"))
    }
}
