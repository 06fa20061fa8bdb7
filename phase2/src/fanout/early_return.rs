//! Fan-out with an early return on the first error: the leaking form and the fixed one.
//!
//! Go's classic leak: `for range inputs { go func() { results <- work(x) }() }` then the caller
//! returns on the first error; the other goroutines block forever on an unbuffered `results <- ...`
//! that nobody will read. Rust reproduces it exactly when the results receiver outlives the call —
//! here it is kept in a long-lived struct ([`Leaky`]), as a service reusing one channel would. The
//! fix uses what Rust gives for free: scoped threads (the call cannot return before its workers end),
//! a cancellation flag the workers poll, and dropping the receiver so blocked sends fail at once.
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use phase1::channels::{Receiver, Sender, bounded};

/// One unit of work: `Err` at once for an input listed in `fails` (it fails fast), otherwise the
/// input doubled after `cost` (slept in steps of at most 1 ms so a cancelled worker notices quickly).
fn work(
    x: u64,
    fails: &[u64],
    cost: Duration,
    cancel: Option<&AtomicBool>,
) -> Option<Result<u64, u64>> {
    if fails.contains(&x) {
        return Some(Err(x));
    }
    let step = Duration::from_millis(1);
    let mut left = cost;
    while !left.is_zero() {
        // Relaxed: the flag carries no data, it only asks the worker to stop early; the results
        // themselves travel through the channel, whose lock orders them.
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return None;
        }
        let s = left.min(step);
        thread::sleep(s);
        left -= s;
    }
    Some(Ok(x * 2))
}

/// The naive fan-out. It owns the results channel (rendezvous, like an unbuffered Go channel) for its
/// whole life, so workers still sending after [`Leaky::first_error`] returned stay blocked.
#[derive(Debug)]
pub struct Leaky {
    results_tx: Sender<Result<u64, u64>>,
    results_rx: Option<Receiver<Result<u64, u64>>>,
    workers: Vec<JoinHandle<bool>>,
}

impl Default for Leaky {
    fn default() -> Self {
        Self::new()
    }
}

impl Leaky {
    /// A fan-out with its rendezvous results channel.
    pub fn new() -> Self {
        let (results_tx, rx) = bounded(0);
        Leaky {
            results_tx,
            results_rx: Some(rx),
            workers: Vec::new(),
        }
    }

    /// Starts one thread (`fan-naive-<i>`) per input, returns the sum of the results, or the first
    /// error as soon as it arrives — leaving the other workers blocked on `send`.
    pub fn first_error(
        &mut self,
        inputs: &[u64],
        fails: &[u64],
        cost: Duration,
    ) -> Result<u64, u64> {
        for (i, &x) in inputs.iter().enumerate() {
            let tx = self.results_tx.clone();
            let fails = fails.to_vec();
            let h = thread::Builder::new()
                .name(format!("fan-naive-{i}"))
                .spawn(move || {
                    let r = work(x, &fails, cost, None).expect("never cancelled");
                    tx.send(r).is_ok() // false once the receiver is gone
                })
                .expect("spawn a naive worker");
            self.workers.push(h);
        }
        let rx = self.results_rx.as_ref().expect("not yet released");
        let mut sum = 0;
        for _ in inputs {
            match rx.recv().expect("the struct holds a sender") {
                Ok(v) => sum += v,
                Err(e) => return Err(e), // early return: the other senders are stuck
            }
        }
        Ok(sum)
    }

    /// The clean-up the naive version forgot: drop the receiver so every blocked `send` fails, then join
    /// every worker. Returns how many workers found their send refused (were stuck, or would have been).
    pub fn release(mut self) -> usize {
        self.results_rx = None;
        self.workers
            .drain(..)
            .map(|h| h.join().expect("a naive worker panicked"))
            .filter(|delivered| !delivered)
            .count()
    }
}

/// What the fixed fan-out did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedOutcome {
    /// The sum, or the first error.
    pub result: Result<u64, u64>,
    /// Workers that stopped on the cancellation flag before finishing their work.
    pub cancelled: usize,
    /// Workers whose send failed because the receiver was dropped.
    pub refused: usize,
}

/// The fixed fan-out: scoped threads (`fan-fixed-<i>`), a rendezvous results channel whose receiver is
/// dropped on the first error, and a cancellation flag. When it returns, every worker has ended.
pub fn first_error_fixed(inputs: &[u64], fails: &[u64], cost: Duration) -> FixedOutcome {
    let cancel = AtomicBool::new(false);
    let (tx, rx) = bounded::<Result<u64, u64>>(0);
    thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let tx = tx.clone();
                let cancel = &cancel;
                thread::Builder::new()
                    .name(format!("fan-fixed-{i}"))
                    .spawn_scoped(s, move || match work(x, fails, cost, Some(cancel)) {
                        None => (true, false),
                        Some(r) => (false, tx.send(r).is_err()),
                    })
                    .expect("spawn a fixed worker")
            })
            .collect();
        drop(tx); // only the workers hold senders now
        let mut result = Ok(0);
        for r in rx.iter() {
            match r {
                Ok(v) => {
                    if let Ok(sum) = &mut result {
                        *sum += v;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        // Relaxed: see `work`; the scope's join below is what synchronises the workers' exit.
        cancel.store(true, Ordering::Relaxed);
        drop(rx); // blocked and future sends fail instead of waiting forever
        let (mut cancelled, mut refused) = (0, 0);
        for h in handles {
            let (c, r) = h.join().expect("a fixed worker panicked");
            cancelled += usize::from(c);
            refused += usize::from(r);
        }
        FixedOutcome {
            result,
            cancelled,
            refused,
        }
    })
}
