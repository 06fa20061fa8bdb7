//! Loom models of the executor's two lock-free protocols: the parking of idle workers (no lost
//! wake-up) and the bounded local ring (each item taken exactly once).
#![cfg(loom)]
use std::collections::VecDeque;

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
                    sleepers.sleep_unless(0, || !queue.lock().unwrap().is_empty());
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
                sleepers.register(0);
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
