//! The queue conformance suites, written once against [`QueueFlavor`] (MPMC) and [`SpscFlavor`]
//! (single producer, single consumer) and run against ours and crossbeam-queue's
//! (`phase4/tests/queue_conformance.rs`).
//!
//! What every case checks holds in every valid interleaving: the exact sequence a sequential model
//! (`VecDeque`) gives, the exact multiset delivered under concurrency, per-producer order as seen by
//! each consumer (true of any linearizable FIFO), the exact capacity, and that every element is
//! dropped exactly once — popped ones by the consumer, refused ones by the caller they were handed
//! back to, and the ones still in the queue by the queue's own `Drop`. Every case runs under
//! [`within`], so a livelock or a lost element fails fast instead of hanging.
//!
//! Use [`queue_conformance!`](crate::queue_conformance) and
//! [`spsc_conformance!`](crate::spsc_conformance) to instantiate the cases as `#[test]`s.
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use crate::contracts::queue::{
    ConcurrentQueue, QueueFlavor, SpscConsumer, SpscFlavor, SpscProducer,
};
pub use crate::ledger::{DropLedger, Tracked};
use crate::watchdog::within;

/// Deadline for one case: generous, since a case only fails by it when something is stuck (and
/// longer under Miri, which runs the shrunk cases some thousand times slower).
pub const CASE_DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 30 });

/// An operation count, shrunk under Miri to what it can interpret in seconds (still several laps of
/// every capacity in [`CAPACITIES`] but the largest).
const fn scaled(n: usize) -> usize {
    if cfg!(miri) { n / 100 } else { n }
}

// All atomics in this suite are SeqCst: they are bookkeeping read after joins, and the simplest
// correct ordering keeps the suite about the queue, not about the suite.

/// Capacities the size-generic cases run at: 1 (every push fills it), non-powers of two (the index
/// arithmetic cannot lean on a mask), and a roomy power of two.
const CAPACITIES: &[usize] = &[1, 2, 3, 7, 64];

fn assert_each_dropped_once(name: &str, what: &str, ledger: &DropLedger) {
    let wrong = ledger.wrong();
    assert!(
        wrong.is_empty(),
        "{name}: {what}: elements not dropped exactly once (id, drops): {:?}",
        &wrong[..wrong.len().min(10)]
    );
}

/// A tiny deterministic generator (xorshift), so the sequential model cases are reproducible.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Single thread: values come out in the order they went in; an empty queue pops `None`.
pub fn fifo_single_thread<F: QueueFlavor>() {
    within(CASE_DEADLINE, || {
        let q = F::with_capacity::<u32>(scaled(1_000));
        assert_eq!(q.try_pop(), None, "{}: a new queue is empty", F::NAME);
        for i in 0..scaled(1_000) as u32 {
            assert_eq!(q.try_push(i), Ok(()), "{}: push {i} of 1000", F::NAME);
        }
        for i in 0..scaled(1_000) as u32 {
            assert_eq!(q.try_pop(), Some(i), "{}: FIFO order", F::NAME);
        }
        assert_eq!(q.try_pop(), None, "{}: drained", F::NAME);
    })
}

/// `capacity()` reports what was asked for (bounded) or `None` (unbounded), and a bounded queue holds
/// exactly that many: the next push fails and hands its value back; one pop makes room for one push.
pub fn full_and_empty<F: QueueFlavor>() {
    within(CASE_DEADLINE, || {
        for &cap in CAPACITIES {
            let q = F::with_capacity::<usize>(cap);
            match q.capacity() {
                Some(reported) => {
                    assert_eq!(
                        reported,
                        cap,
                        "{}: capacity() of a cap-{cap} queue",
                        F::NAME
                    );
                    for i in 0..cap {
                        assert_eq!(q.try_push(i), Ok(()), "{}: cap {cap}: push {i}", F::NAME);
                    }
                    assert_eq!(
                        q.try_push(99),
                        Err(99),
                        "{}: cap {cap}: full, the value comes back",
                        F::NAME
                    );
                    assert_eq!(q.try_pop(), Some(0), "{}: cap {cap}", F::NAME);
                    assert_eq!(
                        q.try_push(100),
                        Ok(()),
                        "{}: cap {cap}: room for one",
                        F::NAME
                    );
                    assert_eq!(
                        q.try_push(101),
                        Err(101),
                        "{}: cap {cap}: full again",
                        F::NAME
                    );
                    let rest: Vec<usize> = std::iter::from_fn(|| q.try_pop()).collect();
                    let mut expected: Vec<usize> = (1..cap).collect();
                    expected.push(100);
                    assert_eq!(rest, expected, "{}: cap {cap}: drained in order", F::NAME);
                }
                None => {
                    for i in 0..scaled(10_000) {
                        assert_eq!(q.try_push(i), Ok(()), "{}: unbounded never full", F::NAME);
                    }
                    assert_eq!(std::iter::from_fn(|| q.try_pop()).count(), scaled(10_000));
                }
            }
            assert_eq!(q.try_pop(), None, "{}: cap {cap}: empty", F::NAME);
        }
    })
}

