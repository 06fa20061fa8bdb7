//! The errors: why a pool could not be built, why a task was not admitted, why a task gave no value.
use std::fmt;
use std::time::Duration;

/// Why [`Builder::build`](crate::Builder::build) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `max_workers` was 0: a pool with no worker would never run a task.
    ZeroWorkers,
    /// `min_workers` was above `max_workers`.
    MinAboveMax {
        /// The minimum asked for.
        min: usize,
        /// The maximum asked for.
        max: usize,
    },
    /// The operating system refused to start a worker thread.
    Spawn(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => {
                write!(f, "a pool needs at least one worker (max_workers was 0)")
            }
            BuildError::MinAboveMax { min, max } => {
                write!(f, "min_workers ({min}) is above max_workers ({max})")
            }
            BuildError::Spawn(e) => write!(f, "could not start a worker thread: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a task was not admitted. The task's closure has been dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitError {
    /// The queue was full and the policy (or `try_submit`) does not wait.
    Full,
    /// The queue stayed full for the whole time the submitter was willing to wait.
    TimedOut,
    /// The pool is shutting down or has shut down.
    ShutDown,
    /// `submit_before`: the predicted queue wait already passes the deadline.
    DeadlineUnmeetable {
        /// The predicted wait before a worker would start the task (Little's law: queued work ahead
        /// × recent mean run time ÷ workers).
        predicted_wait: Duration,
        /// How long there was until the deadline.
        time_left: Duration,
    },
    /// No worker was running and the operating system refused to start one.
    SpawnFailed,
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Full => write!(f, "the pool's queue is full"),
            SubmitError::TimedOut => {
                write!(f, "the pool's queue stayed full until the submit timed out")
            }
            SubmitError::ShutDown => write!(f, "the pool is shut down"),
            SubmitError::DeadlineUnmeetable {
                predicted_wait,
                time_left,
            } => write!(
                f,
                "predicted queue wait {predicted_wait:?} exceeds the {time_left:?} left before the deadline"
            ),
            SubmitError::SpawnFailed => write!(f, "no worker could be started"),
        }
    }
}

impl std::error::Error for SubmitError {}

/// Why a task gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the worker that ran it survived.
    Panicked {
        /// The panic's message (or a placeholder for a non-string payload).
        message: String,
    },
    /// Cancelled before it started: through its handle or its group. It never ran.
    Cancelled,
    /// Evicted from a full queue by the `DropOldest` policy to make room for a newer task. It never ran.
    Dropped,
    /// Still queued when the pool shut down (or stopped). It never ran.
    ShutDown,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked { message } => write!(f, "the task panicked: {message}"),
            TaskError::Cancelled => write!(f, "the task was cancelled before it started"),
            TaskError::Dropped => write!(f, "the task was dropped from a full queue (DropOldest)"),
            TaskError::ShutDown => write!(f, "the pool shut down before the task started"),
        }
    }
}

impl std::error::Error for TaskError {}

/// What [`TaskHandle::cancel`](crate::TaskHandle::cancel) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was still queued: it will never start, and its handle reports [`TaskError::Cancelled`].
    Cancelled,
    /// It is running: its [`TaskContext::is_cancelled`](crate::TaskContext::is_cancelled) now says
    /// so, and it stops if it checks.
    Signalled,
    /// It had already finished or was already abandoned: nothing changed.
    TooLate,
}

/// Why a [`TaskGroup`](crate::TaskGroup) failed: the first failure of any member, by time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupError<E> {
    /// Member `index` (in submit order) returned this error.
    Failed {
        /// The member's position in submit order.
        index: usize,
        /// Its error.
        error: E,
    },
    /// Member `index` panicked.
    Panicked {
        /// The member's position in submit order.
        index: usize,
        /// The panic's message.
        message: String,
    },
    /// Member `index` never ran, for a reason outside the group (the pool shut down, a `DropOldest`
    /// eviction), or was not admitted at all.
    NotRun {
        /// The member's position in submit order.
        index: usize,
        /// Why.
        reason: NotRunReason,
    },
}

/// Why a group member never ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRunReason {
    /// The task was admitted and then not run.
    Task(TaskError),
    /// The pool refused the task.
    Submit(SubmitError),
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed { index, error } => {
                write!(f, "group member {index} failed: {error}")
            }
            GroupError::Panicked { index, message } => {
                write!(f, "group member {index} panicked: {message}")
            }
            GroupError::NotRun {
                index,
                reason: NotRunReason::Task(e),
            } => {
                write!(f, "group member {index} did not run: {e}")
            }
            GroupError::NotRun {
                index,
                reason: NotRunReason::Submit(e),
            } => {
                write!(f, "group member {index} was not admitted: {e}")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}
