//! Which offsets may be committed when work finishes out of order.
//!
//! Kafka commits one number per partition, "everything below this is done", and a Redis consumer
//! that acknowledges record 7 while record 5 is still running would lose 5 if it crashed. So a
//! consumer that runs a partition's records concurrently keeps, per partition, the window of
//! dispatched offsets in dispatch order, marks each one finished when its work returns, and only
//! ever releases the *contiguous finished prefix* of the window for commit.
use std::collections::VecDeque;

use super::broker::Offset;

/// The per-partition window of dispatched, not yet committable offsets.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    /// Dispatched offsets in dispatch order, with `true` once finished. The front is never finished
    /// (a finished front is moved to `ready` at once).
    window: VecDeque<(Offset, bool)>,
    /// The finished prefix, not yet handed to the broker.
    ready: Vec<Offset>,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> OffsetTracker {
        OffsetTracker::default()
    }

    /// `offset` was handed to a worker.
    pub fn dispatched(&mut self, offset: Offset) {
        self.window.push_back((offset, false));
    }

    /// `offset`'s work returned. Returns `Some(true)` when it finished ahead of an earlier offset
    /// (out of order), `Some(false)` when it was the oldest, `None` when it was never dispatched.
    pub fn finished(&mut self, offset: Offset) -> Option<bool> {
        let i = self.window.iter().position(|&(o, _)| o == offset)?;
        self.window[i].1 = true;
        while let Some(&(o, true)) = self.window.front() {
            self.ready.push(o);
            self.window.pop_front();
        }
        Some(i > 0)
    }

    /// Dispatched offsets not yet in the finished prefix (running, or finished behind one that is).
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// True when nothing is dispatched and nothing waits to be committed.
    pub fn is_idle(&self) -> bool {
        self.window.is_empty() && self.ready.is_empty()
    }

    /// Takes the finished prefix released since the last call, in order.
    pub fn take_ready(&mut self) -> Vec<Offset> {
        std::mem::take(&mut self.ready)
    }
}