/// Single thread, 20 000 random pushes and pops against a `VecDeque` model: every result equals the
/// model's, across many wrap-arounds of the ring's indices.
pub fn matches_sequential_model<F: QueueFlavor>() {
    within(CASE_DEADLINE, || {
        for &cap in CAPACITIES {
            let q = F::with_capacity::<u64>(cap);
            let bound = q.capacity();
            let mut model = VecDeque::new();
            let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ cap as u64;
            for step in 0..scaled(20_000) as u64 {
                if xorshift(&mut rng).is_multiple_of(2) {
                    let expected = if bound.is_some_and(|b| model.len() == b) {
                        Err(step)
                    } else {
                        model.push_back(step);
                        Ok(())
                    };
                    assert_eq!(
                        q.try_push(step),
                        expected,
                        "{}: cap {cap}: step {step}",
                        F::NAME
                    );
                } else {
                    assert_eq!(
                        q.try_pop(),
                        model.pop_front(),
                        "{}: cap {cap}: step {step}",
                        F::NAME
                    );
                }
            }
        }
    })
}

/// Two producers and two consumers: the exact multiset comes out (nothing lost, nothing twice), and
/// each consumer sees each producer's values in the order they were pushed.
pub fn mpmc_exact_multiset<F: QueueFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in [1, 4, 64] {
            let q = Arc::new(F::with_capacity::<(usize, usize)>(cap));
            let per = scaled(10_000);
            let total = 2 * per;
            let received = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    let q = q.clone();
                    thread::spawn(move || {
                        for i in 0..per {
                            let mut v = (p, i);
                            while let Err(back) = q.try_push(v) {
                                v = back;
                                thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, received) = (q.clone(), received.clone());
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        while received.load(SeqCst) < total {
                            match q.try_pop() {
                                Some(v) => {
                                    received.fetch_add(1, SeqCst);
                                    got.push(v);
                                }
                                None => thread::yield_now(),
                            }
                        }
                        got
                    })
                })
                .collect();
            producers.into_iter().for_each(|p| p.join().unwrap());
            let per_consumer: Vec<Vec<(usize, usize)>> =
                consumers.into_iter().map(|c| c.join().unwrap()).collect();
            for got in &per_consumer {
                let mut last = [None::<usize>; 2];
                for &(p, i) in got {
                    assert!(
                        last[p].is_none_or(|l| l < i),
                        "{}: cap {cap}: a consumer saw producer {p}'s {i} after {:?}",
                        F::NAME,
                        last[p]
                    );
                    last[p] = Some(i);
                }
            }
            let mut seen = vec![0u8; total];
            for &(p, i) in per_consumer.iter().flatten() {
                seen[p * per + i] += 1;
            }
            let lost = seen.iter().filter(|&&c| c == 0).count();
            let twice = seen.iter().filter(|&&c| c > 1).count();
            assert!(
                lost == 0 && twice == 0,
                "{}: cap {cap}: {lost} values lost, {twice} delivered more than once",
                F::NAME
            );
            assert_eq!(
                q.try_pop(),
                None,
                "{}: cap {cap}: nothing left over",
                F::NAME
            );
        }
    })
}

/// Single thread: popped elements are dropped by whoever popped them, a refused one is handed back
/// (not dropped), and the ones still inside are dropped exactly once when the queue is.
pub fn drops_exactly_once<F: QueueFlavor>() {
    within(CASE_DEADLINE, || {
        let ledger = DropLedger::new(7);
        let q = F::with_capacity(6);
        for id in 0..6 {
            assert!(q.try_push(ledger.element(id)).is_ok());
        }
        let refused = q.try_push(ledger.element(6));
        for _ in 0..2 {
            drop(q.try_pop().expect("six inside"));
        }
        assert_eq!(ledger.total(), 2, "{}: two popped, two dropped", F::NAME);
        match refused {
            Err(back) => {
                assert_eq!(back.id, 6, "{}: the refused element comes back", F::NAME);
                drop(back);
            }
            // Only an unbounded queue may take a seventh; then its `Drop` owes one more.
            Ok(()) => assert!(q.capacity().is_none(), "{}: push past capacity", F::NAME),
        }
        let dropped_by_us = ledger.total();
        drop(q);
        assert_eq!(
            ledger.total(),
            7,
            "{}: {} dropped before the queue, 7 in all expected",
            F::NAME,
            dropped_by_us
        );
        assert_each_dropped_once(F::NAME, "sequential", &ledger);
    })
}

