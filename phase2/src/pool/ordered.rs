//! Ordered output from an unordered pool: results come back in completion order, a reorder buffer
//! holds the early ones until their turn, and the *window* bounds how far ahead of the oldest
//! unemitted job submission may run — so the buffer never holds more than `window − 1` results.
//! The unordered variant uses the same pool and the same window of outstanding jobs but emits in
//! completion order: the difference between the two is the price of order (head-of-line waiting).
use std::collections::BTreeMap;

use super::outcome::JobResult;
use super::workers::Pool;

/// What a run measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderStats {
    /// The largest number of results ever buffered while waiting for an earlier one.
    pub max_buffered: usize,
    /// The largest number of jobs ever submitted but not yet emitted.
    pub max_outstanding: usize,
}

/// Runs `f` over `inputs` on `pool`, at most `window` jobs outstanding, calling `emit(id, result)`
/// in submission order (`ordered`) or completion order (not `ordered`).
pub fn map_window<I, T>(
    pool: &mut Pool<T>,
    inputs: impl IntoIterator<Item = I>,
    window: usize,
    ordered: bool,
    f: impl Fn(I) -> T + Send + Sync + Clone + 'static,
    mut emit: impl FnMut(u64, T),
) -> OrderStats
where
    I: Send + 'static,
    T: Send + 'static,
{
    assert!(window > 0, "a window of at least one job");
    let mut inputs = inputs.into_iter();
    let first = pool.submitted(); // ids continue across runs on one pool
    let mut next_emit = first; // the oldest id not yet emitted
    let mut buffer: BTreeMap<u64, T> = BTreeMap::new();
    let mut stats = OrderStats::default();
    let mut outstanding = 0usize;
    let mut exhausted = false;
    loop {
        // Submit while the window allows: in ordered mode the window counts from the oldest
        // unemitted id, so a slow head job stops submission (that is the bound on the buffer).
        while !exhausted && outstanding < window {
            let Some(input) = inputs.next() else {
                exhausted = true;
                break;
            };
            let f = f.clone();
            pool.submit(move |_| f(input)).expect("the pool is open");
            outstanding += 1;
        }
        stats.max_outstanding = stats.max_outstanding.max(outstanding);
        if outstanding == 0 {
            return stats;
        }
        let JobResult { id, outcome } = pool.recv().expect("workers alive");
        let value = match outcome.done() {
            Some(v) => v,
            None => panic!("job {id} did not complete"),
        };
        if !ordered {
            outstanding -= 1;
            emit(id - first, value);
            continue;
        }
        buffer.insert(id, value);
        let waiting = buffer.len() - usize::from(buffer.contains_key(&next_emit));
        stats.max_buffered = stats.max_buffered.max(waiting);
        while let Some(v) = buffer.remove(&next_emit) {
            emit(next_emit - first, v);
            next_emit += 1;
            outstanding -= 1;
        }
    }
}
