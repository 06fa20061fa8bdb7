//! A reader-writer lock on two futex words, writer-preferring.
//!
//! Go's `sync.RWMutex` lets any number of readers in together, or one writer; a writer that arrives
//! blocks *new* readers (so a steady stream of readers cannot starve it). Rust's `std::sync::RwLock` on
//! Linux makes the same choice. Here: one word counts readers (in steps of 2) and uses its low bit for
//! "a writer is waiting"; `u32::MAX` means write-locked. Readers enter only while the low bit is clear,
//! so a waiting writer gets in as soon as the current readers leave.
//!
//! Policy, precisely: **writer-preferring**. Readers never starve a writer. The converse can happen:
//! under a continuous stream of writers, readers wait until one gap lets them in.
use std::ops::{Deref, DerefMut};

use super::futex::Futex;
use crate::shim::UnsafeCell;
use crate::shim::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const WRITE_LOCKED: u32 = u32::MAX;

/// A reader-writer lock around a `T`.
#[derive(Debug)]
pub struct RwLock<T> {
    /// `2 × readers + (1 if a writer waits)`, or `u32::MAX` when write-locked. Readers sleep on it.
    state: Futex,
    /// Bumped each time a writer may proceed; writers sleep on it (not on `state`, so readers
    /// coming and going do not wake them needlessly).
    writer_wake: Futex,
    value: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (needs `T: Sync`), a writer gets `&mut T` on whichever
// thread holds the write guard (needs `T: Send`); the lock ensures the two never overlap.
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

/// Shared access to the value of an [`RwLock`]; releases the read lock on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ReadGuard<'a, T> {
    lock: &'a RwLock<T>,
}

/// Exclusive access to the value of an [`RwLock`]; releases the write lock on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct WriteGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<T> RwLock<T> {
    /// An unlocked lock around `value`.
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        RwLock { state: Futex::new(0), writer_wake: Futex::new(0), value: UnsafeCell::new(value) }
    }

    /// An unlocked lock around `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        RwLock { state: Futex::new(0), writer_wake: Futex::new(0), value: UnsafeCell::new(value) }
    }

    /// Blocks until shared access is ours.
    #[inline]
    pub fn read(&self) -> ReadGuard<'_, T> {
        // Relaxed: a first guess for the CAS below, which carries the ordering.
        let mut s = self.state.word.load(Relaxed);
        loop {
            if s % 2 == 0 {
                assert!(s < WRITE_LOCKED - 2, "too many readers");
                // Acquire (success): we see the last writer's writes, published by its Release store.
                match self.state.word.compare_exchange_weak(s, s + 2, Acquire, Relaxed) {
                    Ok(_) => return ReadGuard { lock: self },
                    Err(e) => s = e,
                }
            }
            if s % 2 == 1 {
                // Write-locked or a writer waits: sleep until the word changes.
                self.state.wait(s);
                // Relaxed: as above.
                s = self.state.word.load(Relaxed);
            }
        }
    }

    /// Takes shared access if no writer holds or waits for the lock right now.
    pub fn try_read(&self) -> Option<ReadGuard<'_, T>> {
        // Relaxed: a guess for the CAS.
        let mut s = self.state.word.load(Relaxed);
        while s % 2 == 0 && s < WRITE_LOCKED - 2 {
            // Acquire (success): as in `read`.
            match self.state.word.compare_exchange_weak(s, s + 2, Acquire, Relaxed) {
                Ok(_) => return Some(ReadGuard { lock: self }),
                Err(e) => s = e,
            }
        }
        None
    }

    /// Blocks until exclusive access is ours.
    pub fn write(&self) -> WriteGuard<'_, T> {
        // Relaxed: a guess for the CAS.
        let mut s = self.state.word.load(Relaxed);
        loop {
            // Free (possibly with the waiting bit, which we are now serving): take it.
            if s <= 1 {
                // Acquire (success): we see the previous holders' writes (readers' Release on unlock,
                // a writer's Release store).
                match self.state.word.compare_exchange(s, WRITE_LOCKED, Acquire, Relaxed) {
                    Ok(_) => return WriteGuard { lock: self },
                    Err(e) => {
                        s = e;
                        continue;
                    }
                }
            }
            // Readers inside: raise the waiting bit so no new reader enters.
            if s % 2 == 0 {
                // Relaxed: the bit is a flag to readers; the data is published by later Acquires.
                match self.state.word.compare_exchange(s, s + 1, Relaxed, Relaxed) {
                    Ok(_) => {}
                    Err(e) => {
                        s = e;
                        continue;
                    }
                }
            }
            // Sample the writer wake-up counter, then re-check the state: a release that happened
            // in between bumped the counter, so the wait below returns immediately.
            // Acquire: pairs with the Release bump in the unlocks, so the re-read below sees their state.
            let w = self.writer_wake.word.load(Acquire);
            // Relaxed: re-checked after the Acquire above.
            s = self.state.word.load(Relaxed);
            if s >= 2 {
                self.writer_wake.wait(w);
                // Relaxed: a guess for the CAS.
                s = self.state.word.load(Relaxed);
            }
        }
    }

    /// Takes exclusive access if nobody holds the lock right now.
    pub fn try_write(&self) -> Option<WriteGuard<'_, T>> {
        // Acquire (success): as in `write`. Only from a fully free state (bit clear): a waiting writer
        // is ahead of us.
        self.state
            .word
            .compare_exchange(0, WRITE_LOCKED, Acquire, Relaxed)
            .ok()
            .map(|_| WriteGuard { lock: self })
    }

    /// The value, through exclusive access to the lock.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` proves no guard is alive.
        self.value.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    fn read_unlock(&self) {
        // Release: our reads happen-before the next writer's Acquire of the word.
        // 3 = one reader (us) + a waiting writer: we were the last reader, so let the writer go.
        if self.state.word.fetch_sub(2, Release) == 3 {
            // Release: pairs with the writer's Acquire sample of the counter.
            self.writer_wake.word.fetch_add(1, Release);
            self.writer_wake.wake_one();
        }
    }

    fn write_unlock(&self) {
        // Release: publishes the writer's changes to the next Acquire of the word (reader or writer).
        self.state.word.store(0, Release);
        // Release: pairs with a waiting writer's Acquire sample of the counter.
        self.writer_wake.word.fetch_add(1, Release);
        // One writer, and every reader: whoever wins takes it; the others go back to sleep.
        self.writer_wake.wake_one();
        self.state.wake_all();
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard means no writer holds the lock; readers only share `&T`.
        self.lock.value.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard means this thread holds the lock exclusively.
        self.lock.value.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only reference through the guard.
        self.lock.value.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}