/// Two producers and one consumer that stops half way: every element is dropped exactly once —
/// by the consumer, by a producer whose push was refused, or by the queue's `Drop` (the leftovers).
pub fn stress_drops_exactly_once<F: QueueFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in [1, 8, 64] {
            let per = scaled(5_000);
            let ledger = DropLedger::new(2 * per);
            let q = Arc::new(F::with_capacity(cap));
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    let (q, ledger) = (q.clone(), ledger.clone());
                    thread::spawn(move || {
                        for i in 0..per {
                            // A refusal hands the element back; dropping it here is its one drop.
                            drop(q.try_push(ledger.element(p * per + i)));
                        }
                    })
                })
                .collect();
            let producers_done = Arc::new(AtomicBool::new(false));
            let consumer = {
                let (q, producers_done) = (q.clone(), producers_done.clone());
                thread::spawn(move || {
                    // Pop at most half, so a roomy queue still holds elements when it is dropped.
                    let mut popped = 0;
                    while popped < per {
                        match q.try_pop() {
                            Some(e) => {
                                drop(e);
                                popped += 1;
                            }
                            None if producers_done.load(SeqCst) => break,
                            None => thread::yield_now(),
                        }
                    }
                })
            };
            producers.into_iter().for_each(|p| p.join().unwrap());
            producers_done.store(true, SeqCst);
            consumer.join().unwrap();
            drop(Arc::try_unwrap(q).ok().expect("every other handle joined"));
            assert_each_dropped_once(F::NAME, &format!("cap {cap}"), &ledger);
        }
    })
}

/// SPSC, two threads: the consumer sees exactly `0..n`, in order.
pub fn spsc_fifo_two_threads<F: SpscFlavor>() {
    within(CASE_DEADLINE, || {
        for &cap in CAPACITIES {
            let (mut tx, mut rx) = F::channel::<u64>(cap);
            let n = scaled(20_000) as u64;
            let producer = thread::spawn(move || {
                for i in 0..n {
                    let mut v = i;
                    while let Err(back) = tx.try_push(v) {
                        v = back;
                        thread::yield_now();
                    }
                }
            });
            let mut next = 0;
            while next < n {
                match rx.try_pop() {
                    Some(v) => {
                        assert_eq!(v, next, "{}: cap {cap}: out of order or lost", F::NAME);
                        next += 1;
                    }
                    None => thread::yield_now(),
                }
            }
            producer.join().unwrap();
            assert_eq!(rx.try_pop(), None, "{}: cap {cap}: nothing extra", F::NAME);
        }
    })
}

/// SPSC, one thread holding both halves: exactly `cap` pushes fit, the next is refused with its value
/// back, one pop makes room for one push; random pushes and pops match a `VecDeque` model.
pub fn spsc_full_empty_and_model<F: SpscFlavor>() {
    within(CASE_DEADLINE, || {
        for &cap in CAPACITIES {
            let (mut tx, mut rx) = F::channel::<u64>(cap);
            assert_eq!(rx.try_pop(), None, "{}: new queue empty", F::NAME);
            for i in 0..cap as u64 {
                assert_eq!(tx.try_push(i), Ok(()), "{}: cap {cap}: push {i}", F::NAME);
            }
            assert_eq!(tx.try_push(99), Err(99), "{}: cap {cap}: full", F::NAME);
            assert_eq!(rx.try_pop(), Some(0));
            assert_eq!(
                tx.try_push(100),
                Ok(()),
                "{}: cap {cap}: room for one",
                F::NAME
            );
            assert_eq!(
                tx.try_push(101),
                Err(101),
                "{}: cap {cap}: full again",
                F::NAME
            );
            let mut model: VecDeque<u64> = (1..cap as u64).chain([100]).collect();
            let mut rng = 0x2545_F491_4F6C_DD1Du64 ^ cap as u64;
            for step in 1_000..1_000 + scaled(20_000) as u64 {
                if xorshift(&mut rng).is_multiple_of(2) {
                    let expected = if model.len() == cap {
                        Err(step)
                    } else {
                        model.push_back(step);
                        Ok(())
                    };
                    assert_eq!(
                        tx.try_push(step),
                        expected,
                        "{}: cap {cap}: {step}",
                        F::NAME
                    );
                } else {
                    assert_eq!(
                        rx.try_pop(),
                        model.pop_front(),
                        "{}: cap {cap}: {step}",
                        F::NAME
                    );
                }
            }
        }
    })
}

