//! Drop accounting for tests: "every value is dropped exactly once" is the property a channel, a queue
//! or a pool loses first when it leaks or double-frees, and Go has no counterpart to check (its GC
//! hides both). Two tools, one for each question a test asks:
//!
//! - [`Counted`] — a value that adds one to a shared counter when dropped: "how many were dropped?"
//! - [`DropLedger`] and its [`Tracked`] elements — one counter per element id: "which ones were not
//!   dropped exactly once?", for the suites that must name the culprit.
//!
//! The counters are std atomics with `SeqCst`: bookkeeping read after joins, where the simplest correct
//! ordering keeps a test about the code under test. A loom model that needs its drop counter to be a
//! modelled atomic keeps its own (`phase4/tests/loom_queues.rs`).
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// A value that counts its drops in the shared counter it holds: `Counted(drops.clone())`.
#[derive(Debug)]
pub struct Counted(pub Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Per-element drop counts: `counts[id]` is how many times element `id` was dropped.
#[derive(Debug)]
pub struct DropLedger {
    counts: Vec<AtomicUsize>,
}

impl DropLedger {
    /// A ledger for elements `0..n`.
    pub fn new(n: usize) -> Arc<DropLedger> {
        Arc::new(DropLedger {
            counts: (0..n).map(|_| AtomicUsize::new(0)).collect(),
        })
    }
    /// Element `id`, tracked by this ledger.
    pub fn element(self: &Arc<Self>, id: usize) -> Tracked {
        Tracked {
            id,
            ledger: self.clone(),
        }
    }
    /// Total drops so far.
    pub fn total(&self) -> usize {
        self.counts.iter().map(|c| c.load(SeqCst)).sum()
    }
    /// The ids not dropped exactly once, with their counts.
    pub fn wrong(&self) -> Vec<(usize, usize)> {
        self.counts
            .iter()
            .enumerate()
            .map(|(id, c)| (id, c.load(SeqCst)))
            .filter(|&(_, c)| c != 1)
            .collect()
    }
}

/// An element whose drop is counted in a [`DropLedger`].
#[derive(Debug)]
pub struct Tracked {
    /// Which element.
    pub id: usize,
    ledger: Arc<DropLedger>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.counts[self.id].fetch_add(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_adds_one_per_drop() {
        let drops = Arc::new(AtomicUsize::new(0));
        let (a, b) = (Counted(drops.clone()), Counted(drops.clone()));
        drop(a);
        assert_eq!(drops.load(SeqCst), 1);
        drop(b);
        assert_eq!(drops.load(SeqCst), 2);
    }

    #[test]
    fn the_ledger_names_the_elements_not_dropped_exactly_once() {
        let ledger = DropLedger::new(3);
        drop(ledger.element(0));
        drop(ledger.element(2));
        drop(ledger.element(2));
        assert_eq!(ledger.total(), 3);
        assert_eq!(ledger.wrong(), vec![(1, 0), (2, 2)]);
    }
}
