//! The pool's submission queue: one submitter that never takes the takers' lock on its fast path,
//! many takers that take **batches** under a lock of their own.
//!
//! [`BatchQueue`](super::BatchQueue) put the submitter and the workers behind one mutex. On tiny
//! jobs on an idle machine that lock *is* the cost: every submit waits for whichever worker holds
//! it, and the line bounces between three threads (measured: 1.95× `threadpool`, whose submit is
//! a lock-free channel send). `Pool::submit` takes `&mut self`, so there is exactly one submitter,
//! and the intake is built on that:
//!
//! - **A single-producer ring.** The submitter writes a slot and publishes it by advancing `tail`;
//!   it reads `head` only when its cached copy says the ring is full. No lock, one RMW per job.
//! - **Takers serialise on their own mutex.** To the ring they are one consumer: under the lock a
//!   taker moves its fair share of what is there (`available / takers`, at least one, at most the
//!   caller's limit) and advances `head`. The share keeps one worker from hoarding jobs a sibling
//!   could start, as in `BatchQueue`.
//! - **Sleeping without a lost wake-up, without SeqCst.** The lowest bit of `tail` says "a taker
//!   sleeps". A taker about to sleep sets it with a `fetch_or` *on `tail` itself* and compares the
//!   index it gets back with the one it saw empty; the submitter publishes with a `fetch_add` on the
//!   same word. Two RMWs on one location are totally ordered, so exactly one of them sees the other:
//!   either the taker sees the new item and does not sleep, or the submitter sees the bit and takes
//!   the lock to wake it. (A Dekker-style "store my flag, then load yours" pair on two locations
//!   would need SeqCst fences, which loom does not model.)
//! - **A wake-up is a claim.** The submitter moves one sleeper to "woken" under the lock and clears
//!   the bit when none is left, so a burst of submits after one sleeper went to sleep takes the lock
//!   once, not once per job.
//! - **A full ring parks the submitter** until takers have freed half of it (low-water mark), so the
//!   submitter and the takers do not wake each other once per slot.
//!
//! The loom models `intake::*` in `phase2/tests/loom_pool.rs` check delivery (each item exactly
//! once), the bound, the full-ring hand-off and the close on every interleaving.
use std::mem::MaybeUninit;
use std::time::Instant;

use crossbeam_utils::CachePadded;
use phase1::shim::UnsafeCell;
use phase1::shim::sync::atomic::{AtomicUsize, Ordering::*};
use phase1::shim::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::queue::{Take, spin_briefly_until};

/// Rounds of `wait_for_room`'s lock-free re-read of `head` before it parks. Under loom (where the
/// queues poll zero rounds) one, so the models also take this path: it is the one where the
/// Release store / Acquire load of `head` is all that orders a taker's read of a slot before the
/// submitter rewrites it (on the parked path the lock orders them too).
#[cfg(not(loom))]
const ROOM_POLL_ROUNDS: u32 = super::queue::POLL_ROUNDS;
#[cfg(loom)]
const ROOM_POLL_ROUNDS: u32 = 1;

/// Bit 0 of `tail`: at least one taker sleeps (or is about to) and wants a wake-up.
const SLEEPERS: usize = 1;
/// One item in `tail`'s index (bits 1..).
const ONE: usize = 2;
/// Indices are kept modulo 2^63 on both sides (`tail` loses bit 0 to the flag).
const INDEX: usize = usize::MAX >> 1;

/// The orderings of the two publishing pairs, `tail` (items) and `head` (free slots). Outside loom
/// they are the constants `Acquire` / `Release`. Under loom a model can weaken one pair to
/// `Relaxed` on its own thread (`twin_weakened`, compiled only under loom): the broken twin that `loom_pool.rs` expects
/// loom to catch. Loom runs every thread of a model on the calling OS thread, so a thread-local
/// switch reaches all of them and no other test.
mod twin {
    use super::{Acquire, Release};
    use phase1::shim::sync::atomic::Ordering;

