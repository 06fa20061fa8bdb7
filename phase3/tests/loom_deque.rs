//! Loom models of the Chase–Lev deque (`phase3::steal::deque`): every interleaving of owner and
//! thieves (up to `LOOM_MAX_PREEMPTIONS`), and every value a weakly ordered load may return.
//!
//! The correct deque: owner pop vs steal on the last element, steal vs steal, and growth while a
//! thief steals; in each, every element is obtained exactly once. Then models where the thief is
//! spawned *before* the owner's first push, so it runs during push, pop and growth, with boxed,
//! drop-counted items: every item delivered exactly once and dropped exactly once. Then deliberately
//! broken variants (`phase3::steal::deque::broken`, compiled only under `--cfg loom`), which loom
//! must catch (`#[should_panic]`): a push without its `fence(Release)` (the bottom store kept
//! Release, as this deque had it, or weakened to Relaxed), and a deque without its SeqCst fences.
//!
//! Loom's limits, where they matter here: it treats SeqCst accesses like AcqRel but does model SeqCst
//! *fences*, which is what this algorithm relies on; a plain store carries only the clock of the
//! storing thread's last release fence (C++20: a relaxed store does not continue an earlier store's
//! release sequence), which is what exposes a push without the fence; and each model is kept tiny
//! (buffer of 2, two or three elements) because the state space grows fast.
#![cfg(loom)]
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use phase1::shim::thread;
use phase3::steal::deque::{Correct, Orderings, Steal, Stealer, Worker, broken};

/// Steals once, retrying a lost race (loom explores the yield as a scheduling point).
fn steal_retrying<T: Send, O: Orderings>(s: &Stealer<T, O>) -> Option<T> {
    loop {
        match s.steal() {
            Steal::Success(v) => return Some(v),
            Steal::Empty => return None,
            Steal::Retry => thread::yield_now(),
        }
    }
}

/// Two single steal attempts (no retry: a lost race is one of the interleavings under test), and
/// what they got.
fn steal_twice<T: Send, O: Orderings>(s: &Stealer<T, O>) -> Vec<T> {
    let mut got = vec![];
    got.extend(s.steal().success());
    got.extend(s.steal().success());
    got
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

#[test]
fn pop_and_steal_race_for_the_last_element() {
    loom::model(|| {
        let w = Worker::<u32, Correct>::with_capacity_and_orderings(2);
        w.push(1);
        let s = w.stealer();
        let thief = thread::spawn(move || s.steal().success());
        let mine = w.pop();
        let theirs = thief.join().unwrap();
        // Exactly one side has it. (A thief's Retry means the owner's CAS won.)
        assert_eq!(
            mine.into_iter().chain(theirs).collect::<Vec<_>>(),
            vec![1],
            "the last element obtained exactly once"
        );
        assert_eq!(w.pop(), None);
    });
}

#[test]
fn pops_and_steals_deliver_two_elements_once_each() {
    loom::model(|| {
        let w = Worker::<u32, Correct>::with_capacity_and_orderings(2);
        w.push(1);
        w.push(2);
        let s = w.stealer();
        let thief = thread::spawn(move || steal_retrying(&s).into_iter().collect::<Vec<_>>());
        let mut all: Vec<u32> = std::iter::from_fn(|| w.pop()).collect();
        all.extend(thief.join().unwrap());
        assert_eq!(sorted(all), vec![1, 2], "each element exactly once");
    });
}

#[test]
fn two_thieves_never_take_the_same_element() {
    loom::model(|| {
        let w = Worker::<u32, Correct>::with_capacity_and_orderings(2);
        w.push(1);
        w.push(2);
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let s = w.stealer();
                thread::spawn(move || steal_retrying(&s))
            })
            .collect();
        let mut all: Vec<u32> = thieves
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        all.extend(std::iter::from_fn(|| w.pop()));
        assert_eq!(sorted(all), vec![1, 2], "each element exactly once");
    });
}

#[test]
fn growth_while_a_thief_steals() {
    loom::model(|| {
        let w = Worker::<u32, Correct>::with_capacity_and_orderings(2);
        w.push(1);
        w.push(2);
        let s = w.stealer();
        let thief = thread::spawn(move || steal_retrying(&s).into_iter().collect::<Vec<_>>());
        // The buffer holds 2: this push grows it while the thief may be reading the old one.
        w.push(3);
        let mut all: Vec<u32> = std::iter::from_fn(|| w.pop()).collect();
        all.extend(thief.join().unwrap());
        assert_eq!(sorted(all), vec![1, 2, 3], "each element exactly once");
    });
}

/// The scenario the no-fence model below breaks, on the correct deque: two steals racing a pop over
/// two elements. Each element comes out exactly once.
#[test]
fn a_pop_racing_two_steals_takes_each_element_once() {
    loom::model(|| {
        let w = Worker::<u32, Correct>::with_capacity_and_orderings(4);
        w.push(1);
        w.push(2);
        let s = w.stealer();
        let thief = thread::spawn(move || steal_twice(&s));
        let mut all: Vec<u32> = w.pop().into_iter().collect();
        all.extend(thief.join().unwrap());
        all.extend(std::iter::from_fn(|| w.pop()));
        assert_eq!(sorted(all), vec![1, 2], "each element exactly once");
    });
}

/// Boxed items that count their own drops (with std atomics: bookkeeping, not part of the model;
/// loom runs its threads on one OS thread, so they add no interleavings).
struct Item {
    id: usize,
    drops: std::sync::Arc<Vec<AtomicUsize>>,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, SeqCst);
    }
}

