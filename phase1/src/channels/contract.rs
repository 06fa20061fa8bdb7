//! Our channel as a [`harness::contracts::channel::ChannelFlavor`], so the conformance suite and the
//! benches run it exactly as they run std's and crossbeam's.
use std::time::Duration;

use harness::contracts::channel::{
    ChannelFlavor, ChannelReceiver, ChannelSender, Features, RecvTimeoutFailure,
    SendTimeoutFailure, TryRecvFailure, TrySendFailure,
};

use super::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError};

// The channel errors as the contract's failures: phase 1's error types are shared by every channel
// built here (phase 4's fastchan returns them too), so the conversions live with them, once.
impl<T> From<TrySendError<T>> for TrySendFailure<T> {
    fn from(e: TrySendError<T>) -> Self {
        match e {
            TrySendError::Full(v) => TrySendFailure::Full(v),
            TrySendError::Disconnected(v) => TrySendFailure::Disconnected(v),
        }
    }
}

impl<T> From<SendTimeoutError<T>> for SendTimeoutFailure<T> {
    fn from(e: SendTimeoutError<T>) -> Self {
        match e {
            SendTimeoutError::Timeout(v) => SendTimeoutFailure::Timeout(v),
            SendTimeoutError::Disconnected(v) => SendTimeoutFailure::Disconnected(v),
        }
    }
}

impl From<TryRecvError> for TryRecvFailure {
    fn from(e: TryRecvError) -> Self {
        match e {
            TryRecvError::Empty => TryRecvFailure::Empty,
            TryRecvError::Disconnected => TryRecvFailure::Disconnected,
        }
    }
}

impl From<RecvTimeoutError> for RecvTimeoutFailure {
    fn from(e: RecvTimeoutError) -> Self {
        match e {
            RecvTimeoutError::Timeout => RecvTimeoutFailure::Timeout,
            RecvTimeoutError::Disconnected => RecvTimeoutFailure::Disconnected,
        }
    }
}

/// Our Mutex + two Condvars channel, as a flavor.
pub struct Ours;

impl<T: Send + 'static> ChannelSender<T> for Sender<T> {
    fn send(&self, value: T) -> Result<(), T> {
        Sender::send(self, value).map_err(|e| e.0)
    }
    fn try_send(&self, value: T) -> Result<(), TrySendFailure<T>> {
        Sender::try_send(self, value).map_err(Into::into)
    }
    fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutFailure<T>> {
        Sender::send_timeout(self, value, timeout).map_err(Into::into)
    }
    fn len(&self) -> Option<usize> {
        Some(Sender::len(self))
    }
    fn is_empty(&self) -> Option<bool> {
        Some(Sender::is_empty(self))
    }
}

impl<T: Send + 'static> ChannelReceiver<T> for Receiver<T> {
    fn recv(&self) -> Option<T> {
        Receiver::recv(self).ok()
    }
    fn try_recv(&self) -> Result<T, TryRecvFailure> {
        Receiver::try_recv(self).map_err(Into::into)
    }
    fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutFailure> {
        Receiver::recv_timeout(self, timeout).map_err(Into::into)
    }
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn len(&self) -> Option<usize> {
        Some(Receiver::len(self))
    }
    fn is_empty(&self) -> Option<bool> {
        Some(Receiver::is_empty(self))
    }
}

impl ChannelFlavor for Ours {
    const NAME: &'static str = "ours";
    const FEATURES: Features = Features {
        rendezvous: true,
        receiver_clones: true,
        send_timeout: true,
    };
    type Sender<T: Send + 'static> = Sender<T>;
    type Receiver<T: Send + 'static> = Receiver<T>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Sender<T>, Receiver<T>) {
        super::bounded(cap)
    }
    fn unbounded<T: Send + 'static>() -> (Sender<T>, Receiver<T>) {
        super::unbounded()
    }
}
