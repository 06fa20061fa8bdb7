//! The memory orderings a lock-free structure publishes with, as a type parameter, so the correct
//! structure and a deliberately weakened copy share every line of code but two constants.
//!
//! [`Correct`] is what the structures use: a `Release` store publishes a slot (the value written into
//! it, or the fact that its old value was read out), and the `Acquire` load on the other side makes
//! that visible. [`Weakened`] turns both into `Relaxed`: it compiles, it usually passes a stress test
//! on x86 (whose hardware is stronger than the model), and the loom models in
//! `phase4/tests/loom_queues.rs` catch it as a data race on the slot. It exists for that lesson only.
use std::sync::atomic::Ordering;

/// The orderings of the publish / observe pair.
pub trait Publication: Send + Sync + 'static {
    /// The store that hands a slot to the other side.
    const PUBLISH: Ordering;
    /// The load that takes a slot from the other side.
    const OBSERVE: Ordering;
}

/// `Release` / `Acquire`: what every structure here uses.
#[derive(Debug)]
pub struct Correct;

impl Publication for Correct {
    const PUBLISH: Ordering = Ordering::Release;
    const OBSERVE: Ordering = Ordering::Acquire;
}

/// `Relaxed` / `Relaxed`: wrong on purpose (see the module docs); only for the loom demonstration.
#[derive(Debug)]
pub struct Weakened;

impl Publication for Weakened {
    const PUBLISH: Ordering = Ordering::Relaxed;
    const OBSERVE: Ordering = Ordering::Relaxed;
}