/// Makes the items of one execution and checks, at its end, that each was delivered exactly once
/// and dropped exactly once.
struct Ledger {
    drops: std::sync::Arc<Vec<AtomicUsize>>,
}

impl Ledger {
    fn new(items: usize) -> Self {
        Ledger {
            drops: std::sync::Arc::new((0..items).map(|_| AtomicUsize::new(0)).collect()),
        }
    }

    fn item(&self, id: usize) -> Box<Item> {
        Box::new(Item {
            id,
            drops: self.drops.clone(),
        })
    }

    /// `delivered`: every item the owner and the thieves obtained; `deque_dropped` must be true,
    /// so that nothing is left inside.
    fn check(self, delivered: Vec<Box<Item>>, deque_dropped: bool) {
        assert!(deque_dropped);
        let mut times = vec![0usize; self.drops.len()];
        for item in &delivered {
            times[item.id] += 1;
        }
        assert!(
            times.iter().all(|&n| n == 1),
            "each item delivered exactly once (times per id: {times:?})"
        );
        drop(delivered);
        let drops: Vec<usize> = self.drops.iter().map(|d| d.load(SeqCst)).collect();
        assert!(
            drops.iter().all(|&n| n == 1),
            "each item dropped exactly once (drops per id: {drops:?})"
        );
    }
}

/// The owner pushes two items and pops one while a thief, already running, steals once: the thief
/// may read the `bottom` that `pop` stores (a Relaxed store), so it is synchronised with the slot
/// writes only through `push`'s `fence(Release)`.
fn steal_during_push_and_pop<O: Orderings>() {
    loom::model(|| {
        let ledger = Ledger::new(2);
        let w = Worker::<Box<Item>, O>::with_capacity_and_orderings(2);
        let s = w.stealer();
        let thief = thread::spawn(move || steal_retrying(&s));
        w.push(ledger.item(0));
        w.push(ledger.item(1));
        let mut all: Vec<Box<Item>> = w.pop().into_iter().collect();
        all.extend(thief.join().unwrap());
        all.extend(std::iter::from_fn(|| w.pop()));
        drop(w);
        ledger.check(all, true);
    });
}

/// The same with growth: the third push doubles the 2-slot buffer while the thief may be reading
/// the old one, then the owner pops; the thief steals twice.
fn steal_during_growth_and_pop<O: Orderings>() {
    loom::model(|| {
        let ledger = Ledger::new(3);
        let w = Worker::<Box<Item>, O>::with_capacity_and_orderings(2);
        let s = w.stealer();
        let thief = thread::spawn(move || steal_twice(&s));
        for id in 0..3 {
            w.push(ledger.item(id));
        }
        let mut all: Vec<Box<Item>> = w.pop().into_iter().collect();
        all.extend(thief.join().unwrap());
        all.extend(std::iter::from_fn(|| w.pop()));
        drop(w);
        ledger.check(all, true);
    });
}

#[test]
fn a_thief_running_during_push_and_pop_takes_each_item_once() {
    steal_during_push_and_pop::<Correct>();
}

#[test]
fn a_thief_running_during_growth_and_pop_takes_each_item_once() {
    steal_during_growth_and_pop::<Correct>();
}

/// The deque as it was before `fence(Release)`: `push` published `bottom` with a Release store,
/// which does not cover `pop`'s later Relaxed store of `bottom`. A thief that reads that store is
/// not synchronised with the slot write, and loom reports its read of the slot.
#[test]
#[should_panic(expected = "Causality violation")]
fn wrong_release_store_push_lets_a_thief_read_a_slot_unsynchronised() {
    steal_during_push_and_pop::<broken::ReleaseStorePush>();
}

/// The same twin through growth: the thief, synchronised with neither the slot writes nor the
/// buffer swap, is caught by loom again.
#[test]
#[should_panic(expected = "Causality violation")]
fn wrong_release_store_push_is_caught_through_growth_too() {
    steal_during_growth_and_pop::<broken::ReleaseStorePush>();
}

/// A push with neither the fence nor a Release store: the thief can count the element before seeing
/// it written, even from `push`'s own store, and loom reports the unsynchronised read of the slot.
#[test]
#[should_panic(expected = "Causality violation")]
fn wrong_relaxed_push_lets_a_thief_read_an_unwritten_slot() {
    loom::model(|| {
        let w = Worker::<u32, broken::RelaxedPush>::with_capacity_and_orderings(2);
        let s = w.stealer();
        let thief = thread::spawn(move || s.steal().success());
        w.push(1);
        let mut all: Vec<u32> = std::iter::from_fn(|| w.pop()).collect();
        all.extend(thief.join().unwrap());
        assert_eq!(all, vec![1]);
    });
}

/// No SeqCst fences: the thief takes element 0, then the owner pops with a stale `top` (thinks two
/// are left, takes index 1 without a CAS) while the thief's next steal reads a stale `bottom` and
/// takes index 1 too. Loom finds the interleaving where one element comes out twice.
#[test]
#[should_panic(expected = "obtained twice")]
fn wrong_no_fence_lets_owner_and_thief_take_the_same_element() {
    loom::model(|| {
        let w = Worker::<u32, broken::NoFence>::with_capacity_and_orderings(4);
        w.push(1);
        w.push(2);
        let s = w.stealer();
        let thief = thread::spawn(move || steal_twice(&s));
        let mut all: Vec<u32> = w.pop().into_iter().collect();
        all.extend(thief.join().unwrap());
        all.extend(std::iter::from_fn(|| w.pop()));
        let all = sorted(all);
        let mut unique = all.clone();
        unique.dedup();
        assert_eq!(all, unique, "an element obtained twice: {all:?}");
    });
}
