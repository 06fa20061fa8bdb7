//! The owned-task list: every live task of an executor, so that shutdown can cancel the ones that
//! are waiting (not queued) instead of leaving them to whoever holds their wakers.
//!
//! Without it, a task parked on a waker that is kept and never woken (a channel whose sender is
//! forgotten, a timer that never fires) outlives the executor with its future undropped. tokio keeps
//! the same list (`OwnedTasks`): shutdown walks it and cancels every task.
//!
//! An intrusive doubly linked list: the links live in each task's header, so linking costs no
//! allocation. It is split into shards by task address, each under its own mutex on its own cache
//! line, so a spawner and the workers finishing tasks rarely meet on one lock.
//!
//! Ownership: a linked task carries one reference for the list (counted at spawn). Whoever unlinks
//! it, the finishing worker or shutdown, drops that reference; [`OwnedTasks::remove`] says whether
//! this call was the one.
use std::ptr::NonNull;
use std::sync::Mutex;

use crossbeam_utils::CachePadded;

use super::task::{Header, links};

/// Shards of the list (a power of two).
const SHARDS: usize = 16;

/// A task's place in its shard's list; read and written only under that shard's mutex.
#[derive(Default)]
pub(crate) struct Links {
    prev: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
    linked: bool,
}

struct Shard {
    head: Option<NonNull<Header>>,
    /// Set at shutdown: no task is linked after it.
    closed: bool,
}

// SAFETY: the shard holds pointers to tasks that carry a counted reference for it; they are only
// followed under the shard's mutex, and tasks are `Send`.
unsafe impl Send for Shard {}

pub(crate) struct OwnedTasks {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

impl OwnedTasks {
    pub(crate) fn new() -> Self {
        OwnedTasks {
            shards: (0..SHARDS)
                .map(|_| {
                    CachePadded::new(Mutex::new(Shard {
                        head: None,
                        closed: false,
                    }))
                })
                .collect(),
        }
    }

    fn shard(&self, task: NonNull<Header>) -> std::sync::MutexGuard<'_, Shard> {
        // Tasks are separate heap blocks of at least a cache line: the bits above the line offset
        // spread them over the shards.
        let i = (task.as_ptr() as usize >> 6) & (SHARDS - 1);
        self.shards[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Links `task`. False when the list is closed (the executor shut down): then the task is not
    /// linked and the caller keeps the reference it counted for the list.
    ///
    /// # Safety
    /// `task` is live, not linked, and the caller transfers one counted reference to the list.
    pub(crate) unsafe fn insert(&self, task: NonNull<Header>) -> bool {
        let mut shard = self.shard(task);
        if shard.closed {
            return false;
        }
        // SAFETY: under the shard's lock, which guards the links of every task in it.
        unsafe {
            let l = &mut *links(task);
            l.prev = None;
            l.next = shard.head;
            l.linked = true;
            if let Some(old) = shard.head {
                (*links(old)).prev = Some(task);
            }
        }
        shard.head = Some(task);
        true
    }

    /// Unlinks `task` if it is still linked; true when this call did, and so now owns the list's
    /// reference (the caller drops it).
    ///
    /// # Safety
    /// `task` is live (the caller holds a reference).
    pub(crate) unsafe fn remove(&self, task: NonNull<Header>) -> bool {
        let mut shard = self.shard(task);
        // SAFETY: under the shard's lock; the neighbours are linked tasks, alive while linked.
        unsafe {
            let l = &mut *links(task);
            if !l.linked {
                return false;
            }
            match l.prev {
                Some(p) => (*links(p)).next = l.next,
                None => shard.head = l.next,
            }
            if let Some(n) = l.next {
                (*links(n)).prev = l.prev;
            }
            *l = Links::default();
        }
        true
    }

    /// Closes every shard and unlinks every task; each returned pointer carries the list's reference.
    pub(crate) fn close(&self) -> Vec<NonNull<Header>> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.closed = true;
            let mut next = shard.head.take();
            while let Some(task) = next {
                // SAFETY: under the lock; a linked task is alive (the list's reference).
                unsafe {
                    let l = &mut *links(task);
                    next = l.next;
                    *l = Links::default();
                }
                out.push(task);
            }
        }
        out
    }
}
