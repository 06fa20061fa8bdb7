//! The one kernel service every blocking primitive here needs: "sleep while this word still holds
//! `expected`" and "wake whoever sleeps on this word".
//!
//! Go's runtime parks a goroutine on a semaphore address (`runtime_SemacquireMutex`) and the scheduler
//! wakes it; Rust's `std` on Linux parks a thread with the `futex` system call on the lock word itself.
//! [`Futex`] is that word plus those two calls. The check "word == expected" and the decision to sleep
//! are atomic inside the kernel, which is what makes a wake-up impossible to lose: a waker changes the
//! word *before* waking, so a waiter either sees the new value and does not sleep, or is already asleep
//! and gets woken.
//!
//! Under `cfg(loom)` the kernel is replaced by a loom `Mutex` + `Condvar` with the same contract (check
//! the word under the lock, wait on the condvar; wake = lock, notify), so the primitives built on it are
//! model-checked unchanged. A timed wait under loom returns at once: "may time out at any point" is a
//! legal behaviour of a timed wait, and callers must re-check their condition anyway.
use std::time::Duration;

use crate::shim::sync::atomic::AtomicU32;
#[cfg(loom)]
use crate::shim::sync::atomic::Ordering::SeqCst;
#[cfg(loom)]
use crate::shim::sync::{Condvar, Mutex};

/// A 32-bit atomic word that threads can sleep on.
#[derive(Debug)]
pub struct Futex {
    /// The word. Its meaning belongs to the primitive built on it.
    pub word: AtomicU32,
    #[cfg(loom)]
    lock: Mutex<()>,
    #[cfg(loom)]
    cond: Condvar,
}

impl Futex {
    /// A futex word holding `value`.
    #[cfg(not(loom))]
    pub const fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
        }
    }

    /// A futex word holding `value`.
    #[cfg(loom)]
    pub fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
            lock: Mutex::new(()),
            cond: Condvar::new(),
        }
    }

    /// Sleeps while the word equals `expected`. May return spuriously: callers re-check in a loop.
    pub fn wait(&self, expected: u32) {
        self.wait_inner(expected, None);
    }

    /// Like [`Futex::wait`], giving up after `timeout`. May return early or spuriously.
    pub fn wait_timeout(&self, expected: u32, timeout: Duration) {
        self.wait_inner(expected, Some(timeout));
    }

    /// Wakes at most one thread sleeping on the word.
    pub fn wake_one(&self) {
        self.wake(1);
    }

    /// Wakes every thread sleeping on the word.
    pub fn wake_all(&self) {
        self.wake(i32::MAX);
    }

    #[cfg(all(not(loom), target_os = "linux"))]
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>) {
        let ts = timeout.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `self.word` is a live, aligned 32-bit atomic for the whole call; FUTEX_WAIT only
        // reads it (atomically, in the kernel) and `ts_ptr` is null or points at a timespec that
        // outlives the call. EINTR / EAGAIN / ETIMEDOUT are all "return and let the caller re-check".
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
            );
        }
    }

    #[cfg(all(not(loom), target_os = "linux"))]
    fn wake(&self, count: i32) {
        // SAFETY: `self.word` is a live, aligned 32-bit atomic; FUTEX_WAKE does not touch its value.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                count,
            );
        }
    }

    /// Without a futex (not Linux): sleep a little and let the caller re-check. Correct (every wait
    /// may be spurious) but slow; this workspace measures on Linux.
    #[cfg(all(not(loom), not(target_os = "linux")))]
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.word.load(Relaxed) == expected {
            let nap = Duration::from_micros(50);
            std::thread::sleep(timeout.map_or(nap, |t| t.min(nap)));
        }
    }

    #[cfg(all(not(loom), not(target_os = "linux")))]
    fn wake(&self, _count: i32) {}

    #[cfg(loom)]
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>) {
        if timeout.is_some() {
            // A timed wait may time out at any moment; under loom it does so immediately.
            return;
        }
        let guard = self.lock.lock().unwrap();
        // The word is read under the emulation lock, and every waker takes that lock after changing
        // the word: so either this load sees the change, or the waker's notify finds us waiting.
        if self.word.load(SeqCst) == expected {
            drop(self.cond.wait(guard).unwrap());
        }
    }

    #[cfg(loom)]
    fn wake(&self, count: i32) {
        let _guard = self.lock.lock().unwrap();
        if count == 1 {
            self.cond.notify_one();
        } else {
            self.cond.notify_all();
        }
    }
}
