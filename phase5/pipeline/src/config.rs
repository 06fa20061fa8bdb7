//! How a stage is declared: its name, its parallelism, its mode, and the bounded edge in front of it.
use std::fmt;

use crate::codec::Spill;

/// Whether a parallel stage keeps its input order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Outputs leave in input order (Akka's `mapAsync`, futures' `buffered`): a slow item holds back
    /// the finished ones behind it, which wait (counted in the stage's parallelism) until it is done.
    #[default]
    Ordered,
    /// Outputs leave as they finish (Akka's `mapAsyncUnordered`, futures' `buffer_unordered`).
    Unordered,
}

/// What the edge in front of a stage does when it is full and one more item arrives.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Overflow {
    /// The sender waits for room: backpressure, all the way to the source.
    #[default]
    Block,
    /// The arriving item is dropped (Vector's `drop_newest`).
    DropNewest,
    /// The oldest queued item is dropped to make room (Akka's `dropHead`).
    DropOldest,
    /// The arriving item is refused and reported back to the source: its sequence number is in
    /// [`Report::nacks`](crate::Report::nacks), so the source may send it again.
    Reject,
    /// The arriving item is written to a spill segment on disk (Vector's `disk` buffer), and read
    /// back once the items before it have been taken: the edge stays first in, first out (its
    /// memory first, then the spill in append order; while anything is spilled, new items go to
    /// the spill too). The sender does not wait until the segments on disk would exceed
    /// [`Spill::max_bytes`]; from there on the edge blocks, as [`Overflow::Block`] does. An item
    /// the disk refuses (an I/O error, counted in the stage's `spill_errors`) waits for room in
    /// memory instead. A spilled item keeps its place in its source's acks: it is acked only once
    /// its sink has finished it, so a crash loses nothing a source that acks cannot read again.
    SpillToDisk(Spill),
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Overflow::Block => "block",
            Overflow::DropNewest => "drop-newest",
            Overflow::DropOldest => "drop-oldest",
            Overflow::Reject => "reject",
            Overflow::SpillToDisk(_) => "spill-to-disk",
        })
    }
}

/// One stage's settings: `Stage::new("parse").with_parallelism(4).unordered().capacity(64)`.
///
/// The capacity and the overflow policy belong to the edge *into* this stage: its queue depth is the
/// stage's input backlog.
///
/// ```
/// use pipeline::{Mode, Overflow, Stage};
///
/// let parse = Stage::new("parse").with_parallelism(4).unordered().capacity(64).overflow(Overflow::DropOldest);
/// assert_eq!(parse.mode(), Mode::Unordered);
/// assert_eq!(Stage::new("sink").parallelism(), 1); // the defaults: 1, ordered, 16, block
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    name: String,
    parallelism: usize,
    mode: Mode,
    capacity: usize,
    overflow: Overflow,
}

impl Stage {
    /// A stage named `name` (unique within its pipeline): parallelism 1, ordered, an edge of 16
    /// items in front of it, blocking when full.
    pub fn new(name: impl Into<String>) -> Self {
        Stage {
            name: name.into(),
            parallelism: 1,
            mode: Mode::Ordered,
            capacity: 16,
            overflow: Overflow::Block,
        }
    }

    /// How many items the stage works on at once (at least 1; 0 is refused when the pipeline runs).
    pub fn parallelism(&self) -> usize {
        self.parallelism
    }

    /// Sets how many items the stage works on at once.
    #[must_use]
    pub fn with_parallelism(mut self, n: usize) -> Self {
        self.parallelism = n;
        self
    }

    /// The stage's mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Outputs in input order (the default).
    #[must_use]
    pub fn ordered(mut self) -> Self {
        self.mode = Mode::Ordered;
        self
    }

    /// Outputs as they finish.
    #[must_use]
    pub fn unordered(mut self) -> Self {
        self.mode = Mode::Unordered;
        self
    }

    /// The stage's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many items the edge into this stage holds (at least 1).
    #[must_use]
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// The edge's capacity.
    pub fn edge_capacity(&self) -> usize {
        self.capacity
    }

    /// What the edge into this stage does when full.
    #[must_use]
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = policy;
        self
    }

    /// The edge's overflow policy.
    pub fn overflow_policy(&self) -> &Overflow {
        &self.overflow
    }
}