    /// Which Release/Acquire pair.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Pair {
        /// The submitter's `fetch_add` of `tail` / a taker's load of it.
        Tail,
        /// A taker's store of `head` / the submitter's lock-free load of it.
        Head,
    }

    #[cfg(loom)]
    std::thread_local! {
        static WEAK: std::cell::Cell<Option<Pair>> = const { std::cell::Cell::new(None) };
    }

    #[cfg(loom)]
    fn weak(pair: Pair) -> bool {
        WEAK.with(|w| w.get() == Some(pair))
    }

    #[cfg(not(loom))]
    #[inline(always)]
    fn weak(_: Pair) -> bool {
        false
    }

    /// `Release`, or `Relaxed` in the broken twin.
    #[inline(always)]
    pub(super) fn release(pair: Pair) -> Ordering {
        if weak(pair) {
            Ordering::Relaxed
        } else {
            Release
        }
    }

    /// `Acquire`, or `Relaxed` in the broken twin.
    #[inline(always)]
    pub(super) fn acquire(pair: Pair) -> Ordering {
        if weak(pair) {
            Ordering::Relaxed
        } else {
            Acquire
        }
    }

    /// Loom only: runs `f` with both halves of `pair` weakened to `Relaxed` on this thread.
    #[cfg(loom)]
    pub fn weakened<R>(pair: Pair, f: impl FnOnce() -> R) -> R {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                WEAK.with(|w| w.set(None));
            }
        }
        WEAK.with(|w| w.set(Some(pair)));
        let _reset = Reset;
        f()
    }
}

#[cfg(loom)]
#[doc(hidden)]
pub use twin::{Pair as TwinPair, weakened as twin_weakened};

/// Bookkeeping under the takers' lock.
#[derive(Debug)]
struct Takers {
    /// Sleeping takers nobody has claimed yet (the `SLEEPERS` bit is set exactly when > 0).
    sleeping: usize,
    /// Wake-ups granted and not yet consumed by a sleeper.
    permits: usize,
    /// The submitter is parked on a full ring.
    submitter_parked: bool,
    /// Set by [`Submitter::close`]: takers drain, then get `Take::Closed`.
    closed: bool,
}

/// The shared part: the ring, the takers' lock and the two condition variables.
pub struct Intake<T> {
    /// `(index << 1) | SLEEPERS`: the index is advanced by the submitter only, the bit is set and
    /// cleared by whoever holds the takers' lock.
    tail: CachePadded<AtomicUsize>,
    /// The next index to take; written only under the takers' lock.
    head: CachePadded<AtomicUsize>,
    /// `ring.len()` is `cap` rounded up to a power of two; at most `cap` slots are in use.
    ring: Box<[UnsafeCell<MaybeUninit<T>>]>,
    cap: usize,
    takers: usize,
    lock: Mutex<Takers>,
    items_ready: Condvar,
    space_ready: Condvar,
}

// SAFETY: items move from the submitter's thread to a taker's (`T: Send`); a slot is written only
// by the submitter while it is outside `[head, tail)` and read only by a taker holding the lock while
// it is inside, with the Release/Acquire pairs on `tail` and `head` (or the takers' lock, when the
// submitter waits for room under it) ordering the two.
unsafe impl<T: Send> Sync for Intake<T> {}
// SAFETY: as above; the intake owns the `T`s in its ring.
unsafe impl<T: Send> Send for Intake<T> {}

impl<T> std::fmt::Debug for Intake<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("len", &self.len())
            .field("cap", &self.cap)
            .field("takers", &self.takers)
            .finish()
    }
}

/// The one submitting end (not `Clone`; `push` takes `&mut self`).
pub struct Submitter<T> {
    intake: Arc<Intake<T>>,
    /// Our copy of the tail index (we are its only writer).
    tail: usize,
    /// `head` as last read: the ring has room while `tail - head_seen < cap`.
    head_seen: usize,
    closed: bool,
}

