//! The work-stealing deque conformance suite, written once against [`WorkDeque`] and run against
//! our Chase–Lev deque and crossbeam-deque (`phase3/tests/deque_conformance.rs`).
//!
//! Every case runs under [`within`], so a livelock or deadlock fails fast with a message. The
//! concurrent cases check what holds in every valid interleaving: each pushed value comes out exactly
//! once (an exact multiset), a thief's successful steals come out in push order, and every value is
//! dropped exactly once, counted. Which side wins a given race is never asserted; only that exactly
//! one side does.
//!
//! Use [`deque_conformance!`](crate::deque_conformance) to instantiate every case as a `#[test]`.
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use crate::contracts::deque::{DequeOwner, DequeStealer, Steal, WorkDeque};
use crate::ledger::Counted;
use crate::watchdog::within;

/// Deadline for one case: generous, since a case only fails by it when something is stuck.
pub const CASE_DEADLINE: Duration = Duration::from_secs(30);

/// Shrinks a size under Miri, which interprets every step. The concurrent cases' Miri sizes keep
/// every index (every value of `bottom`: at most the number of pushes) below 64 (crossbeam-deque's first buffer, and ours under Miri), so that no buffer is
/// wrapped around while a thief may hold a stale `top`: that is the benign race of a Chase–Lev deque
/// (a thief reads a slot the owner is overwriting, then discards it), UB by the letter of the memory
/// model, which Miri reports and which only an atomic memcpy could remove. Every other access is
/// checked.
const fn size(native: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

// All atomics in this suite use SeqCst: they are test bookkeeping (flags and counters read after
// joins), and the simplest correct ordering keeps the suite about the deque.

/// Steals until something other than `Retry` comes back.
fn steal_once<T, S: DequeStealer<T>>(s: &S) -> Option<T> {
    loop {
        match s.steal() {
            Steal::Success(v) => return Some(v),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}

/// The owner pops in reverse push order, across several buffer growths.
pub fn owner_is_lifo<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        let n = size(1_000, 300) as u32;
        let w = D::new::<u32>();
        (0..n).for_each(|i| w.push(i));
        let popped: Vec<u32> = std::iter::from_fn(|| w.pop()).collect();
        let expected: Vec<u32> = (0..n).rev().collect();
        assert!(popped == expected, "{}: pop is not LIFO", D::NAME);
    })
}

/// A thief steals in push order (the oldest first), across several buffer growths.
pub fn steals_are_fifo<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        let w = D::new::<u32>();
        let s = w.stealer();
        let n = size(1_000, 300) as u32;
        (0..n).for_each(|i| w.push(i));
        let stolen: Vec<u32> = std::iter::from_fn(|| steal_once(&s)).collect();
        let expected: Vec<u32> = (0..n).collect();
        assert!(stolen == expected, "{}: steal is not FIFO", D::NAME);
    })
}

/// One thread interleaving push, pop and steal in a fixed pseudo-random pattern behaves exactly like
/// a `VecDeque` (push and pop at the back, steal at the front), through growth and wrap-around.
pub fn matches_a_sequential_model<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        let w = D::new::<u64>();
        let s = w.stealer();
        let mut model = VecDeque::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let steps = size(50_000, 3_000) as u64;
        for i in 0..steps {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Pushes outnumber removals in the first half (growth), removals win in the second.
            let push_weight = if i < steps / 2 { 6 } else { 3 };
            match x % 10 {
                r if r < push_weight => {
                    w.push(i);
                    model.push_back(i);
                }
                r if r % 2 == 0 => assert_eq!(w.pop(), model.pop_back(), "{}: pop", D::NAME),
                _ => assert_eq!(steal_once(&s), model.pop_front(), "{}: steal", D::NAME),
            }
            assert_eq!(w.is_empty(), model.is_empty(), "{}: is_empty", D::NAME);
        }
    })
}

