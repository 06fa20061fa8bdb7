//! A single-producer single-consumer ring buffer: the cheapest hand-off between two threads.
//!
//! With one producer and one consumer nobody competes for a position, so there is no CAS at all:
//! the producer alone writes `tail`, the consumer alone writes `head`. Each side also keeps a
//! *cached* copy of the other side's index and only reloads it (an Acquire load of a cache line the
//! other core owns) when the cached value says "full" or "empty". In a steady stream that is once per
//! many items instead of once per item; that, and the two indices on separate cache lines
//! (`CachePadded`), is what makes it fast.
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

use crossbeam_utils::CachePadded;
use phase1::shim::UnsafeCell;
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::AtomicUsize;

use super::discipline::{Correct, Publication};

struct Ring<T, O: Publication> {
    /// The next position the consumer reads; written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// The next position the producer writes; written only by the producer.
    tail: CachePadded<AtomicUsize>,
    /// Position `pos` lives in `slots[pos % cap]`; positions `head..tail` hold values.
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    /// `cap - 1` for a power-of-two `cap` (then `pos & mask`), else 0 (then `pos % cap`).
    mask: usize,
    _orderings: PhantomData<fn() -> O>,
}

// SAFETY: the producer writes a slot only while it is outside head..tail and the consumer reads it
// only while inside; the Release/Acquire pairs on head and tail hand each slot over, so no slot is
// accessed by two threads at once. Values move between threads: T: Send.
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
    fn slot(&self, pos: usize) -> &UnsafeCell<MaybeUninit<T>> {
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
        let (head, tail) = (self.head.load(Relaxed), self.tail.load(Relaxed));
        let mut pos = head;
        while pos != tail {
            // SAFETY: positions head..tail hold values nobody read; nobody else is left to.
            self.slot(pos)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
            pos = pos.wrapping_add(1);
        }
    }
}

/// The producing half. Exactly one per ring: not `Clone`, and `try_push` needs `&mut self`.
pub struct Producer<T, O: Publication = Correct> {
    ring: Arc<Ring<T, O>>,
    /// Our own copy of `ring.tail` (we are its only writer).
    tail: usize,
    /// The consumer's `head` as last seen: a lower bound of the real one, reloaded only when the ring
    /// looks full.
    cached_head: usize,
}

/// The consuming half. Exactly one per ring: not `Clone`, and `try_pop` needs `&mut self`.
pub struct Consumer<T, O: Publication = Correct> {
    ring: Arc<Ring<T, O>>,
    /// Our own copy of `ring.head`.
    head: usize,
    /// The producer's `tail` as last seen, reloaded only when the ring looks empty.
    cached_tail: usize,
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
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        slots: (0..cap)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect(),
        mask: if cap.is_power_of_two() { cap - 1 } else { 0 },
        _orderings: PhantomData,
    });
    (
        Producer {
            ring: ring.clone(),
            tail: 0,
            cached_head: 0,
        },
        Consumer {
            ring,
            head: 0,
            cached_tail: 0,
        },
    )
}

impl<T, O: Publication> Producer<T, O> {
    /// Appends `value`, or hands it back when the ring is full.
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        let cap = self.ring.slots.len();
        if self.tail.wrapping_sub(self.cached_head) == cap {
            // Acquire: pairs with the consumer's Release store of head: its reads of the slots it
            // freed happened before we overwrite them.
            self.cached_head = self.ring.head.load(O::OBSERVE);
            if self.tail.wrapping_sub(self.cached_head) == cap {
                return Err(value);
            }
        }
        // SAFETY: position `tail` is outside head..tail (not full), so the consumer will not read
        // this slot until we publish it below; we are the only producer.
        self.ring
            .slot(self.tail)
            .with_mut(|p| unsafe { (*p).write(value) });
        self.tail = self.tail.wrapping_add(1);
        // Release: publishes the write above to the consumer's Acquire load of tail.
        self.ring.tail.store(self.tail, O::PUBLISH);
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
        if self.head == self.cached_tail {
            // Acquire: pairs with the producer's Release store of tail: the values are visible.
            self.cached_tail = self.ring.tail.load(O::OBSERVE);
            if self.head == self.cached_tail {
                return None;
            }
        }
        // SAFETY: position `head` is inside head..tail: written and published, read by nobody else.
        let value = self
            .ring
            .slot(self.head)
            .with(|p| unsafe { (*p).assume_init_read() });
        self.head = self.head.wrapping_add(1);
        // Release: our read above happens before the producer reuses the slot.
        self.ring.head.store(self.head, O::PUBLISH);
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
