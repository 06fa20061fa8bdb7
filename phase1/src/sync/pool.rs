//! An object pool à la Go's `sync.Pool`: reuse expensive objects (buffers) instead of allocating.
//!
//! Go's `sync.Pool` gives each P (scheduler slot) a private object and a lock-free shared list, and
//! lets the garbage collector empty it. Rust has no GC and no `sync.Pool`; crates such as
//! `object-pool` fill the gap. This pool gives each thread a private slot (an index handed to the
//! thread on first use; an uncontended spin lock guards the slot because a thread may use several
//! pools and slots are shared modulo their number) and a shared, bounded overflow list. `get` returns
//! a guard that runs the reset hook and puts the object back when dropped.
use std::cell::Cell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

use super::mutex::Mutex;
use super::spin::SpinLock;

/// How many per-thread slots a pool has; thread `i` uses slot `i % SLOTS`.
const SLOTS: usize = 64;

static NEXT_THREAD_INDEX: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn thread_slot() -> usize {
    THREAD_INDEX.with(|i| {
        if i.get() == usize::MAX {
            // Relaxed: only uniqueness matters, which any RMW gives.
            i.set(NEXT_THREAD_INDEX.fetch_add(1, Relaxed));
        }
        i.get() % SLOTS
    })
}

/// Counters of a pool's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// `get`s served from the calling thread's private slot.
    pub local_hits: u64,
    /// `get`s served from the shared overflow list.
    pub shared_hits: u64,
    /// `get`s that had to create a new object.
    pub misses: u64,
    /// Objects dropped on return because the overflow list was full.
    pub discarded: u64,
}

impl PoolStats {
    /// Fraction of `get`s that reused an object.
    pub fn hit_rate(&self) -> f64 {
        let hits = self.local_hits + self.shared_hits;
        let total = hits + self.misses;
        if total == 0 {
            0.0
        } else {
            hits as f64 / total as f64
        }
    }
}

type Create<T> = Box<dyn Fn() -> T + Send + Sync>;
type Reset<T> = Box<dyn Fn(&mut T) + Send + Sync>;

/// A pool of reusable `T`s.
pub struct ObjectPool<T> {
    /// One private object per thread slot.
    slots: Box<[CachePadded<SpinLock<Option<T>>>]>,
    /// Objects returned while the thread's slot was full; at most `shared_capacity`.
    shared: Mutex<Vec<T>>,
    shared_capacity: usize,
    create: Create<T>,
    reset: Reset<T>,
    /// Statistics; Relaxed counters that order nothing.
    local_hits: AtomicU64,
    shared_hits: AtomicU64,
    misses: AtomicU64,
    discarded: AtomicU64,
}

impl<T: Send> ObjectPool<T> {
    /// A pool that creates objects with `create` and cleans returned ones with `reset`; the shared
    /// overflow list holds at most `shared_capacity` objects (extra returns are dropped).
    pub fn new(
        shared_capacity: usize,
        create: impl Fn() -> T + Send + Sync + 'static,
        reset: impl Fn(&mut T) + Send + Sync + 'static,
    ) -> Self {
        ObjectPool {
            slots: (0..SLOTS)
                .map(|_| CachePadded::new(SpinLock::new(None)))
                .collect(),
            shared: Mutex::new(Vec::with_capacity(shared_capacity)),
            shared_capacity,
            create: Box::new(create),
            reset: Box::new(reset),
            local_hits: AtomicU64::new(0),
            shared_hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
        }
    }

    /// An object from the pool (or a new one); it goes back when the guard drops.
    pub fn get(&self) -> Pooled<'_, T> {
        let slot = &self.slots[thread_slot()];
        if let Some(v) = slot.lock().take() {
            self.local_hits.fetch_add(1, Relaxed);
            return Pooled {
                pool: self,
                value: Some(v),
            };
        }
        if let Some(v) = self.shared.lock().pop() {
            self.shared_hits.fetch_add(1, Relaxed);
            return Pooled {
                pool: self,
                value: Some(v),
            };
        }
        self.misses.fetch_add(1, Relaxed);
        Pooled {
            pool: self,
            value: Some((self.create)()),
        }
    }

    fn put(&self, mut value: T) {
        (self.reset)(&mut value);
        {
            let mut slot = self.slots[thread_slot()].lock();
            if slot.is_none() {
                *slot = Some(value);
                return;
            }
        }
        let mut shared = self.shared.lock();
        if shared.len() < self.shared_capacity {
            shared.push(value);
        } else {
            drop(shared);
            self.discarded.fetch_add(1, Relaxed);
        }
    }

    /// The traffic so far.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            local_hits: self.local_hits.load(Relaxed),
            shared_hits: self.shared_hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            discarded: self.discarded.load(Relaxed),
        }
    }
}

impl<T> fmt::Debug for ObjectPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectPool")
            .field("shared_capacity", &self.shared_capacity)
            .finish_non_exhaustive()
    }
}

/// An object borrowed from an [`ObjectPool`]; returned (after the reset hook) on drop.
pub struct Pooled<'a, T: Send> {
    pool: &'a ObjectPool<T>,
    /// Some until dropped.
    value: Option<T>,
}

impl<T: Send> Pooled<'_, T> {
    /// Keeps the object: it will not go back to the pool.
    pub fn detach(mut self) -> T {
        self.value.take().expect("present until dropped")
    }
}

impl<T: Send> Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().expect("present until dropped")
    }
}

impl<T: Send> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("present until dropped")
    }
}

impl<T: Send> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Some(v) = self.value.take() {
            self.pool.put(v);
        }
    }
}
