//! The pool's submission intake on real threads: the exact multiset under contention with a small
//! ring (so the submitter parks often and takers sleep often), the bound, timed takes, and drops.
//! The interleavings themselves are model-checked in `loom_pool.rs` (`intake::*`).
#![cfg(not(loom))]
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use harness::ledger::Counted;
use harness::watchdog::within;
use phase2::pool::{Take, intake};

/// Miri's clock is virtual (it runs on while the interpreter crawls), hence the longer limit.
const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 30 });
/// Items through the contended intake: enough under Miri to park and wake both sides many times.
const ITEMS: u32 = if cfg!(miri) { 300 } else { 50_000 };

#[test]
fn three_takers_get_every_item_exactly_once_and_the_bound_holds() {
    within(DEADLINE, || {
        for cap in [1usize, 3, 64] {
            let items = ITEMS;
            let (mut tx, q) = intake::<u32>(cap, 3);
            let takers: Vec<_> = (0..3)
                .map(|t| {
                    let q = q.clone();
                    thread::spawn(move || {
                        let (mut got, mut batch) = (Vec::new(), Vec::new());
                        // Alternate plain and timed takes, and batch limits, across takers.
                        while match t {
                            0 => q.take(1, &mut batch),
                            1 => q.take(8, &mut batch),
                            _ => loop {
                                let d = Instant::now() + Duration::from_micros(50);
                                match q.take_until(4, &mut batch, Some(d)) {
                                    Take::TimedOut => continue,
                                    other => break other == Take::Took,
                                }
                            },
                        } {
                            assert!(batch.len() <= cap, "a batch larger than the ring");
                            got.append(&mut batch);
                        }
                        got
                    })
                })
                .collect();
            for i in 0..items {
                tx.push(i).expect("open");
                assert!(tx.len() <= cap, "{} queued with a bound of {cap}", tx.len());
            }
            drop(tx);
            let mut all: Vec<u32> = takers
                .into_iter()
                .flat_map(|t| t.join().expect("taker"))
                .collect();
            all.sort_unstable();
            assert!(
                all.iter().copied().eq(0..items),
                "cap {cap}: {} items delivered, expected each of 0..{items} once",
                all.len()
            );
        }
    });
}

#[test]
fn a_timed_take_on_an_empty_intake_times_out_and_a_closed_one_says_so() {
    within(DEADLINE, || {
        let (mut tx, q) = intake::<u8>(4, 1);
        let mut out = Vec::new();
        let started = Instant::now();
        let d = started + Duration::from_millis(20);
        assert_eq!(q.take_until(1, &mut out, Some(d)), Take::TimedOut);
        assert!(Instant::now() >= d, "returned before its deadline");
        tx.push(7).unwrap();
        assert_eq!(
            q.take_until(1, &mut out, Some(d)),
            Take::Took,
            "an item beats a past deadline"
        );
        assert_eq!(out, [7]);
        tx.close();
        assert_eq!(tx.push(8), Err(8), "a closed intake hands the item back");
        assert_eq!(q.take_until(1, &mut out, None), Take::Closed);
    });
}

#[test]
fn a_sleeping_taker_is_woken_by_one_push() {
    within(DEADLINE, || {
        let (mut tx, q) = intake::<u8>(4, 2);
        let taker = {
            let q = q.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                assert!(q.take(4, &mut out));
                out
            })
        };
        thread::sleep(Duration::from_millis(20)); // long enough for it to park
        tx.push(1).unwrap();
        assert_eq!(taker.join().unwrap(), [1]);
    });
}

/// A full ring parks the submitter until the takers have freed half of it (the low-water mark),
/// and the take that reaches the mark wakes it: with 8 slots, the 4th single take releases a
/// parked push, with no further take needed.
#[test]
fn a_parked_submitter_is_woken_once_half_the_ring_is_free() {
    within(DEADLINE, || {
        let (mut tx, q) = intake::<u32>(8, 1);
        for i in 0..8 {
            tx.push(i).unwrap();
        }
        let (pushed_tx, pushed) = std::sync::mpsc::channel();
        let submitter = thread::spawn(move || {
            tx.push(8).unwrap();
            pushed_tx.send(()).unwrap();
            tx
        });
        thread::sleep(Duration::from_millis(50)); // long enough for it to park
        let mut out = Vec::new();
        for _ in 0..4 {
            assert!(q.take(1, &mut out));
        }
        assert_eq!(out, [0, 1, 2, 3]);
        assert!(
            pushed.recv_timeout(Duration::from_secs(10)).is_ok(),
            "the parked submitter was not woken once half the ring was free"
        );
        drop(submitter.join().unwrap());
        out.clear();
        while q.take(8, &mut out) {}
        assert_eq!(out, [4, 5, 6, 7, 8]);
    });
}

