//! Stress tests of fastchan: many producers and consumers on small buffers, every value a ledger
//! element, so "each value delivered once and dropped once" is checked element by element. Blocking
//! waits, timed waits (which leave the waiter list on their own and must pass on a wake-up they
//! got too late) and disconnection mid-stream all run. Small counts under Miri
//! (`cargo +nightly miri test -p phase4 --test fastchan_stress`).
#![cfg(not(loom))]
use std::collections::HashSet;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use harness::ledger::{DropLedger, Tracked};
use harness::watchdog::within;
use phase4::fastchan::{self, Blocking, ParkAtOnce, RecvTimeoutError, SpinThenPark};

/// Generous: only a deadlock (a lost wake-up) reaches it. Miri's clock runs ahead of its progress.
const DEADLINE: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 120 });
const PER_PRODUCER: usize = if cfg!(miri) { 12 } else { 2_000 };
/// 0 is the rendezvous, the rest the ring.
const CAPS: [usize; 4] = if cfg!(miri) {
    [0, 1, 2, 4]
} else {
    [0, 1, 2, 64]
};

/// `producers` × `PER_PRODUCER` tracked values through a channel of `cap`, `consumers` receivers
/// (blocking `recv`, or `recv_timeout` with a short timeout when `timed`): the ids delivered are
/// exactly 0..n, each once, and every value is dropped exactly once after the handles are gone.
fn exact_multiset<B: Blocking>(cap: usize, producers: usize, consumers: usize, timed: bool) {
    exact_multiset_on::<B>(Some(cap), producers, consumers, timed)
}

/// [`exact_multiset`] on `bounded(cap)`, or on `unbounded()` for `None`.
fn exact_multiset_on<B: Blocking>(
    cap: Option<usize>,
    producers: usize,
    consumers: usize,
    timed: bool,
) {
    let n = producers * PER_PRODUCER;
    let ledger = DropLedger::new(n);
    let (tx, rx) = match cap {
        Some(cap) => fastchan::bounded_with::<B, Tracked>(cap),
        None => fastchan::unbounded_with::<B, Tracked>(),
    };
    let senders: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, ledger) = (tx.clone(), ledger.clone());
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    let v = ledger.element(p * PER_PRODUCER + i);
                    if timed {
                        // Retry on timeout: the value comes back and is sent again.
                        let mut v = v;
                        loop {
                            match tx.send_timeout(v, Duration::from_micros(50)) {
                                Ok(()) => break,
                                Err(fastchan::SendTimeoutError::Timeout(back)) => v = back,
                                Err(e) => panic!("receivers alive: {e:?}"),
                            }
                        }
                    } else {
                        tx.send(v).expect("receivers alive");
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let receivers: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut ids = Vec::new();
                loop {
                    let got = if timed {
                        match rx.recv_timeout(Duration::from_micros(50)) {
                            Ok(v) => Some(v),
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => None,
                        }
                    } else {
                        rx.recv().ok()
                    };
                    match got {
                        Some(v) => ids.push(v.id), // `v` dropped here: once
                        None => return ids,
                    }
                }
            })
        })
        .collect();
    drop(rx);
    senders.into_iter().for_each(|s| s.join().unwrap());
    let mut ids: Vec<usize> = receivers
        .into_iter()
        .flat_map(|r| r.join().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), n, "cap {cap:?}: {} delivered of {n}", ids.len());
    assert!(
        ids.iter().copied().eq(0..n),
        "cap {cap:?}: not each id exactly once"
    );
    assert_eq!(
        ledger.wrong(),
        vec![],
        "cap {cap:?}: dropped other than once"
    );
}

/// The unbounded list under 3 × 3 threads: thousands of values cross hundreds of blocks, every
/// block allocated by a pusher and freed by a popper while others still work in the next ones.
#[test]
fn unbounded_mpmc_exact_multiset() {
    within(DEADLINE, || {
        exact_multiset_on::<SpinThenPark>(None, 3, 3, false);
        exact_multiset_on::<ParkAtOnce>(None, 3, 3, false);
        exact_multiset_on::<SpinThenPark>(None, 2, 3, true);
    })
}

/// Values left in the unbounded list when the last handle goes, spread over several blocks (some
/// already freed by the receives before): each is dropped exactly once, and no block leaks (Miri).
#[test]
fn unbounded_values_left_behind_are_dropped_once() {
    for (sent, received) in [(0, 0), (1, 0), (31, 31), (100, 40), (93, 62)] {
        let ledger = DropLedger::new(sent);
        let (tx, rx) = fastchan::unbounded::<Tracked>();
        for id in 0..sent {
            tx.send(ledger.element(id)).unwrap();
        }
        for id in 0..received {
            assert_eq!(rx.try_recv().map(|v| v.id), Ok(id), "FIFO");
        }
        drop((tx, rx));
        assert_eq!(
            ledger.wrong(),
            vec![],
            "{sent} sent, {received} received: dropped other than once"
        );
    }
}

