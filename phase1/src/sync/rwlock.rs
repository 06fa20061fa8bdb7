//! A reader-writer lock on two futex words, writer-preferring.
//!
//! Go's `sync.RWMutex` lets any number of readers in together, or one writer; a writer that arrives
//! blocks *new* readers (so a steady stream of readers cannot starve it). Rust's `std::sync::RwLock` on
//! Linux makes the same choice. Here one word holds the reader count (in steps of 4), "write-locked"
//! (the count field all ones), and two flags: "a writer waits" (readers stop entering, so the writer
//! gets in as soon as the current readers leave) and "readers sleep" (the writer's unlock must wake
//! them). The flags are what keep the uncontended paths free of system calls: an unlock only calls
//! `FUTEX_WAKE` when a flag says someone may be asleep.
//!
//! Policy, precisely: **writer-preferring**. Readers never starve a writer. The converse can happen:
//! under a continuous stream of writers, readers wait until one gap lets them in.
use std::ops::{Deref, DerefMut};

use super::futex::Futex;
use crate::shim::UnsafeCell;
use crate::shim::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Set while a writer waits (or may wait): new readers stay out.
const WRITER_WAITING: u32 = 1;
/// Set while a reader sleeps on the state word: the next write unlock wakes all readers.
const READERS_WAITING: u32 = 2;
const FLAGS: u32 = WRITER_WAITING | READERS_WAITING;
/// One reader.
const READER: u32 = 4;
/// The count field all ones: write-locked.
const WRITE_LOCKED: u32 = !FLAGS;
/// More readers than this would reach the write-locked pattern.
const MAX_READERS: u32 = (WRITE_LOCKED >> 2) - 1;

fn readers(s: u32) -> u32 {
    s >> 2
}
fn is_write_locked(s: u32) -> bool {
    s & WRITE_LOCKED == WRITE_LOCKED
}
/// Free for a writer: no reader and not write-locked (flags may be set).
fn is_unlocked(s: u32) -> bool {
    s & !FLAGS == 0
}

/// A reader-writer lock around a `T`.
#[derive(Debug)]
pub struct RwLock<T> {
    /// `4 × readers | flags`, or `WRITE_LOCKED | flags`; flags: bit 0 a writer waits, bit 1 readers
    /// sleep. Readers sleep on this word.
    state: Futex,
    /// Bumped each time a waiting writer may proceed; writers sleep on it (not on `state`, so readers
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
        RwLock {
            state: Futex::new(0),
            writer_wake: Futex::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// An unlocked lock around `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        RwLock {
            state: Futex::new(0),
            writer_wake: Futex::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// Blocks until shared access is ours.
    #[inline]
    pub fn read(&self) -> ReadGuard<'_, T> {
        // Relaxed: a first guess for the CAS, which carries the ordering.
        let s = self.state.word.load(Relaxed);
        if s & WRITER_WAITING == 0 && readers(s) < MAX_READERS {
            // Acquire (success): we see the last writer's writes, published by its Release unlock.
            if self
                .state
                .word
                .compare_exchange_weak(s, s + READER, Acquire, Relaxed)
                .is_ok()
            {
                return ReadGuard { lock: self };
            }
        }
        self.read_contended()
    }

