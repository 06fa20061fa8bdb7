//! Small tools every part of the pool uses: a lock that ignores poisoning, a way to run user code (a
//! `Drop`, a waker, a hook) so that its panic can never take a worker down, and the timestamp type.
use std::panic::{AssertUnwindSafe, catch_unwind};

use shim::sync::{Mutex, MutexGuard};

/// Locks `m`. No user code ever runs while one of the pool's locks is held, so a poisoned lock
/// only means a panic elsewhere in the same thread's unwinding; the data is still consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f`, containing a panic: the payload is dropped here, and if dropping *it* panics too, that
/// second payload is leaked rather than dropped (a panic payload whose `Drop` panics forever would
/// otherwise loop). Returns whether `f` panicked.
pub(crate) fn contain(f: impl FnOnce()) -> bool {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => false,
        Err(payload) => {
            if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(second);
            }
            true
        }
    }
}

/// The timestamps of the metrics: quanta's TSC clock (a read costs a fraction of the OS clock's on
/// virtual machines), or the standard clock under Miri, which cannot run quanta's `cpuid`.
#[cfg(not(miri))]
pub(crate) use quanta::Instant as Stamp;
#[cfg(miri)]
pub(crate) use std::time::Instant as Stamp;
