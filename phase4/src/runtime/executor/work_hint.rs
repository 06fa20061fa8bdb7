//! The lock-free "is there work anywhere?" that an idle worker asks before it parks.
//!
//! Go's `findrunnable` re-checks every P's run queue and the global queue's length after it has
//! dropped its P, before it parks the M; the check reads counters, it takes no lock. This is ours,
//! in its own file so that the loom models (`tests/loom_executor.rs`) call the very function the
//! workers call, with the real [`Sleepers`](super::Sleepers) around it: the only ordering between a
//! producer's push and this check is then the one the sleepers' RMWs supply.
use phase1::shim::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};

use super::ring::{LocalRing, RingItem};

/// True when the executor is shutting down, the injector's length hint is non-zero, or some
/// worker's ring is non-empty. The last look of the parking protocol: called after
/// [`Sleepers::register`](super::Sleepers::register)'s RMW, which orders every push whose
/// `notify_one` RMW came earlier before these loads (see the sleepers' docs); a push whose RMW
/// comes later wakes the worker instead. A spawner raises `injector_len` before its `notify_one`.
pub fn has_work<'a, T, const CAP: usize>(
    shutdown: &AtomicBool,
    injector_len: &AtomicUsize,
    rings: impl IntoIterator<Item = &'a LocalRing<T, CAP>>,
) -> bool
where
    T: RingItem + 'a,
{
    // Acquire (all three, the rings' inside `is_empty`): pairs with the Release of the stores they
    // read (shutdown's store, the ring's tail); the injector's tasks themselves are taken under its
    // lock, so this only has to say "look again".
    shutdown.load(Acquire)
        || injector_len.load(Acquire) > 0
        || rings.into_iter().any(|r| !r.is_empty())
}
