//! The deque conformance suite (`harness::conformance::deque`) against our Chase–Lev deque and
//! against crossbeam-deque. crossbeam-deque passing is what proves the suite honest.
//!
//! Then cases for our deque alone, which the contract cannot express: a 2-slot first buffer, so that
//! thieves steal while the owner pushes, pops *and grows*, with boxed, drop-counted items, so that an
//! element delivered twice is a double free and a lost one a leak. Under Miri (`cargo +nightly miri
//! test -p phase3 --test deque_conformance`) a missed synchronisation is a reported data race and a
//! stale or dangling `Box` a reported use-after-free, which a native run can only hope to hit.
#![cfg(not(loom))]

harness::deque_conformance!(ours, phase3::steal::ChaseLev);
harness::deque_conformance!(crossbeam_deque, harness::contracts::deque::CrossbeamDeque);

mod ours_small_buffer {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
    use std::thread;
    use std::time::Duration;

    use harness::watchdog::within;
    use phase3::steal::deque::{Correct, Steal, Worker};

    // Test bookkeeping only: SeqCst everywhere, so the test is about the deque.

    /// Items per run: small under Miri (each step is interpreted), large natively.
    const ITEMS: usize = if cfg!(miri) { 150 } else { 50_000 };
    const THIEVES: usize = 2;
    const DEADLINE: Duration = Duration::from_secs(120);

    /// A heap item that counts its own drops, per id.
    struct Item {
        id: usize,
        drops: Arc<Vec<AtomicUsize>>,
    }

    impl Drop for Item {
        fn drop(&mut self) {
            self.drops[self.id].fetch_add(1, SeqCst);
        }
    }

    /// The owner pushes bursts of 1..=4 boxed items and pops 0..=2 after each burst, straight after
    /// pushing (a thief can read the `bottom` a pop stores); two thieves steal throughout, from a
    /// 2-slot buffer that grows under them. Every id is delivered exactly once and dropped exactly
    /// once.
    fn run(seed: u64) {
        within(DEADLINE, move || {
            let drops: Arc<Vec<AtomicUsize>> =
                Arc::new((0..ITEMS).map(|_| AtomicUsize::new(0)).collect());
            let w = Worker::<Box<Item>, Correct>::with_capacity_and_orderings(2);
            let done = Arc::new(AtomicBool::new(false));
            let thieves: Vec<_> = (0..THIEVES)
                .map(|_| {
                    let (s, done) = (w.stealer(), done.clone());
                    thread::spawn(move || {
                        let mut got = vec![];
                        loop {
                            match s.steal() {
                                // The Box is freed right here: a duplicate is a double free.
                                Steal::Success(item) => got.push(item.id),
                                Steal::Retry => {}
                                // `done` is set after the owner emptied the deque: Empty is final.
                                Steal::Empty if done.load(SeqCst) => break,
                                Steal::Empty => thread::yield_now(),
                            }
                        }
                        got
                    })
                })
                .collect();
            let mut owner_got = vec![];
            let mut x = seed | 1;
            let mut next = 0;
            while next < ITEMS {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let burst = 1 + (x % 4) as usize;
                for _ in 0..burst.min(ITEMS - next) {
                    w.push(Box::new(Item {
                        id: next,
                        drops: drops.clone(),
                    }));
                    next += 1;
                }
                for _ in 0..(x >> 8) % 3 {
                    owner_got.extend(w.pop().map(|item| item.id));
                }
                // Let a thief run now, when the last store of `bottom` may be a pop's.
                thread::yield_now();
            }
            owner_got.extend(std::iter::from_fn(|| w.pop()).map(|item| item.id));
            done.store(true, SeqCst);
            let mut delivered = vec![0usize; ITEMS];
            for id in thieves
                .into_iter()
                .flat_map(|t| t.join().expect("a thief panicked"))
                .chain(owner_got)
            {
                delivered[id] += 1;
            }
            let wrong: Vec<(usize, usize)> = delivered
                .iter()
                .enumerate()
                .filter(|&(_, &n)| n != 1)
                .map(|(id, &n)| (id, n))
                .collect();
            assert!(
                wrong.is_empty(),
                "seed {seed}: items not delivered exactly once (id, times): {wrong:?}"
            );
            drop(w);
            let wrong: Vec<(usize, usize)> = drops
                .iter()
                .enumerate()
                .map(|(id, d)| (id, d.load(SeqCst)))
                .filter(|&(_, n)| n != 1)
                .collect();
            assert!(
                wrong.is_empty(),
                "seed {seed}: items not dropped exactly once (id, drops): {wrong:?}"
            );
        })
    }