impl<T> std::fmt::Debug for Submitter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter")
            .field("tail", &self.tail)
            .field("closed", &self.closed)
            .finish()
    }
}

/// A queue of at most `cap` items for `takers` takers: the submitter and the shared end.
pub fn intake<T>(cap: usize, takers: usize) -> (Submitter<T>, Arc<Intake<T>>) {
    assert!(cap > 0 && takers > 0, "an intake needs room and a taker");
    assert!(cap <= 1 << 32, "a ring of {cap} slots is not a job queue");
    let slots = cap.next_power_of_two();
    let intake = Arc::new(Intake {
        tail: CachePadded::new(AtomicUsize::new(0)),
        head: CachePadded::new(AtomicUsize::new(0)),
        ring: (0..slots)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect(),
        cap,
        takers,
        lock: Mutex::new(Takers {
            sleeping: 0,
            permits: 0,
            submitter_parked: false,
            closed: false,
        }),
        items_ready: Condvar::new(),
        space_ready: Condvar::new(),
    });
    let submitter = Submitter {
        intake: intake.clone(),
        tail: 0,
        head_seen: 0,
        closed: false,
    };
    (submitter, intake)
}

impl<T> Intake<T> {
    fn lock(&self) -> MutexGuard<'_, Takers> {
        // No user code runs under this lock, so a poisoned lock cannot hold a broken invariant.
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn slot(&self, index: usize) -> &UnsafeCell<MaybeUninit<T>> {
        &self.ring[index & (self.ring.len() - 1)]
    }

    /// Items queued now (a snapshot).
    pub fn len(&self) -> usize {
        // Relaxed both: a snapshot for reports; nothing is read through it.
        let tail = self.tail.load(Relaxed) >> 1;
        tail.wrapping_sub(self.head.load(Relaxed)) & INDEX
    }

    /// Whether nothing is queued now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves up to `max` items into `out` — the caller's fair share of what is queued — blocking
    /// while the intake is empty and open. `false` (nothing moved) once it is closed and empty.
    pub fn take(&self, max: usize, out: &mut Vec<T>) -> bool {
        self.take_until(max, out, None) == Take::Took
    }

    /// [`take`](Self::take) that gives up at `deadline` (under loom, where there is no time, it
    /// waits like `take`).
    pub fn take_until(&self, max: usize, out: &mut Vec<T>, deadline: Option<Instant>) -> Take {
        debug_assert!(max > 0);
        spin_briefly_until(|| !self.is_empty());
        let mut s = self.lock();
        loop {
            // Relaxed: `head` is written only under the lock we hold.
            let head = self.head.load(Relaxed);
            // Acquire: pairs with the submitter's Release `fetch_add`, so the slots below `tail`
            // hold the items it wrote.
            let tail = self.tail.load(twin::acquire(twin::Pair::Tail)) >> 1;
            let available = tail.wrapping_sub(head) & INDEX;
            if available > 0 {
                let share = (available / self.takers).clamp(1, max);
                out.reserve(share);
                for i in 0..share {
                    // SAFETY: index `head + i` is inside `[head, tail)`: the submitter wrote it
                    // (visible through the Acquire above) and will not touch it before `head`
                    // passes it; we hold the lock, so no other taker reads it.
                    let item = self
                        .slot(head.wrapping_add(i))
                        .with_mut(|p| unsafe { (*p).assume_init_read() });
                    out.push(item);
                }
                // Release: the submitter reads `head` with Acquire before it rewrites these slots,
                // so our reads of them happen before its writes.
                self.head.store(
                    head.wrapping_add(share) & INDEX,
                    twin::release(twin::Pair::Head),
                );
                // Low-water: the parked submitter is woken once half the room is free.
                if s.submitter_parked && available - share <= self.cap / 2 {
                    s.submitter_parked = false;
                    self.space_ready.notify_one();
                }
                return Take::Took;
            }
            if s.closed {
                return Take::Closed;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Take::TimedOut;
            }
            // Going to sleep: raise the flag with an RMW on `tail` and check nothing came in.
            s.sleeping += 1;
            // Relaxed: this RMW only has to be in `tail`'s modification order, which is total
            // (see the module docs for why one location is enough). It orders no data: an item
            // it shows us is taken on the next round, whose Acquire load of `tail` reads this
            // value or a later one and so synchronises with the submitter's Release `fetch_add`;
            // a wake-up goes through the lock. (The loom models pass with this Relaxed and fail
            // with either half of the `tail` or `head` Release/Acquire pairs weakened.)
            let seen = self.tail.fetch_or(SLEEPERS, Relaxed) >> 1;
            if seen != tail {
                self.unregister(&mut s);
                continue; // the submitter published after our look: take it
            }
            s = self.sleep(s, deadline);
        }
    }

