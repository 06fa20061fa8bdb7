//! The channel: a buffer of slots, two handle counts, and a waiter list per side.
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::time::{Duration, Instant};

use phase1::channels::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::AtomicUsize;

use super::backoff::{Backoff, Blocking, SpinThenPark};
use super::list::BlockList;
use super::waiters::WaitList;
use super::zero::{Rendezvous, Withdrawn};
use crate::lockfree::BoundedQueue;

/// Where the values wait.
// One per channel, inside its `Arc`: the ring's cache-padded indices make its variant the largest,
// and boxing it would add a pointer chase to every send and receive for a few bytes saved once.
#[allow(clippy::large_enum_variant)]
enum Buffer<T> {
    /// `bounded(cap)`: the Vyukov ring of stamped slots (`crate::lockfree::BoundedQueue`).
    Ring(BoundedQueue<T>),
    /// `unbounded()`: a linked list of blocks of slots (`list.rs`).
    List(BlockList<T>),
    /// `bounded(0)`: no buffer, a hand-off between a waiting sender and receiver (`zero.rs`).
    Zero(Rendezvous<T>),
}

impl<T> Buffer<T> {
    fn try_push(&self, value: T) -> Result<(), T> {
        match self {
            Buffer::Ring(q) => q.try_push(value),
            Buffer::List(q) => {
                q.push(value);
                Ok(())
            }
            Buffer::Zero(z) => z.try_send(value),
        }
    }
    fn try_pop(&self) -> Option<T> {
        match self {
            Buffer::Ring(q) => q.try_pop(),
            Buffer::List(q) => q.pop(),
            Buffer::Zero(z) => z.try_recv(),
        }
    }
    fn capacity(&self) -> Option<usize> {
        match self {
            Buffer::Ring(q) => Some(q.capacity()),
            Buffer::List(_) => None,
            Buffer::Zero(_) => Some(0),
        }
    }

    /// Wakes every thread waiting inside the buffer (only the rendezvous has any) to look at the
    /// handle counts again.
    fn wake_all(&self) {
        if let Buffer::Zero(z) = self {
            z.wake_all();
        }
    }
}

/// What the handles share. Freed with the last handle, and the values still buffered with it
/// (each exactly once: `BoundedQueue`'s and `BlockList`'s `Drop`).
struct Chan<T> {
    buffer: Buffer<T>,
    /// Live `Sender`s; 0 means disconnected for the receivers.
    senders: AtomicUsize,
    /// Live `Receiver`s; 0 means disconnected for the senders.
    receivers: AtomicUsize,
    /// Senders parked on a full buffer.
    send_waiters: WaitList,
    /// Receivers parked on an empty buffer.
    recv_waiters: WaitList,
}

/// A channel holding at most `cap` values, blocking by [`SpinThenPark`]. `cap == 0` is a
/// rendezvous: a send completes only when a receiver takes the value from its hand (Go's
/// unbuffered `chan`).
///
/// ```
/// let (tx, rx) = phase4::fastchan::bounded(2);
/// tx.send(1).unwrap();
/// assert_eq!(rx.recv(), Ok(1));
///
/// let (tx, rx) = phase4::fastchan::bounded(0);
/// assert!(tx.try_send(1).is_err()); // nobody is receiving
/// let receiver = std::thread::spawn(move || rx.recv());
/// tx.send(2).unwrap(); // returns once the receiver has the value
/// assert_eq!(receiver.join().unwrap(), Ok(2));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    bounded_with::<SpinThenPark, T>(cap)
}

/// [`bounded`] with the blocking policy `B` (the bench's steps; the broken twins for loom).
pub fn bounded_with<B: Blocking, T>(cap: usize) -> (Sender<T, B>, Receiver<T, B>) {
    if cap == 0 {
        pair(Buffer::Zero(Rendezvous::new()))
    } else {
        pair(Buffer::Ring(BoundedQueue::new(cap)))
    }
}

/// A channel whose `send` never blocks: its buffer is a linked list of blocks of 31 slots, one
/// allocated as the last fills and freed once the receivers have left it.
///
/// ```
/// let (tx, rx) = phase4::fastchan::unbounded();
/// (0..100).for_each(|i| tx.send(i).unwrap()); // no receiver needed
/// drop(tx);
/// assert_eq!(rx.iter().sum::<u32>(), 4950);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    unbounded_with::<SpinThenPark, T>()
}