/// SPSC: every element dropped exactly once, whichever half goes first, with the consumer stopping
/// half way on another thread and the leftovers freed with the ring.
pub fn spsc_drops_exactly_once<F: SpscFlavor>() {
    within(CASE_DEADLINE, || {
        for producer_first in [true, false] {
            let ledger = DropLedger::new(5);
            let (mut tx, mut rx) = F::channel(4);
            for id in 0..4 {
                assert!(tx.try_push(ledger.element(id)).is_ok());
            }
            let refused = tx.try_push(ledger.element(4));
            assert!(refused.is_err(), "{}: cap 4 holds 4", F::NAME);
            drop(refused);
            drop(rx.try_pop());
            assert_eq!(ledger.total(), 2, "{}: refused + popped", F::NAME);
            if producer_first {
                drop(tx);
                assert_eq!(
                    rx.try_pop().map(|e| e.id),
                    Some(1),
                    "{}: still readable",
                    F::NAME
                );
                drop(rx);
            } else {
                drop(rx);
                drop(tx);
            }
            assert_each_dropped_once(F::NAME, "sequential", &ledger);
        }
        let per = scaled(10_000);
        let ledger = DropLedger::new(per);
        let (mut tx, mut rx) = F::channel(16);
        let producer_done = Arc::new(AtomicBool::new(false));
        let consumer = {
            let producer_done = producer_done.clone();
            thread::spawn(move || {
                // Pop a quarter, then leave: `rx` is dropped with the ring (maybe) still holding some.
                let mut popped = 0;
                while popped < per / 4 {
                    match rx.try_pop() {
                        Some(e) => {
                            drop(e);
                            popped += 1;
                        }
                        None if producer_done.load(SeqCst) => break,
                        None => thread::yield_now(),
                    }
                }
            })
        };
        let producer = {
            let ledger = ledger.clone();
            thread::spawn(move || {
                for id in 0..per {
                    let mut e = ledger.element(id);
                    // Retry a refusal a bounded number of times, then drop it: both are fine, what
                    // matters is that every element is dropped exactly once.
                    for _ in 0..10 {
                        match tx.try_push(e) {
                            Ok(()) => break,
                            Err(back) => {
                                e = back;
                                thread::yield_now();
                            }
                        }
                    }
                }
            })
        };
        producer.join().unwrap();
        producer_done.store(true, SeqCst);
        consumer.join().unwrap();
        assert_each_dropped_once(F::NAME, "two threads", &ledger);
    })
}

/// Instantiates every MPMC case as a `#[test]` in a module: `queue_conformance!(ours, OursVyukov);`
#[macro_export]
macro_rules! queue_conformance {
    ($module:ident, $flavor:ty) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::conformance::queue as suite;
            #[test]
            fn fifo_single_thread() {
                suite::fifo_single_thread::<$flavor>();
            }
            #[test]
            fn full_and_empty() {
                suite::full_and_empty::<$flavor>();
            }
            #[test]
            fn matches_sequential_model() {
                suite::matches_sequential_model::<$flavor>();
            }
            #[test]
            fn mpmc_exact_multiset() {
                suite::mpmc_exact_multiset::<$flavor>();
            }
            #[test]
            fn drops_exactly_once() {
                suite::drops_exactly_once::<$flavor>();
            }
            #[test]
            fn stress_drops_exactly_once() {
                suite::stress_drops_exactly_once::<$flavor>();
            }
        }
    };
}

/// Instantiates every SPSC case as a `#[test]` in a module: `spsc_conformance!(ours, OursRing);`
#[macro_export]
macro_rules! spsc_conformance {
    ($module:ident, $flavor:ty) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::conformance::queue as suite;
            #[test]
            fn spsc_fifo_two_threads() {
                suite::spsc_fifo_two_threads::<$flavor>();
            }
            #[test]
            fn spsc_full_empty_and_model() {
                suite::spsc_full_empty_and_model::<$flavor>();
            }
            #[test]
            fn spsc_drops_exactly_once() {
                suite::spsc_drops_exactly_once::<$flavor>();
            }
        }
    };
}
