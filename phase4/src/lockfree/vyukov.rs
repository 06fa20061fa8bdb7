//! A bounded MPMC queue after Dmitry Vyukov: an array of slots, each with a stamp that says whose
//! turn the slot is, and two claim counters (`tail` for producers, `head` for consumers).
//!
//! A position is one word, `lap + index`: `index < cap` picks the slot, and `lap` is a multiple of
//! `one_lap`, the smallest power of two above `cap` (so the two parts never overlap). Moving on from
//! `(lap, cap - 1)` goes to `(lap + one_lap, 0)`. A slot's `stamp` is:
//! - `pos` — empty, waiting for the producer of position `pos`;
//! - `pos + 1` — full, holding the value of position `pos`, waiting for its consumer;
//! - `pos + one_lap` — emptied again: empty for the producer of the same slot one lap later.
//!
//! `index + 1 <= cap < one_lap`, so "full" never equals "empty for the next lap", even at capacity 1.
//!
//! A producer reads `tail`, checks the slot's `stamp == tail`, claims the position with a CAS on
//! `tail`, writes the value and publishes it by storing `stamp = pos + 1` (Release). A consumer does
//! the mirror image on `head`, and hands the slot to the next lap with `stamp = pos + one_lap`
//! (Release). The CAS only picks *who* owns a position (Relaxed is enough); the stamp carries the
//! happens-before. A stamp one step behind means full (push) or empty (pop) only when the indices
//! agree; otherwise a thread of the same side is mid-operation on that slot, and we wait for it.
//!
//! Wrapping: `lap` is added with wrapping arithmetic, and `one_lap` divides `2^usize::BITS`, so the
//! position word wraps from the last lap to lap 0 with the index unchanged, and every comparison is
//! an equality: the queue keeps working across the wrap (the unit tests start a few laps before it).
//! What it cannot survive is ABA on a stale word: a thread that read `tail` (or `head`), was
//! preempted, and resumes after *exactly* a multiple of `2^usize::BITS / one_lap` laps (at least
//! `2^usize::BITS / 2` operations: on 32-bit 2^31, tens of seconds of a hot queue), finds the same word
//! and the same stamp, and its CAS succeeds on a position it should not own. crossbeam's `ArrayQueue`
//! has the same bound.
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::Relaxed;

use crossbeam_utils::CachePadded;
use phase1::shim::UnsafeCell;
use phase1::shim::hint;
use phase1::shim::sync::atomic::AtomicUsize;

use super::discipline::{Correct, Publication};

/// After a lost race, spin `2^step` times (capped at 64) before retrying, so contending cores stop
/// trading the cache line back and forth on every attempt. Under loom one spin (a yield) is enough.
fn back_off(step: &mut u32) {
    #[cfg(not(loom))]
    for _ in 0..1u32 << (*step).min(6) {
        hint::spin_loop();
    }
    #[cfg(loom)]
    hint::spin_loop();
    *step += 1;
}

struct Slot<T> {
    /// The turn: `pos` (empty, for position `pos`), `pos + 1` (holds `pos`'s value); module docs.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded multi-producer multi-consumer queue; never blocks, never allocates after `new`.
///
/// `O` picks the orderings; leave it at [`Correct`] (see [`super::discipline`]).
pub struct BoundedQueue<T, O: Publication = Correct> {
    /// The next position (`lap + index`) a consumer will claim. Padded: consumers hammer it, and
    /// producers read it only to tell "full" from "a consumer is mid-pop".
    head: CachePadded<AtomicUsize>,
    /// The next position a producer will claim.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// The smallest power of two above the capacity: one lap of the position word.
    one_lap: usize,
    _orderings: PhantomData<fn() -> O>,
}

// SAFETY: a value of type T is moved in by one thread and out by another, so T: Send is needed and
// enough: no two threads ever access one slot's value at once (the stamp protocol hands the slot over).
unsafe impl<T: Send, O: Publication> Send for BoundedQueue<T, O> {}
// SAFETY: as above: shared access only reaches a slot's value through the stamp protocol, which gives
// exactly one thread the slot at a time; nothing hands out a `&T`.
unsafe impl<T: Send, O: Publication> Sync for BoundedQueue<T, O> {}

impl<T> BoundedQueue<T> {
    /// A queue holding at most `cap` values.
    ///
    /// # Panics
    /// When `cap` is 0.
    pub fn new(cap: usize) -> Self {
        BoundedQueue::with_orderings(cap)
    }
}

impl<T, O: Publication> BoundedQueue<T, O> {
    /// A queue with the orderings `O` (only the loom models choose anything but [`Correct`]).
    ///
    /// # Panics
    /// When `cap` is 0.
    pub fn with_orderings(cap: usize) -> Self {
        Self::starting_at_lap(cap, 0)
    }

