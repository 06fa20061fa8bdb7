//! A bounded MPMC queue after Dmitry Vyukov: an array of slots, each with a sequence number that says
//! whose turn the slot is, and two claim counters (`tail` for producers, `head` for consumers).
//!
//! Positions count up forever; position `pos` lives in slot `pos % cap`. A slot's `seq` is:
//! - `2·pos` — empty, waiting for the producer of position `pos`;
//! - `2·pos + 1` — full, holding the value of position `pos`, waiting for its consumer;
//! - `2·(pos + cap)` — emptied again: empty for the producer of the next lap.
//!
//! A producer reads `tail`, checks the slot's `seq == 2·tail`, claims the position with a CAS on
//! `tail`, writes the value and publishes it by storing `seq = 2·pos + 1` (Release). A consumer does
//! the mirror image on `head`, and hands the slot to the next lap with `seq = 2·(pos + cap)`
//! (Release). The CAS only picks *who* owns a position (Relaxed is enough); the slot's `seq` carries
//! the happens-before.
//!
//! Why `2·pos` and not Vyukov's `pos` / `pos + 1` / `pos + cap`: with a capacity of 1, "full with
//! position 0" (`0 + 1`) and "empty for position 1" (`0 + cap`) would be the same number, and a
//! second push would overwrite the first value. The conformance suite's capacity-1 cases caught it.
//!
//! Positions are `usize` and `seq` holds twice a position: at 10⁹ operations a second that wraps after
//! 292 years; we do not handle it.
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
    /// The turn: `2·pos` (empty, for position `pos`), `2·pos + 1` (holds `pos`'s value); module docs.
    seq: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded multi-producer multi-consumer queue; never blocks, never allocates after `new`.
///
/// `O` picks the orderings; leave it at [`Correct`] (see [`super::discipline`]).
pub struct BoundedQueue<T, O: Publication = Correct> {
    /// The next position a consumer will claim. Padded: consumers hammer it, producers never touch it.
    head: CachePadded<AtomicUsize>,
    /// The next position a producer will claim.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// `cap - 1` when `cap` is a power of two (then `pos & mask` replaces the division), else 0.
    mask: usize,
    _orderings: PhantomData<fn() -> O>,
}

// SAFETY: a value of type T is moved in by one thread and out by another, so T: Send is needed and
// enough: no two threads ever access one slot's value at once (the seq protocol hands the slot over).
unsafe impl<T: Send, O: Publication> Send for BoundedQueue<T, O> {}
// SAFETY: as above: shared access only reaches a slot's value through the seq protocol, which gives
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
        assert!(cap > 0, "a BoundedQueue needs a capacity of at least 1");
        let slots = (0..cap)
            .map(|i| Slot {
                seq: AtomicUsize::new(2 * i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        BoundedQueue {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            mask: if cap.is_power_of_two() { cap - 1 } else { 0 },
            _orderings: PhantomData,
        }
    }

    /// The most values it holds at once.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn slot(&self, pos: usize) -> &Slot<T> {
        let i = if self.mask != 0 || self.slots.len() == 1 {
            pos & self.mask
        } else {
            pos % self.slots.len()
        };
        // SAFETY: `i < slots.len()`: a mask of a power-of-two length, or a remainder by the length.
        unsafe { self.slots.get_unchecked(i) }
    }

    /// Appends `value`, or hands it back when the queue is full.
    pub fn try_push(&self, value: T) -> Result<(), T> {
        // Relaxed: only a guess at the next position; the slot's seq (Acquire) decides.
        let mut pos = self.tail.load(Relaxed);
        let mut step = 0;
        loop {
            let slot = self.slot(pos);
            // Acquire: pairs with the consumer's Release store of `seq = 2·pos` (one lap ago): its read
            // of the old value happened before our write below.
            let seq = slot.seq.load(O::OBSERVE);
            let lag = seq.wrapping_sub(pos.wrapping_mul(2)) as isize;
            if lag == 0 {
                // Relaxed: the CAS only decides which producer owns `pos`; no data rides on it.
                match self
                    .tail
                    .compare_exchange_weak(pos, pos.wrapping_add(1), Relaxed, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: we own position `pos` (the CAS), and the slot is empty (seq == 2·pos):
                        // no other thread touches its value until we publish it.
                        slot.value.with_mut(|p| unsafe { (*p).write(value) });
                        // Release: publishes the write above to the consumer's Acquire load of seq.
                        slot.seq.store(pos.wrapping_mul(2) | 1, O::PUBLISH);
                        return Ok(());
                    }
                    Err(current) => {
                        pos = current;
                        back_off(&mut step);
                    }
                }
            } else if lag < 0 {
                // The slot still holds the value from one lap ago. That is "full" only if no consumer
                // has claimed it yet: a consumer may have moved `head` past it and still be reading it
                // out, and a push after *another* pop returned must not report full. Relaxed: a pop
                // that happened before this push advanced `head` before it returned, so coherence
                // shows us that advance (or a later one).
                let head = self.head.load(Relaxed);
                if head.wrapping_add(self.slots.len()) == pos {
                    return Err(value);
                }
                // A consumer is mid-pop on this slot: wait for it to hand the slot over.
                back_off(&mut step);
                pos = self.tail.load(Relaxed);
            } else {
                // Another producer claimed `pos` already; catch up.
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
            // Acquire: pairs with the producer's Release store of `seq = 2·pos + 1`: its value is visible.
            let seq = slot.seq.load(O::OBSERVE);
            let lag = seq.wrapping_sub(pos.wrapping_mul(2) | 1) as isize;
            if lag == 0 {
                // Relaxed: picks the consumer that owns `pos`.
                match self
                    .head
                    .compare_exchange_weak(pos, pos.wrapping_add(1), Relaxed, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: we own position `pos` and the slot is full (seq == 2·pos + 1): the
                        // producer's write is visible (Acquire above) and no one else reads it.
                        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        // Release: our read happens before the next lap's producer writes the slot.
                        let next_lap = pos.wrapping_add(self.slots.len()).wrapping_mul(2);
                        slot.seq.store(next_lap, O::PUBLISH);
                        return Some(value);
                    }
                    Err(current) => {
                        pos = current;
                        back_off(&mut step);
                    }
                }
            } else if lag < 0 {
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
            pos = pos.wrapping_add(1);
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