/// [`unbounded`] with the blocking policy `B`.
pub fn unbounded_with<B: Blocking, T>() -> (Sender<T, B>, Receiver<T, B>) {
    pair(Buffer::List(BlockList::new()))
}

fn pair<B: Blocking, T>(buffer: Buffer<T>) -> (Sender<T, B>, Receiver<T, B>) {
    let chan = Arc::new(Chan {
        buffer,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        send_waiters: WaitList::new(),
        recv_waiters: WaitList::new(),
    });
    (
        Sender {
            chan: chan.clone(),
            _policy: PhantomData,
        },
        Receiver {
            chan,
            _policy: PhantomData,
        },
    )
}

/// `now + timeout`, or no deadline when that is past what `Instant` can hold (`Duration::MAX`).
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// The sending half; clone it for more producers. The last one dropped disconnects the channel.
pub struct Sender<T, B: Blocking = SpinThenPark> {
    chan: Arc<Chan<T>>,
    _policy: PhantomData<fn() -> B>,
}

/// The receiving half; clone it for more consumers. The last one dropped disconnects the channel.
pub struct Receiver<T, B: Blocking = SpinThenPark> {
    chan: Arc<Chan<T>>,
    _policy: PhantomData<fn() -> B>,
}

impl<T, B: Blocking> Sender<T, B> {
    /// Sends `value`, waiting for room; `Err` with the value when every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, None).map_err(|e| match e {
            SendTimeoutError::Disconnected(v) => SendError(v),
            SendTimeoutError::Timeout(_) => unreachable!("no deadline"),
        })
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let chan = &*self.chan;
        // Acquire: pairs with the last receiver's AcqRel decrement (nothing rides on it but the count).
        if chan.receivers.load(Acquire) == 0 {
            return Err(TrySendError::Disconnected(value));
        }
        match chan.buffer.try_push(value) {
            Ok(()) => {
                chan.recv_waiters.notify_one();
                Ok(())
            }
            Err(value) => Err(TrySendError::Full(value)),
        }
    }

    /// Sends `value`, waiting at most `timeout` for room.
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, deadline_after(timeout))
    }

    /// Sends `value`, waiting until `deadline` at the latest for room.
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Some(deadline))
    }

    /// The most values the channel holds (`None`: unbounded).
    pub fn capacity(&self) -> Option<usize> {
        self.chan.buffer.capacity()
    }

    fn send_until(
        &self,
        mut value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let chan = &*self.chan;
        if let Buffer::Zero(z) = &chan.buffer {
            return z
                .send::<B>(value, deadline, &chan.receivers)
                .map_err(|(v, why)| match why {
                    Withdrawn::Timeout => SendTimeoutError::Timeout(v),
                    Withdrawn::Disconnected => SendTimeoutError::Disconnected(v),
                });
        }
        let mut backoff = Backoff::new::<B>();
        // A wake-up we were given and have not used yet (`waiters` module docs).
        let mut holding_wakeup = false;
        loop {
            // Acquire: pairs with the last receiver's AcqRel decrement.
            if chan.receivers.load(Acquire) == 0 {
                return Err(SendTimeoutError::Disconnected(value));
            }
            match chan.buffer.try_push(value) {
                Ok(()) => {
                    chan.recv_waiters.notify_one();
                    return Ok(());
                }
                Err(v) => value = v,
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if holding_wakeup {
                    chan.send_waiters.notify_one();
                }
                return Err(SendTimeoutError::Timeout(value));
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            let waiter = chan.send_waiters.register();
            holding_wakeup = false;
            if B::RECHECK {
                // The re-check: room made (or the receivers gone) between our failed push and the
                // registration woke no one, since no one was registered yet.
                let disconnected = chan.receivers.load(Acquire) == 0;
                let pushed = if disconnected {
                    Err(value)
                } else {
                    chan.buffer.try_push(value)
                };
                match pushed {
                    Ok(()) => {
                        if !chan.send_waiters.cancel(&waiter) {
                            chan.send_waiters.notify_one(); // pass the wake-up on
                        }
                        chan.recv_waiters.notify_one();
                        return Ok(());
                    }
                    Err(v) if disconnected => {
                        chan.send_waiters.cancel(&waiter);
                        return Err(SendTimeoutError::Disconnected(v));
                    }
                    Err(v) => value = v,
                }
            }
            if waiter.park_until(deadline) || !chan.send_waiters.cancel(&waiter) {
                holding_wakeup = true;
            }
            backoff = Backoff::new::<B>();
        }
    }
}

