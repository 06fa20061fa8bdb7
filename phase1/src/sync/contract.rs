//! Our locks under the shared contracts ([`harness::contracts::lock`]), so the conformance suite and
//! the bench workloads run them exactly as they run `std`'s and `parking_lot`'s.
use harness::contracts::lock::{Lock, RwLockContract};

use super::{Mutex, MutexGuard, ReadGuard, RwLock, SpinGuard, SpinLock, WriteGuard};

impl<T: Send> Lock<T> for Mutex<T> {
    type Guard<'a>
        = MutexGuard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = "ours-futex";
    fn new(value: T) -> Self {
        Mutex::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        Mutex::lock(self)
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        Mutex::try_lock(self)
    }
}

impl<T: Send> Lock<T> for SpinLock<T> {
    type Guard<'a>
        = SpinGuard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = "ours-spin";
    fn new(value: T) -> Self {
        SpinLock::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        SpinLock::lock(self)
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        SpinLock::try_lock(self)
    }
}

impl<T: Send + Sync> RwLockContract<T> for RwLock<T> {
    type ReadGuard<'a>
        = ReadGuard<'a, T>
    where
        T: 'a;
    type WriteGuard<'a>
        = WriteGuard<'a, T>
    where
        T: 'a;
    const NAME: &'static str = "ours";
    fn new(value: T) -> Self {
        RwLock::new(value)
    }
    fn read(&self) -> Self::ReadGuard<'_> {
        RwLock::read(self)
    }
    fn write(&self) -> Self::WriteGuard<'_> {
        RwLock::write(self)
    }
    fn try_read(&self) -> Option<Self::ReadGuard<'_>> {
        RwLock::try_read(self)
    }
    fn try_write(&self) -> Option<Self::WriteGuard<'_>> {
        RwLock::try_write(self)
    }
}
