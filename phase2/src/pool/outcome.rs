//! What the pool reports for each job: exactly one [`JobResult`] per accepted job.

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The job ran to completion and returned this value.
    Done(T),
    /// The job's code panicked; the payload's message. The worker survived. User code is the
    /// body and also the captures' `Drop`: a capture that panics on drop after the body returned
    /// (its value is lost), or while a cancelled job is discarded (it never ran), reports this.
    Panicked(String),
    /// The job was still queued when the pool was cancelled: it never ran.
    Cancelled,
}

impl<T> Outcome<T> {
    /// The value of a `Done` outcome.
    pub fn done(self) -> Option<T> {
        match self {
            Outcome::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the job was cancelled before it started.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Outcome::Cancelled)
    }
}

/// One job's report: its submission id (0, 1, 2... in submission order) and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobResult<T> {
    /// The id `Pool::submit` returned.
    pub id: u64,
    /// How the job ended.
    pub outcome: Outcome<T>,
}
