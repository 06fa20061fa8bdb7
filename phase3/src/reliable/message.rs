//! Message passing through a flag: a payload written with a plain (Relaxed) store, then a flag that
//! says "it is there". Whether the reader that sees the flag also sees the payload depends only on
//! the flag's orderings. The two versions sit side by side because that one word is the lesson.
//!
//! Go's memory model gives a channel send / receive (or a `sync/atomic` store / load, which Go makes
//! sequentially consistent) the happens-before edge; Rust makes the programmer name it: a `Release`
//! store paired with an `Acquire` load that reads it.
use phase1::shim::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Payload plus flag, with the flag published and read `Relaxed`: **wrong**. A reader can see
/// `ready == true` and still read the payload's old value; loom finds that interleaving, and weakly
/// ordered CPUs (ARM, POWER) or a reordering compiler produce it. Kept for the demo and the loom model.
#[derive(Debug, Default)]
pub struct RelaxedMailbox {
    /// The payload; 0 until sent.
    data: AtomicU64,
    /// false: empty; true: `data` holds the message (by intent; Relaxed does not make it so).
    ready: AtomicBool,
}

impl RelaxedMailbox {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the payload, then raises the flag.
    pub fn send(&self, value: u64) {
        self.data.store(value, Ordering::Relaxed); // Relaxed: the flag is meant to publish it ...
        self.ready.store(true, Ordering::Relaxed); // WRONG on purpose: ... but Relaxed publishes nothing.
    }

    /// The payload if the flag is up.
    pub fn try_recv(&self) -> Option<u64> {
        // WRONG on purpose: a Relaxed load of the flag orders nothing after it.
        if self.ready.load(Ordering::Relaxed) {
            Some(self.data.load(Ordering::Relaxed))
        } else {
            None
        }
    }
}

/// Payload plus flag with a `Release` store and an `Acquire` load: a reader that sees the flag sees
/// the payload written before it, on every CPU and under every compiler.
#[derive(Debug, Default)]
pub struct Mailbox {
    /// The payload; 0 until sent.
    data: AtomicU64,
    /// false: empty; true: `data` holds the message, published by the Release store in `send`.
    ready: AtomicBool,
}

impl Mailbox {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the payload, then publishes it.
    pub fn send(&self, value: u64) {
        self.data.store(value, Ordering::Relaxed); // Relaxed: published by the Release store below.
        self.ready.store(true, Ordering::Release); // Publishes the write to `data` above ...
    }

    /// The payload if the flag is up.
    pub fn try_recv(&self) -> Option<u64> {
        // Acquire: ... which is visible once this load sees `true`.
        if self.ready.load(Ordering::Acquire) {
            Some(self.data.load(Ordering::Relaxed)) // Relaxed: ordered by the Acquire above.
        } else {
            None
        }
    }
}

/// The streaming form of the same protocol, for the live run: a writer stores `data = i` then
/// `seq = i` for i = 1, 2, …; a reader loads `seq` then `data`. Since `data = i` is written before
/// `seq = i`, a reader that saw `seq = s` must read `data >= s`; reading less is a *stale read*, the
/// bug of [`RelaxedMailbox`] observed on real hardware.
#[derive(Debug, Default)]
pub struct Sequence {
    /// The latest payload (here: the sequence number itself).
    data: AtomicU64,
    /// The latest published sequence number.
    seq: AtomicU64,
}

impl Sequence {
    /// Both zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `i` as data then as the sequence number, the flag stored `Release` or (wrongly) `Relaxed`.
    #[inline(never)]
    pub fn publish(&self, i: u64, release: bool) {
        self.data.store(i, Ordering::Relaxed); // Relaxed: published by `seq` (when that is Release).
        let order = if release {
            Ordering::Release // Publishes `data = i` to an Acquire load that reads `seq >= i`.
        } else {
            Ordering::Relaxed // WRONG on purpose: publishes nothing.
        };
        self.seq.store(i, order);
    }

    /// Reads (seq, data), the sequence number loaded `Acquire` or (wrongly) `Relaxed`.
    #[inline(never)]
    pub fn read(&self, acquire: bool) -> (u64, u64) {
        let order = if acquire {
            Ordering::Acquire // Pairs with the Release in `publish`: `data` is at least `seq`.
        } else {
            Ordering::Relaxed // WRONG on purpose: `data` may be older than `seq`.
        };
        let s = self.seq.load(order);
        (s, self.data.load(Ordering::Relaxed)) // Relaxed: ordered (or not) by the load above.
    }
}
