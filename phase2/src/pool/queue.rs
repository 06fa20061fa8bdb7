//! A bounded MPMC queue that hands out **batches** and wakes only sleepers: the pool's results
//! queue (workers push a batch of results under one lock, the caller takes them all), and its job
//! queue until the single-submitter [`Intake`](super::intake::Intake) replaced it there (the submitter no
//! longer shares the takers' lock; see that module for the measurements).
//!
//! Why not the phase 1 channel the pool started with? On tiny jobs a pool's cost is not the job but
//! the hand-off: one lock round-trip per job, and worse, one wake-up per job when a worker has gone
//! to sleep (about 25 µs on this VM, 100× a job). Three changes remove most of it:
//!
//! 1. **Batch take.** A worker takes its fair share of what is queued (`len / takers`, at least
//!    one, at most the caller's limit) under one lock, then runs the batch without touching the
//!    queue. The share is what keeps batching from starving a sibling: with 4 queued and 2 takers
//!    each gets 2, never one taker 4 while the other idles. A job in a batch still waits behind its
//!    batch-mates — the price of batching, bounded by the caller's limit.
//! 2. **Wake only sleepers, once.** A push notifies only when a taker sleeps *and* no wake-up is
//!    already on its way; a full queue wakes its blocked pushers only at the low-water mark
//!    (half empty), not at every free slot, so a producer and its consumers do not ping-pong.
//! 3. **Poll before sleeping.** A taker that finds the queue empty re-reads a lock-free length hint
//!    a few rounds (spin, then `yield_now`) before it parks: a producer that is merely between two
//!    pushes costs a few hundred ns instead of a park and a wake.
//!
//! Liveness does not depend on the wake-up bookkeeping: a taker sleeps only on an empty queue
//! (checked under the lock) and every awake taker drains before sleeping, so an item is never
//! stranded; a wake-up that goes to the "wrong" sleeper costs parallelism, never progress. The
//! loom models in `phase2/tests/loom_pool.rs` check that, and the bound, on every interleaving.
use std::collections::VecDeque;
use std::time::Instant;

use phase1::shim::sync::atomic::{AtomicUsize, Ordering};
use phase1::shim::sync::{Condvar, Mutex, MutexGuard};

/// Rounds of polling before parking (0 under loom: a spin is no scheduling point worth exploring,
/// and the model must reach the sleeping path).
#[cfg(not(loom))]
pub(crate) const POLL_ROUNDS: u32 = 12;
#[cfg(loom)]
pub(crate) const POLL_ROUNDS: u32 = 0;

/// Of those rounds, how many only spin (the rest yield the core).
const SPIN_ROUNDS: u32 = 4;

/// Waits a little, without any lock, until `ready()` (spin, then yield; at most [`POLL_ROUNDS`]
/// rounds): a producer that is merely between two pushes costs a few hundred ns this way instead
/// of a park and a wake-up. Used by both of the pool's queues before their sleeping path.
pub(crate) fn spin_briefly_until(ready: impl Fn() -> bool) {
    for round in 0..POLL_ROUNDS {
        if ready() {
            return;
        }
        if round < SPIN_ROUNDS {
            for _ in 0..32 {
                phase1::shim::hint::spin_loop();
            }
        } else {
            phase1::shim::thread::yield_now();
        }
    }
}

/// What the lock protects.
#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    /// Set once by [`BatchQueue::close`] (or when the last producer leaves): takers drain, then stop.
    closed: bool,
    /// Producers still attached ([`BatchQueue::close_one`] counts down to closing).
    producers: usize,
    /// Takers parked on `items_ready`.
    sleeping_takers: usize,
    /// Wake-ups sent to takers and not yet consumed by one (so a burst of pushes sends one each).
    wakes_pending: usize,
    /// Pushers parked on `space_ready`.
    sleeping_pushers: usize,
}

/// A bounded multi-producer multi-consumer queue with batch take. See the module docs.
#[derive(Debug)]
pub struct BatchQueue<T> {
    state: Mutex<State<T>>,
    items_ready: Condvar,
    space_ready: Condvar,
    /// `items.len()`, published after every change, read without the lock by polling takers.
    len_hint: AtomicUsize,
    /// How many takers share the queue (the denominator of the fair share).
    takers: usize,
    cap: usize,
}

/// How a [`BatchQueue::take_until`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// At least one item was moved.
    Took,
    /// The queue is closed and empty.
    Closed,
    /// The deadline passed with the queue empty.
    TimedOut,
}

/// A push found the queue closed: the item is handed back (as `std::sync::mpsc::SendError` does).
#[derive(Debug, PartialEq, Eq)]
pub struct PushError<T>(pub T);

