//! Loom models of the executor's lock-free protocols: the parking of idle workers (no lost wake-up,
//! also when producers skip wake-ups because a worker is searching) and the bounded local ring
//! (each item taken exactly once).
#![cfg(loom)]
use std::collections::VecDeque;

use loom::sync::Condvar;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use phase4::runtime::executor::{LocalRing, Sleepers};

/// A worker sleeps until a producer's item arrives: whatever the interleaving, it gets the item.
/// A lost wake-up leaves the worker parked forever, which loom reports as a deadlock.
#[test]
fn no_lost_wakeup() {
    loom::model(|| {
        let queue = Arc::new(Mutex::new(VecDeque::<u32>::new()));
        let sleepers = Arc::new(Sleepers::new(1));
        let worker = {
            let (queue, sleepers) = (queue.clone(), sleepers.clone());
            thread::spawn(move || {
                loop {
                    if let Some(v) = queue.lock().unwrap().pop_front() {
                        return v;
                    }
                    sleepers.start_searching();
                    sleepers.sleep_unless(0, true, || !queue.lock().unwrap().is_empty());
                }
            })
        };
        queue.lock().unwrap().push_back(7);
        sleepers.notify_one();
        assert_eq!(worker.join().unwrap(), 7);
    });
}

/// The broken protocol: the worker registers and parks without a last look at the queue. loom finds
/// the interleaving where the producer's notification came before the registration.
#[test]
#[should_panic(expected = "deadlock")]
fn wrong_no_recheck_loses_the_wakeup() {
    loom::model(|| {
        // Leaked, not in `Arc`s: when loom reports the deadlock it unwinds, and dropping loom
        // objects during that unwind would abort the test process instead of failing the model.
        let queue: &'static Mutex<VecDeque<u32>> = Box::leak(Box::new(Mutex::new(VecDeque::new())));
        let sleepers: &'static Sleepers = Box::leak(Box::new(Sleepers::new(1)));
        let worker = thread::spawn(move || {
            loop {
                if let Some(v) = queue.lock().unwrap().pop_front() {
                    return v;
                }
                sleepers.register(0, false);
                sleepers.park(0); // wrong on purpose: no second look after registering
            }
        });
        queue.lock().unwrap().push_back(7);
        sleepers.notify_one();
        assert_eq!(worker.join().unwrap(), 7);
    });
}

/// The owner pushes past capacity (overflow hands items back) and pops while a thief steals:
/// every item is taken exactly once.
#[test]
fn ring_items_taken_exactly_once() {
    loom::model(|| {
        let ring = Arc::new(LocalRing::<std::sync::Arc<usize>, 2>::new());
        let thief_ring = Arc::new(LocalRing::<std::sync::Arc<usize>, 2>::new());
        let taken = Arc::new(AtomicUsize::new(0)); // bit i: item i taken
        let mark = |t: &AtomicUsize, v: usize| {
            let before = t.fetch_or(1 << v, Ordering::Relaxed);
            assert_eq!(before & (1 << v), 0, "item {v} taken twice");
        };
        let thief = {
            let (ring, thief_ring, taken) = (ring.clone(), thief_ring.clone(), taken.clone());
            thread::spawn(move || {
                // SAFETY: this thread owns `thief_ring` and steals from `ring`.
                if let Some(v) = unsafe { ring.steal_into(&thief_ring) } {
                    mark(&taken, *v);
                }
                // SAFETY: as above.
                while let Some(v) = unsafe { thief_ring.pop() } {
                    mark(&taken, *v);
                }
            })
        };
        for i in 0..3 {
            // SAFETY: the main thread is the ring's owner.
            if let Err(spill) = unsafe { ring.push(std::sync::Arc::new(i)) } {
                for v in spill {
                    mark(&taken, *v);
                }
            }
        }
        // SAFETY: owner.
        while let Some(v) = unsafe { ring.pop() } {
            mark(&taken, *v);
        }
        thief.join().unwrap();
        assert_eq!(taken.load(Ordering::Relaxed), 0b111);
    });
}

/// Two items that can only be finished together: whoever takes one waits until both are taken.
struct Pair {
    queue: Mutex<VecDeque<u32>>,
    taken: Mutex<usize>,
    both: Condvar,
}

/// A worker as the executor runs one: take an item, else search, else sleep. Taking an item ends a
/// search; `hand_on` says whether the last searcher then passes the wake-up on.
fn pair_worker(id: usize, pair: &Pair, sleepers: &Sleepers, hand_on: bool) {
    let mut searching = false;
    loop {
        let item = pair.queue.lock().unwrap().pop_front();
        if item.is_some() {
            if searching && sleepers.stop_searching() && hand_on {
                sleepers.notify_one();
            }
            let mut n = pair.taken.lock().unwrap();
            *n += 1;
            pair.both.notify_all();
            while *n < 2 {
                n = pair.both.wait(n).unwrap();
            }
            return;
        }
        if !searching {
            sleepers.start_searching();
            searching = true;
        }
        // Woken: a producer counted us as searching; FoundWork: we still are.
        sleepers.sleep_unless(id, true, || !pair.queue.lock().unwrap().is_empty());
    }
}

fn pair_model(hand_on: bool) {
    loom::model(move || {
        // Leaked, as in `wrong_no_recheck_loses_the_wakeup`: the broken variant deadlocks.
        let pair: &'static Pair = Box::leak(Box::new(Pair {
            queue: Mutex::new(VecDeque::new()),
            taken: Mutex::new(0),
            both: Condvar::new(),
        }));
        let sleepers: &'static Sleepers = Box::leak(Box::new(Sleepers::new(2)));
        let workers: Vec<_> = (0..2)
            .map(|id| thread::spawn(move || pair_worker(id, pair, sleepers, hand_on)))
            .collect();
        for v in [1, 2] {
            pair.queue.lock().unwrap().push_back(v);
            sleepers.notify_one();
        }
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(*pair.taken.lock().unwrap(), 2);
    });
}

/// A producer that sees a searching worker skips its wake-up; the searcher, on finding work, wakes
/// the next worker. Two items that need two workers at once always get them.
#[test]
fn searching_worker_passes_the_wakeup_on() {
    pair_model(true);
}

/// Without the hand-on, loom finds the run where one worker searched through both pushes (so both
/// wake-ups were skipped), took the first item and waits for a second worker that sleeps on.
#[test]
#[should_panic(expected = "deadlock")]
fn wrong_searcher_keeps_the_wakeup() {
    pair_model(false);
}
