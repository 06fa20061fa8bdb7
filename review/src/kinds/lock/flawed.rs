//! **Broken on purpose.** One lock with a switch per catalogued flaw: `Flawed<BUG, T>` is the
//! template's correct `Mutex<bool>` + `Condvar` lock except for the one mistake `BUG` names, so the
//! review of each must name exactly that flaw (`review/tests/diagnosis_lock.rs`). Each mistake is
//! one a reader makes when writing a lock for the first time; the line that makes it is marked
//! `BUG`.
//!
//! `Flawed<CORRECT, T>` has no mistake: its clean review shows that the switches, off, leave a lock
//! the reviewer accepts. Never use any of these for anything else: with [`TWO_HOLDERS`] or
//! [`TRY_LOCK_IGNORES_HOLDER`] two guards exist at once. The targeted scenarios never dereference
//! two at once (they count holders in an atomic); the conformance suite and the stress test do,
//! which is the data race they exist to catch, contained in the review's child process.
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};

use harness::contracts::lock::Lock;

/// No mistake.
pub const CORRECT: u8 = 0;
/// `if` instead of `while` around the condvar wait, and the unlock wakes every waiter.
pub const TWO_HOLDERS: u8 = 1;
/// `try_lock` takes the lock without looking whether it is held.
pub const TRY_LOCK_IGNORES_HOLDER: u8 = 2;
/// The guard's drop wakes a waiter but leaves the lock marked held.
pub const GUARD_DROP_KEEPS_LOCK: u8 = 3;
/// The guard's drop releases the lock but wakes nobody.
pub const LOST_WAKEUP: u8 = 4;
/// `try_lock` waits for the holder, as `lock` does.
pub const TRY_LOCK_BLOCKS: u8 = 5;

/// Each switch and the catalogue id its review must name (`None` for [`CORRECT`]).
pub const SWITCHES: [(u8, Option<&str>); 6] = [
    (CORRECT, None),
    (TWO_HOLDERS, Some("two-holders")),
    (TRY_LOCK_IGNORES_HOLDER, Some("try-lock-ignores-holder")),
    (GUARD_DROP_KEEPS_LOCK, Some("guard-drop-keeps-lock")),
    (LOST_WAKEUP, Some("lost-wakeup")),
    (TRY_LOCK_BLOCKS, Some("try-lock-blocks")),
];

const NAMES: [&str; 6] = [
    "flawed: none",
    "flawed: two-holders",
    "flawed: try-lock-ignores-holder",
    "flawed: guard-drop-keeps-lock",
    "flawed: lost-wakeup",
    "flawed: try-lock-blocks",
];

/// The lock with mistake `BUG` (one of the constants above).
#[derive(Debug)]
pub struct Flawed<const BUG: u8, T> {
    held: Mutex<bool>,
    released: Condvar,
    data: UnsafeCell<T>,
}

// SAFETY: with `CORRECT`, `held` lets one `FlawedGuard` exist at a time, and the data is reached
// only through one; the flawed switches break exactly that on purpose (see the module's
// documentation: only the review's catch-all checks dereference two guards at once).
unsafe impl<const BUG: u8, T: Send> Sync for Flawed<BUG, T> {}

/// The guard of [`Flawed`].
#[derive(Debug)]
pub struct FlawedGuard<'a, const BUG: u8, T> {
    lock: &'a Flawed<BUG, T>,
}

impl<const BUG: u8, T> Flawed<BUG, T> {
    fn held(&self) -> MutexGuard<'_, bool> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<const BUG: u8, T: Send> Lock<T> for Flawed<BUG, T> {
    type Guard<'a>
        = FlawedGuard<'a, BUG, T>
    where
        T: 'a;
    const NAME: &'static str = NAMES[BUG as usize];

    fn new(value: T) -> Self {
        Flawed {
            held: Mutex::new(false),
            released: Condvar::new(),
            data: UnsafeCell::new(value),
        }
    }

    fn lock(&self) -> FlawedGuard<'_, BUG, T> {
        let mut held = self.held();
        if BUG == TWO_HOLDERS {
            // BUG: `if`, not `while`: woken, the thread takes the lock without looking again.
            if *held {
                held = self.released.wait(held).unwrap_or_else(|p| p.into_inner());
            }
        } else {
            while *held {
                held = self.released.wait(held).unwrap_or_else(|p| p.into_inner());
            }
        }
        *held = true;
        FlawedGuard { lock: self }
    }

    fn try_lock(&self) -> Option<FlawedGuard<'_, BUG, T>> {
        if BUG == TRY_LOCK_BLOCKS {
            // BUG: waits for the holder instead of answering now.
            return Some(self.lock());
        }
        let mut held = self.held();
        // BUG (TRY_LOCK_IGNORES_HOLDER): takes the lock whether or not it is held.
        if *held && BUG != TRY_LOCK_IGNORES_HOLDER {
            return None;
        }
        *held = true;
        Some(FlawedGuard { lock: self })
    }
}

impl<const BUG: u8, T> Deref for FlawedGuard<'_, BUG, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: with `CORRECT`, this guard is the only one (see `Sync` above) and the inner
        // Mutex orders the previous holder's writes before this read; with the flawed switches
        // this can alias, on purpose (see the module's documentation).
        unsafe { &*self.lock.data.get() }
    }
}

impl<const BUG: u8, T> DerefMut for FlawedGuard<'_, BUG, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<const BUG: u8, T> Drop for FlawedGuard<'_, BUG, T> {
    fn drop(&mut self) {
        // BUG (GUARD_DROP_KEEPS_LOCK): the flag is never cleared.
        if BUG != GUARD_DROP_KEEPS_LOCK {
            *self.lock.held() = false;
        }
        if BUG == TWO_HOLDERS {
            self.lock.released.notify_all();
        } else if BUG != LOST_WAKEUP {
            // BUG (LOST_WAKEUP): no notify at all.
            self.lock.released.notify_one();
        }
    }
}
