//! A Chase–Lev work-stealing deque, from scratch.
//!
//! One owner ([`Worker`]) pushes and pops at the **bottom** (LIFO: the newest, cache-hot task first);
//! any number of thieves ([`Stealer`]) take from the **top** (FIFO: the oldest task, usually the
//! biggest piece of a divide-and-conquer tree). Owner and thieves only meet on the last element,
//! where a compare-and-swap on `top` decides who gets it.
//!
//! The algorithm is Chase and Lev's ("Dynamic Circular Work-Stealing Deque", SPAA 2005) with the
//! C11 orderings of Lê, Pop, Cohen and Zappa Nardelli ("Correct and Efficient Work-Stealing for Weak
//! Memory Models", PPoPP 2013). Every ordering below says what it pairs with.
//!
//! ## Reclaiming old buffers
//! The buffer is a growable circular array. When the owner grows it, a thief may still be reading
//! the old one (it loaded the pointer, then got preempted). Freeing it at once would be a
//! use-after-free; freeing it safely needs to know that no thief still holds it, which is what
//! epoch-based reclamation (crossbeam-epoch) or hazard pointers answer. We keep it simpler: a retired
//! buffer is kept until the deque itself is dropped. Since each buffer is twice the previous one, the
//! retired ones together are smaller than the live one, so the cost is at most 2× the peak capacity,
//! and there is no reclamation protocol to get wrong, no global epoch to pin on every steal, and
//! loom can check the whole thing (crossbeam-epoch's global collector is not loom-aware under
//! `--cfg loom`). The deque never shrinks.
//!
//! ## The one benign race
//! A thief reads the slot at `top` *before* its CAS decides whether the element is its own. If its
//! `top` is stale (another thief already took that element and the owner has since wrapped around),
//! the owner may be writing that slot at the same moment. The thief's CAS then fails and the bytes it
//! read are discarded unread, as a `MaybeUninit<T>` that is never assumed initialised. Every
//! Chase–Lev in a language without per-byte atomics has this race (crossbeam-deque included); the
//! loom models below never wrap a buffer around under a stale thief, so they do not report it. Miri
//! does report it (a data race, UB by the letter of the memory model: only an atomic memcpy would
//! remove it), so the Miri runs never wrap a buffer under a stale thief either (see `MIN_CAP` and
//! `harness::conformance::deque`).
//!
//! ## Weakened variants
//! The orderings are parameters ([`Orderings`]), so the loom models can build a deliberately broken
//! deque (the `broken` module, compiled only under `--cfg loom`) and show that loom catches it, while
//! [`Correct`] is the only variant there is otherwise.
use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use phase1::shim::UnsafeCell;
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicIsize, AtomicPtr, Ordering, fence};

/// The result of a steal.
#[derive(Debug, PartialEq, Eq)]
pub enum Steal<T> {
    /// Took the oldest element.
    Success(T),
    /// Nothing to take.
    Empty,
    /// Lost a race for the top element to another thief (or the owner); trying again may succeed.
    Retry,
}

impl<T> Steal<T> {
    /// The stolen value, if any.
    pub fn success(self) -> Option<T> {
        match self {
            Steal::Success(v) => Some(v),
            _ => None,
        }
    }
}

/// Which orderings a deque uses. [`Correct`] is the algorithm; under `--cfg loom` only, the
/// `broken` module holds the weakened ones the loom models must catch.
pub trait Orderings: Send + Sync + 'static {
    /// The `fence(Release)` in `push` before its store of `bottom` (correct: present).
    const PUSH_FENCE: bool;
    /// The ordering of `push`'s store of `bottom` (correct: `Relaxed`, the fence publishes).
    const PUSH_STORE: Ordering;
    /// The SeqCst fence between the owner's `bottom` store and `top` load in `pop`, and between the
    /// thief's `top` load and `bottom` load in `steal` (correct: present).
    const SEQCST_FENCES: bool;
}

/// The correct orderings.
#[derive(Debug)]
pub struct Correct;
impl Orderings for Correct {
    const PUSH_FENCE: bool = true;
    const PUSH_STORE: Ordering = Ordering::Relaxed;
    const SEQCST_FENCES: bool = true;
}

/// Deliberately broken variants, for the loom models in `tests/loom_deque.rs` only.
#[cfg(loom)]
#[doc(hidden)]
pub mod broken {
    use super::{Ordering, Orderings};

