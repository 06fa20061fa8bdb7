//! The unbounded buffer: a linked list of blocks of slots. Go has no unbounded channel (a Go
//! program grows a slice behind a goroutine); crossbeam-channel's `unbounded()` is this shape, and
//! this file follows its algorithm (crossbeam-channel's `flavors/list.rs`, which crossbeam-queue's
//! `SegQueue` shares), written here from the description below.
//!
//! Positions count up for ever: position `p` is slot `p % LAP` of the `p / LAP`-th block. Offsets
//! `0..BLOCK_CAP` are slots; offset `BLOCK_CAP` is never a slot, it marks "the next block is being
//! installed". A push claims a position by a CAS on `tail`; the one that claims a block's last slot
//! allocates the next block, links it and moves `tail` over the marker. A pop claims a position by a
//! CAS on `head` after checking `head != tail`; the one that claims a block's last slot moves `head`
//! into the next block and starts freeing the old one.
//!
//! Each slot's `state` has three bits: `WRITE` (the pusher has written the value), `READ` (the
//! popper has moved it out and no longer touches the slot), `DESTROY` (the block is being freed and
//! the popper of this slot, still busy, must carry on the freeing). See [`Block::destroy`] for why
//! no thread can touch a block after it is freed.
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};

use phase1::shim::UnsafeCell;
use phase1::shim::sync::atomic::{AtomicPtr, AtomicUsize, fence};
use phase1::shim::{hint, thread};

/// Slots per block. Under loom, 2: a model crosses a block with three values.
const BLOCK_CAP: usize = if cfg!(loom) { 2 } else { 31 };
/// Positions per block: its slots and the "next block being installed" marker.
const LAP: usize = BLOCK_CAP + 1;

/// The pusher has written the value.
const WRITE: usize = 1;
/// The popper has moved the value out and will not touch the slot again.
const READ: usize = 2;
/// The block is being freed; the popper of this slot carries the freeing on when it is done.
const DESTROY: usize = 4;

struct Slot<T> {
    /// Written once by the pusher that claimed the position, read once by the popper that claimed
    /// it, after it sees `WRITE`.
    value: UnsafeCell<MaybeUninit<T>>,
    /// `WRITE | READ | DESTROY` bits, each set once.
    state: AtomicUsize,
}

struct Block<T> {
    /// The next block; null until the pusher of this block's last slot links it.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Self> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        })
    }

    /// Waits for the pusher of this block's last slot to link the next block.
    fn wait_next(&self) -> *mut Block<T> {
        let mut step = 0;
        loop {
            // Acquire: pairs with the Release store in `push`; the new block's contents are visible.
            let next = self.next.load(Acquire);
            if !next.is_null() {
                return next;
            }
            snooze(&mut step);
        }
    }

    /// Frees the block once every slot from `start` on is `READ`. A slot whose popper is still busy
    /// gets `DESTROY` instead, and that popper calls `destroy` again from the next slot when it is
    /// done, so exactly one thread frees the block, after every popper has left it.
    ///
    /// # Safety
    /// `this` came from `Block::new` via `Box::into_raw`, and the caller is the popper of slot
    /// `start - 1` (or of the last slot, `start == 0`), done with it.
    ///
    /// Who could still hold a pointer into the block when it is freed, and why none uses it:
    /// - `head.block` and `tail.block` point past it: the last slot's popper moved `head` on
    ///   before starting this, and `tail` left the block before its last slot was pushed.
    /// - A pusher that loaded the pointer dereferences it only after winning a position in the block
    ///   by its CAS on `tail`, and its last access is setting `WRITE`; the popper of that position
    ///   waits for `WRITE` before it can set `READ`. A pusher whose CAS failed never dereferences.
    /// - A popper likewise dereferences only after winning a position by its CAS on `head`; until it
    ///   sets `READ` (its last access), the walk below stops at its slot and leaves it `DESTROY`.
    /// - The last slot's popper itself reads `next` before it starts freeing.
    unsafe fn destroy(this: *mut Block<T>, start: usize) {
        // The last slot needs no mark: its popper is the one that started the freeing.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is alive: this slot's popper has not set `READ` yet, or has and we
            // are the one freeing (the function's docs).
            let slot = unsafe { &(*this).slots[i] };
            // Acquire: pairs with the popper's AcqRel `READ`; its read of the value happened before.
            // AcqRel on the mark: Release hands what we have checked to the popper that sees it.
            if slot.state.load(Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, AcqRel) & READ == 0
            {
                return; // that popper is still busy; it carries on from `i + 1`
            }
        }
        // SAFETY: every slot is `READ` (and every pusher done, see above): no one touches the block
        // again, and it came from `Box::into_raw`.
        drop(unsafe { Box::from_raw(this) });
    }
}

