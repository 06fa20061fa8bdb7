//! The worker-local run queue: a bounded ring with one owner and many stealers.
//!
//! Go's P owns a 256-slot local run queue (`runqput`/`runqget`/`runqsteal`); tokio copies the design.
//! Only the owning worker pushes (at `tail`); the owner pops and other workers steal at `head`, racing
//! each other with a compare-and-swap. When the ring is full the owner moves half of it to the global
//! injector ([`LocalRing::push`] hands back what did not fit).
//!
//! Why a stealer may read a slot *before* it claims it: a slot at index `h` is rewritten by the owner
//! only one lap later, which needs `head > h` (the ring is full otherwise). `head` only grows, so a
//! stealer whose CAS `h → h + n` succeeds knows `head` was still `h` after its reads: nothing it read
//! was overwritten. Slots are atomics, so the losing stealer's stale read is not a data race either.
//!
//! The ring holds any owning pointer ([`RingItem`]): the executor's one-allocation task references,
//! or an `Arc<T>` in the loom model.
use std::marker::PhantomData;
use std::sync::Arc;

use phase1::shim::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};

/// An owning pointer a [`LocalRing`] can store as a raw pointer and give back.
pub trait RingItem: Send {
    /// Gives up ownership as a raw, non-null pointer.
    fn into_raw(self) -> *mut ();
    /// Takes ownership back.
    ///
    /// # Safety
    /// `ptr` came from [`RingItem::into_raw`] of this type, and is turned back exactly once.
    unsafe fn from_raw(ptr: *mut ()) -> Self;
}

impl<T: Send + Sync> RingItem for Arc<T> {
    fn into_raw(self) -> *mut () {
        Arc::into_raw(self).cast_mut().cast()
    }

    unsafe fn from_raw(ptr: *mut ()) -> Self {
        // SAFETY: the caller passes a pointer from `Arc::into_raw` of an `Arc<T>`, once.
        unsafe { Arc::from_raw(ptr.cast::<T>()) }
    }
}

/// A bounded single-producer, multi-consumer ring of owning pointers, `CAP` a power of two.
pub struct LocalRing<T: RingItem, const CAP: usize> {
    /// Index of the oldest item; advanced by the owner's pops and by steals (CAS). Wraps.
    head: AtomicU32,
    /// Index one past the newest item; written by the owner only. Wraps.
    tail: AtomicU32,
    /// `RingItem::into_raw` pointers; slot `i % CAP` is live when `head <= i < tail`.
    slots: Box<[AtomicPtr<()>]>,
    /// The ring owns `T`s.
    _owns: PhantomData<T>,
}

// SAFETY: the ring owns `T`s and hands them to whichever thread pops or steals them, so sharing it
// sends `T`s across threads: `T: Send` (a bound of `RingItem`). The protocol above gives each pointer
// to exactly one taker.
unsafe impl<T: RingItem, const CAP: usize> Sync for LocalRing<T, CAP> {}
// SAFETY: as above; moving the ring moves owned `T`s.
unsafe impl<T: RingItem, const CAP: usize> Send for LocalRing<T, CAP> {}

impl<T: RingItem, const CAP: usize> Default for LocalRing<T, CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: RingItem, const CAP: usize> LocalRing<T, CAP> {
    const MASK: u32 = {
        assert!(CAP.is_power_of_two() && CAP >= 2 && CAP <= 1 << 16);
        (CAP - 1) as u32
    };

    /// An empty ring.
    pub fn new() -> Self {
        let _ = Self::MASK;
        LocalRing {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: (0..CAP)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
            _owns: PhantomData,
        }
    }

    /// Items in the ring right now (a snapshot; exact for the owner when nobody steals).
    pub fn len(&self) -> usize {
        // Acquire both: a snapshot used for "is there work?" decisions; the items themselves are
        // taken with the CAS protocol below.
        let head = self.head.load(Acquire);
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(head) as usize
    }