/// An empty deque: `pop` gives `None`, `steal` gives `Empty` (never `Retry` without a race), both ends
/// say empty; the same after emptying it from either end, and from a cloned thief.
pub fn empty_behaviours<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        let w = D::new::<String>();
        let s = w.stealer();
        let s2 = s.clone();
        assert_eq!(w.pop(), None, "{}: pop on a new deque", D::NAME);
        assert_eq!(s.steal(), Steal::Empty, "{}: steal on a new deque", D::NAME);
        assert!(
            w.is_empty() && s.is_empty(),
            "{}: new deque is empty",
            D::NAME
        );
        w.push("a".into());
        assert!(!w.is_empty() && !s2.is_empty(), "{}: one element", D::NAME);
        assert_eq!(w.pop().as_deref(), Some("a"));
        assert_eq!(w.pop(), None, "{}: pop after emptying by pop", D::NAME);
        assert_eq!(s2.steal(), Steal::Empty, "{}: steal after pop", D::NAME);
        w.push("b".into());
        assert_eq!(s2.steal(), Steal::Success("b".to_string()));
        assert_eq!(w.pop(), None, "{}: pop after emptying by steal", D::NAME);
        assert_eq!(s.steal(), Steal::Empty, "{}: steal after steal", D::NAME);
        assert!(w.is_empty() && s.is_empty() && s2.is_empty());
        // Used again after being emptied: still LIFO for the owner.
        w.push("c".into());
        w.push("d".into());
        assert_eq!(w.pop().as_deref(), Some("d"));
        assert_eq!(w.pop().as_deref(), Some("c"));
    })
}

/// Owner and thief race for the last element, thousands of times: each element is obtained by
/// exactly one of them (neither lost nor taken twice).
pub fn last_element_race<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        let rounds = size(20_000, 60) as u32;
        let w = D::new::<u32>();
        let s = w.stealer();
        let done = Arc::new(AtomicBool::new(false));
        let thief = {
            let done = done.clone();
            thread::spawn(move || {
                let mut got = vec![];
                while !done.load(SeqCst) {
                    if let Steal::Success(v) = s.steal() {
                        got.push(v);
                    }
                }
                got.extend(std::iter::from_fn(|| steal_once(&s)));
                got
            })
        };
        let mut owner_got = vec![];
        for i in 0..rounds {
            w.push(i);
            // The deque holds one element: the pop races any steal in flight.
            owner_got.extend(w.pop());
            if i % 64 == 0 {
                thread::yield_now(); // let the thief be scheduled on a loaded machine
            }
        }
        done.store(true, SeqCst);
        let thief_got = thief.join().unwrap();
        let mut all: Vec<u32> = owner_got.iter().chain(&thief_got).copied().collect();
        all.sort_unstable();
        let expected: Vec<u32> = (0..rounds).collect();
        assert!(
            all == expected,
            "{}: last element lost or taken twice (owner {}, thief {})",
            D::NAME,
            owner_got.len(),
            thief_got.len()
        );
    })
}

/// One owner pushing and popping while three thieves steal: every value is delivered exactly once,
/// and each thief's steals come out in push order.
pub fn multi_stealer_exact_multiset<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        let n = size(100_000, 60) as u64;
        let w = D::new::<u64>();
        let done = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(4));
        let thieves: Vec<_> = (0..3)
            .map(|_| {
                let (s, done, start) = (w.stealer(), done.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut got = vec![];
                    loop {
                        match s.steal() {
                            Steal::Success(v) => got.push(v),
                            Steal::Retry => {}
                            // Relaxed would do for the flag's value, but SeqCst keeps the suite simple:
                            // once `done` is seen, the owner has pushed everything, so Empty is final.
                            Steal::Empty if done.load(SeqCst) && s.is_empty() => break,
                            Steal::Empty => std::hint::spin_loop(),
                        }
                    }
                    got
                })
            })
            .collect();
        start.wait();
        let mut owner_got = vec![];
        for i in 0..n {
            w.push(i);
            if i % 3 == 2 {
                owner_got.extend(w.pop());
            }
        }
        done.store(true, SeqCst);
        let per_thief: Vec<Vec<u64>> = thieves.into_iter().map(|t| t.join().unwrap()).collect();
        for (k, got) in per_thief.iter().enumerate() {
            assert!(
                got.windows(2).all(|p| p[0] < p[1]),
                "{}: thief {k} stole out of push order",
                D::NAME
            );
        }
        let mut all: Vec<u64> = owner_got
            .iter()
            .chain(per_thief.iter().flatten())
            .copied()
            .collect();
        all.sort_unstable();
        let expected: Vec<u64> = (0..n).collect();
        assert!(
            all == expected,
            "{}: lost or duplicated values ({} delivered of {n})",
            D::NAME,
            all.len()
        );
    })
}

