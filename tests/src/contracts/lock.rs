//! The lock contracts: what a mutex and a reader-writer lock must do, as traits that `std`'s,
//! `parking_lot`'s and our from-scratch locks implement alike.
//!
//! Go has one `sync.Locker` interface (`Lock()`, `Unlock()`); in Rust the unlock is the guard's `Drop`,
//! so the contract hands out guards: a generic associated type, borrowed from the lock. Poisoning
//! (std's `LockResult`) is not part of the contract: the adapters below take the value out of a
//! `PoisonError`, because what the suite checks is exclusion, not panic propagation.
use std::ops::{Deref, DerefMut};
use std::sync::PoisonError;

/// A mutual-exclusion lock around a `T`.
pub trait Lock<T>: Send + Sync {
    /// Exclusive access; releases the lock when dropped.
    type Guard<'a>: DerefMut<Target = T>
    where
        Self: 'a;
    /// A short name for reports (`std`, `parking_lot`, `ours-futex`, …).
    const NAME: &'static str;
    /// An unlocked lock around `value`.
    fn new(value: T) -> Self;
    /// Blocks until the lock is ours.
    fn lock(&self) -> Self::Guard<'_>;
    /// Takes the lock if it is free right now.
    fn try_lock(&self) -> Option<Self::Guard<'_>>;
}

/// A reader-writer lock around a `T`.
pub trait RwLockContract<T>: Send + Sync {
    /// Shared access; releases the read lock when dropped.
    type ReadGuard<'a>: Deref<Target = T>
    where
        Self: 'a;
    /// Exclusive access; releases the write lock when dropped.
    type WriteGuard<'a>: DerefMut<Target = T>
    where
        Self: 'a;
    /// A short name for reports.
    const NAME: &'static str;
    /// An unlocked lock around `value`.
    fn new(value: T) -> Self;
    /// Blocks until shared access is ours.
    fn read(&self) -> Self::ReadGuard<'_>;
    /// Blocks until exclusive access is ours.
    fn write(&self) -> Self::WriteGuard<'_>;
    /// Shared access if available right now (may fail while a writer waits, by policy).
    fn try_read(&self) -> Option<Self::ReadGuard<'_>>;
    /// Exclusive access if nobody holds the lock right now.
    fn try_write(&self) -> Option<Self::WriteGuard<'_>>;
}

impl<T: Send> Lock<T> for std::sync::Mutex<T> {
    type Guard<'a>
        = std::sync::MutexGuard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = "std";
    fn new(value: T) -> Self {
        std::sync::Mutex::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        std::sync::Mutex::lock(self).unwrap_or_else(PoisonError::into_inner)
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        match std::sync::Mutex::try_lock(self) {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

impl<T: Send> Lock<T> for parking_lot::Mutex<T> {
    type Guard<'a>
        = parking_lot::MutexGuard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = "parking_lot";
    fn new(value: T) -> Self {
        parking_lot::Mutex::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        parking_lot::Mutex::lock(self)
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        parking_lot::Mutex::try_lock(self)
    }
}

impl<T: Send + Sync> RwLockContract<T> for std::sync::RwLock<T> {
    type ReadGuard<'a>
        = std::sync::RwLockReadGuard<'a, T>
    where
        T: 'a;
    type WriteGuard<'a>
        = std::sync::RwLockWriteGuard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = "std";
    fn new(value: T) -> Self {
        std::sync::RwLock::new(value)
    }
    fn read(&self) -> Self::ReadGuard<'_> {
        std::sync::RwLock::read(self).unwrap_or_else(PoisonError::into_inner)
    }
    fn write(&self) -> Self::WriteGuard<'_> {
        std::sync::RwLock::write(self).unwrap_or_else(PoisonError::into_inner)
    }
    fn try_read(&self) -> Option<Self::ReadGuard<'_>> {
        match std::sync::RwLock::try_read(self) {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
    fn try_write(&self) -> Option<Self::WriteGuard<'_>> {
        match std::sync::RwLock::try_write(self) {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

impl<T: Send + Sync> RwLockContract<T> for parking_lot::RwLock<T> {
    type ReadGuard<'a>
        = parking_lot::RwLockReadGuard<'a, T>
    where
        T: 'a;
    type WriteGuard<'a>
        = parking_lot::RwLockWriteGuard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = "parking_lot";
    fn new(value: T) -> Self {
        parking_lot::RwLock::new(value)
    }
    fn read(&self) -> Self::ReadGuard<'_> {
        parking_lot::RwLock::read(self)
    }
    fn write(&self) -> Self::WriteGuard<'_> {
        parking_lot::RwLock::write(self)
    }
    fn try_read(&self) -> Option<Self::ReadGuard<'_>> {
        parking_lot::RwLock::try_read(self)
    }
    fn try_write(&self) -> Option<Self::WriteGuard<'_>> {
        parking_lot::RwLock::try_write(self)
    }
}
