//! The receiving half. Cloning it makes another consumer (MPMC; std's mpsc receiver cannot be
//! cloned). Iterating it is Go's `for v := range ch`: it ends when the channel is empty and closed.
use std::fmt;
use std::time::{Duration, Instant};

use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::sender::capacity_of;
use super::shared::{RecvFailure, Shared, Wait};
use crate::shim::sync::Arc;

/// The receiving half of a channel made by [`bounded`](super::bounded) or [`unbounded`](super::unbounded).
pub struct Receiver<T> {
    pub(crate) shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Receives the oldest value, blocking while the channel is empty. Fails once it is empty and
    /// every sender is gone: buffered values are always drained first.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.shared.recv(Wait::Forever).map_err(|_| RecvError)
    }

    /// Receives only if a value is there now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.shared.recv(Wait::Never).map_err(|f| match f {
            RecvFailure::Disconnected => TryRecvError::Disconnected,
            RecvFailure::Empty | RecvFailure::Timeout => TryRecvError::Empty,
        })
    }

    /// [`recv`](Receiver::recv), giving up after `timeout`. A timeout too long to be represented
    /// as a deadline (`Duration::MAX`) waits as long as [`recv`](Receiver::recv) would.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_wait(Wait::timeout(timeout))
    }

    /// [`recv_timeout`](Receiver::recv_timeout) with an absolute deadline.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_wait(Wait::Until(deadline))
    }

    fn recv_wait(&self, wait: Wait) -> Result<T, RecvTimeoutError> {
        self.shared.recv(wait).map_err(|f| match f {
            RecvFailure::Disconnected => RecvTimeoutError::Disconnected,
            RecvFailure::Empty | RecvFailure::Timeout => RecvTimeoutError::Timeout,
        })
    }

    /// A blocking iterator: yields until the channel is empty and closed (Go's `range ch`).
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// A non-blocking iterator over what is buffered now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// Values buffered right now (a snapshot).
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

/// Blocking iterator of a [`Receiver`]; ends when the channel is empty and closed.
#[derive(Debug)]
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

/// Non-blocking iterator of a [`Receiver`]; ends at the first empty look.
#[derive(Debug)]
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.add_receiver();
        Receiver {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