    #[cold]
    fn read_contended(&self) -> ReadGuard<'_, T> {
        // Relaxed: a guess for the CASes below.
        let mut s = self.state.word.load(Relaxed);
        loop {
            if s & WRITER_WAITING == 0 && readers(s) < MAX_READERS {
                // Acquire (success): as in `read`.
                match self
                    .state
                    .word
                    .compare_exchange_weak(s, s + READER, Acquire, Relaxed)
                {
                    Ok(_) => return ReadGuard { lock: self },
                    Err(e) => s = e,
                }
                continue;
            }
            assert!(
                is_write_locked(s) || s & WRITER_WAITING != 0,
                "too many readers"
            );
            // Blocked by a writer (holding or waiting): say we sleep, then sleep while nothing changes.
            if s & READERS_WAITING == 0 {
                // Relaxed: the flag asks for a wake-up; it publishes no data.
                if let Err(e) =
                    self.state
                        .word
                        .compare_exchange(s, s | READERS_WAITING, Relaxed, Relaxed)
                {
                    s = e;
                    continue;
                }
            }
            self.state.wait(s | READERS_WAITING);
            // Relaxed: a guess for the CAS.
            s = self.state.word.load(Relaxed);
        }
    }

    /// Takes shared access if no writer holds or waits for the lock right now.
    pub fn try_read(&self) -> Option<ReadGuard<'_, T>> {
        // Relaxed: a guess for the CAS.
        let mut s = self.state.word.load(Relaxed);
        while s & WRITER_WAITING == 0 && readers(s) < MAX_READERS {
            // Acquire (success): as in `read`.
            match self
                .state
                .word
                .compare_exchange_weak(s, s + READER, Acquire, Relaxed)
            {
                Ok(_) => return Some(ReadGuard { lock: self }),
                Err(e) => s = e,
            }
        }
        None
    }

    /// Blocks until exclusive access is ours.
    #[inline]
    pub fn write(&self) -> WriteGuard<'_, T> {
        // Acquire (success): we see the previous holders' writes (their Release unlocks).
        if self
            .state
            .word
            .compare_exchange(0, WRITE_LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.write_contended();
        }
        WriteGuard { lock: self }
    }

    #[cold]
    fn write_contended(&self) {
        // Once we have slept, other writers may be asleep too and nobody else remembers them: we keep
        // WRITER_WAITING set when we take the lock, so our unlock wakes the next one.
        let mut other_writers = 0;
        // Relaxed: a guess for the CASes.
        let mut s = self.state.word.load(Relaxed);
        loop {
            if is_unlocked(s) {
                // Acquire (success): as in `write`. Keep READERS_WAITING so our unlock wakes them.
                let locked = WRITE_LOCKED | (s & READERS_WAITING) | other_writers;
                match self
                    .state
                    .word
                    .compare_exchange(s, locked, Acquire, Relaxed)
                {
                    Ok(_) => return,
                    Err(e) => {
                        s = e;
                        continue;
                    }
                }
            }
            // Held: raise WRITER_WAITING (no new readers; the last one out wakes us).
            if s & WRITER_WAITING == 0 {
                // Relaxed: the flag asks for a wake-up; it publishes no data.
                if let Err(e) =
                    self.state
                        .word
                        .compare_exchange(s, s | WRITER_WAITING, Relaxed, Relaxed)
                {
                    s = e;
                    continue;
                }
            }
            // Sample the wake-up counter, then re-check: a release between our flag and our sleep bumped
            // the counter, so the futex wait returns at once instead of missing it.
            // Acquire: pairs with the Release bump in the unlocks.
            let w = self.writer_wake.word.load(Acquire);
            // Relaxed: re-check after the Acquire above.
            s = self.state.word.load(Relaxed);
            if !is_unlocked(s) && s & WRITER_WAITING != 0 {
                self.writer_wake.wait(w);
                other_writers = WRITER_WAITING;
                // Relaxed: a guess for the CAS.
                s = self.state.word.load(Relaxed);
            }
        }
    }

    /// Takes exclusive access if nobody holds the lock right now.
    pub fn try_write(&self) -> Option<WriteGuard<'_, T>> {
        // Relaxed: a guess for the CAS.
        let mut s = self.state.word.load(Relaxed);
        while is_unlocked(s) {
            // Acquire (success): as in `write`. Flags are kept: they still describe sleepers.
            match self
                .state
                .word
                .compare_exchange_weak(s, s | WRITE_LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return Some(WriteGuard { lock: self }),
                Err(e) => s = e,
            }
        }
        None
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
        let before = self.state.word.fetch_sub(READER, Release);
        // We were the last reader and a writer waits: let it go.
        if readers(before) == 1 && before & WRITER_WAITING != 0 {
            self.wake_writer();
        }
    }

    fn write_unlock(&self) {
        // Release: publishes the writer's changes to the next Acquire of the word. The fast path:
        // no flag set, so nobody sleeps and there is no system call.
        if self
            .state
            .word
            .compare_exchange(WRITE_LOCKED, 0, Release, Relaxed)
            .is_ok()
        {
            return;
        }
        // Release: as above. Clearing the flags is safe: we wake everyone they stood for.
        let before = self.state.word.swap(0, Release);
        if before & WRITER_WAITING != 0 {
            self.wake_writer();
        }
        if before & READERS_WAITING != 0 {
            self.state.wake_all();
        }
    }

    fn wake_writer(&self) {
        // Release: pairs with a waiting writer's Acquire sample of the counter.
        self.writer_wake.word.fetch_add(1, Release);
        self.writer_wake.wake_one();
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