    /// One thief steals (and frees) boxed items while the owner only pushes, from a 2-slot buffer:
    /// it grows ~log2(ITEMS) times under the thief, which may be reading the buffer being retired or
    /// have just taken (and freed) an item that `grow` copies. Every item delivered and dropped
    /// exactly once. (With one thief and no pops, only that thief's CAS moves `top`, so it never has
    /// a stale `top`: the module's benign race cannot occur, and Miri can run this with preemption.)
    #[test]
    fn growth_under_a_thief_that_frees_what_it_steals() {
        within(DEADLINE, || {
            let drops: Arc<Vec<AtomicUsize>> =
                Arc::new((0..ITEMS).map(|_| AtomicUsize::new(0)).collect());
            let w = Worker::<Box<Item>, Correct>::with_capacity_and_orderings(2);
            let done = Arc::new(AtomicBool::new(false));
            let thief = {
                let (s, done) = (w.stealer(), done.clone());
                thread::spawn(move || {
                    let mut got = vec![];
                    loop {
                        match s.steal() {
                            Steal::Success(item) => got.push(item.id), // freed here
                            Steal::Retry => {}
                            Steal::Empty if done.load(SeqCst) => break,
                            Steal::Empty => thread::yield_now(),
                        }
                    }
                    got
                })
            };
            for id in 0..ITEMS {
                w.push(Box::new(Item {
                    id,
                    drops: drops.clone(),
                }));
            }
            done.store(true, SeqCst);
            let stolen = thief.join().expect("the thief panicked");
            let mut delivered = vec![0usize; ITEMS];
            for id in stolen {
                delivered[id] += 1;
            }
            drop(w); // drops what the thief left
            for (id, d) in drops.iter().enumerate() {
                let (got, dropped) = (delivered[id], d.load(SeqCst));
                assert!(
                    got <= 1 && dropped == 1,
                    "item {id}: stolen {got} times, dropped {dropped} times"
                );
            }
        })
    }

    /// The owner pushes three boxed items and pops one, round after round; one thief, allowed (by a
    /// Relaxed counter, so that the allowance itself synchronises nothing) to steal all but the two
    /// newest, takes items from the latest round while the owner pops. So the thief often reads the
    /// `bottom` that `pop` stored (Relaxed), and is synchronised with the latest slot writes only
    /// through `push`'s `fence(Release)`. By construction neither the benign race (one thief, and the
    /// owner's pops never reach the elements it may take, so only its own CAS moves `top`) nor the
    /// last-element CAS can occur, so Miri can run this at any preemption rate and report only a
    /// missing synchronisation (a data race on the slot).
    #[test]
    fn a_thief_reading_the_bottom_a_pop_stored_sees_the_slot_written() {
        const ROUNDS: usize = if cfg!(miri) { 60 } else { 20_000 };
        within(DEADLINE, || {
            let items = 3 * ROUNDS;
            let drops: Arc<Vec<AtomicUsize>> =
                Arc::new((0..items).map(|_| AtomicUsize::new(0)).collect());
            let w = Worker::<Box<Item>, Correct>::with_capacity_and_orderings(2);
            // How many items the thief may take in all. Relaxed on both sides: an allowance, and on
            // purpose no synchronisation (the deque must provide it).
            let allowed = Arc::new(AtomicUsize::new(0));
            let done = Arc::new(AtomicBool::new(false));
            let thief = {
                let (s, allowed, done) = (w.stealer(), allowed.clone(), done.clone());
                thread::spawn(move || {
                    let mut got = vec![];
                    loop {
                        if got.len() < allowed.load(Relaxed) {
                            match s.steal() {
                                Steal::Success(item) => got.push(item.id), // freed here
                                Steal::Retry => {}
                                Steal::Empty => thread::yield_now(),
                            }
                        } else if done.load(SeqCst) && got.len() == allowed.load(Relaxed) {
                            break got;
                        } else {
                            thread::yield_now();
                        }
                    }
                })
            };
            let mut owner_got = vec![];
            let mut next = 0;
            for _ in 0..ROUNDS {
                for _ in 0..3 {
                    w.push(Box::new(Item {
                        id: next,
                        drops: drops.clone(),
                    }));
                    next += 1;
                }
                // `bottom` is now `2 * round + 3`: the thief may take all but the two newest, so
                // the pop below (index bottom - 1) never races it for an element.
                allowed.store(next - owner_got.len() - 2, Relaxed);
                owner_got.extend(w.pop().map(|item| item.id));
            }
            done.store(true, SeqCst);
            let stolen = thief.join().expect("the thief panicked");
            owner_got.extend(std::iter::from_fn(|| w.pop()).map(|item| item.id));
            let mut delivered = vec![0usize; items];
            for id in stolen.into_iter().chain(owner_got) {
                delivered[id] += 1;
            }
            drop(w);
            for (id, d) in drops.iter().enumerate() {
                let (got, dropped) = (delivered[id], d.load(SeqCst));
                assert!(
                    got == 1 && dropped == 1,
                    "item {id}: delivered {got} times, dropped {dropped} times"
                );
            }
        })
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "two thieves on a 2-slot buffer wrap it around under a stale thief: the benign race (deque module docs), which Miri reports as UB"
    )]
    fn boxed_items_through_growth_seed_1() {
        run(1);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "two thieves on a 2-slot buffer wrap it around under a stale thief: the benign race (deque module docs), which Miri reports as UB"
    )]
    fn boxed_items_through_growth_seed_2() {
        run(0x9E37_79B9_7F4A_7C15);
    }
}

/// `Steal::success`, which the loom models (and callers that only want the value) rely on: the
/// value of a `Success`, nothing for `Empty` and `Retry`.
#[test]
fn steal_success_yields_exactly_the_stolen_value() {
    use phase3::steal::deque::{Steal, Worker};

    let w = Worker::new();
    let s = w.stealer();
    assert_eq!(s.steal().success(), None::<u32>, "empty deque");
    w.push(7u32);
    w.push(8);
    assert_eq!(s.steal().success(), Some(7));
    assert_eq!(s.steal().success(), Some(8));
    assert_eq!(Steal::Success(9u32).success(), Some(9));
    assert_eq!(Steal::<u32>::Empty.success(), None);
    assert_eq!(Steal::<u32>::Retry.success(), None);
}
