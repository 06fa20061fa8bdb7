//! A channel of your own: start here. This is a naive channel that works — one `Mutex` around a
//! `VecDeque`, two `Condvar`s to sleep on — and reviews clean. Make it yours: change it, make it
//! faster, break it and see the review name what broke (`make review NAME=<your attempt>`).
//!
//! What the review runs against is [`Attempt`], a `harness::contracts::channel::ChannelFlavor`: it
//! makes `bounded(cap)` and `unbounded()` pairs whose halves implement `ChannelSender` (`send`,
//! `try_send`, `send_timeout`) and `ChannelReceiver` (`recv`, `try_recv`, `recv_timeout`,
//! `try_clone`). Keep those; everything behind them is yours.
//!
//! The locks and the `Arc` come from `shim::sync`: the same path is `std::sync` normally and loom's
//! model-checked types under `RUSTFLAGS="--cfg loom"`, so a loom model can run this code unchanged.
//!
//! Rules this naive version keeps, and the review checks (phase1/src/channels/shared.rs explains them):
//! every wait is in a loop that re-checks its condition under the lock; the last sender leaving
//! wakes every receiver, the last receiver leaving wakes every sender; buffered values are dropped
//! when nobody can receive them any more; values leave in the order they arrived.
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use harness::contracts::channel::{
    ChannelFlavor, ChannelReceiver, ChannelSender, Features, RecvTimeoutFailure,
    SendTimeoutFailure, TryRecvFailure, TrySendFailure,
};
use shim::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The flavor the review runs: `bounded(cap)` for `cap >= 1`, and `unbounded()`.
#[derive(Debug)]
pub struct Attempt;

/// What the senders and receivers of one channel share, under one lock.
#[derive(Debug)]
struct State<T> {
    /// Sent and not yet received, oldest first.
    queue: VecDeque<T>,
    /// Live `Sender`s; 0 means no value will ever arrive again.
    senders: usize,
    /// Live `Receiver`s; 0 means no value will ever be taken again.
    receivers: usize,
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    /// `None`: unbounded.
    capacity: Option<usize>,
    /// Receivers sleep here until a value (or the last sender's departure) arrives.
    not_empty: Condvar,
    /// Senders sleep here until there is room (or the last receiver leaves).
    not_full: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock leaves the state consistent (every change is one call).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_full(&self, state: &State<T>) -> bool {
        self.capacity.is_some_and(|cap| state.queue.len() >= cap)
    }

    /// Waits on `condvar` until `deadline` (forever when `None`); false once the deadline passed.
    fn wait<'a>(
        &self,
        condvar: &Condvar,
        guard: MutexGuard<'a, State<T>>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, State<T>>, bool) {
        match deadline {
            None => (condvar.wait(guard).unwrap_or_else(|p| p.into_inner()), true),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return (guard, false);
                }
                let (guard, _) = condvar
                    .wait_timeout(guard, left)
                    .unwrap_or_else(|p| p.into_inner());
                (guard, true)
            }
        }
    }

    /// Send, waiting for room until `deadline`. `Err((value, disconnected))`.
    fn send(&self, value: T, deadline: Option<Instant>) -> Result<(), (T, bool)> {
        let mut state = self.lock();
        loop {
            if state.receivers == 0 {
                return Err((value, true));
            }
            if !self.is_full(&state) {
                break;
            }
            let (s, in_time) = self.wait(&self.not_full, state, deadline);
            state = s;
            if !in_time {
                return Err((value, false));
            }
        }
        state.queue.push_back(value);
        drop(state);
        self.not_empty.notify_one();
        Ok(())
    }

    /// Receive, waiting until `deadline`. `Err(true)`: disconnected; `Err(false)`: timed out.
    fn recv(&self, deadline: Option<Instant>) -> Result<T, bool> {
        let mut state = self.lock();
        loop {
            if let Some(value) = state.queue.pop_front() {
                drop(state);
                self.not_full.notify_one();
                return Ok(value);
            }
            if state.senders == 0 {
                return Err(true);
            }
            let (s, in_time) = self.wait(&self.not_empty, state, deadline);
            state = s;
            if !in_time {
                return Err(false);
            }
        }
    }
}