#[test]
fn mpmc_blocking_exact_multiset_spin_then_park() {
    within(DEADLINE, || {
        for cap in CAPS {
            exact_multiset::<SpinThenPark>(cap, 3, 3, false);
        }
    })
}

#[test]
fn mpmc_blocking_exact_multiset_park_at_once() {
    within(DEADLINE, || {
        for cap in CAPS {
            exact_multiset::<ParkAtOnce>(cap, 3, 3, false);
        }
    })
}

#[test]
fn mpmc_timed_exact_multiset() {
    within(DEADLINE, || {
        for cap in CAPS {
            exact_multiset::<SpinThenPark>(cap, 2, 3, true);
            exact_multiset::<ParkAtOnce>(cap, 2, 3, true);
        }
    })
}

/// Ping-pong through two capacity-1 (then capacity-0) channels: each side blocks on every round trip, so a lost
/// wake-up stalls the exchange. The main thread waits for each reply with a timeout far beyond any
/// scheduling delay, so a stall fails with the round it happened in (and a slow, loaded machine only
/// makes the test slower, never wrong).
#[test]
fn ping_pong_never_loses_a_wakeup() {
    const ROUNDS: usize = if cfg!(miri) { 30 } else { 2_000 };
    const STALL: Duration = Duration::from_secs(if cfg!(miri) { 300 } else { 10 });
    fn run<B: Blocking>(cap: usize) {
        let (ping_tx, ping_rx) = fastchan::bounded_with::<B, usize>(cap);
        let (pong_tx, pong_rx) = fastchan::bounded_with::<B, usize>(cap);
        let echo = thread::spawn(move || {
            while let Ok(v) = ping_rx.recv() {
                if pong_tx.send(v + 1).is_err() {
                    return; // the main thread gave up
                }
            }
        });
        for i in 0..ROUNDS {
            ping_tx.send(i).unwrap();
            assert_eq!(
                pong_rx.recv_timeout(STALL),
                Ok(i + 1),
                "{} cap {cap}: round {i}: no reply within {STALL:?}: a lost wake-up",
                B::NAME
            );
        }
        drop(ping_tx);
        echo.join().unwrap();
    }
    within(
        Duration::from_secs(if cfg!(miri) { 600 } else { 120 }),
        || {
            for cap in [1, 0] {
                run::<SpinThenPark>(cap);
                run::<ParkAtOnce>(cap);
            }
        },
    )
}

/// Receivers leave mid-stream while producers are blocked on a full channel: every blocked producer
/// gets its value back, and every value — delivered, refused or left in the buffer — is dropped
/// exactly once when the last handle goes.
#[test]
fn disconnection_mid_stream_drops_everything_once() {
    within(DEADLINE, || {
        for cap in CAPS {
            let n = 4 * PER_PRODUCER;
            let ledger = DropLedger::new(n);
            let (tx, rx) = fastchan::bounded::<Tracked>(cap);
            let producers: Vec<_> = (0..4)
                .map(|p| {
                    let (tx, ledger) = (tx.clone(), ledger.clone());
                    thread::spawn(move || {
                        let mut refused = HashSet::new();
                        for i in 0..PER_PRODUCER {
                            if let Err(back) = tx.send(ledger.element(p * PER_PRODUCER + i)) {
                                refused.insert(back.0.id); // `back` dropped here: once
                            }
                        }
                        refused
                    })
                })
                .collect();
            drop(tx);
            let mut delivered = HashSet::new();
            for _ in 0..PER_PRODUCER {
                delivered.insert(rx.recv().expect("senders alive").id);
            }
            drop(rx); // the blocked producers must wake and get their values back
            let refused: Vec<HashSet<usize>> =
                producers.into_iter().map(|p| p.join().unwrap()).collect();
            assert!(
                refused.iter().all(|r| r.is_disjoint(&delivered)),
                "cap {cap}: a value both delivered and refused"
            );
            assert_eq!(ledger.wrong(), vec![], "cap {cap}: dropped other than once");
        }
    })
}

/// The handles are `Send + Sync` for `T: Send`, and clone for both sides.
#[test]
fn handles_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<fastchan::Sender<Arc<u8>>>();
    check::<fastchan::Receiver<Arc<u8>>>();
    check::<fastchan::Sender<u8, ParkAtOnce>>();
}
