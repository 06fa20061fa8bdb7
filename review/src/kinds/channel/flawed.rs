//! **Broken on purpose.** One channel with a switch per catalogued flaw: `Flawed<BUG>` is a correct
//! Mutex + two Condvars channel except for the one mistake `BUG` names, so the review of each must
//! name exactly that flaw (`review/tests/diagnosis_channel.rs`). Each mistake is one a reader makes
//! when writing a channel for the first time; the line that makes it is marked `BUG`.
//!
//! `Flawed<CORRECT>` has no mistake: its clean review shows that the switches, off, leave a channel
//! the reviewer accepts. Never use any of these for anything else.
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use harness::contracts::channel::{
    ChannelFlavor, ChannelReceiver, ChannelSender, Features, RecvTimeoutFailure,
    SendTimeoutFailure, TryRecvFailure, TrySendFailure,
};

/// No mistake.
pub const CORRECT: u8 = 0;
/// The last receiver's drop does not wake the blocked senders.
pub const SENDER_NOT_WOKEN_ON_CLOSE: u8 = 1;
/// The last sender's drop does not wake the blocked receivers.
pub const RECEIVER_NOT_WOKEN_ON_CLOSE: u8 = 2;
/// Buffered values are forgotten, never dropped, when the channel goes.
pub const BUFFERED_VALUES_LEAK: u8 = 3;
/// `recv` pops the newest value (a stack, not a queue).
pub const FIFO_VIOLATED: u8 = 4;
/// Waiters are notified only on the empty→non-empty and full→not-full transitions.
pub const LOST_WAKEUP: u8 = 5;
/// The capacity check is `len <= cap`: one value too many fits.
pub const CAPACITY_EXCEEDED: u8 = 6;
/// `recv` reports disconnection as soon as every sender is gone, buffered values or not.
pub const CLOSE_BEFORE_DRAIN: u8 = 7;

/// Each switch and the catalogue id its review must name (`None` for [`CORRECT`]).
pub const SWITCHES: [(u8, Option<&str>); 8] = [
    (CORRECT, None),
    (SENDER_NOT_WOKEN_ON_CLOSE, Some("sender-not-woken-on-close")),
    (
        RECEIVER_NOT_WOKEN_ON_CLOSE,
        Some("receiver-not-woken-on-close"),
    ),
    (BUFFERED_VALUES_LEAK, Some("buffered-values-leak")),
    (FIFO_VIOLATED, Some("fifo-violated")),
    (LOST_WAKEUP, Some("lost-wakeup")),
    (CAPACITY_EXCEEDED, Some("capacity-exceeded")),
    (CLOSE_BEFORE_DRAIN, Some("close-before-drain")),
];

const NAMES: [&str; 8] = [
    "flawed: none",
    "flawed: sender-not-woken-on-close",
    "flawed: receiver-not-woken-on-close",
    "flawed: buffered-values-leak",
    "flawed: fifo-violated",
    "flawed: lost-wakeup",
    "flawed: capacity-exceeded",
    "flawed: close-before-drain",
];

/// The flavor with mistake `BUG` (one of the constants above).
#[derive(Debug)]
pub struct Flawed<const BUG: u8>;

#[derive(Debug)]
struct Inner<T> {
    /// Buffered values, oldest at the front.
    items: VecDeque<T>,
    /// Live senders and receivers.
    senders: usize,
    receivers: usize,
}

#[derive(Debug)]
struct Core<T, const BUG: u8> {
    inner: Mutex<Inner<T>>,
    /// `None`: unbounded.
    cap: Option<usize>,
    /// Receivers wait here.
    readable: Condvar,
    /// Senders wait here.
    writable: Condvar,
}

/// The sending half of a [`Flawed`] channel.
#[derive(Debug)]
pub struct FlawedSender<T, const BUG: u8>(Arc<Core<T, BUG>>);

/// The receiving half of a [`Flawed`] channel.
#[derive(Debug)]
pub struct FlawedReceiver<T, const BUG: u8>(Arc<Core<T, BUG>>);