/// An end of the list: a position and the block it lies in.
struct Position<T> {
    /// The next position to push (`tail`) or pop (`head`); only grows.
    index: AtomicUsize,
    /// The block holding `index`. Written before `index` enters that block (Release), so a thread
    /// that loads `index` and then `block` (both Acquire) gets `index`'s block or a later one, and a
    /// later one only when `index` has moved on, which its CAS then notices.
    block: AtomicPtr<Block<T>>,
}

/// A multi-producer multi-consumer unbounded queue of blocks.
pub(crate) struct BlockList<T> {
    head: Position<T>,
    tail: Position<T>,
}

// SAFETY: values move between threads (`T: Send`); every shared access to a slot is handed over
// through its `state` bits and the CASes on `head` and `tail` (module docs).
unsafe impl<T: Send> Send for BlockList<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for BlockList<T> {}

impl<T> BlockList<T> {
    pub(crate) fn new() -> Self {
        let first = Box::into_raw(Block::new());
        BlockList {
            head: Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            },
            tail: Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            },
        }
    }

    /// Appends `value`; never fails (it allocates a block every `BLOCK_CAP` values).
    pub(crate) fn push(&self, value: T) {
        let mut step = 0;
        // Acquire (both): see `Position::block`.
        let mut tail = self.tail.index.load(Acquire);
        let mut block = self.tail.block.load(Acquire);
        let mut next_block: Option<Box<Block<T>>> = None;
        loop {
            let offset = tail % LAP;
            if offset == BLOCK_CAP {
                // Another pusher is installing the next block.
                snooze(&mut step);
                tail = self.tail.index.load(Acquire);
                block = self.tail.block.load(Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                // Allocated before the CAS, so the winner of the last slot links it at once.
                next_block = Some(Block::new());
            }
            // SeqCst: the position is taken in the single order that a pop's SeqCst fence and load
            // of `tail` (its emptiness check) and the waiter list's fences agree on (`waiters.rs`:
            // a receiver's re-check after registering sees this push, or our notify sees it).
            match self
                .tail
                .index
                .compare_exchange_weak(tail, tail + 1, SeqCst, Acquire)
            {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = Box::into_raw(next_block.take().expect("allocated above"));
                        // Release (all three): the new block's initialised contents go with the
                        // pointer; `block` before `index` (see `Position::block`).
                        self.tail.block.store(next, Release);
                        self.tail.index.store(tail + 2, Release);
                        // SAFETY: we own a position in `block` (not yet `WRITE`), so it is alive
                        // (`Block::destroy`).
                        unsafe { (*block).next.store(next, Release) };
                    }
                    // SAFETY: as above; and position `tail` is ours alone, its popper waits for
                    // `WRITE` before reading.
                    let slot = unsafe { &(*block).slots[offset] };
                    slot.value.with_mut(|v| {
                        // SAFETY: ours alone (see above); the slot was never written.
                        unsafe { (*v).write(value) };
                    });
                    // Release: publishes the value; pairs with `wait_write`'s Acquire.
                    slot.state.fetch_or(WRITE, Release);
                    return;
                }
                Err(current) => {
                    tail = current;
                    block = self.tail.block.load(Acquire);
                    hint::spin_loop();
                }
            }
        }
    }

    /// Takes the oldest value, if there is one.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut step = 0;
        // Acquire (both): see `Position::block`.
        let mut head = self.head.index.load(Acquire);
        let mut block = self.head.block.load(Acquire);
        loop {
            let offset = head % LAP;
            if offset == BLOCK_CAP {
                // Another popper is moving `head` into the next block.
                snooze(&mut step);
                head = self.head.index.load(Acquire);
                block = self.head.block.load(Acquire);
                continue;
            }
            // SeqCst fence, then `tail`: pairs with the pushers' SeqCst CAS (see `push`). Relaxed
            // load: the fence orders it; the value itself is read only after `WRITE` is seen.
            fence(SeqCst);
            if head == self.tail.index.load(Relaxed) {
                return None;
            }
            match self
                .head
                .index
                .compare_exchange_weak(head, head + 1, SeqCst, Acquire)
            {
                Ok(_) => {
                    // SAFETY: we own position `head` in `block`, not yet `READ`: the block is
                    // alive (`Block::destroy`).
                    let this = unsafe { &*block };
                    if offset + 1 == BLOCK_CAP {
                        let next = this.wait_next();
                        // Release: `block` before `index` (see `Position::block`).
                        self.head.block.store(next, Release);
                        self.head.index.store(head + 2, Release);
                    }
                    let slot = &this.slots[offset];
                    slot.wait_write();
                    // SAFETY: the pusher wrote the value (we saw `WRITE`, Acquire) and no one else
                    // reads this position; after this the slot holds no value we own.
                    let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: the last slot's popper, done with it, starts the freeing.
                        unsafe { Block::destroy(block, 0) };
                    } else if slot.state.fetch_or(READ, AcqRel) & DESTROY != 0 {
                        // AcqRel: Release hands our read to whoever frees; Acquire, on seeing
                        // `DESTROY`, takes over what the freeing thread checked.
                        // SAFETY: the freeing stopped at our slot and passed it on to us.
                        unsafe { Block::destroy(block, offset + 1) };
                    }
                    return Some(value);
                }
                Err(current) => {
                    head = current;
                    block = self.head.block.load(Acquire);
                    hint::spin_loop();
                }
            }
        }
    }
}