    /// Waits until this sleeper is claimed by a wake-up, the intake closes, or `deadline` passes;
    /// unregisters itself in the last two cases.
    fn sleep<'a>(
        &'a self,
        mut s: MutexGuard<'a, Takers>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, Takers> {
        loop {
            s = match deadline {
                None => self.items_ready.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        self.unregister(&mut s);
                        return s;
                    }
                    self.items_ready
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            if s.permits > 0 {
                s.permits -= 1; // claimed: the submitter already took us off `sleeping`
                return s;
            }
            if s.closed {
                self.unregister(&mut s);
                return s;
            }
            // A spurious wake-up (or a permit another sleeper took): sleep on.
        }
    }

    /// One unclaimed sleeper leaves; the last one lowers the flag. Called under the lock.
    fn unregister(&self, s: &mut Takers) {
        // Only a registered, unclaimed sleeper leaves (a claim already took it off the count).
        s.sleeping = s
            .sleeping
            .checked_sub(1)
            .expect("unregister without a sleeper registered");
        if s.sleeping == 0 {
            // Relaxed: the flag is only changed under the lock; the submitter's `fetch_add` reads
            // the newest value of the word whatever the ordering.
            self.tail.fetch_and(!SLEEPERS, Relaxed);
        }
    }
}

impl<T> Drop for Intake<T> {
    fn drop(&mut self) {
        // `&mut self`: no submitter or taker is left.
        // Relaxed: `&mut self` already orders every access before this one.
        let tail = self.tail.load(Relaxed) >> 1;
        let head = self.head.load(Relaxed);
        let mut rest = Unclaimed {
            intake: self,
            head,
            tail,
        };
        // An item's `Drop` is user code and may panic: then `rest` is dropped by the unwind and
        // drops the items after it (as `Vec` does), instead of leaking them.
        rest.drop_all();
    }
}

/// The items nobody took, `[head, tail)`, while the intake drops them.
struct Unclaimed<'a, T> {
    intake: &'a Intake<T>,
    head: usize,
    tail: usize,
}