impl<T, B: Blocking> Receiver<T, B> {
    /// Takes the oldest value, waiting for one; `Err` once the channel is empty and every sender is
    /// gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Takes the oldest value if there is one now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let chan = &*self.chan;
        if let Some(v) = self.take() {
            return Ok(v);
        }
        // Acquire: pairs with the last sender's AcqRel decrement, which follows every send: once
        // we see 0, every value sent is in the buffer, so one more look is final.
        if chan.senders.load(Acquire) == 0 {
            return self.take().ok_or(TryRecvError::Disconnected);
        }
        Err(TryRecvError::Empty)
    }

    /// Takes the oldest value, waiting at most `timeout` for one.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(deadline_after(timeout))
    }

    /// Takes the oldest value, waiting until `deadline` at the latest.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// The most values the channel holds (`None`: unbounded).
    pub fn capacity(&self) -> Option<usize> {
        self.chan.buffer.capacity()
    }

    /// A blocking iterator: yields until the channel is empty and disconnected (Go's `range ch`).
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    /// Pops a value and, having made room, wakes a parked sender if there is one.
    fn take(&self) -> Option<T> {
        let value = self.chan.buffer.try_pop()?;
        self.chan.send_waiters.notify_one();
        Some(value)
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let chan = &*self.chan;
        if let Buffer::Zero(z) = &chan.buffer {
            return z
                .recv::<B>(deadline, &chan.senders)
                .map_err(|why| match why {
                    Withdrawn::Timeout => RecvTimeoutError::Timeout,
                    Withdrawn::Disconnected => RecvTimeoutError::Disconnected,
                });
        }
        let mut backoff = Backoff::new::<B>();
        let mut holding_wakeup = false;
        loop {
            match self.try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if holding_wakeup {
                    chan.recv_waiters.notify_one();
                }
                return Err(RecvTimeoutError::Timeout);
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            let waiter = chan.recv_waiters.register();
            holding_wakeup = false;
            if B::RECHECK {
                // The re-check: a value (or the disconnection) that arrived between our failed pop
                // and the registration woke no one, since no one was registered yet.
                match self.try_recv() {
                    Ok(v) => {
                        if !chan.recv_waiters.cancel(&waiter) {
                            chan.recv_waiters.notify_one(); // pass the wake-up on
                        }
                        return Ok(v);
                    }
                    Err(TryRecvError::Disconnected) => {
                        chan.recv_waiters.cancel(&waiter);
                        return Err(RecvTimeoutError::Disconnected);
                    }
                    Err(TryRecvError::Empty) => {}
                }
            }
            if waiter.park_until(deadline) || !chan.recv_waiters.cancel(&waiter) {
                holding_wakeup = true;
            }
            backoff = Backoff::new::<B>();
        }
    }
}

impl<T, B: Blocking> Clone for Sender<T, B> {
    fn clone(&self) -> Self {
        // Relaxed: a new handle made from a live one; the count cannot be 0 here (as Arc's clone).
        self.chan.senders.fetch_add(1, Relaxed);
        Sender {
            chan: self.chan.clone(),
            _policy: PhantomData,
        }
    }
}

impl<T, B: Blocking> Clone for Receiver<T, B> {
    fn clone(&self) -> Self {
        // Relaxed: as in `Sender::clone`.
        self.chan.receivers.fetch_add(1, Relaxed);
        Receiver {
            chan: self.chan.clone(),
            _policy: PhantomData,
        }
    }
}

impl<T, B: Blocking> Drop for Sender<T, B> {
    fn drop(&mut self) {
        // AcqRel: the Release half orders this sender's pushes before the count's last decrement, which
        // a receiver's Acquire load of 0 then sees (a release sequence through every decrement).
        if self.chan.senders.fetch_sub(1, AcqRel) == 1 {
            self.chan.recv_waiters.notify_all();
            self.chan.buffer.wake_all();
        }
    }
}

impl<T, B: Blocking> Drop for Receiver<T, B> {
    fn drop(&mut self) {
        // AcqRel: as in `Sender::drop`.
        if self.chan.receivers.fetch_sub(1, AcqRel) == 1 {
            self.chan.send_waiters.notify_all();
            self.chan.buffer.wake_all();
        }
    }
}

impl<T, B: Blocking> fmt::Debug for Sender<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .field("blocking", &B::NAME)
            .finish_non_exhaustive()
    }
}

impl<T, B: Blocking> fmt::Debug for Receiver<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .field("blocking", &B::NAME)
            .finish_non_exhaustive()
    }
}
