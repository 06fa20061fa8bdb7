//! A single-producer single-consumer ring buffer: the cheapest hand-off between two threads.
//!
//! With one producer and one consumer nobody competes for a position, so there is no CAS at all, and
//! each side keeps its own position in a plain field. What remains is telling the other side that a
//! slot changed hands, and that is where the cost of an SPSC queue is: cache-line transfers.
//!
//! The textbook ring (and `rtrb`) shares two indices: the producer publishes `tail`, the consumer
//! `head`, each caching the other's and reloading it only when the cache says "full" or "empty". When
//! the consumer keeps up — the usual case — it finds the ring empty after every item and reloads
//! `tail`, so every item moves *two* lines between the cores: the `tail` line and the slot's line.
//! This ring has no shared index at all: **each slot carries a `full` flag**, set by the producer
//! (Release, after writing the value) and cleared by the consumer (Release, after reading it). The
//! producer looks only at the flag of the slot it is about to write, the consumer only at the flag of
//! the slot it is about to read, so an item moves only the line it lives on (FastForward, Giacomoni,
//! Moseley and Vachharajani, PPoPP 2008). The cost is a flag per slot (a `u64` slot becomes 16
//! bytes), and no cheap `len()`, which the SPSC contract does not ask for. The capacity is exact: the
//! producer finds the flag of position `p` still set exactly when position `p - cap` was not taken.
//!
//! [`channel`] returns a [`Producer`] and a [`Consumer`]. Both take `&mut self` and neither is `Clone`,
//! so a second producer or consumer cannot be written:
//!
//! ```compile_fail
//! let (producer, _consumer) = phase4::lockfree::ring::channel::<u32>(8);
//! let second = producer.clone(); // error: `Producer` is not `Clone`
//! ```
//!
//! ```compile_fail
//! let (producer, _consumer) = phase4::lockfree::ring::channel::<u32>(8);
//! let shared = &producer;
//! std::thread::scope(|s| {
//!     s.spawn(|| shared.try_push(1)); // error: `try_push` needs `&mut Producer`
//! });
//! ```
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::Relaxed;

use phase1::shim::UnsafeCell;
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::AtomicBool;

use super::discipline::{Correct, Publication};