impl<T> Unclaimed<'_, T> {
    fn drop_all(&mut self) {
        while self.head != self.tail {
            let at = self.head;
            // Advanced first, so a panicking item is not dropped again by the unwind.
            self.head = self.head.wrapping_add(1) & INDEX;
            // SAFETY: `[head, tail)` holds initialised items nobody took (only the intake's drop
            // is left to touch them); `at` was just removed from that range, so it is dropped once.
            self.intake
                .slot(at)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T> Drop for Unclaimed<'_, T> {
    fn drop(&mut self) {
        // Empty already unless an item's drop panicked (a second panic aborts, as in `Vec`).
        self.drop_all();
    }
}

impl<T> Submitter<T> {
    /// Appends `item`, parking while the intake holds `cap` items; `Err(item)` after
    /// [`close`](Self::close).
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.closed {
            return Err(item);
        }
        if self.tail.wrapping_sub(self.head_seen) & INDEX >= self.intake.cap {
            self.wait_for_room();
        }
        let q = &*self.intake;
        // SAFETY: `tail - head < cap ≤ ring.len()`, so slot `tail` is outside `[head, tail)`: no
        // taker reads it, and the one that last read it did so before its Release store of `head`,
        // which we loaded with Acquire in `wait_for_room`'s poll, or under the takers' lock that
        // the taker held while reading it.
        q.slot(self.tail).with_mut(|p| unsafe { (*p).write(item) });
        // Release: publishes the slot to the taker that loads `tail` with Acquire.
        let before = q.tail.fetch_add(ONE, twin::release(twin::Pair::Tail));
        self.tail = self.tail.wrapping_add(1) & INDEX;
        if before & SLEEPERS != 0 {
            self.wake_one();
        }
        Ok(())
    }

    /// The slow path of `push`: reread `head`, yield a few times, then park until the takers have
    /// freed half the ring.
    fn wait_for_room(&mut self) {
        let q = &*self.intake;
        let full = |head: usize| self.tail.wrapping_sub(head) & INDEX >= q.cap;
        for _ in 0..ROOM_POLL_ROUNDS {
            // Acquire: pairs with the taker's Release store of `head` (see `push`).
            let head = q.head.load(twin::acquire(twin::Pair::Head));
            if !full(head) {
                self.head_seen = head;
                return;
            }
            phase1::shim::thread::yield_now();
        }
        let mut s = q.lock();
        loop {
            // Relaxed: `head` only moves under the lock we hold, so this is exact, and the lock
            // orders the taker's reads of the slots before our rewrite of them.
            let head = q.head.load(Relaxed);
            if !full(head) {
                self.head_seen = head;
                return;
            }
            s.submitter_parked = true;
            s = q.space_ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Claims one sleeping taker and wakes it; lowers the flag when none is left unclaimed.
    fn wake_one(&self) {
        let q = &*self.intake;
        let mut s = q.lock();
        if s.sleeping > 0 {
            s.permits += 1;
            q.items_ready.notify_one();
            q.unregister(&mut s);
        }
    }

    /// Items queued now (a snapshot).
    pub fn len(&self) -> usize {
        self.intake.len()
    }

    /// Whether nothing is queued now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the intake: later pushes fail; takers drain what is queued, then get `Closed`.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            let q = &*self.intake;
            // The lock orders every push before the flag for a taker that reads it under the lock.
            q.lock().closed = true;
            q.items_ready.notify_all();
        }
    }
}

impl<T> Drop for Submitter<T> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::sync::atomic::AtomicUsize;

    /// Counts its drop, then panics if told to (quietly: `resume_unwind` skips the hook).
    struct Item {
        drops: std::sync::Arc<AtomicUsize>,
        panics: bool,
    }

    impl Drop for Item {
        fn drop(&mut self) {
            // Relaxed: single-threaded test.
            self.drops.fetch_add(1, Relaxed);
            if self.panics {
                resume_unwind(Box::new("item dropped"));
            }
        }
    }

    #[test]
    fn items_left_in_a_dropped_intake_are_dropped_once_even_when_one_panics() {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (mut tx, q) = intake::<Item>(8, 1);
        // The ring wraps: take two, so the leftovers straddle the end of the 8 slots.
        for k in 0..10 {
            let drops = drops.clone();
            tx.push(Item {
                drops,
                panics: k == 6,
            })
            .ok()
            .expect("open");
            if k == 1 {
                let mut out = Vec::new();
                assert!(q.take(2, &mut out));
                drop(out);
            }
        }
        assert_eq!(drops.load(Relaxed), 2);
        drop(tx);
        let dropped = catch_unwind(AssertUnwindSafe(move || drop(q)));
        assert!(dropped.is_err(), "the item's panic propagates");
        assert_eq!(drops.load(Relaxed), 10, "every item dropped exactly once");
    }
}
