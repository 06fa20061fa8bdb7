//! The channel contract: what "a channel" means here, so that one conformance suite and one bench
//! workload serve our from-scratch channel, `std::sync::mpsc` and crossbeam-channel alike.
//!
//! A [`ChannelFlavor`] is a family of channels (a type-level factory): it makes `bounded(cap)` and
//! `unbounded()` pairs whose halves implement [`ChannelSender`] / [`ChannelReceiver`], and it says
//! which optional features it has ([`Features`]) so a suite can skip, with a reason, what a peer
//! legitimately lacks (std's `Receiver` does not clone; std's `SyncSender` has no stable
//! `send_timeout`).
//!
//! Adapters for the ecosystem live here: [`StdMpsc`] and [`Crossbeam`]. Ours lives next to our type.
use std::sync::mpsc;
use std::time::Duration;

/// `try_send` failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendFailure<T> {
    /// No room (capacity 0: no receiver waiting).
    Full(T),
    /// Every receiver is gone.
    Disconnected(T),
}

/// `send_timeout` failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum SendTimeoutFailure<T> {
    /// The deadline passed.
    Timeout(T),
    /// Every receiver is gone.
    Disconnected(T),
}

/// `try_recv` found nothing.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvFailure {
    /// Empty; senders remain.
    Empty,
    /// Empty and every sender is gone.
    Disconnected,
}

/// `recv_timeout` found nothing.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RecvTimeoutFailure {
    /// The deadline passed.
    Timeout,
    /// Empty and every sender is gone.
    Disconnected,
}

/// The optional features of a flavor.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    /// `bounded(0)` is a rendezvous channel.
    pub rendezvous: bool,
    /// The receiver can be cloned (MPMC). std's mpsc cannot.
    pub receiver_clones: bool,
    /// `send_timeout` exists.
    pub send_timeout: bool,
}

/// The sending half.
pub trait ChannelSender<T>: Clone + Send + 'static {
    /// Blocking send; `Err(value)` when every receiver is gone.
    fn send(&self, value: T) -> Result<(), T>;
    /// Non-blocking send.
    fn try_send(&self, value: T) -> Result<(), TrySendFailure<T>>;
    /// Send with a timeout. Only called when [`Features::send_timeout`] is true.
    fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutFailure<T>>;
    /// Values buffered right now, or `None` when the flavor cannot tell (std's mpsc has no `len`).
    fn len(&self) -> Option<usize> {
        None
    }
    /// Nothing buffered right now, or `None` when the flavor cannot tell. Its own method, not
    /// derived from `len`: a flavor's `is_empty` may be computed differently.
    fn is_empty(&self) -> Option<bool> {
        None
    }
}

/// The receiving half.
pub trait ChannelReceiver<T>: Send + 'static + Sized {
    /// Blocking receive; `None` once empty and every sender is gone.
    fn recv(&self) -> Option<T>;
    /// Non-blocking receive.
    fn try_recv(&self) -> Result<T, TryRecvFailure>;
    /// Receive with a timeout.
    fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutFailure>;
    /// Another receiver of the same channel, when [`Features::receiver_clones`].
    fn try_clone(&self) -> Option<Self>;
    /// Values buffered right now, or `None` when the flavor cannot tell (std's mpsc has no `len`).
    fn len(&self) -> Option<usize> {
        None
    }
    /// Nothing buffered right now, or `None` when the flavor cannot tell. Its own method, not
    /// derived from `len`: a flavor's `is_empty` may be computed differently.
    fn is_empty(&self) -> Option<bool> {
        None
    }
}

/// A family of channels.
pub trait ChannelFlavor: 'static {
    /// Short name for reports (`ours`, `std`, `crossbeam`).
    const NAME: &'static str;
    /// What it supports beyond the common core.
    const FEATURES: Features;
    /// Its sender type.
    type Sender<T: Send + 'static>: ChannelSender<T>;
    /// Its receiver type.
    type Receiver<T: Send + 'static>: ChannelReceiver<T>;
    /// A channel holding at most `cap` values (0: rendezvous, if supported).
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Sender<T>, Self::Receiver<T>);
    /// A channel whose send never blocks.
    fn unbounded<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>);
}

/// `std::sync::mpsc`: `sync_channel(cap)` (rendezvous at 0) and `channel()`.
pub struct StdMpsc;

/// std's two sender types behind one.
pub enum StdSender<T> {
    /// From `channel()`.
    Unbounded(mpsc::Sender<T>),
    /// From `sync_channel(cap)`.
    Bounded(mpsc::SyncSender<T>),
}

impl<T> Clone for StdSender<T> {
    fn clone(&self) -> Self {
        match self {
            StdSender::Unbounded(s) => StdSender::Unbounded(s.clone()),
            StdSender::Bounded(s) => StdSender::Bounded(s.clone()),
        }
    }
}