    /// True when the ring looks empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Owner only: appends `item`. When the ring is full, hands back `item` plus the older half of
    /// the ring, for the caller to move to the global queue (Go's `runqputslow`).
    ///
    /// # Safety
    /// Only one thread (the owner) may ever call `push` and `pop` on a ring.
    pub unsafe fn push(&self, item: T) -> Result<(), Vec<T>> {
        loop {
            // Relaxed: only the owner (us) writes `tail`.
            let tail = self.tail.load(Relaxed);
            // Acquire: pairs with a stealer's CAS on `head` (AcqRel), so its reads of the slots it
            // took happen before we reuse them below.
            let head = self.head.load(Acquire);
            if (tail.wrapping_sub(head) as usize) < CAP {
                let slot = &self.slots[(tail & Self::MASK) as usize];
                // Relaxed: published by the Release store of `tail` just below.
                slot.store(item.into_raw(), Relaxed);
                // Release: a stealer that sees the new `tail` (Acquire) sees the slot and the task.
                self.tail.store(tail.wrapping_add(1), Release);
                return Ok(());
            }
            // Full: claim the older half, as a stealer would, and give it back with `item`.
            let half = (CAP / 2) as u32;
            let taken = self.read_range(head, half);
            // AcqRel: as in `steal_into`; failure means a stealer moved `head`, so there is room now.
            if self
                .head
                .compare_exchange(head, head.wrapping_add(half), AcqRel, Acquire)
                .is_ok()
            {
                let mut out: Vec<T> = taken
                    .into_iter()
                    // SAFETY: the CAS gave us these slots' pointers, each from `into_raw`.
                    .map(|p| unsafe { T::from_raw(p) })
                    .collect();
                out.push(item);
                return Err(out);
            }
        }
    }

    /// Owner only: takes the oldest item (FIFO, like Go's `runqget`).
    ///
    /// # Safety
    /// Only the owner may call it (see [`LocalRing::push`]).
    pub unsafe fn pop(&self) -> Option<T> {
        loop {
            // Acquire: pairs with other stealers' CAS, as in `steal_into`.
            let head = self.head.load(Acquire);
            // Relaxed: only the owner (us) writes `tail`.
            let tail = self.tail.load(Relaxed);
            if head == tail {
                return None;
            }
            // Relaxed: the slot was written by us (the owner), program order publishes it.
            let ptr = self.slots[(head & Self::MASK) as usize].load(Relaxed);
            // AcqRel: Release so the owner's later reuse of the slot comes after our read (it
            // loads `head` with Acquire); Acquire to order after other stealers' claims.
            if self
                .head
                .compare_exchange(head, head.wrapping_add(1), AcqRel, Relaxed)
                .is_ok()
            {
                // SAFETY: the CAS made this pointer ours; it came from `into_raw`.
                return Some(unsafe { T::from_raw(ptr) });
            }
        }
    }

    /// Any thread: takes up to half of the items (at least one when non-empty). The first is
    /// returned, the rest are pushed into `dest` (the thief's own ring, which must have room: a
    /// worker steals only when its own ring is empty).
    ///
    /// # Safety
    /// The caller must be `dest`'s owner, and `dest` must not be `self`.
    pub unsafe fn steal_into(&self, dest: &Self) -> Option<T> {
        loop {
            // Acquire: pairs with pops and other steals (their CAS), and with the owner's reuse.
            let head = self.head.load(Acquire);
            // Acquire: pairs with the owner's Release store of `tail`: slots below it are written.
            let tail = self.tail.load(Acquire);
            let len = tail.wrapping_sub(head);
            if len == 0 || len as usize > CAP {
                // Empty, or a torn snapshot (head moved after we read tail): look again or give up.
                if len == 0 {
                    return None;
                }
                continue;
            }
            let n = len.div_ceil(2);
            let taken = self.read_range(head, n);
            // AcqRel: Release publishes our slot reads before the owner may reuse them (it loads
            // `head` with Acquire); Acquire orders us after the claims of earlier takers.
            if self
                .head
                .compare_exchange(head, head.wrapping_add(n), AcqRel, Relaxed)
                .is_err()
            {
                continue;
            }
            let mut items = taken.into_iter().map(|p| {
                // SAFETY: the CAS made these pointers ours; each came from `into_raw`.
                unsafe { T::from_raw(p) }
            });
            let first = items.next();
            for rest in items {
                // SAFETY: the caller owns `dest`.
                if let Err(spill) = unsafe { dest.push(rest) } {
                    // Cannot happen while `dest` was empty (n <= CAP / 2 + 1 <= CAP); dropping the
                    // spill would lose tasks, so keep the invariant loud.
                    unreachable!(
                        "steal_into: destination ring overflowed ({} items)",
                        spill.len()
                    );
                }
            }
            return first;
        }
    }

    fn read_range(&self, head: u32, n: u32) -> Vec<*mut ()> {
        (0..n)
            .map(|i| {
                let idx = (head.wrapping_add(i) & Self::MASK) as usize;
                // Relaxed: ordered by the Acquire loads of `tail`/`head` before the call; the CAS
                // that follows decides whether the value is ours.
                self.slots[idx].load(Relaxed)
            })
            .collect()
    }
}

impl<T: RingItem, const CAP: usize> Drop for LocalRing<T, CAP> {
    fn drop(&mut self) {
        // Exclusive access: no stealer is left. Release every item still queued.
        // SAFETY: `&mut self` makes us the only owner and user.
        while let Some(item) = unsafe { self.pop() } {
            drop(item);
        }
    }
}
