//! What can go wrong building or running a pipeline.
use std::fmt;

/// A pipeline refused before it starts, or one that failed while running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineError {
    /// A stage asked for parallelism 0.
    ZeroParallelism {
        /// The stage.
        stage: String,
    },
    /// A stage asked for an edge of capacity 0.
    ZeroCapacity {
        /// The stage.
        stage: String,
    },
    /// A batch stage asked for batches of 0 items.
    ZeroBatch {
        /// The stage.
        stage: String,
    },
    /// Two stages share a name (the report is keyed by name).
    DuplicateStage {
        /// The name used twice.
        stage: String,
    },
    /// A file source's input or checkpoint could not be read or written.
    SourceIo {
        /// The file.
        path: std::path::PathBuf,
        /// What was being done, and the I/O error.
        message: String,
    },
    /// A checkpoint file that does not hold a checkpoint, or one that does not fit its input.
    BadCheckpoint {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A [`SpillToDisk`](crate::Overflow::SpillToDisk) edge whose [`Spill`](crate::Spill) was made
    /// for another item type than the one the edge carries.
    SpillType {
        /// The stage the edge leads into.
        stage: String,
        /// The type named in [`Spill::new`](crate::Spill::new).
        spill_for: &'static str,
        /// The type the edge carries.
        edge_carries: &'static str,
    },
    /// A spill directory that could not be opened, or that holds an earlier run's segments.
    Spill {
        /// The stage the edge leads into.
        stage: String,
        /// What is wrong (it names the directory).
        message: String,
    },
    /// A stage's function panicked; the pipeline was cancelled.
    StagePanicked {
        /// The stage.
        stage: String,
        /// The panic's message, when it was a string.
        message: String,
    },
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::ZeroParallelism { stage } => {
                write!(f, "stage `{stage}`: parallelism must be at least 1")
            }
            PipelineError::ZeroCapacity { stage } => {
                write!(f, "stage `{stage}`: edge capacity must be at least 1")
            }
            PipelineError::ZeroBatch { stage } => {
                write!(f, "stage `{stage}`: a batch must hold at least 1 item")
            }
            PipelineError::DuplicateStage { stage } => {
                write!(f, "two stages are named `{stage}`")
            }
            PipelineError::SourceIo { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            PipelineError::BadCheckpoint { path, message } => {
                write!(f, "{}: not a usable checkpoint: {message}", path.display())
            }
            PipelineError::SpillType {
                stage,
                spill_for,
                edge_carries,
            } => write!(
                f,
                "stage `{stage}`: its spill was made for `{spill_for}`, its edge carries \
                 `{edge_carries}` (use Spill::new::<{edge_carries}>)"
            ),
            PipelineError::Spill { stage, message } => write!(f, "stage `{stage}`: {message}"),
            PipelineError::StagePanicked { stage, message } => {
                write!(f, "stage `{stage}` panicked: {message}")
            }
        }
    }
}

impl std::error::Error for PipelineError {}