impl<T, const BUG: u8> Core<T, BUG> {
    fn inner(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn full(&self, inner: &Inner<T>) -> bool {
        match self.cap {
            None => false,
            Some(cap) if BUG == CAPACITY_EXCEEDED => inner.items.len() > cap, // BUG: one too many
            Some(cap) => inner.items.len() >= cap,
        }
    }

    /// Sleeps on `cv`; false when `deadline` has passed.
    fn sleep<'a>(
        cv: &Condvar,
        guard: MutexGuard<'a, Inner<T>>,
        deadline: Option<Instant>,
    ) -> Option<MutexGuard<'a, Inner<T>>> {
        let Some(deadline) = deadline else {
            return Some(cv.wait(guard).unwrap_or_else(|p| p.into_inner()));
        };
        let left = deadline.checked_duration_since(Instant::now())?;
        Some(
            cv.wait_timeout(guard, left)
                .unwrap_or_else(|p| p.into_inner())
                .0,
        )
    }

    fn push(&self, mut inner: MutexGuard<'_, Inner<T>>, value: T) {
        let was_empty = inner.items.is_empty();
        inner.items.push_back(value);
        drop(inner);
        if BUG != LOST_WAKEUP || was_empty {
            self.readable.notify_one(); // BUG (LOST_WAKEUP): skipped unless it was empty
        }
    }

    fn pop(&self, inner: &mut MutexGuard<'_, Inner<T>>) -> Option<T> {
        let was_full = self.full(inner);
        let value = if BUG == FIFO_VIOLATED {
            inner.items.pop_back() // BUG: the newest value
        } else {
            inner.items.pop_front()
        }?;
        if BUG != LOST_WAKEUP || was_full {
            self.writable.notify_one(); // BUG (LOST_WAKEUP): skipped unless it was full
        }
        Some(value)
    }

    /// `Err((value, disconnected))`.
    fn send(&self, value: T, deadline: Option<Instant>) -> Result<(), (T, bool)> {
        let mut inner = self.inner();
        while inner.receivers > 0 && self.full(&inner) {
            match Self::sleep(&self.writable, inner, deadline) {
                Some(g) => inner = g,
                None => return Err((value, false)),
            }
        }
        if inner.receivers == 0 {
            return Err((value, true));
        }
        self.push(inner, value);
        Ok(())
    }

    /// `Err(true)`: disconnected; `Err(false)`: timed out.
    fn recv(&self, deadline: Option<Instant>) -> Result<T, bool> {
        let mut inner = self.inner();
        loop {
            if BUG == CLOSE_BEFORE_DRAIN && inner.senders == 0 {
                return Err(true); // BUG: the buffered values are never received
            }
            if let Some(value) = self.pop(&mut inner) {
                return Ok(value);
            }
            if inner.senders == 0 {
                return Err(true);
            }
            match Self::sleep(&self.readable, inner, deadline) {
                Some(g) => inner = g,
                None => return Err(false),
            }
        }
    }
}

impl<T, const BUG: u8> Clone for FlawedSender<T, BUG> {
    fn clone(&self) -> Self {
        self.0.inner().senders += 1;
        FlawedSender(self.0.clone())
    }
}

impl<T, const BUG: u8> Drop for FlawedSender<T, BUG> {
    fn drop(&mut self) {
        let mut inner = self.0.inner();
        inner.senders -= 1;
        if inner.senders == 0 && BUG != RECEIVER_NOT_WOKEN_ON_CLOSE {
            self.0.readable.notify_all(); // BUG (RECEIVER_NOT_WOKEN_ON_CLOSE): skipped
        }
    }
}

impl<T, const BUG: u8> Clone for FlawedReceiver<T, BUG> {
    fn clone(&self) -> Self {
        self.0.inner().receivers += 1;
        FlawedReceiver(self.0.clone())
    }
}

