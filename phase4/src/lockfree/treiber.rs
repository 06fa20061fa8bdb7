//! A Treiber stack: a linked list whose head is swung by CAS, with epoch-based reclamation.
//!
//! Push links a new node in front of the current head and CASes the head to it. Pop reads the head,
//! reads its `next`, and CASes the head to `next`. The hard part is not the CAS but freeing the popped
//! node: another popper may have loaded the same head a moment ago and be about to read its `next`.
//! Freeing it at once is a use-after-free; reusing its address is the ABA problem (the CAS succeeds
//! against a *different* node at the same address). Go's garbage collector makes both impossible.
//! In Rust, crossbeam-epoch plays that role for this one structure: every operation runs *pinned*,
//! and a popped node is handed to `defer_destroy`, which frees it only once every thread that was
//! pinned at that moment has unpinned — so no thread can still hold a pointer to it.
use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crossbeam_epoch::{self as epoch, Atomic, Owned};

struct Node<T> {
    /// Moved out by the pop that unlinks the node; the node itself is freed later, without it.
    value: ManuallyDrop<T>,
    /// Written once, before the node is published by the push CAS; never changed after.
    next: Atomic<Node<T>>,
}

/// A lock-free LIFO stack.
pub struct TreiberStack<T> {
    /// The top node, or null when empty. Every change is a CAS (a read-modify-write).
    head: Atomic<Node<T>>,
}

// SAFETY: values move in on one thread and out on another (T: Send); nodes are shared only through
// the epoch-protected CAS protocol, and no `&T` is ever handed out, so T need not be Sync.
unsafe impl<T: Send> Send for TreiberStack<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for TreiberStack<T> {}

impl<T> Default for TreiberStack<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> TreiberStack<T> {
    /// An empty stack.
    pub fn new() -> Self {
        TreiberStack {
            head: Atomic::null(),
        }
    }

    /// Pushes `value` on top.
    pub fn push(&self, value: T) {
        let mut node = Owned::new(Node {
            value: ManuallyDrop::new(value),
            next: Atomic::null(),
        });
        let guard = epoch::pin();
        // Relaxed: only the expected value of the CAS; a stale one just makes the CAS fail.
        let mut head = self.head.load(Relaxed, &guard);
        loop {
            // Relaxed: published together with the node by the Release CAS below.
            node.next.store(head, Relaxed);
            // Release: publishes the node (value and next) to the Acquire load in `pop`.
            match self
                .head
                .compare_exchange_weak(head, node, Release, Relaxed, &guard)
            {
                Ok(_) => return,
                Err(e) => {
                    head = e.current;
                    node = e.new;
                }
            }
        }
    }

    /// Pops the top value, or `None` when empty.
    pub fn pop(&self) -> Option<T> {
        let guard = epoch::pin();
        loop {
            // Acquire: pairs with the Release CAS of the push that published this node. Every change
            // of `head` is a CAS (an RMW), so the release sequence of that push reaches us even when
            // the value we read was written by a later pop.
            let head = self.head.load(Acquire, &guard);
            // SAFETY: we are pinned, and nodes are freed only through `defer_destroy` after being
            // unlinked, so a node loaded under `guard` stays allocated until we unpin.
            let node = unsafe { head.as_ref() }?;
            // Relaxed: `next` was written before the node was published (Acquire above).
            let next = node.next.load(Relaxed, &guard);
            // Relaxed: winning the CAS is all we need; the data was made visible by the Acquire load.
            if self
                .head
                .compare_exchange_weak(head, next, Relaxed, Relaxed, &guard)
                .is_ok()
            {
                // SAFETY: the CAS unlinked `head`: no later load can reach it, and threads that loaded
                // it before are pinned, so destruction waits for them. The value is moved out exactly
                // once (only the CAS winner gets here); `Node` does not drop it again (ManuallyDrop).
                unsafe {
                    guard.defer_destroy(head);
                    return Some(ManuallyDrop::into_inner(ptr::read(&node.value)));
                }
            }
        }
    }

    /// True when the stack was empty at the moment of the check.
    pub fn is_empty(&self) -> bool {
        let guard = epoch::pin();
        // Acquire: a snapshot; pairs with push's Release like `pop`.
        self.head.load(Acquire, &guard).is_null()
    }
}

impl<T> Drop for TreiberStack<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach these nodes, so no pinning is needed; each
        // node still linked owns its value, which we drop together with the node.
        unsafe {
            let guard = epoch::unprotected();
            let mut current = self.head.load(Relaxed, guard);
            while !current.is_null() {
                let mut owned = current.into_owned();
                current = owned.next.load(Relaxed, guard);
                ManuallyDrop::drop(&mut owned.value);
            }
        }
    }
}

impl<T> std::fmt::Debug for TreiberStack<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreiberStack").finish_non_exhaustive()
    }
}