impl<T> Slot<T> {
    /// Waits for the pusher that claimed this position to finish writing.
    fn wait_write(&self) {
        let mut step = 0;
        // Acquire: pairs with the pusher's Release `WRITE`; the value is visible.
        while self.state.load(Acquire) & WRITE == 0 {
            snooze(&mut step);
        }
    }
}

impl<T> Drop for BlockList<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread is here, every push and pop has returned, so every position
        // in `head..tail` holds a written value, and `tail` is not on a marker.
        // Relaxed: the handles' AcqRel drops (and the `Arc`) ordered every operation before this.
        let mut head = self.head.index.load(Relaxed);
        let tail = self.tail.index.load(Relaxed);
        let mut block = self.head.block.load(Relaxed);
        while head != tail {
            let offset = head % LAP;
            // SAFETY: `block` holds `head`; blocks before it are freed, it and those after are not.
            let this = unsafe { &*block };
            if offset < BLOCK_CAP {
                // SAFETY: a written, never-read value (see above), dropped once.
                this.slots[offset]
                    .value
                    .with_mut(|v| unsafe { (*v).assume_init_drop() });
            } else {
                let next = this.next.load(Relaxed);
                // SAFETY: every value in it is dropped; nothing points into it any more.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            }
            head += 1;
        }
        // SAFETY: the block holding `tail`, never freed by a pop (its last slot was not popped).
        drop(unsafe { Box::from_raw(block) });
    }
}

/// One round of waiting for another thread that is mid-operation: a few spin hints, then yields.
/// Under loom, always a yield (a spin would be an unbounded busy loop to the model checker).
fn snooze(step: &mut u32) {
    if cfg!(loom) || *step > 6 {
        thread::yield_now();
    } else {
        for _ in 0..1u32 << *step {
            hint::spin_loop();
        }
        *step += 1;
    }
}