    /// `push` without its fence, publishing `bottom` with a `Release` store (this deque's first
    /// version): the release covers only that store, not `pop`'s later Relaxed stores of `bottom`,
    /// so a thief that reads one of those is not synchronised with the slot writes or the growth.
    #[derive(Debug)]
    pub struct ReleaseStorePush;
    impl Orderings for ReleaseStorePush {
        const PUSH_FENCE: bool = false;
        const PUSH_STORE: Ordering = Ordering::Release;
        const SEQCST_FENCES: bool = true;
    }

    /// `push` without its fence and with a `Relaxed` store: a thief can see the new `bottom`
    /// without the element written before it, and reads an unwritten slot.
    #[derive(Debug)]
    pub struct RelaxedPush;
    impl Orderings for RelaxedPush {
        const PUSH_FENCE: bool = false;
        const PUSH_STORE: Ordering = Ordering::Relaxed;
        const SEQCST_FENCES: bool = true;
    }

    /// No SeqCst fences: owner and thief can each miss the other's index update (store buffering),
    /// so both take the same element.
    #[derive(Debug)]
    pub struct NoFence;
    impl Orderings for NoFence {
        const PUSH_FENCE: bool = true;
        const PUSH_STORE: Ordering = Ordering::Relaxed;
        const SEQCST_FENCES: bool = false;
    }
}

/// The smallest buffer; a power of two. Small so that the tests exercise growth. Under Miri, 64
/// (crossbeam-deque's): the shrunk conformance cases then never wrap a buffer around, so Miri
/// checks everything but the benign race below, which it would report (see
/// `harness::conformance::deque`); the cases that start at 2 slots avoid it by construction.
const MIN_CAP: usize = if cfg!(miri) { 64 } else { 16 };

/// A circular array of `cap` slots (a power of two), indexed modulo `cap`.
struct Buffer<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    /// `cap - 1`.
    mask: usize,
}

impl<T> Buffer<T> {
    fn new(cap: usize) -> Box<Self> {
        debug_assert!(cap.is_power_of_two());
        let slots = (0..cap)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        Box::new(Buffer {
            slots,
            mask: cap - 1,
        })
    }

    fn cap(&self) -> usize {
        self.mask + 1
    }

    fn slot(&self, index: isize) -> &UnsafeCell<MaybeUninit<T>> {
        &self.slots[index as usize & self.mask]
    }

    /// Writes slot `index`.
    ///
    /// # Safety
    /// Only the owner writes, and only slots outside `[top, bottom)` as the owner last saw them.
    unsafe fn write(&self, index: isize, value: T) {
        // SAFETY: the caller guarantees no one else writes this slot; readers only read slots in
        // `[top, bottom)` once `bottom`, published by `push`'s release fence, says they are written
        // (see the module's benign race).
        self.slot(index)
            .with_mut(|p| unsafe { ptr::write(p, MaybeUninit::new(value)) });
    }

    /// Writes the raw bits of a slot (from [`Buffer::read`]) into slot `index`, without assuming
    /// they are a live value.
    ///
    /// # Safety
    /// As [`Buffer::write`].
    unsafe fn write_bits(&self, index: isize, bits: MaybeUninit<T>) {
        // SAFETY: as in `write`; the bits are moved as a `MaybeUninit`, never as a `T`.
        self.slot(index)
            .with_mut(|p| unsafe { ptr::write(p, bits) });
    }

    /// Copies slot `index` out, bit for bit, without assuming it is initialised.
    ///
    /// # Safety
    /// The slot must not be freed; it is the caller's business whether the bits are a live value.
    unsafe fn read(&self, index: isize) -> MaybeUninit<T> {
        // SAFETY: the buffer is alive (retired buffers live as long as the deque) and the copy is a
        // `MaybeUninit`, so no validity is assumed until a CAS or the owner's exclusivity proves it.
        self.slot(index).with(|p| unsafe { ptr::read(p) })
    }
}