/// Two takers asleep; the first push wakes one of them, which takes the item and leaves. The other
/// is still asleep and unclaimed, so the sleepers' flag must stay up and the second push wake it.
/// (Three rounds: on a loaded machine a taker may not have parked yet when the first push comes.)
#[test]
fn a_second_sleeping_taker_is_woken_by_the_next_push() {
    within(DEADLINE, || {
        for _ in 0..3 {
            let (mut tx, q) = intake::<u8>(4, 2);
            let (got_tx, got) = std::sync::mpsc::channel();
            let takers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, got_tx) = (q.clone(), got_tx.clone());
                    thread::spawn(move || {
                        let mut out = Vec::new();
                        assert!(q.take(1, &mut out));
                        got_tx.send(out).unwrap();
                    })
                })
                .collect();
            thread::sleep(Duration::from_millis(200)); // long enough for both to park
            tx.push(1).unwrap();
            assert_eq!(got.recv_timeout(Duration::from_secs(5)), Ok(vec![1]));
            tx.push(2).unwrap();
            assert_eq!(
                got.recv_timeout(Duration::from_secs(5)),
                Ok(vec![2]),
                "the second sleeping taker was not woken by the second push"
            );
            for t in takers {
                t.join().unwrap();
            }
        }
    });
}

/// A taker waiting with a deadline (20 s) is woken by `close` and answers `Closed` within the
/// test's 10 s wait, not at its deadline. (`close` takes the takers' lock, so a timed taker that
/// spun holding it would keep `close` out until its deadline.) `close` runs on a thread of its own,
/// so the test's wait is never stuck behind it. Three rounds, as on a loaded machine a taker may
/// not have parked yet when `close` comes.
#[test]
fn a_timed_taker_is_woken_by_close_before_its_deadline() {
    within(DEADLINE, || {
        for _ in 0..3 {
            let (mut tx, q) = intake::<u8>(4, 1);
            let (answer_tx, answer) = std::sync::mpsc::channel();
            let taker = {
                let q = q.clone();
                thread::spawn(move || {
                    let mut out = Vec::new();
                    let d = Instant::now() + Duration::from_secs(20);
                    let took = q.take_until(1, &mut out, Some(d));
                    let _ = answer_tx.send((took, out));
                })
            };
            thread::sleep(Duration::from_millis(200)); // long enough for it to park
            let closer = thread::spawn(move || tx.close());
            assert_eq!(
                answer.recv_timeout(Duration::from_secs(10)),
                Ok((Take::Closed, vec![])),
                "the timed taker did not answer Closed within 10 s of close"
            );
            closer.join().unwrap();
            taker.join().unwrap();
        }
    });
}

/// `len` and `is_empty`, on the shared end and on the submitter, follow the pushes and the takes.
#[test]
fn len_and_is_empty_on_both_ends_follow_pushes_and_takes() {
    within(DEADLINE, || {
        let (mut tx, q) = intake::<u8>(4, 1);
        assert!(q.is_empty() && tx.is_empty());
        tx.push(1).unwrap();
        tx.push(2).unwrap();
        assert_eq!((q.len(), tx.len()), (2, 2));
        assert!(!q.is_empty(), "two items queued");
        assert!(!tx.is_empty(), "two items queued");
        let mut out = Vec::new();
        assert!(q.take(2, &mut out));
        assert_eq!(out, [1, 2]);
        assert_eq!((q.len(), tx.len()), (0, 0));
        assert!(q.is_empty() && tx.is_empty());
    });
}

#[test]
fn every_item_is_dropped_exactly_once_taken_or_not() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, q) = intake(8, 1);
    for _ in 0..8 {
        tx.push(Counted(drops.clone()))
            .unwrap_or_else(|_| panic!("open"));
    }
    let mut out = Vec::new();
    assert!(q.take(3, &mut out));
    drop(tx);
    drop(q);
    assert_eq!(
        drops.load(Ordering::Relaxed),
        5,
        "the five left in the ring"
    );
    drop(out);
    assert_eq!(drops.load(Ordering::Relaxed), 8);
}