impl<T, const BUG: u8> Drop for FlawedReceiver<T, BUG> {
    fn drop(&mut self) {
        let mut inner = self.0.inner();
        inner.receivers -= 1;
        if inner.receivers > 0 {
            return;
        }
        let orphans = std::mem::take(&mut inner.items);
        drop(inner);
        if BUG != SENDER_NOT_WOKEN_ON_CLOSE {
            self.0.writable.notify_all(); // BUG (SENDER_NOT_WOKEN_ON_CLOSE): skipped
        }
        if BUG == BUFFERED_VALUES_LEAK {
            std::mem::forget(orphans); // BUG: never dropped
        }
    }
}

impl<T: Send + 'static, const BUG: u8> ChannelSender<T> for FlawedSender<T, BUG> {
    fn send(&self, value: T) -> Result<(), T> {
        self.0.send(value, None).map_err(|(v, _)| v)
    }
    fn try_send(&self, value: T) -> Result<(), TrySendFailure<T>> {
        let inner = self.0.inner();
        if inner.receivers == 0 {
            Err(TrySendFailure::Disconnected(value))
        } else if self.0.full(&inner) {
            Err(TrySendFailure::Full(value))
        } else {
            self.0.push(inner, value);
            Ok(())
        }
    }
    fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutFailure<T>> {
        self.0
            .send(value, Instant::now().checked_add(timeout))
            .map_err(|(v, disconnected)| match disconnected {
                true => SendTimeoutFailure::Disconnected(v),
                false => SendTimeoutFailure::Timeout(v),
            })
    }
    fn len(&self) -> Option<usize> {
        Some(self.0.inner().items.len())
    }
    fn is_empty(&self) -> Option<bool> {
        Some(self.0.inner().items.is_empty())
    }
}

impl<T: Send + 'static, const BUG: u8> ChannelReceiver<T> for FlawedReceiver<T, BUG> {
    fn recv(&self) -> Option<T> {
        self.0.recv(None).ok()
    }
    fn try_recv(&self) -> Result<T, TryRecvFailure> {
        let mut inner = self.0.inner();
        if BUG == CLOSE_BEFORE_DRAIN && inner.senders == 0 {
            return Err(TryRecvFailure::Disconnected); // BUG: as in recv
        }
        match self.0.pop(&mut inner) {
            Some(v) => Ok(v),
            None if inner.senders == 0 => Err(TryRecvFailure::Disconnected),
            None => Err(TryRecvFailure::Empty),
        }
    }
    fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutFailure> {
        self.0.recv(Instant::now().checked_add(timeout)).map_err(
            |disconnected| match disconnected {
                true => RecvTimeoutFailure::Disconnected,
                false => RecvTimeoutFailure::Timeout,
            },
        )
    }
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn len(&self) -> Option<usize> {
        Some(self.0.inner().items.len())
    }
    fn is_empty(&self) -> Option<bool> {
        Some(self.0.inner().items.is_empty())
    }
}

fn pair<T, const BUG: u8>(cap: Option<usize>) -> (FlawedSender<T, BUG>, FlawedReceiver<T, BUG>) {
    let core = Arc::new(Core {
        inner: Mutex::new(Inner {
            items: VecDeque::new(),
            senders: 1,
            receivers: 1,
        }),
        cap,
        readable: Condvar::new(),
        writable: Condvar::new(),
    });
    (FlawedSender(core.clone()), FlawedReceiver(core))
}

impl<const BUG: u8> ChannelFlavor for Flawed<BUG> {
    const NAME: &'static str = NAMES[BUG as usize];
    const FEATURES: Features = Features {
        rendezvous: false,
        receiver_clones: true,
        send_timeout: true,
    };
    type Sender<T: Send + 'static> = FlawedSender<T, BUG>;
    type Receiver<T: Send + 'static> = FlawedReceiver<T, BUG>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        pair(Some(cap.max(1)))
    }
    fn unbounded<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>) {
        pair(None)
    }
}
