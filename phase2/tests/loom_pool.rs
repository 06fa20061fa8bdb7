//! Loom model of the pool's cancellation token: a job that sees the token cancelled also sees what
//! the canceller wrote before cancelling (the Release/Acquire pair in `CancelToken`).
#![cfg(loom)]
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicUsize, Ordering};
use phase1::shim::thread;
use phase2::pool::CancelToken;

#[test]
fn a_cancelled_token_publishes_what_came_before() {
    loom::model(|| {
        let token = CancelToken::new();
        let reason = Arc::new(AtomicUsize::new(0));
        let canceller = {
            let (token, reason) = (token.clone(), reason.clone());
            thread::spawn(move || {
                // Relaxed: published by the token's Release store, not by this store.
                reason.store(7, Ordering::Relaxed);
                token.cancel();
            })
        };
        if token.is_cancelled() {
            // Relaxed: ordered by the token's Acquire load above.
            assert_eq!(reason.load(Ordering::Relaxed), 7);
        }
        canceller.join().unwrap();
        assert!(token.is_cancelled());
    });
}

/// The same protocol with a Relaxed flag: seeing "cancelled" no longer implies seeing the reason, and
/// loom finds the interleaving where the reason reads 0.
#[test]
#[should_panic(expected = "reason not published")]
fn wrong_relaxed_token_publishes_nothing() {
    use phase1::shim::sync::atomic::AtomicBool;
    loom::model(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let reason = Arc::new(AtomicUsize::new(0));
        let canceller = {
            let (flag, reason) = (flag.clone(), reason.clone());
            thread::spawn(move || {
                reason.store(7, Ordering::Relaxed);
                flag.store(true, Ordering::Relaxed); // wrong on purpose: should be Release
            })
        };
        if flag.load(Ordering::Relaxed) {
            // wrong on purpose: should be Acquire
            assert_eq!(reason.load(Ordering::Relaxed), 7, "reason not published");
        }
        canceller.join().unwrap();
    });
}

// The pool's batch queue (`phase2::pool::BatchQueue`): its wake-up bookkeeping (wake only sleepers,
// once; pushers woken at low water) must never strand an item or a thread. Loom reports a deadlock
// if every thread ends up parked, so "everyone returns" is itself checked on every interleaving.
mod batch_queue {
    use phase1::shim::sync::Arc;
    use phase1::shim::thread;
    use phase2::pool::BatchQueue;

    /// Takes until closed, returning everything this taker got.
    fn drain(q: &BatchQueue<u32>, max: usize) -> Vec<u32> {
        let mut got = Vec::new();
        while q.take(max, &mut got) {}
        got
    }

    #[test]
    fn two_takers_get_every_item_exactly_once() {
        loom::model(|| {
            let q = Arc::new(BatchQueue::new(4, 2, 1));
            let taker = {
                let q = q.clone();
                thread::spawn(move || drain(&q, 1))
            };
            q.push(1).unwrap();
            q.push(2).unwrap();
            q.close_one();
            let mut all = drain(&q, 1);
            all.extend(taker.join().unwrap());
            all.sort_unstable();
            assert_eq!(all, [1, 2]);
        });
    }

    #[test]
    fn a_full_queue_blocks_the_pusher_and_the_taker_releases_it() {
        loom::model(|| {
            let q = Arc::new(BatchQueue::new(1, 1, 1));
            let producer = {
                let q = q.clone();
                thread::spawn(move || {
                    for i in 0..3 {
                        q.push(i).unwrap();
                    }
                    q.close_one();
                })
            };
            // One taker, so FIFO order is observable: no item lost, duplicated or reordered.
            assert_eq!(drain(&q, 2), [0, 1, 2]);
            producer.join().unwrap();
        });
    }

    #[test]
    fn the_last_producer_out_closes_and_wakes_the_taker() {
        loom::model(|| {
            let q = Arc::new(BatchQueue::new(usize::MAX, 1, 2));
            let producers: Vec<_> = (0..2u32)
                .map(|p| {
                    let q = q.clone();
                    thread::spawn(move || {
                        let mut batch = vec![p * 10, p * 10 + 1];
                        q.push_all(&mut batch).unwrap();
                        assert!(batch.is_empty());
                        q.close_one();
                    })
                })
                .collect();
            let mut all = drain(&q, usize::MAX);
            for p in producers {
                p.join().unwrap();
            }
            all.sort_unstable();
            assert_eq!(all, [0, 1, 10, 11]);
        });
    }
}