/// The sending half.
#[derive(Debug)]
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half (it clones: many receivers share the values).
#[derive(Debug)]
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

fn channel<T>(capacity: Option<usize>) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            senders: 1,
            receivers: 1,
        }),
        capacity,
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.senders -= 1;
        if state.senders == 0 {
            drop(state);
            self.shared.not_empty.notify_all(); // every blocked receiver must see the end
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.lock().receivers += 1;
        Receiver {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receivers -= 1;
        if state.receivers == 0 {
            let orphans = std::mem::take(&mut state.queue); // nobody can receive them now
            drop(state);
            self.shared.not_full.notify_all(); // every blocked sender gets its value back
            drop(orphans); // outside the lock: a value's Drop may do anything
        }
    }
}

impl<T: Send + 'static> ChannelSender<T> for Sender<T> {
    fn send(&self, value: T) -> Result<(), T> {
        self.shared.send(value, None).map_err(|(v, _)| v)
    }
    fn try_send(&self, value: T) -> Result<(), TrySendFailure<T>> {
        let mut state = self.shared.lock();
        if state.receivers == 0 {
            return Err(TrySendFailure::Disconnected(value));
        }
        if self.shared.is_full(&state) {
            return Err(TrySendFailure::Full(value));
        }
        state.queue.push_back(value);
        drop(state);
        self.shared.not_empty.notify_one();
        Ok(())
    }
    fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutFailure<T>> {
        // A timeout too long to be a deadline (Duration::MAX) means no deadline.
        let deadline = Instant::now().checked_add(timeout);
        self.shared
            .send(value, deadline)
            .map_err(|(v, disconnected)| {
                if disconnected {
                    SendTimeoutFailure::Disconnected(v)
                } else {
                    SendTimeoutFailure::Timeout(v)
                }
            })
    }
    fn len(&self) -> Option<usize> {
        Some(self.shared.lock().queue.len())
    }
    fn is_empty(&self) -> Option<bool> {
        Some(self.shared.lock().queue.is_empty())
    }
}

impl<T: Send + 'static> ChannelReceiver<T> for Receiver<T> {
    fn recv(&self) -> Option<T> {
        self.shared.recv(None).ok()
    }
    fn try_recv(&self) -> Result<T, TryRecvFailure> {
        let mut state = self.shared.lock();
        match state.queue.pop_front() {
            Some(value) => {
                drop(state);
                self.shared.not_full.notify_one();
                Ok(value)
            }
            None if state.senders == 0 => Err(TryRecvFailure::Disconnected),
            None => Err(TryRecvFailure::Empty),
        }
    }
    fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutFailure> {
        let deadline = Instant::now().checked_add(timeout);
        self.shared.recv(deadline).map_err(|disconnected| {
            if disconnected {
                RecvTimeoutFailure::Disconnected
            } else {
                RecvTimeoutFailure::Timeout
            }
        })
    }
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
    fn len(&self) -> Option<usize> {
        Some(self.shared.lock().queue.len())
    }
    fn is_empty(&self) -> Option<bool> {
        Some(self.shared.lock().queue.is_empty())
    }
}

impl ChannelFlavor for Attempt {
    const NAME: &'static str = "naive template";
    // No rendezvous (capacity 0) in the naive version: a send there must wait until a receiver took
    // its value, which needs more than one queue (phase1's channel does it with tickets). Claim it
    // here once yours does, and the review tests it.
    const FEATURES: Features = Features {
        rendezvous: false,
        receiver_clones: true,
        send_timeout: true,
    };
    type Sender<T: Send + 'static> = Sender<T>;
    type Receiver<T: Send + 'static> = Receiver<T>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Sender<T>, Receiver<T>) {
        // Capacity 0 is not supported (FEATURES.rendezvous is false): hold one value instead.
        channel(Some(cap.max(1)))
    }
    fn unbounded<T: Send + 'static>() -> (Sender<T>, Receiver<T>) {
        channel(None)
    }
}