impl<T: Send + 'static> ChannelSender<T> for StdSender<T> {
    fn send(&self, value: T) -> Result<(), T> {
        match self {
            StdSender::Unbounded(s) => s.send(value).map_err(|e| e.0),
            StdSender::Bounded(s) => s.send(value).map_err(|e| e.0),
        }
    }
    fn try_send(&self, value: T) -> Result<(), TrySendFailure<T>> {
        match self {
            // An unbounded send never blocks, so it is its own try_send.
            StdSender::Unbounded(s) => s.send(value).map_err(|e| TrySendFailure::Disconnected(e.0)),
            StdSender::Bounded(s) => s.try_send(value).map_err(|e| match e {
                mpsc::TrySendError::Full(v) => TrySendFailure::Full(v),
                mpsc::TrySendError::Disconnected(v) => TrySendFailure::Disconnected(v),
            }),
        }
    }
    fn send_timeout(&self, _value: T, _timeout: Duration) -> Result<(), SendTimeoutFailure<T>> {
        unreachable!("std mpsc has no stable send_timeout; Features::send_timeout is false")
    }
}

impl<T: Send + 'static> ChannelReceiver<T> for mpsc::Receiver<T> {
    fn recv(&self) -> Option<T> {
        mpsc::Receiver::recv(self).ok()
    }
    fn try_recv(&self) -> Result<T, TryRecvFailure> {
        mpsc::Receiver::try_recv(self).map_err(|e| match e {
            mpsc::TryRecvError::Empty => TryRecvFailure::Empty,
            mpsc::TryRecvError::Disconnected => TryRecvFailure::Disconnected,
        })
    }
    fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutFailure> {
        mpsc::Receiver::recv_timeout(self, timeout).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => RecvTimeoutFailure::Timeout,
            mpsc::RecvTimeoutError::Disconnected => RecvTimeoutFailure::Disconnected,
        })
    }
    fn try_clone(&self) -> Option<Self> {
        None // multi-producer, *single*-consumer
    }
}

impl ChannelFlavor for StdMpsc {
    const NAME: &'static str = "std";
    const FEATURES: Features = Features {
        rendezvous: true,
        receiver_clones: false,
        send_timeout: false,
    };
    type Sender<T: Send + 'static> = StdSender<T>;
    type Receiver<T: Send + 'static> = mpsc::Receiver<T>;
    fn bounded<T: Send + 'static>(cap: usize) -> (StdSender<T>, mpsc::Receiver<T>) {
        let (s, r) = mpsc::sync_channel(cap);
        (StdSender::Bounded(s), r)
    }
    fn unbounded<T: Send + 'static>() -> (StdSender<T>, mpsc::Receiver<T>) {
        let (s, r) = mpsc::channel();
        (StdSender::Unbounded(s), r)
    }
}

/// crossbeam-channel: `bounded(cap)` (rendezvous at 0) and `unbounded()`, MPMC.
pub struct Crossbeam;

impl<T: Send + 'static> ChannelSender<T> for crossbeam_channel::Sender<T> {
    fn send(&self, value: T) -> Result<(), T> {
        crossbeam_channel::Sender::send(self, value).map_err(|e| e.0)
    }
    fn try_send(&self, value: T) -> Result<(), TrySendFailure<T>> {
        crossbeam_channel::Sender::try_send(self, value).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(v) => TrySendFailure::Full(v),
            crossbeam_channel::TrySendError::Disconnected(v) => TrySendFailure::Disconnected(v),
        })
    }
    fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutFailure<T>> {
        crossbeam_channel::Sender::send_timeout(self, value, timeout).map_err(|e| match e {
            crossbeam_channel::SendTimeoutError::Timeout(v) => SendTimeoutFailure::Timeout(v),
            crossbeam_channel::SendTimeoutError::Disconnected(v) => {
                SendTimeoutFailure::Disconnected(v)
            }
        })
    }
    fn len(&self) -> Option<usize> {
        Some(crossbeam_channel::Sender::len(self))
    }
    fn is_empty(&self) -> Option<bool> {
        Some(crossbeam_channel::Sender::is_empty(self))
    }
}

impl<T: Send + 'static> ChannelReceiver<T> for crossbeam_channel::Receiver<T> {
    fn recv(&self) -> Option<T> {
        crossbeam_channel::Receiver::recv(self).ok()
    }
    fn try_recv(&self) -> Result<T, TryRecvFailure> {
        crossbeam_channel::Receiver::try_recv(self).map_err(|e| match e {
            crossbeam_channel::TryRecvError::Empty => TryRecvFailure::Empty,
            crossbeam_channel::TryRecvError::Disconnected => TryRecvFailure::Disconnected,
        })
    }
    fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutFailure> {
        crossbeam_channel::Receiver::recv_timeout(self, timeout).map_err(|e| match e {
            crossbeam_channel::RecvTimeoutError::Timeout => RecvTimeoutFailure::Timeout,
            crossbeam_channel::RecvTimeoutError::Disconnected => RecvTimeoutFailure::Disconnected,
        })
    }
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn len(&self) -> Option<usize> {
        Some(crossbeam_channel::Receiver::len(self))
    }
    fn is_empty(&self) -> Option<bool> {
        Some(crossbeam_channel::Receiver::is_empty(self))
    }
}

impl ChannelFlavor for Crossbeam {
    const NAME: &'static str = "crossbeam";
    const FEATURES: Features = Features {
        rendezvous: true,
        receiver_clones: true,
        send_timeout: true,
    };
    type Sender<T: Send + 'static> = crossbeam_channel::Sender<T>;
    type Receiver<T: Send + 'static> = crossbeam_channel::Receiver<T>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        crossbeam_channel::bounded(cap)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>) {
        crossbeam_channel::unbounded()
    }
}