/// One slot: the value and the flag that hands it over.
struct Slot<T> {
    /// `true` while the slot holds a value the consumer has not taken. The producer sets it
    /// (publishing the value), the consumer clears it (publishing that the slot is free again).
    full: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

struct Ring<T, O: Publication> {
    /// Position `pos` lives in `slots[pos % cap]`.
    slots: Box<[Slot<T>]>,
    /// `cap - 1` for a power-of-two `cap` (then `pos & mask`), else 0 (then `pos % cap`).
    mask: usize,
    _orderings: PhantomData<fn() -> O>,
}

// SAFETY: the producer writes a slot's value only while its flag is clear and the consumer reads it
// only while the flag is set; the Release/Acquire pair on the flag hands each slot over, so no value
// is accessed by two threads at once. Values move between threads: T: Send.
unsafe impl<T: Send, O: Publication> Sync for Ring<T, O> {}
// SAFETY: owning the ring owns the values in it; T: Send lets them go wherever the ring goes.
unsafe impl<T: Send, O: Publication> Send for Ring<T, O> {}

/// The slot index of position `pos` in a ring of `cap` slots (`mask` as in [`Ring::mask`]).
#[inline]
fn index(pos: usize, cap: usize, mask: usize) -> usize {
    if mask != 0 || cap == 1 {
        pos & mask
    } else {
        pos % cap
    }
}

impl<T, O: Publication> Ring<T, O> {
    fn slot(&self, pos: usize) -> &Slot<T> {
        let i = index(pos, self.slots.len(), self.mask);
        // SAFETY: `i < slots.len()`: a mask of a power-of-two length, or a remainder by the length.
        unsafe { self.slots.get_unchecked(i) }
    }
}

impl<T, O: Publication> Drop for Ring<T, O> {
    fn drop(&mut self) {
        // Under loom only: a model that failed (a caught causality violation, see the weakened models)
        // leaves loom's bookkeeping of the offending cell mid-access, and touching it again while
        // unwinding aborts the test process. The leftovers leak in that one case; the failure is the
        // report that matters.
        #[cfg(loom)]
        if std::thread::panicking() {
            return;
        }
        // Both halves are gone (this is the last Arc; Arc's drop orders their writes before this).
        for slot in self.slots.iter() {
            // Relaxed: as above, the last Arc's drop already ordered every flag write before us.
            if slot.full.load(Relaxed) {
                // SAFETY: a set flag means a value nobody took; nobody else is left to.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

/// The producing half. Exactly one per ring: not `Clone`, and `try_push` needs `&mut self`.
pub struct Producer<T, O: Publication = Correct> {
    ring: Arc<Ring<T, O>>,
    /// The next position to write; only the producer knows it.
    tail: usize,
}

/// The consuming half. Exactly one per ring: not `Clone`, and `try_pop` needs `&mut self`.
pub struct Consumer<T, O: Publication = Correct> {
    ring: Arc<Ring<T, O>>,
    /// The next position to read; only the consumer knows it.
    head: usize,
}

/// A ring holding at most `cap` values, split into its two halves.
///
/// # Panics
/// When `cap` is 0.
pub fn channel<T>(cap: usize) -> (Producer<T>, Consumer<T>) {
    channel_with_orderings(cap)
}

/// [`channel`] with the orderings `O` (only the loom models choose anything but [`Correct`]).
///
/// # Panics
/// When `cap` is 0.
pub fn channel_with_orderings<T, O: Publication>(cap: usize) -> (Producer<T, O>, Consumer<T, O>) {
    assert!(cap > 0, "a ring needs a capacity of at least 1");
    let ring = Arc::new(Ring {
        slots: (0..cap)
            .map(|_| Slot {
                full: AtomicBool::new(false),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect(),
        mask: if cap.is_power_of_two() { cap - 1 } else { 0 },
        _orderings: PhantomData,
    });
    (
        Producer {
            ring: ring.clone(),
            tail: 0,
        },
        Consumer { ring, head: 0 },
    )
}

impl<T, O: Publication> Producer<T, O> {
    /// Appends `value`, or hands it back when the ring is full.
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        let slot = self.ring.slot(self.tail);
        // Acquire: pairs with the consumer's Release clear, so its read of the old value happened
        // before we overwrite it.
        if slot.full.load(O::OBSERVE) {
            // The consumer has not taken the value `cap` positions back: the ring is full.
            return Err(value);
        }
        // SAFETY: the flag is clear, so the consumer is done with this slot and will not read it
        // until we set the flag below; we are the only producer.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // Release: publishes the write above to the consumer's Acquire load of the flag.
        slot.full.store(true, O::PUBLISH);
        self.tail = self.tail.wrapping_add(1);
        Ok(())
    }

    /// The most values the ring holds at once.
    pub fn capacity(&self) -> usize {
        self.ring.slots.len()
    }
}

impl<T, O: Publication> Consumer<T, O> {
    /// Takes the oldest value, or `None` when the ring is empty.
    pub fn try_pop(&mut self) -> Option<T> {
        let slot = self.ring.slot(self.head);
        // Acquire: pairs with the producer's Release set: the value is visible.
        if !slot.full.load(O::OBSERVE) {
            return None;
        }
        // SAFETY: the flag is set: the value was written and published, and the producer will not
        // touch the slot until we clear the flag below.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        // Release: our read above happens before the producer reuses the slot.
        slot.full.store(false, O::PUBLISH);
        self.head = self.head.wrapping_add(1);
        Some(value)
    }

    /// The most values the ring holds at once.
    pub fn capacity(&self) -> usize {
        self.ring.slots.len()
    }
}

impl<T, O: Publication> std::fmt::Debug for Producer<T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl<T, O: Publication> std::fmt::Debug for Consumer<T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