/// Values taken out are dropped by whoever took them; the ones still inside are dropped exactly
/// once when the last handle goes (owner first or thief first), after growth too.
pub fn remaining_dropped_exactly_once<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        for owner_first in [true, false] {
            let drops = Arc::new(AtomicUsize::new(0));
            let w = D::new::<Counted>();
            let s = w.stealer();
            let n = size(1_000, 300);
            for _ in 0..n {
                w.push(Counted(drops.clone())); // grows the buffer several times
            }
            for _ in 0..10 {
                drop(w.pop().expect("full"));
                drop(steal_once(&s).expect("full"));
            }
            assert_eq!(drops.load(SeqCst), 20, "{}: taken values dropped", D::NAME);
            let stolen_kept = steal_once(&s).expect("full");
            if owner_first {
                drop(w);
                assert_eq!(
                    drops.load(SeqCst),
                    20,
                    "{}: a thief keeps it alive",
                    D::NAME
                );
                drop(s);
            } else {
                drop(s);
                assert_eq!(
                    drops.load(SeqCst),
                    20,
                    "{}: the owner keeps it alive",
                    D::NAME
                );
                drop(w);
            }
            assert_eq!(
                drops.load(SeqCst),
                n - 1,
                "{}: owner_first={owner_first}: the {} left inside dropped exactly once",
                D::NAME,
                n - 21
            );
            drop(stolen_kept);
            assert_eq!(drops.load(SeqCst), n, "{}", D::NAME);
        }
    })
}

/// Under concurrent steals and pops, the values taken plus the values left inside at the end are
/// each dropped exactly once.
pub fn concurrent_drops_exactly_once<D: WorkDeque>() {
    within(CASE_DEADLINE, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let pushed = size(30_000, 60);
        let w = D::new::<Counted>();
        let stop = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (s, stop) = (w.stealer(), stop.clone());
                thread::spawn(move || {
                    let mut taken = 0usize;
                    while !stop.load(SeqCst) {
                        if let Steal::Success(v) = s.steal() {
                            drop(v);
                            taken += 1;
                        }
                    }
                    taken // the thief's handle drops here, possibly the last one
                })
            })
            .collect();
        let mut popped = 0usize;
        for i in 0..pushed {
            w.push(Counted(drops.clone()));
            if i % 4 == 0 && w.pop().is_some() {
                popped += 1;
            }
        }
        stop.store(true, SeqCst);
        let stolen: usize = thieves.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(
            drops.load(SeqCst),
            popped + stolen,
            "{}: exactly the taken values dropped so far",
            D::NAME
        );
        drop(w);
        assert_eq!(
            drops.load(SeqCst),
            pushed,
            "{}: every value dropped exactly once",
            D::NAME
        );
    })
}

/// Instantiates every case of the suite as a `#[test]` in a module: `deque_conformance!(ours, Ours);`
#[macro_export]
macro_rules! deque_conformance {
    ($module:ident, $flavor:ty) => {
        mod $module {
            use $crate::conformance::deque as suite;
            #[test]
            fn owner_is_lifo() {
                suite::owner_is_lifo::<$flavor>();
            }
            #[test]
            fn steals_are_fifo() {
                suite::steals_are_fifo::<$flavor>();
            }
            #[test]
            fn matches_a_sequential_model() {
                suite::matches_a_sequential_model::<$flavor>();
            }
            #[test]
            fn empty_behaviours() {
                suite::empty_behaviours::<$flavor>();
            }
            #[test]
            fn last_element_race() {
                suite::last_element_race::<$flavor>();
            }
            #[test]
            fn multi_stealer_exact_multiset() {
                suite::multi_stealer_exact_multiset::<$flavor>();
            }
            #[test]
            fn remaining_dropped_exactly_once() {
                suite::remaining_dropped_exactly_once::<$flavor>();
            }
            #[test]
            fn concurrent_drops_exactly_once() {
                suite::concurrent_drops_exactly_once::<$flavor>();
            }
        }
    };
}
