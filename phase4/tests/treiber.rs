//! The Treiber stack: LIFO order, the exact multiset under concurrent pushes and pops, and every
//! element dropped exactly once (popped, or still inside when the stack is dropped).
//!
//! Under Miri: `MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-ignore-leaks" cargo +nightly miri test -p phase4
//! --test treiber`. Tree Borrows, because crossbeam-epoch's intrusive list of thread records is
//! rejected by Stacked Borrows inside crossbeam-epoch itself (crossbeam-rs/crossbeam#545, #878; its
//! own Miri CI uses Tree Borrows). Leaks ignored, because the global epoch collector still holds
//! deferred nodes and thread records when the process exits; that elements are dropped exactly once
//! is checked by the `DropLedger` instead.
#![cfg(not(loom))]
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use harness::ledger::DropLedger;
use harness::watchdog::within;
use phase4::lockfree::TreiberStack;

/// Longer under Miri, which interprets the shrunk cases some thousand times slower.
const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 30 });

/// An operation count, shrunk under Miri.
const fn scaled(n: usize) -> usize {
    if cfg!(miri) { n / 100 } else { n }
}

#[test]
fn pops_in_lifo_order() {
    let s = TreiberStack::new();
    assert!(s.is_empty());
    assert_eq!(s.pop(), None);
    let n = scaled(1_000) as i32;
    (0..n).for_each(|i| s.push(i));
    assert!(!s.is_empty());
    let popped: Vec<i32> = std::iter::from_fn(|| s.pop()).collect();
    assert_eq!(popped, (0..n).rev().collect::<Vec<_>>());
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
        let per = scaled(50_000);
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
        let per = scaled(20_000);
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
