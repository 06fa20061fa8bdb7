//! The sending half. Cloning it makes another producer (MPMC); dropping the last clone closes the
//! channel for receivers — Rust's answer to Go's `close(ch)`, with the one-closer rule enforced by
//! reference counting instead of by convention.
use std::fmt;
use std::time::{Duration, Instant};

use super::error::{SendError, SendTimeoutError, TrySendError};
use super::shared::{Capacity, SendFailure, Shared, Wait};
use crate::shim::sync::Arc;

/// The sending half of a channel made by [`bounded`](super::bounded) or [`unbounded`](super::unbounded).
pub struct Sender<T> {
    pub(crate) shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, blocking while the channel is full (capacity 0: until a receiver took it).
    /// Fails, returning the value, when every receiver is gone (where Go would panic or block).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.shared.send(value, Wait::Forever).map_err(|f| match f {
            SendFailure::Disconnected(v) | SendFailure::Full(v) | SendFailure::Timeout(v) => {
                SendError(v)
            }
        })
    }

    /// Sends only if that needs no waiting (capacity 0: only if a receiver is blocked in `recv`).
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.shared.send(value, Wait::Never).map_err(|f| match f {
            SendFailure::Disconnected(v) => TrySendError::Disconnected(v),
            SendFailure::Full(v) | SendFailure::Timeout(v) => TrySendError::Full(v),
        })
    }

    /// [`send`](Sender::send), giving up after `timeout`. At capacity 0 a value not taken in time
    /// is withdrawn and returned: no receiver will ever see it. A timeout too long to be
    /// represented as a deadline (`Duration::MAX`) waits as long as [`send`](Sender::send) would.
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_wait(value, Wait::timeout(timeout))
    }

    /// [`send_timeout`](Sender::send_timeout) with an absolute deadline.
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_wait(value, Wait::Until(deadline))
    }

    fn send_wait(&self, value: T, wait: Wait) -> Result<(), SendTimeoutError<T>> {
        self.shared.send(value, wait).map_err(|f| match f {
            SendFailure::Disconnected(v) => SendTimeoutError::Disconnected(v),
            SendFailure::Full(v) | SendFailure::Timeout(v) => SendTimeoutError::Timeout(v),
        })
    }

    /// Values buffered right now (a snapshot; stale as soon as it returns).
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True when nothing is buffered right now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity: `Some(0)` for a rendezvous channel, `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        capacity_of(self.shared.capacity)
    }
}

pub(crate) fn capacity_of(c: Capacity) -> Option<usize> {
    match c {
        Capacity::Rendezvous => Some(0),
        Capacity::Bounded(n) => Some(n),
        Capacity::Unbounded => None,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.add_sender();
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
