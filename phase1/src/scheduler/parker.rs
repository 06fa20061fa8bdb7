//! A parker built on `thread::park` / `Thread::unpark`, with an explicit token.
//!
//! Go hides parking inside the runtime (`gopark` / `goready`): a goroutine blocked on a channel is
//! descheduled and made runnable again by whoever completes the operation. Rust hands the raw tool to
//! you: `thread::park` blocks the current OS thread until some other thread calls `unpark` on its
//! handle. `std` already keeps one token per thread, but its `park` may also return *spuriously*, and
//! the token is shared by every library that parks this thread. [`Parker`] adds a state of its own so
//! that `park` returns exactly when *this* parker was unparked:
//!
//! - an `unpark` before `park` is not lost: it leaves a token (NOTIFIED) that the next `park` consumes;
//! - tokens do not accumulate: many `unpark`s before one `park` make one token;
//! - a spurious return of `thread::park` is absorbed by looping on the state.
use std::marker::PhantomData;

use crate::shim::sync::Arc;
use crate::shim::sync::atomic::{AtomicU8, Ordering::*};
use crate::shim::thread::{self, Thread};

/// Nobody parked, no token.
const EMPTY: u8 = 0;
/// The owner thread is parked (or about to call `thread::park`) and must be unparked.
const PARKED: u8 = 1;
/// A token is waiting: the next `park` returns at once.
const NOTIFIED: u8 = 2;

#[derive(Debug)]
struct Inner {
    /// EMPTY → PARKED only by the owner (about to sleep); PARKED/EMPTY → NOTIFIED by any unparker;
    /// NOTIFIED → EMPTY only by the owner (token consumed); PARKED → EMPTY by the owner on timeout.
    state: AtomicU8,
    /// The thread that owns the [`Parker`]: the only one that ever parks on this state.
    owner: Thread,
}

/// The parking half: owned by one thread, which alone may call [`Parker::park`].
///
/// `!Send` and `!Sync`: the parker is bound to the thread that created it, because `unpark` wakes
/// that thread's handle.
#[derive(Debug)]
pub struct Parker {
    inner: Arc<Inner>,
    /// Ties the parker to its creating thread (`*const ()` is neither `Send` nor `Sync`).
    _owner_only: PhantomData<*const ()>,
}

/// The waking half: cloneable, sendable, usable from any thread.
#[derive(Debug, Clone)]
pub struct Unparker {
    inner: Arc<Inner>,
}

impl Parker {
    /// A parker for the current thread.
    #[allow(clippy::new_without_default)] // `default()` would hide that it binds the *current* thread.
    pub fn new() -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicU8::new(EMPTY),
                owner: thread::current(),
            }),
            _owner_only: PhantomData,
        }
    }

    /// A handle other threads use to wake this parker.
    pub fn unparker(&self) -> Unparker {
        Unparker {
            inner: self.inner.clone(),
        }
    }

    /// Consumes a waiting token, if any. True when there was one.
    fn take_token(&self) -> bool {
        // Acquire pairs with the Release swap in `unpark`: whatever the unparker wrote before
        // unparking is visible once we see (and consume) its token.
        self.inner
            .state
            .compare_exchange(NOTIFIED, EMPTY, Acquire, Relaxed)
            .is_ok()
    }

    /// Announces that we are going to sleep. False when a token arrived first (and was consumed).
    fn announce(&self) -> bool {
        // Relaxed on success: publishing PARKED carries no data, it only tells unparkers to call
        // `Thread::unpark`. Acquire on failure: the state is NOTIFIED, and that token's data must be
        // visible to us, as in `take_token`.
        match self
            .inner
            .state
            .compare_exchange(EMPTY, PARKED, Relaxed, Acquire)
        {
            Ok(_) => true,
            Err(seen) => {
                debug_assert_eq!(seen, NOTIFIED, "only the owner leaves EMPTY for PARKED");
                // Consume the token. A swap, not a store: if another unparker has swapped NOTIFIED in
                // again since our read, this Acquire RMW reads its value and sees its writes too.
                self.inner.state.swap(EMPTY, Acquire);
                false
            }
        }
    }

    /// Blocks until a token is available, then consumes it. Returns at once if one is waiting.
    pub fn park(&self) {
        if self.take_token() || !self.announce() {
            return;
        }
        loop {
            // An `unpark` that lands between `announce` and here is not lost either: `Thread::unpark`
            // leaves std's own per-thread token, so this call returns immediately.
            thread::park();
            if self.take_token() {
                return;
            }
            // Spurious return (or a stale std token from someone else): still PARKED, sleep again.
        }
    }

    /// Like [`park`](Parker::park) but gives up after `timeout`. True when a token was consumed,
    /// false when the time ran out.
    #[cfg(not(loom))]
    pub fn park_timeout(&self, timeout: std::time::Duration) -> bool {
        let Some(deadline) = std::time::Instant::now().checked_add(timeout) else {
            // Too long to be a deadline (`Duration::MAX`): no deadline at all, as in std.
            self.park();
            return true;
        };
        if self.take_token() || !self.announce() {
            return true;
        }
        loop {
            let now = std::time::Instant::now();
            if now >= deadline {
                // Withdraw: PARKED → EMPTY, unless a token beat us to it. Acquire as in `take_token`.
                return self.inner.state.swap(EMPTY, Acquire) == NOTIFIED;
            }
            std::thread::park_timeout(deadline - now);
            if self.take_token() {
                return true;
            }
        }
    }
}

impl Unparker {
    /// Makes a token available and wakes the owner if it sleeps. Idempotent until the token is used.
    pub fn unpark(&self) {
        // Release publishes everything this thread wrote before unparking to the owner, which
        // consumes the token with Acquire (`take_token` / `announce` / the timeout withdrawal).
        if self.inner.state.swap(NOTIFIED, Release) == PARKED {
            self.inner.owner.unpark();
        }
    }
}