    /// A queue whose positions start at `lap` (a multiple of `one_lap`): 0 normally; the wrap tests
    /// start a few laps before the word wraps.
    fn starting_at_lap(cap: usize, lap: usize) -> Self {
        assert!(cap > 0, "a BoundedQueue needs a capacity of at least 1");
        let one_lap = (cap + 1).next_power_of_two();
        debug_assert_eq!(lap & (one_lap - 1), 0, "a lap has index 0");
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(lap.wrapping_add(i)),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        BoundedQueue {
            head: CachePadded::new(AtomicUsize::new(lap)),
            tail: CachePadded::new(AtomicUsize::new(lap)),
            slots,
            one_lap,
            _orderings: PhantomData,
        }
    }

    /// For the wrap tests: a queue whose position word wraps around `usize` after four laps.
    #[cfg(all(test, not(loom)))]
    fn near_wrap(cap: usize) -> Self {
        let one_lap = (cap + 1).next_power_of_two();
        Self::starting_at_lap(cap, 0usize.wrapping_sub(4 * one_lap))
    }

    /// The most values it holds at once.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn slot(&self, pos: usize) -> &Slot<T> {
        let i = pos & (self.one_lap - 1);
        debug_assert!(i < self.slots.len());
        // SAFETY: `i < slots.len()`: every position word is made by `starting_at_lap` (index 0..cap)
        // or `next`, which keeps the index below `cap`; `head`/`tail` only ever hold such words.
        unsafe { self.slots.get_unchecked(i) }
    }

    /// The position after `pos`: the next index, or index 0 of the next lap.
    fn next(&self, pos: usize) -> usize {
        if (pos & (self.one_lap - 1)) + 1 < self.slots.len() {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Appends `value`, or hands it back when the queue is full.
    pub fn try_push(&self, value: T) -> Result<(), T> {
        // Relaxed: only a guess at the next position; the slot's stamp (Acquire) decides.
        let mut pos = self.tail.load(Relaxed);
        let mut step = 0;
        loop {
            let slot = self.slot(pos);
            // Acquire: pairs with the consumer's Release store of `stamp = pos` (one lap ago): its read
            // of the old value happened before our write below.
            let stamp = slot.stamp.load(O::OBSERVE);
            if stamp == pos {
                // Relaxed: the CAS only decides which producer owns `pos`; no data rides on it.
                match self
                    .tail
                    .compare_exchange_weak(pos, self.next(pos), Relaxed, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: we own position `pos` (the CAS), and the slot is empty (stamp == pos):
                        // no other thread touches its value until we publish it.
                        slot.value.with_mut(|p| unsafe { (*p).write(value) });
                        // Release: publishes the write above to the consumer's Acquire load of stamp.
                        slot.stamp.store(pos + 1, O::PUBLISH);
                        return Ok(());
                    }
                    Err(current) => {
                        pos = current;
                        back_off(&mut step);
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == pos + 1 {
                // The slot still holds the value from one lap ago. That is "full" only if no consumer
                // has claimed it yet: a consumer may have moved `head` past it and still be reading it
                // out, and a push after *another* pop returned must not report full. Relaxed: a pop
                // that happened before this push advanced `head` before it returned, so coherence
                // shows us that advance (or a later one).
                let head = self.head.load(Relaxed);
                if head.wrapping_add(self.one_lap) == pos {
                    return Err(value);
                }
                // A consumer is mid-pop on this slot: wait for it to hand the slot over.
                back_off(&mut step);
                pos = self.tail.load(Relaxed);
            } else {
                // Another producer claimed `pos` already (or our guess is stale); catch up.
                back_off(&mut step);
                pos = self.tail.load(Relaxed);
            }
        }
    }

    /// Takes the oldest value, or `None` when the queue is empty.
    pub fn try_pop(&self) -> Option<T> {
        // Relaxed: a guess, as in `try_push`.
        let mut pos = self.head.load(Relaxed);
        let mut step = 0;
        loop {
            let slot = self.slot(pos);
            // Acquire: pairs with the producer's Release store of `stamp = pos + 1`: its value is
            // visible.
            let stamp = slot.stamp.load(O::OBSERVE);
            if stamp == pos + 1 {
                // Relaxed: picks the consumer that owns `pos`.
                match self
                    .head
                    .compare_exchange_weak(pos, self.next(pos), Relaxed, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: we own position `pos` and the slot is full (stamp == pos + 1): the
                        // producer's write is visible (Acquire above) and no one else reads it.
                        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        // Release: our read happens before the next lap's producer writes the slot.
                        slot.stamp.store(pos.wrapping_add(self.one_lap), O::PUBLISH);
                        return Some(value);
                    }
                    Err(current) => {
                        pos = current;
                        back_off(&mut step);
                    }
                }
            } else if stamp == pos {
                // The slot is not filled for position `pos` yet. That is "empty" only if no producer
                // has claimed `pos`: one may have, and be mid-write, while a later push has returned.
                // Relaxed: a push that happened before this pop advanced `tail` before it returned,
                // so coherence shows us that advance (or a later one).
                let tail = self.tail.load(Relaxed);
                if tail == pos {
                    return None;
                }
                // A producer is mid-push on this slot: wait for it (FIFO forbids skipping it).
                back_off(&mut step);
                pos = self.head.load(Relaxed);
            } else {
                // Another consumer took `pos` already (or our guess is stale); catch up.
                back_off(&mut step);
                pos = self.head.load(Relaxed);
            }
        }
    }
}

impl<T, O: Publication> Drop for BoundedQueue<T, O> {
    fn drop(&mut self) {
        // Under loom only: a model that failed (a caught causality violation, see the weakened models)
        // leaves loom's bookkeeping of the offending cell mid-access, and touching it again while
        // unwinding aborts the test process. The leftovers leak in that one case; the failure is the
        // report that matters.
        #[cfg(loom)]
        if std::thread::panicking() {
            return;
        }
        // `&mut self`: every push and pop has returned, so each position in head..tail holds a value.
        // Relaxed: exclusive access; whatever handed us `&mut` (a join, Arc's drop) ordered the rest.
        let (head, tail) = (self.head.load(Relaxed), self.tail.load(Relaxed));
        let mut pos = head;
        while pos != tail {
            // SAFETY: position `pos` was pushed and not popped, and nothing else can touch it now.
            self.slot(pos)
                .value
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
            pos = self.next(pos);
        }
    }
}

impl<T, O: Publication> std::fmt::Debug for BoundedQueue<T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedQueue")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::BoundedQueue;

    /// Generous: only a livelock reaches it (Miri's clock runs far ahead of its progress).
    const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 10 });