/// The state shared by the owner and every thief.
struct Inner<T, O: Orderings> {
    /// Index of the next element a thief takes. Only grows; changed only by CAS.
    top: AtomicIsize,
    /// Index one past the owner's newest element. Written only by the owner.
    bottom: AtomicIsize,
    /// The live buffer. Replaced only by the owner (on growth); never null.
    buffer: AtomicPtr<Buffer<T>>,
    /// Buffers replaced by growth, kept until the deque is dropped (see the module docs), as the raw
    /// pointers `Box::into_raw` gave: a thief may still read one through its own copy of the pointer,
    /// so none is turned back into a `Box` (a unique owner, which a thief's read would contradict)
    /// before `drop`, when no one else is left. Touched only by the owner, and by `drop`.
    retired: UnsafeCell<Vec<*mut Buffer<T>>>,
    _orderings: PhantomData<O>,
}

// SAFETY: values of `T` move between threads through the deque (so `T: Send`); the indices and the
// buffer pointer are atomics; a slot is written only by the owner and read by others only after the
// Release/Acquire publication described on each access; `retired` is only touched by the owner.
unsafe impl<T: Send, O: Orderings> Send for Inner<T, O> {}
// SAFETY: as above: every shared access goes through an atomic or a published slot.
unsafe impl<T: Send, O: Orderings> Sync for Inner<T, O> {}

impl<T, O: Orderings> Drop for Inner<T, O> {
    fn drop(&mut self) {
        // `&mut self`: no owner and no thief is left, so plain (Relaxed) loads see the final values
        // (the Arc's drop already ordered every other thread's last access before this).
        let top = self.top.load(Ordering::Relaxed);
        let bottom = self.bottom.load(Ordering::Relaxed);
        let buffer = self.buffer.load(Ordering::Relaxed);
        // SAFETY: `buffer` came from `Box::into_raw` and is owned by the deque; no one else is left.
        let buffer = unsafe { Box::from_raw(buffer) };
        for i in top..bottom {
            // SAFETY: the elements in `[top, bottom)` are initialised and owned by the deque; each is
            // dropped exactly once here.
            unsafe { buffer.read(i).assume_init_drop() };
        }
        drop(buffer);
        // The retired buffers hold only copied-out bits (MaybeUninit: nothing to drop).
        self.retired.with_mut(|r| {
            // SAFETY: `&mut self`: no owner or thief is left to touch `retired` or read a buffer.
            for old in unsafe { (*r).drain(..) } {
                // SAFETY: each came from `Box::into_raw` and is freed once, here.
                drop(unsafe { Box::from_raw(old) });
            }
        });
    }
}

