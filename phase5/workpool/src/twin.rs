//! Deliberately broken twins of three protocol steps, for the loom models in `tests/loom_pool.rs`:
//! each model must pass on the real code and fail on its twin, or it checks nothing. Compiled into
//! the protocol only under `--cfg loom`; outside loom [`is`] is a constant `false`.
//!
//! Loom runs every thread of a model on the calling OS thread, so a (std) thread-local switch set
//! by the model reaches all of the model's threads and no other test.

/// Which step is broken.
#[cfg_attr(not(loom), allow(dead_code, unreachable_pub))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Twin {
    /// The real code.
    None,
    /// `State::try_abandon` as load-then-store instead of one compare-and-swap: a worker's
    /// `try_start` can win in between, and both parties take the closure.
    AbandonWithoutCas,
    /// `submit` checks that the pool is open, releases the lock, and pushes after re-locking: a
    /// shutdown in between leaves the task in a queue no worker will drain.
    AdmitPhaseOutsideLock,
    /// An idle worker above the minimum decides to exit, releases the lock, and only then leaves
    /// the worker count: a submit in between sees a worker that will never take its task.
    ReapOutsideLock,
    /// A worker that runs out of work (and so becomes a taker for a hand-off) does not tell a
    /// submitter blocked on a full queue: the submitter waits for a room that never gets announced.
    SilentWhenIdle,
}

#[cfg(loom)]
std::thread_local! {
    static TWIN: std::cell::Cell<Twin> = const { std::cell::Cell::new(Twin::None) };
}

/// Selects the twin for the models run on this thread (only under `--cfg loom`).
#[cfg(loom)]
pub fn set(twin: Twin) {
    TWIN.with(|t| t.set(twin));
}

/// Is `twin` selected?
#[cfg(loom)]
pub(crate) fn is(twin: Twin) -> bool {
    TWIN.with(|t| t.get()) == twin
}

/// Is `twin` selected? Never, outside loom.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn is(_twin: Twin) -> bool {
    false
}
