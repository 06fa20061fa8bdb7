//! A WaitGroup: "wait until N pieces of work have finished", on one futex word.
//!
//! Go's `sync.WaitGroup` has `Add(n)`, `Done()` and `Wait()`, and two misuses it only catches at run
//! time, if at all: a `Done` too many drives the counter negative (`panic: sync: negative WaitGroup
//! counter`), and an `Add` that races with a `Wait` on a zero counter may or may not be waited for
//! (documented as a bug in the caller). In Rust, `std::thread::scope` removes the need for a counter
//! altogether (the scope joins every thread it spawned), crossbeam's `WaitGroup` makes the counter the
//! number of live clones (a `Done` too many cannot be written), and this one offers both a Go-shaped
//! API that **panics with a clear message** on a negative counter and a guard-per-`add` API
//! ([`WaitGroup::enter`]) that makes it impossible.
//!
//! "Add after Wait", precisely: [`WaitGroup::wait`] returns once it has seen the counter at zero. An
//! `add` that happens-before `wait` is waited for; one that races with it may be missed — as in Go,
//! register work before handing the group to the waiter. A `WaitGroup` may be reused after `wait`.
use super::futex::Futex;
use crate::shim::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Counts outstanding work; [`wait`](WaitGroup::wait) blocks until the count is zero.
#[derive(Debug)]
pub struct WaitGroup {
    /// The number of `add`s not yet matched by a `done`. Waiters sleep on it.
    count: Futex,
}

/// One unit of work registered with [`WaitGroup::enter`]; dropping it is its `done`.
#[must_use = "dropping the token immediately marks the work as done"]
#[derive(Debug)]
pub struct WorkToken<'a> {
    group: &'a WaitGroup,
}

impl WaitGroup {
    /// A group with nothing outstanding.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        WaitGroup {
            count: Futex::new(0),
        }
    }

    /// A group with nothing outstanding.
    #[cfg(loom)]
    pub fn new() -> Self {
        WaitGroup {
            count: Futex::new(0),
        }
    }

    /// Registers `n` more units of outstanding work (Go's `Add(n)` with `n > 0`).
    pub fn add(&self, n: u32) {
        // Relaxed (load and CAS): registering work publishes nothing; the Release is in `done`.
        // A CAS loop rather than `fetch_add`, so an overflow panics before the counter wraps (a
        // wrapped counter could read zero and release the waiters early).
        let mut c = self.count.word.load(Relaxed);
        loop {
            let next = c.checked_add(n).expect("WaitGroup counter overflowed u32");
            match self
                .count
                .word
                .compare_exchange_weak(c, next, Relaxed, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => c = actual,
            }
        }
    }

    /// Marks one unit of work as finished (Go's `Done()`).
    ///
    /// # Panics
    /// When the counter is already zero: a `done` without a matching `add`, Go's "negative WaitGroup
    /// counter". The counter is left at zero.
    pub fn done(&self) {
        // Relaxed: a guess for the CAS.
        let mut c = self.count.word.load(Relaxed);
        loop {
            assert!(
                c != 0,
                "WaitGroup::done called more times than add: the counter would go negative"
            );
            // Release: the work done before `done` happens-before the waiter's Acquire that sees 0.
            match self
                .count
                .word
                .compare_exchange_weak(c, c - 1, Release, Relaxed)
            {
                Ok(_) => break,
                Err(e) => c = e,
            }
        }
        if c == 1 {
            self.count.wake_all();
        }
    }

    /// Registers one unit of work and returns its token: the work is done when the token drops, so
    /// a `done` too many cannot be written.
    pub fn enter(&self) -> WorkToken<'_> {
        self.add(1);
        WorkToken { group: self }
    }

    /// Blocks until every registered unit of work is done.
    pub fn wait(&self) {
        loop {
            // Acquire: pairs with the Release in `done`: seeing 0 means seeing all the work.
            let c = self.count.word.load(Acquire);
            if c == 0 {
                return;
            }
            self.count.wait(c);
        }
    }

    /// The number of outstanding units right now (a snapshot, for reports and tests).
    pub fn outstanding(&self) -> u32 {
        // Relaxed: a statistic.
        self.count.word.load(Relaxed)
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl Drop for WorkToken<'_> {
    fn drop(&mut self) {
        self.group.done();
    }
}
