//! A cancellation token: Go's `ctx.Done()` reduced to one flag. Cloning shares the flag; `cancel` is
//! idempotent; jobs poll `is_cancelled` at their own checkpoints (cancellation is cooperative, as in Go).
use crossbeam_utils::CachePadded;
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicBool, Ordering};

/// A shared, one-way cancellation flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    /// `false` until the first `cancel`, then `true` forever. Padded: every job reads it, so it
    /// must not share a cache line with whatever the allocator put next to it (in the pool bench
    /// that was the jobs' shared counter, and the read showed up at 3 % of the profile).
    flag: Arc<CachePadded<AtomicBool>>,
}

impl CancelToken {
    /// A fresh, not-cancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every clone of this token.
    pub fn cancel(&self) {
        // Release: publishes what the canceller wrote before cancelling (e.g. the reason) to the
        // Acquire load in `is_cancelled`.
        self.flag.store(true, Ordering::Release);
    }

    /// Whether `cancel` was called on any clone.
    pub fn is_cancelled(&self) -> bool {
        // Acquire: pairs with the Release in `cancel`, so a job that sees `true` also sees what the
        // canceller wrote before it.
        self.flag.load(Ordering::Acquire)
    }
}
