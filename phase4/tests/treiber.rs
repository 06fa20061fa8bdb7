//! The Treiber stack: LIFO order, the exact multiset under concurrent pushes and pops, and every
//! element dropped exactly once (popped, or still inside when the stack is dropped).
#![cfg(not(loom))]
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use harness::conformance::queue::DropLedger;
use harness::watchdog::within;
use phase4::lockfree::TreiberStack;

const DEADLINE: Duration = Duration::from_secs(30);

/// `full` normally, `miri` under Miri (which runs these a few thousand times slower). Under Miri
/// this file needs `MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-ignore-leaks"`: Stacked Borrows rejects
/// crossbeam-epoch's own intrusive list (a retag in `internal.rs`'s `element_of`, reached from
/// `Global::try_advance` in `pin`, not in our code), and garbage deferred to the global collector is
/// still queued when `main` returns.
const fn size(full: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { full }
}

#[test]
fn pops_in_lifo_order() {
    let s = TreiberStack::new();
    assert!(s.is_empty());
    assert_eq!(s.pop(), None);
    (0..1_000).for_each(|i| s.push(i));
    assert!(!s.is_empty());
    let popped: Vec<i32> = std::iter::from_fn(|| s.pop()).collect();
    assert_eq!(popped, (0..1_000).rev().collect::<Vec<_>>());
    s.push(7);
    s.push(8);
    assert_eq!(s.pop(), Some(8), "LIFO after refilling");
    assert_eq!(s.pop(), Some(7));
    assert_eq!(s.pop(), None);
}

/// Two pushers and two poppers at once: every value comes out exactly once, and each popper sees each
/// pusher's values... in no particular order (a stack promises none across threads), so only the
/// multiset is checked.
#[test]
fn concurrent_push_pop_delivers_the_exact_multiset() {
    within(DEADLINE, || {
        let per = size(50_000, 200);
        let s = Arc::new(TreiberStack::new());
        let done = Arc::new(AtomicBool::new(false));
        let pushers: Vec<_> = (0..2)
            .map(|p| {
                let s = s.clone();
                thread::spawn(move || (0..per).for_each(|i| s.push(p * per + i)))
            })
            .collect();
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let (s, done) = (s.clone(), done.clone());
                thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match s.pop() {
                            Some(v) => got.push(v),
                            None if done.load(SeqCst) => break got,
                            None => thread::yield_now(),
                        }
                    }
                })
            })
            .collect();
        pushers.into_iter().for_each(|p| p.join().unwrap());
        done.store(true, SeqCst);
        let mut all: Vec<usize> = poppers
            .into_iter()
            .flat_map(|p| p.join().unwrap())
            .collect();
        all.extend(std::iter::from_fn(|| s.pop()));
        all.sort_unstable();
        assert!(
            all == (0..2 * per).collect::<Vec<_>>(),
            "lost or duplicated values ({} delivered of {})",
            all.len(),
            2 * per
        );
    })
}

/// Concurrent pushes and pops of tracked elements; the poppers stop early, so the stack still holds
/// elements when dropped. Each element must be dropped exactly once.
#[test]
fn every_element_dropped_exactly_once() {
    within(DEADLINE, || {
        let per = size(20_000, 200);
        let ledger = DropLedger::new(2 * per);
        let s = Arc::new(TreiberStack::new());
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let (s, ledger) = (s.clone(), ledger.clone());
                thread::spawn(move || {
                    for i in 0..per {
                        s.push(ledger.element(t * per + i));
                        if i % 3 == 0 {
                            drop(s.pop());
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let popped = ledger.total();
        assert!(
            popped > 0 && popped < 2 * per,
            "some popped, some left ({popped})"
        );
        drop(Arc::try_unwrap(s).expect("threads joined"));
        let wrong = ledger.wrong();
        assert!(
            wrong.is_empty(),
            "dropped not exactly once (id, drops): {:?}",
            &wrong[..wrong.len().min(10)]
        );
    })
}