// The pool's submission intake (`phase2::pool::intake`): one lock-free submitter, takers under a
// lock of their own, and the sleeper flag in `tail`'s low bit. A lost wake-up would leave a taker
// parked forever, which loom reports as a deadlock; a lost or doubled item fails the asserts.
mod intake {
    use phase1::shim::sync::Arc;
    use phase1::shim::thread;
    use phase2::pool::intake::{TwinPair, twin_weakened};
    use phase2::pool::{Intake, intake};

    /// Takes until closed, returning everything this taker got.
    fn drain(q: &Intake<u32>, max: usize) -> Vec<u32> {
        let mut got = Vec::new();
        while q.take(max, &mut got) {}
        got
    }

    fn two_takers() {
        let (mut tx, q) = intake(4, 2);
        let taker = {
            let q = q.clone();
            thread::spawn(move || drain(&q, 1))
        };
        tx.push(1).unwrap();
        tx.push(2).unwrap();
        tx.close();
        let mut all = drain(&q, 1);
        all.extend(taker.join().unwrap());
        all.sort_unstable();
        assert_eq!(all, [1, 2]);
    }

    #[test]
    fn two_takers_get_every_item_exactly_once() {
        loom::model(two_takers);
    }

    /// The broken twin: with the `tail` pair Relaxed, a taker reads a slot the submitter's write
    /// to it does not happen before, and loom must say so.
    #[test]
    #[should_panic(expected = "Causality violation")]
    fn twin_with_the_tail_pair_relaxed_is_caught() {
        twin_weakened(TwinPair::Tail, || loom::model(two_takers));
    }

    /// Two takers asleep (or about to be) and two pushes: each push must claim a different sleeper,
    /// so both takers return without any close to rescue them.
    #[test]
    fn two_pushes_wake_two_sleeping_takers() {
        loom::model(|| {
            let (mut tx, q) = intake(4, 2);
            let takers: Vec<_> = (0..2)
                .map(|_| {
                    let q = q.clone();
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        assert!(q.take(1, &mut got));
                        got
                    })
                })
                .collect();
            tx.push(1).unwrap();
            tx.push(2).unwrap();
            let mut all: Vec<u32> = takers.into_iter().flat_map(|t| t.join().unwrap()).collect();
            all.sort_unstable();
            assert_eq!(all, [1, 2]);
            assert!(q.is_empty());
        });
    }

    fn full_ring() {
        let (mut tx, q) = intake(1, 1);
        let submitter = thread::spawn(move || {
            for i in 0..3 {
                tx.push(i).unwrap();
            }
            // dropping `tx` closes the intake
        });
        // One taker, so FIFO order is observable: no item lost, duplicated or reordered.
        assert_eq!(drain(&q, 2), [0, 1, 2]);
        submitter.join().unwrap();
    }

    #[test]
    fn a_full_ring_parks_the_submitter_and_the_taker_releases_it() {
        loom::model(full_ring);
    }

    /// The broken twin: with the `head` pair Relaxed, the submitter polling for room rewrites a
    /// slot the taker's read of it does not happen before, and loom must say so. (Before the
    /// intake polled one round under loom, this twin passed: the lock hid the missing pair.)
    #[test]
    #[should_panic(expected = "Causality violation")]
    fn twin_with_the_head_pair_relaxed_is_caught() {
        twin_weakened(TwinPair::Head, || loom::model(full_ring));
    }

    /// Items left in the ring when the last handle goes are dropped exactly once.
    #[test]
    fn what_nobody_took_is_dropped_once() {
        loom::model(|| {
            let drops = Arc::new(());
            let (mut tx, q) = intake(4, 1);
            tx.push(drops.clone()).unwrap();
            tx.push(drops.clone()).unwrap();
            let mut got = Vec::new();
            let taker = {
                let q = q.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    q.take(1, &mut got);
                    got
                })
            };
            drop(tx);
            got.extend(taker.join().unwrap());
            drop(q);
            drop(got);
            assert_eq!(Arc::strong_count(&drops), 1);
        });
    }
}
