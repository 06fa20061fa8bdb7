//! fastchan as [`harness::contracts::channel::ChannelFlavor`]s, one per blocking policy, so the
//! conformance suite and the benches run it exactly as they run phase 1's, std's and crossbeam's.
use std::time::Duration;

use harness::contracts::channel::{
    ChannelFlavor, ChannelReceiver, ChannelSender, Features, RecvTimeoutFailure,
    SendTimeoutFailure, TryRecvFailure, TrySendFailure,
};

use super::{Blocking, ParkAtOnce, Receiver, Sender, SpinThenPark};

/// fastchan with [`SpinThenPark`] (the default): the last step.
pub struct FastChan;

/// fastchan with [`ParkAtOnce`]: lock-free slots, but every wait parks at once.
pub struct FastChanParkAtOnce;

impl<T: Send + 'static, B: Blocking> ChannelSender<T> for Sender<T, B> {
    fn send(&self, value: T) -> Result<(), T> {
        Sender::send(self, value).map_err(|e| e.0)
    }
    fn try_send(&self, value: T) -> Result<(), TrySendFailure<T>> {
        Sender::try_send(self, value).map_err(Into::into)
    }
    fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutFailure<T>> {
        Sender::send_timeout(self, value, timeout).map_err(Into::into)
    }
}

impl<T: Send + 'static, B: Blocking> ChannelReceiver<T> for Receiver<T, B> {
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
}

/// Every case of the suite applies, capacity 0 included.
const FEATURES: Features = Features {
    rendezvous: true,
    receiver_clones: true,
    send_timeout: true,
};

impl ChannelFlavor for FastChan {
    const NAME: &'static str = "fastchan";
    const FEATURES: Features = FEATURES;
    type Sender<T: Send + 'static> = Sender<T, SpinThenPark>;
    type Receiver<T: Send + 'static> = Receiver<T, SpinThenPark>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        super::bounded_with(cap)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>) {
        super::unbounded_with::<SpinThenPark, T>()
    }
}

impl ChannelFlavor for FastChanParkAtOnce {
    const NAME: &'static str = "fastchan-park-at-once";
    const FEATURES: Features = FEATURES;
    type Sender<T: Send + 'static> = Sender<T, ParkAtOnce>;
    type Receiver<T: Send + 'static> = Receiver<T, ParkAtOnce>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        super::bounded_with(cap)
    }
    fn unbounded<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>) {
        super::unbounded_with::<ParkAtOnce, T>()
    }
}
