//! The harness's pool conformance suite on workpool: a thin mapping of the contract onto the library.
use std::time::Duration;

use harness::contracts::pool::{
    self as contract, ContractPool, GroupJob, Job, Overflow, PoolFlavor, PoolSpec, QueueBound,
    ShutdownMode, ShutdownReport, SubmitRefused, TaskHandle, TaskOutcome, Unsupported,
};
use harness::pool_conformance;
use workpool::{GroupError, Pool, Priority, Queue, SubmitError, TaskError, TaskOptions};

/// The starvation bound the adapter builds every pool with.
const AGING: usize = 4;

pub struct Workpool;
pub struct WorkpoolPool(Pool);
pub struct WorkpoolHandle(workpool::TaskHandle<u64>);

fn refused(e: SubmitError) -> SubmitRefused {
    match e {
        SubmitError::TimedOut => SubmitRefused::TimedOut,
        SubmitError::ShutDown => SubmitRefused::ShutDown,
        _ => SubmitRefused::Rejected, // Full (and the deadline / spawn refusals the suite never causes)
    }
}

fn priority(p: contract::Priority) -> Priority {
    match p {
        contract::Priority::Low => Priority::Low,
        contract::Priority::Normal => Priority::Normal,
        contract::Priority::High => Priority::High,
    }
}

impl TaskHandle for WorkpoolHandle {
    fn join(self) -> TaskOutcome {
        match self.0.join() {
            Ok(v) => TaskOutcome::Done(v),
            Err(TaskError::Panicked { message }) => TaskOutcome::Panicked(Some(message)),
            Err(TaskError::Cancelled) => TaskOutcome::Cancelled,
            Err(TaskError::Dropped | TaskError::ShutDown) => TaskOutcome::Dropped,
            Err(e) => panic!("unknown TaskError {e:?}"),
        }
    }
    fn cancel(&self) -> Result<(), Unsupported> {
        self.0.cancel();
        Ok(())
    }
}

impl ContractPool for WorkpoolPool {
    type Handle = WorkpoolHandle;
    fn submit(&self, job: Job) -> Result<WorkpoolHandle, SubmitRefused> {
        self.0.submit(job).map(WorkpoolHandle).map_err(refused)
    }
    fn thread_name_prefix(&self) -> Option<&str> {
        Some(self.0.name())
    }
    fn resize(&self, max: usize) -> Result<(), Unsupported> {
        self.0.resize(max);
        Ok(())
    }
    fn scope<'env>(&self, jobs: Vec<contract::ScopedJob<'env>>) -> Result<(), Unsupported> {
        self.0.scope(|s| {
            for job in jobs {
                let _joined_by_the_scope = s.submit(job);
            }
        });
        Ok(())
    }
    fn group(
        &self,
        jobs: Vec<GroupJob>,
    ) -> Result<Result<Vec<u64>, contract::GroupError>, Unsupported> {
        let mut group = self.0.group::<u64, String>();
        for job in jobs {
            group.submit(move |_| job());
        }
        Ok(group.wait().map_err(|e| match e {
            GroupError::Failed { index, error } => contract::GroupError::Failed { index, error },
            GroupError::Panicked { index, message } => {
                contract::GroupError::Panicked { index, message }
            }
            GroupError::NotRun { index, .. } => contract::GroupError::NotRun { index },
        }))
    }
    fn starvation_bound(&self) -> Result<usize, Unsupported> {
        Ok(AGING)
    }
    fn submit_prioritized(
        &self,
        job: Job,
        p: contract::Priority,
    ) -> Result<Result<WorkpoolHandle, SubmitRefused>, Unsupported> {
        let options = TaskOptions::new().priority(priority(p));
        Ok(self
            .0
            .submit_with(options, move |_| job())
            .map(WorkpoolHandle)
            .map_err(refused))
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
            .aging(AGING)
            .build()
            .map(WorkpoolPool)
            .map_err(|_| Unsupported("workpool refused the spec"))
    }
}

pool_conformance!(workpool_suite, Workpool);