    /// Capacities that divide `2^usize::BITS` and capacities that do not.
    const CAPS: [usize; 6] = [1, 2, 3, 4, 5, 7];

    /// Fill, overfill, drain, over-drain, lap after lap, across the point where the indices wrap.
    #[test]
    fn single_thread_fifo_across_the_index_wrap() {
        harness::watchdog::within(DEADLINE, || {
            for cap in CAPS {
                let q = BoundedQueue::<usize>::near_wrap(cap);
                let mut next = 0usize;
                for lap in 0..8 {
                    for i in 0..cap {
                        assert!(q.try_push(next + i).is_ok(), "cap {cap}, lap {lap}: room");
                    }
                    assert_eq!(q.try_push(usize::MAX), Err(usize::MAX), "cap {cap}: full");
                    for i in 0..cap {
                        assert_eq!(q.try_pop(), Some(next + i), "cap {cap}, lap {lap}: FIFO");
                    }
                    assert_eq!(q.try_pop(), None, "cap {cap}, lap {lap}: empty");
                    next += cap;
                }
                // Part-full laps too, so the wrap falls in the middle of the occupied range.
                let mut oldest = next;
                for _ in 0..cap / 2 {
                    assert!(q.try_push(next).is_ok(), "cap {cap}: prefill");
                    next += 1;
                }
                for _ in 0..10 * cap {
                    assert!(q.try_push(next).is_ok(), "cap {cap}: room while part full");
                    next += 1;
                    assert_eq!(q.try_pop(), Some(oldest), "cap {cap}: FIFO while part full");
                    oldest += 1;
                }
            }
        });
    }

    /// Two producers and two consumers cross the wrap together: every value arrives exactly once.
    #[test]
    fn mpmc_exact_multiset_across_the_index_wrap() {
        const PER_PRODUCER: usize = if cfg!(miri) { 20 } else { 5_000 };
        harness::watchdog::within(DEADLINE, || {
            for cap in [3, 4] {
                let q = Arc::new(BoundedQueue::<usize>::near_wrap(cap));
                let producers: Vec<_> = (0..2)
                    .map(|p| {
                        let q = q.clone();
                        std::thread::spawn(move || {
                            for i in 0..PER_PRODUCER {
                                let mut v = p * PER_PRODUCER + i;
                                while let Err(back) = q.try_push(v) {
                                    v = back;
                                    std::thread::yield_now();
                                }
                            }
                        })
                    })
                    .collect();
                let consumers: Vec<_> = (0..2)
                    .map(|_| {
                        let q = q.clone();
                        std::thread::spawn(move || {
                            let mut got = Vec::new();
                            while got.len() < PER_PRODUCER {
                                match q.try_pop() {
                                    Some(v) => got.push(v),
                                    None => std::thread::yield_now(),
                                }
                            }
                            got
                        })
                    })
                    .collect();
                producers.into_iter().for_each(|p| p.join().unwrap());
                let mut all: Vec<usize> = consumers
                    .into_iter()
                    .flat_map(|c| c.join().unwrap())
                    .collect();
                all.sort_unstable();
                assert_eq!(all, (0..2 * PER_PRODUCER).collect::<Vec<_>>(), "cap {cap}");
                assert_eq!(q.try_pop(), None);
            }
        });
    }
}
