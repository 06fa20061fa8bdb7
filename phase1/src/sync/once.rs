//! A once-cell on one atomic word: the value is computed exactly once, by whichever thread gets
//! there first; everyone else waits for it (asleep, on a futex) and then shares it.
//!
//! Go's `sync.Once` runs a function once (a mutex plus a `done` flag); if the function panics, Go
//! considers it done and later calls see no value. Rust's `std::sync::OnceLock` retries after a panic;
//! `std::sync::Once` poisons. This cell **poisons**: an initialiser that panics leaves the cell
//! poisoned, waiters are woken and panic too, and later calls report it
//! ([`OnceCell::try_get_or_init`] returns [`Poisoned`]; [`OnceCell::get_or_init`] panics with a clear
//! message). Concurrent initialisers run the closure exactly once.
use std::fmt;
use std::mem::MaybeUninit;

use super::futex::Futex;
use crate::shim::UnsafeCell;
use crate::shim::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const INCOMPLETE: u32 = 0;
const RUNNING: u32 = 1;
const RUNNING_WITH_WAITERS: u32 = 2;
const COMPLETE: u32 = 3;
const POISONED: u32 = 4;

/// A cell written once, read many times.
pub struct OnceCell<T> {
    /// 0: incomplete; 1: an initialiser runs; 2: it runs and threads sleep on this word;
    /// 3: complete (the value is written); 4: poisoned (the initialiser panicked).
    state: Futex,
    /// Initialised exactly when `state` is COMPLETE.
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written by one thread (the initialiser, which moves it in: `T: Send`) and then
// shared as `&T` by all (`T: Sync`). The state word's Release/Acquire orders the write before any read.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}
// SAFETY: the cell owns its value; sending it sends the `T`.
unsafe impl<T: Send> Send for OnceCell<T> {}

/// The cell's initialiser panicked; it will never hold a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poisoned;

impl fmt::Display for Poisoned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnceCell is poisoned: its initialiser panicked")
    }
}

impl std::error::Error for Poisoned {}

impl<T> OnceCell<T> {
    /// An empty cell.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        OnceCell {
            state: Futex::new(INCOMPLETE),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// An empty cell.
    #[cfg(loom)]
    pub fn new() -> Self {
        OnceCell {
            state: Futex::new(INCOMPLETE),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, if it has been set.
    pub fn get(&self) -> Option<&T> {
        // Acquire: pairs with the Release that stored COMPLETE, after the value was written.
        (self.state.word.load(Acquire) == COMPLETE).then(|| {
            // SAFETY: COMPLETE (seen with Acquire) means the value was written and will not change.
            unsafe { self.value_ref() }
        })
    }

    /// True when an initialiser panicked.
    pub fn is_poisoned(&self) -> bool {
        // Relaxed: POISONED publishes no data.
        self.state.word.load(Relaxed) == POISONED
    }

    /// The value, running `init` to compute it if nobody has; `init` runs at most once per cell.
    ///
    /// # Panics
    /// If the cell is poisoned (an initialiser panicked), or if `init` panics (which poisons it).
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        match self.try_get_or_init(init) {
            Ok(v) => v,
            Err(p) => panic!("{p}"),
        }
    }

    /// The value, running `init` if nobody has; `Err(Poisoned)` if an initialiser panicked.
    /// If `init` itself panics, the panic propagates and the cell is poisoned.
    pub fn try_get_or_init(&self, init: impl FnOnce() -> T) -> Result<&T, Poisoned> {
        if let Some(v) = self.get() {
            return Ok(v);
        }
        self.initialise_or_wait(init)
    }

    #[cold]
    fn initialise_or_wait(&self, init: impl FnOnce() -> T) -> Result<&T, Poisoned> {
        let mut init = Some(init);
        loop {
            // Acquire: when we see COMPLETE, we must see the value (paired with the Release below).
            match self.state.word.load(Acquire) {
                // SAFETY: COMPLETE seen with Acquire: the value is written.
                COMPLETE => return Ok(unsafe { self.value_ref() }),
                POISONED => return Err(Poisoned),
                INCOMPLETE => {
                    // Relaxed (both): winning the race publishes nothing yet; COMPLETE's Release will.
                    if self
                        .state
                        .word
                        .compare_exchange(INCOMPLETE, RUNNING, Relaxed, Relaxed)
                        .is_ok()
                    {
                        let f = init
                            .take()
                            .expect("only the winner runs the initialiser, once");
                        return Ok(self.run_initialiser(f));
                    }
                }
                RUNNING => {
                    // Tell the initialiser someone sleeps, so it issues the wake. Relaxed: a flag.
                    let _ = self.state.word.compare_exchange(
                        RUNNING,
                        RUNNING_WITH_WAITERS,
                        Relaxed,
                        Relaxed,
                    );
                }
                _ => self.state.wait(RUNNING_WITH_WAITERS),
            }
        }
    }

    fn run_initialiser(&self, f: impl FnOnce() -> T) -> &T {
        /// Poisons the cell and wakes the waiters if the initialiser unwinds.
        struct PoisonOnUnwind<'a>(&'a Futex);
        impl Drop for PoisonOnUnwind<'_> {
            fn drop(&mut self) {
                // Relaxed: POISONED publishes no data.
                self.0.word.store(POISONED, Relaxed);
                self.0.wake_all();
            }
        }
        let bomb = PoisonOnUnwind(&self.state);
        let v = f();
        std::mem::forget(bomb);
        // SAFETY: we hold the RUNNING state: nobody else reads or writes the value until COMPLETE.
        self.value.with_mut(|p| unsafe { (*p).write(v) });
        // Release: publishes the value written above to every Acquire load that sees COMPLETE.
        if self.state.word.swap(COMPLETE, Release) == RUNNING_WITH_WAITERS {
            self.state.wake_all();
        }
        // SAFETY: just written, and never written again.
        unsafe { self.value_ref() }
    }

    /// # Safety
    /// The state must be COMPLETE, observed with Acquire (or written by this thread).
    unsafe fn value_ref(&self) -> &T {
        // SAFETY: the caller guarantees the value is initialised and immutable from now on.
        self.value.with(|p| unsafe { (*p).assume_init_ref() })
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(v) => f.debug_tuple("OnceCell").field(v).finish(),
            None if self.is_poisoned() => f.write_str("OnceCell(<poisoned>)"),
            None => f.write_str("OnceCell(<uninit>)"),
        }
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means no other thread can touch the cell any more.
        if self.state.word.load(Relaxed) == COMPLETE {
            // SAFETY: COMPLETE means initialised; we drop it exactly once, here.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}