/// The owner's end: push and pop at the bottom. `Send` but not `Sync`: one thread at a time.
pub struct Worker<T, O: Orderings = Correct> {
    inner: Arc<Inner<T, O>>,
    /// Cached `buffer` pointer: only the owner replaces it, so it never needs to load it.
    buffer: Cell<*mut Buffer<T>>,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: the owner may move to another thread (it is !Sync, so only one thread uses it at a time);
// the cached pointer is to a buffer owned by `inner`.
unsafe impl<T: Send, O: Orderings> Send for Worker<T, O> {}

/// A thief's end: steal from the top. Cheap to clone; `Send + Sync`.
pub struct Stealer<T, O: Orderings = Correct> {
    inner: Arc<Inner<T, O>>,
}

impl<T, O: Orderings> Clone for Stealer<T, O> {
    fn clone(&self) -> Self {
        Stealer {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Send> Worker<T> {
    /// A new, empty deque.
    pub fn new() -> Self {
        Self::with_orderings()
    }
}

impl<T: Send> Default for Worker<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send, O: Orderings> Worker<T, O> {
    /// A new, empty deque with the given orderings (tests only use anything but [`Correct`]).
    pub fn with_orderings() -> Self {
        Self::with_capacity_and_orderings(MIN_CAP)
    }

    /// A new, empty deque whose first buffer has `cap` slots (rounded up to a power of two, at
    /// least 2); the loom models start at 2 to exercise growth in few steps.
    pub fn with_capacity_and_orderings(cap: usize) -> Self {
        let buffer = Box::into_raw(Buffer::new(cap.max(2).next_power_of_two()));
        Worker {
            inner: Arc::new(Inner {
                top: AtomicIsize::new(0),
                bottom: AtomicIsize::new(0),
                buffer: AtomicPtr::new(buffer),
                retired: UnsafeCell::new(Vec::new()),
                _orderings: PhantomData,
            }),
            buffer: Cell::new(buffer),
            _not_sync: PhantomData,
        }
    }

    /// A thief's handle to this deque.
    pub fn stealer(&self) -> Stealer<T, O> {
        Stealer {
            inner: self.inner.clone(),
        }
    }

    /// Pushes at the bottom.
    pub fn push(&self, value: T) {
        let inner = &*self.inner;
        // Relaxed: only this thread writes `bottom`.
        let b = inner.bottom.load(Ordering::Relaxed);
        // Acquire: pairs with a thief's successful CAS on `top`, so the slot it read is no longer
        // read by it once we see the slot as free and overwrite it. A stale (smaller) `top` only
        // makes us think the buffer is fuller than it is.
        let t = inner.top.load(Ordering::Acquire);
        let mut buffer = self.buffer.get();
        // SAFETY: the owner's cached pointer is the live buffer, owned by `inner`.
        if b.wrapping_sub(t) >= unsafe { (*buffer).cap() } as isize {
            buffer = self.grow(b, t);
        }
        // SAFETY: slot `b` is outside `[t, b)`, so no thief reads it as an element (module docs).
        unsafe { (*buffer).write(b, value) };
        if O::PUSH_FENCE {
            // Release fence, not a Release store: it pairs with a thief's Acquire load of `bottom`
            // that reads *any* later store of `bottom` by this thread, this push's below or one of
            // `pop`'s Relaxed ones, and so publishes the slot write above and a `grow`'s buffer swap
            // to that thief. A Release store would cover only a thief that reads that very store
            // (since C++20 a later Relaxed store by the same thread is not in its release sequence),
            // and `pop`'s first store of `bottom` comes before `pop`'s own SeqCst fence.
            fence(Ordering::Release);
        }
        // Relaxed: published by the fence above (see there).
        inner.bottom.store(b.wrapping_add(1), O::PUSH_STORE);
    }

    /// Pops at the bottom (the newest element).
    pub fn pop(&self) -> Option<T> {
        let inner = &*self.inner;
        // Relaxed: only this thread writes `bottom`.
        let b = inner.bottom.load(Ordering::Relaxed).wrapping_sub(1);
        let buffer = self.buffer.get();
        // Relaxed: the reservation is ordered before our `top` load by the fence below; a thief that
        // reads this store is synchronised with every element we pushed by `push`'s release fence.
        inner.bottom.store(b, Ordering::Relaxed);
        if O::SEQCST_FENCES {
            // SeqCst fence: the heart of the algorithm. It orders our `bottom` store before our `top`
            // load in the single total order of SeqCst fences; the thief's fence does the same for its
            // `top` load and `bottom` load. So at least one side sees the other: either we see the
            // thief's incremented `top`, or the thief sees our decremented `bottom` and backs off.
            // Without it both can read stale values (store buffering) and take the same element.
            fence(Ordering::SeqCst);
        }
        // Relaxed: ordered after the `bottom` store by the fence above.
        let t = inner.top.load(Ordering::Relaxed);
        if t.wrapping_sub(b) > 0 {
            // Empty (t > b): undo the reservation. Relaxed: only this thread writes `bottom`, and no
            // element is published by it.
            inner.bottom.store(b.wrapping_add(1), Ordering::Relaxed);
            return None;
        }
        // SAFETY: the buffer is live; whether the bits are ours is decided below.
        let value = unsafe { (*buffer).read(b) };
        if t != b {
            // More than one element left: thieves stop at our reserved `bottom`, so it is ours.
            // SAFETY: slot `b` held an element in `[t, b]` that no thief can take any more.
            return Some(unsafe { value.assume_init() });
        }
        // The last element: race the thieves for it with a CAS on `top`. SeqCst (as in the paper):
        // it takes part in the same total order as the fences. Failure Relaxed: we only learn that a
        // thief won, and read nothing it wrote.
        let won = inner
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_ok();
        // Relaxed: the deque is empty either way (`top == b + 1`); restore `bottom = top`.
        inner.bottom.store(b.wrapping_add(1), Ordering::Relaxed);
        if won {
            // SAFETY: our CAS took index `t == b`; no thief can have it.
            Some(unsafe { value.assume_init() })
        } else {
            None // a thief took it; our copy of the bits is discarded (MaybeUninit, no drop)
        }
    }

    /// True if the deque holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of elements (exact for the owner up to concurrent steals).
    pub fn len(&self) -> usize {
        // Relaxed bottom: ours. Relaxed top: a snapshot; thieves may change it any time.
        let b = self.inner.bottom.load(Ordering::Relaxed);
        let t = self.inner.top.load(Ordering::Relaxed);
        b.wrapping_sub(t).max(0) as usize
    }

    /// Doubles the buffer, copying `[t, b)`, and retires the old one. Owner only.
    #[cold]
    fn grow(&self, b: isize, t: isize) -> *mut Buffer<T> {
        let old = self.buffer.get();
        // SAFETY: `old` is the live buffer, owned by `inner`, and only the owner replaces it.
        let old_ref = unsafe { &*old };
        let new = Buffer::new(old_ref.cap() * 2);
        let mut i = t;
        while i != b {
            // SAFETY: slot `i` of `old` is not freed. Its bits are copied as a `MaybeUninit`, never
            // as a `T`: a thief may already have taken index `i` (our `t` can be stale) and freed
            // what it owned, so the bits may be a dangling value; a copy in `new` at such an index
            // is outside `[top, bottom)` and never read.
            unsafe { new.write_bits(i, old_ref.read(i)) };
            i = i.wrapping_add(1);
        }
        let new = Box::into_raw(new);
        self.buffer.set(new);
        // Release: publishes the copied slots to a thief whose Acquire load of `buffer` sees `new`.
        self.inner.buffer.store(new, Ordering::Release);
        // Keep `old` (thieves may still read it) as a raw pointer until the deque drops.
        // SAFETY: only the owner (this `!Sync` handle) and `Inner::drop` touch `retired`.
        self.inner.retired.with_mut(|r| unsafe { (*r).push(old) });
        new
    }
}

impl<T: Send, O: Orderings> Stealer<T, O> {
    /// Steals the oldest element.
    pub fn steal(&self) -> Steal<T> {
        let inner = &*self.inner;
        // Acquire: pairs with the SeqCst (release) CAS of the thief or owner that last advanced `top`,
        // so the slot reads below do not race with what that CAS's owner did before it.
        let t = inner.top.load(Ordering::Acquire);
        if O::SEQCST_FENCES {
            // SeqCst fence: pairs with the owner's fence in `pop` (see there): our `top` load and our
            // `bottom` load cannot both be stale against an owner reserving the same element.
            fence(Ordering::SeqCst);
        }
        // Acquire: pairs with the owner's `fence(Release)` in the `push` of element `t`: the store of
        // `bottom` we read is that push's or a later one by the owner (a push's, or a pop's Relaxed
        // one), all after that fence. So if we see the element counted, we see it written, and the
        // buffer that holds it published.
        let b = inner.bottom.load(Ordering::Acquire);
        if b.wrapping_sub(t) <= 0 {
            return Steal::Empty;
        }
        // Acquire: pairs with the Release store in `grow`: a new buffer's copied slots are visible.
        // Either buffer holds index `t` while `t` is in `[top, bottom)`: the old one is never freed
        // before the deque, and the new one was filled before it was published.
        let buffer = inner.buffer.load(Ordering::Acquire);
        // SAFETY: every buffer lives until the deque drops; the bits are only trusted after the CAS.
        let value = unsafe { (*buffer).read(t) };
        // SeqCst: the CAS that claims index `t`; in the same total order as the fences, so the owner
        // popping the last element and this thief cannot both win. Failure Relaxed: we return Retry
        // and read nothing more.
        if inner
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Steal::Retry; // someone else took index `t`; our bits are discarded
        }
        // SAFETY: our CAS took index `t`, which was in `[top, bottom)`: an initialised element that no
        // one else can take now.
        Steal::Success(unsafe { value.assume_init() })
    }

    /// True if the deque looked empty (a snapshot).
    pub fn is_empty(&self) -> bool {
        // Acquire both: a snapshot consistent with what a steal would see.
        let t = self.inner.top.load(Ordering::Acquire);
        let b = self.inner.bottom.load(Ordering::Acquire);
        b.wrapping_sub(t) <= 0
    }
}

impl<T, O: Orderings> std::fmt::Debug for Worker<T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl<T, O: Orderings> std::fmt::Debug for Stealer<T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stealer").finish_non_exhaustive()
    }
}