impl<T> BatchQueue<T> {
    /// A queue of at most `cap` items (`usize::MAX`: unbounded) shared by `takers` takers and
    /// `producers` producers (each calls [`close_one`](Self::close_one) when done).
    pub fn new(cap: usize, takers: usize, producers: usize) -> Self {
        assert!(cap > 0 && takers > 0, "a queue needs room and a taker");
        BatchQueue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: producers == 0,
                producers,
                sleeping_takers: 0,
                wakes_pending: 0,
                sleeping_pushers: 0,
            }),
            items_ready: Condvar::new(),
            space_ready: Condvar::new(),
            len_hint: AtomicUsize::new(0),
            takers,
            cap,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock (no user code runs under it), so a poisoned lock
        // cannot hold a broken invariant.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `item`, blocking while the queue is full; `Err` once it is closed.
    pub fn push(&self, item: T) -> Result<(), PushError<T>> {
        let mut s = self.lock();
        while s.items.len() >= self.cap && !s.closed {
            s.sleeping_pushers += 1;
            s = self.space_ready.wait(s).unwrap_or_else(|p| p.into_inner());
            s.sleeping_pushers -= 1;
        }
        if s.closed {
            return Err(PushError(item));
        }
        s.items.push_back(item);
        self.published(&mut s);
        Ok(())
    }

    /// Appends every item of `items` (draining it) regardless of the bound: for queues created
    /// unbounded, and for handing a worker's batch of results over under one lock.
    pub fn push_all(&self, items: &mut Vec<T>) -> Result<(), PushError<()>> {
        let mut s = self.lock();
        if s.closed {
            return Err(PushError(()));
        }
        s.items.extend(items.drain(..));
        self.published(&mut s);
        Ok(())
    }

    /// After items were added: publish the length and wake one sleeping taker if none is on its way.
    fn published(&self, s: &mut State<T>) {
        // Relaxed: a hint for polling takers; the items themselves are read under the lock.
        self.len_hint.store(s.items.len(), Ordering::Relaxed);
        if s.sleeping_takers > s.wakes_pending {
            s.wakes_pending += 1;
            self.items_ready.notify_one();
        }
    }

    /// Moves up to `max` items into `out` — the caller's fair share of what is queued — blocking
    /// while the queue is empty and open. Returns `false` (and moves nothing) once it is closed
    /// and empty.
    pub fn take(&self, max: usize, out: &mut Vec<T>) -> bool {
        self.take_until(max, out, None) == Take::Took
    }

    /// [`take`](Self::take) that gives up at `deadline` (under loom, where there is no time, it
    /// waits like `take`).
    pub fn take_until(&self, max: usize, out: &mut Vec<T>, deadline: Option<Instant>) -> Take {
        debug_assert!(max > 0);
        // Relaxed: only decides whether to take the lock now; the lock orders the items.
        spin_briefly_until(|| self.len_hint.load(Ordering::Relaxed) > 0);
        let mut s = self.lock();
        loop {
            let len = s.items.len();
            if len > 0 {
                let share = (len / self.takers).clamp(1, max);
                out.extend(s.items.drain(..share));
                let left = s.items.len();
                // Relaxed: a hint (see `published`).
                self.len_hint.store(left, Ordering::Relaxed);
                // Low-water: wake blocked pushers once half the room is free, all at once.
                if s.sleeping_pushers > 0 && left <= self.cap / 2 {
                    self.space_ready.notify_all();
                }
                return Take::Took;
            }
            if s.closed {
                return Take::Closed;
            }
            s.sleeping_takers += 1;
            s = match deadline {
                None => self.items_ready.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        s.sleeping_takers -= 1;
                        return Take::TimedOut;
                    }
                    self.items_ready
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            s.sleeping_takers -= 1;
            s.wakes_pending = s.wakes_pending.saturating_sub(1);
        }
    }

    /// Closes the queue: pushes fail, takers drain what is queued and then get `false`.
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        drop(s);
        self.items_ready.notify_all();
        self.space_ready.notify_all();
    }

    /// One producer is done; the last one closes the queue.
    pub fn close_one(&self) {
        let mut s = self.lock();
        s.producers = s.producers.saturating_sub(1);
        let last = s.producers == 0;
        drop(s);
        if last {
            self.close();
        }
    }

    /// Items queued now (a snapshot).
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Whether nothing is queued now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes and returns everything queued, without blocking (for a final drain).
    pub fn drain_now(&self) -> Vec<T> {
        let mut s = self.lock();
        let all: Vec<T> = s.items.drain(..).collect();
        self.len_hint.store(0, Ordering::Relaxed);
        if s.sleeping_pushers > 0 {
            self.space_ready.notify_all();
        }
        all
    }
}
