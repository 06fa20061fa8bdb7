//! Loom models of the SPSC ring and the Vyukov MPMC queue: every interleaving (up to
//! `LOOM_MAX_PREEMPTIONS`) and every value a Relaxed load may legally return is explored. Loom also
//! checks each access to a slot's `UnsafeCell`: a read not ordered after the write it reads is a
//! "causality violation" (a data race), even where x86 hardware would never show it.
//!
//! The last two models run copies of the structures with `Weakened` orderings (Relaxed instead of
//! Release/Acquire on the publishing store and the observing load) and must fail: that is what the
//! Release/Acquire pairs are for, and proof that these models can see it.
//!
//! Loom's limits here: SeqCst is treated as AcqRel (we use none); the Treiber stack is not modelled
//! (crossbeam-epoch's own atomics are not loom's), it is stress-tested instead (`tests/treiber.rs`).
#![cfg(loom)]
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicUsize, Ordering};
use phase1::shim::thread;
use phase4::lockfree::discipline::Weakened;
use phase4::lockfree::{BoundedQueue, ring};

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        // Relaxed: read only after the joins, which order it.
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn ring_hands_over_every_value_in_order_across_a_wrap() {
    phase1::shim::model(|| {
        // Capacity 2, three values: the producer must wait for a slot to be freed and reuse it.
        let (mut tx, mut rx) = ring::channel::<usize>(2);
        let producer = thread::spawn(move || {
            for v in 1..=3 {
                let mut v = v;
                while let Err(back) = tx.try_push(v) {
                    v = back;
                    thread::yield_now();
                }
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            match rx.try_pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(rx.try_pop(), None);
    });
}

#[test]
fn ring_drops_what_is_left_whichever_half_goes_last() {
    phase1::shim::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = ring::channel::<Counted>(2);
        let d = drops.clone();
        let producer = thread::spawn(move || {
            for _ in 0..2 {
                assert!(tx.try_push(Counted(d.clone())).is_ok(), "room for two");
            }
            // `tx` is dropped here, racing the consumer below.
        });
        // Maybe one value, maybe none, depending on the interleaving.
        drop(rx.try_pop());
        drop(rx);
        producer.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 2, "each value dropped once");
    });
}

#[test]
fn mpmc_two_producers_lose_nothing() {
    phase1::shim::model(|| {
        let q = Arc::new(BoundedQueue::<usize>::new(2));
        let producers: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || assert!(q.try_push(v).is_ok(), "room for both"))
            })
            .collect();
        let mut got = Vec::new();
        while got.len() < 2 {
            match q.try_pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        producers.into_iter().for_each(|p| p.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(q.try_pop(), None);
    });
}

#[test]
fn mpmc_capacity_one_wraps_without_losing_or_repeating() {
    phase1::shim::model(|| {
        // Capacity 1: the second push must wait for the pop, and reuses the slot one lap later.
        let q = Arc::new(BoundedQueue::<usize>::new(1));
        let consumer = {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < 2 {
                    match q.try_pop() {
                        Some(v) => got.push(v),
                        None => thread::yield_now(),
                    }
                }
                got
            })
        };
        for v in [1, 2] {
            let mut v = v;
            while let Err(back) = q.try_push(v) {
                v = back;
                thread::yield_now();
            }
        }
        assert_eq!(consumer.join().unwrap(), [1, 2]);
        assert_eq!(q.try_pop(), None);
    });
}

#[test]
fn mpmc_drops_leftovers_exactly_once() {
    phase1::shim::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Arc::new(BoundedQueue::<Counted>::new(2));
        // The popper waits for one value; the other is still inside when the queue is dropped.
        let popper = {
            let q = q.clone();
            thread::spawn(move || {
                while q.try_pop().is_none() {
                    thread::yield_now();
                }
            })
        };
        for _ in 0..2 {
            assert!(q.try_push(Counted(drops.clone())).is_ok());
        }
        popper.join().unwrap();
        drop(q);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

/// The ring with Relaxed publication: the consumer can see a slot's flag set without the value
/// written before it, and loom reports the unordered read of the slot. (The consumer retries until it
/// gets the value, so every explored execution reaches the read.)
#[test]
#[should_panic(expected = "Causality violation")]
fn weakened_ring_is_caught() {
    phase1::shim::model(|| {
        let (mut tx, mut rx) = ring::channel_with_orderings::<usize, Weakened>(2);
        let producer = thread::spawn(move || {
            assert!(tx.try_push(42).is_ok());
        });
        loop {
            if let Some(v) = rx.try_pop() {
                assert_eq!(v, 42);
                break;
            }
            thread::yield_now();
        }
        producer.join().unwrap();
    });
}

/// The Vyukov queue with Relaxed publication of a slot's `seq`: same race, same verdict.
#[test]
#[should_panic(expected = "Causality violation")]
fn weakened_vyukov_is_caught() {
    phase1::shim::model(|| {
        let q = Arc::new(BoundedQueue::<usize, Weakened>::with_orderings(2));
        let producer = {
            let q = q.clone();
            thread::spawn(move || assert!(q.try_push(42).is_ok()))
        };
        // Wait for the value: with a lone `try_pop` here, loom ran this model once (we counted) and
        // that pop found the queue empty, so the racy read was never reached.
        loop {
            if let Some(v) = q.try_pop() {
                assert_eq!(v, 42);
                break;
            }
            thread::yield_now();
        }
        producer.join().unwrap();
    });
}

/// Two producers, one consumer. Producer A may have claimed position 0 and not yet filled it when
/// producer B's push (position 1) returns. The main thread joins B, so B's push happened before the
/// `try_pop` below, and nothing else pops: the queue holds at least B's value, and the contract's
/// `None` ("when empty") would be a lie. A correct pop waits for A's slot (it cannot hand out B's
/// value first without breaking FIFO), so it returns one of the two.
#[test]
fn mpmc_pop_is_not_empty_after_a_push_returned_while_another_is_mid_push() {
    phase1::shim::model(|| {
        let q = Arc::new(BoundedQueue::<usize>::new(2));
        let spawn_push = |v| {
            let q = q.clone();
            thread::spawn(move || assert!(q.try_push(v).is_ok(), "room for both"))
        };
        let a = spawn_push(1);
        let b = spawn_push(2);
        b.join().unwrap();
        let first = q.try_pop();
        assert!(
            first.is_some(),
            "try_pop reported empty after a push had returned"
        );
        a.join().unwrap();
        let mut got = vec![first.unwrap(), q.try_pop().expect("the other value")];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// The mirror image: capacity 2, filled before the model's threads start; two consumers, one of which
/// (A) may have claimed position 0 and not yet handed its slot back when B's pop (position 1) returns.
/// After joining B, one pop has completed and no other push is in flight, so the queue holds at most
/// one value: `Err` ("when full") would be a lie.
#[test]
fn mpmc_push_is_not_full_after_a_pop_returned_while_another_is_mid_pop() {
    phase1::shim::model(|| {
        let q = Arc::new(BoundedQueue::<usize>::new(2));
        for v in [1, 2] {
            assert!(q.try_push(v).is_ok());
        }
        let spawn_pop = || {
            let q = q.clone();
            thread::spawn(move || q.try_pop().expect("two values for two pops"))
        };
        let a = spawn_pop();
        let b = spawn_pop();
        let from_b = b.join().unwrap();
        assert!(
            q.try_push(3).is_ok(),
            "try_push reported full after a pop had returned"
        );
        let mut got = vec![
            a.join().unwrap(),
            from_b,
            q.try_pop().expect("the pushed value"),
        ];
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3]);
    });
}
