//! Our channel's rendezvous protocol under stress, beyond the conformance suite: tickets (several
//! senders, one slot), withdrawal of timed-out values racing with receives, and every exercise
//! section's self-checks passing in a quick run; and when buffered values are dropped.
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use harness::leaks::within_no_leaks;
use harness::ledger::Counted;
use phase1::channels::{RecvTimeoutError, SendTimeoutError, TrySendError, bounded};

/// Senders racing `send_timeout` against receivers racing `recv_timeout` on capacity 0: each value
/// is either delivered (and its send returned Ok) or returned to its sender (Timeout) — never both,
/// never neither. Short timeouts make the withdrawal path run thousands of times.
#[test]
fn timed_out_rendezvous_values_are_withdrawn_exactly() {
    // Under Miri the clock is virtual and advances with every interpreted step, so a hand-off
    // "takes" far longer than natively: longer patience there keeps both outcomes happening.
    const SEND_PATIENCE: Duration = if cfg!(miri) {
        Duration::from_millis(5)
    } else {
        Duration::from_micros(50)
    };
    const RECV_PATIENCE: Duration = if cfg!(miri) {
        Duration::from_millis(7)
    } else {
        Duration::from_micros(70)
    };
    within_no_leaks(Duration::from_secs(60), || {
        let (tx, rx) = bounded::<u32>(0);
        let per_sender: u32 = if cfg!(miri) { 100 } else { 3_000 };
        let delivered_ok = Arc::new(AtomicUsize::new(0));
        let senders: Vec<_> = (0..2u32)
            .map(|s| {
                let (tx, ok) = (tx.clone(), delivered_ok.clone());
                thread::spawn(move || {
                    let mut returned = vec![];
                    for i in 0..per_sender {
                        let v = s * per_sender + i;
                        match tx.send_timeout(v, SEND_PATIENCE) {
                            Ok(()) => {
                                ok.fetch_add(1, SeqCst);
                            }
                            Err(SendTimeoutError::Timeout(back)) => {
                                assert_eq!(back, v, "a timed-out send returns its own value");
                                returned.push(back);
                            }
                            Err(SendTimeoutError::Disconnected(_)) => {
                                unreachable!("receivers outlive senders")
                            }
                        }
                    }
                    returned
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut got = vec![];
                    loop {
                        match rx.recv_timeout(RECV_PATIENCE) {
                            Ok(v) => got.push(v),
                            Err(phase1::channels::RecvTimeoutError::Timeout) => {}
                            Err(phase1::channels::RecvTimeoutError::Disconnected) => return got,
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        let returned: Vec<u32> = senders
            .into_iter()
            .flat_map(|s| s.join().unwrap())
            .collect();
        let received: Vec<u32> = receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        assert_eq!(
            received.len(),
            delivered_ok.load(SeqCst),
            "Ok sends == values received"
        );
        let mut all: Vec<u32> = returned.iter().chain(&received).copied().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..2 * per_sender).collect::<Vec<_>>(),
            "each value delivered xor returned"
        );
        assert!(
            !returned.is_empty() && !received.is_empty(),
            "both paths ran (returned {}, received {})",
            returned.len(),
            received.len()
        );
    })
}

/// Four blocking senders, one slot: every send returns only after its own value was taken, so the
/// number of returned sends never exceeds the number of completed receives.
#[test]
fn rendezvous_tickets_never_release_a_sender_early() {
    const PER_SENDER: u32 = if cfg!(miri) { 25 } else { 500 };
    within_no_leaks(Duration::from_secs(30), || {
        let (tx, rx) = bounded::<u32>(0);
        let returned = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let max_ahead = Arc::new(AtomicUsize::new(0));
        let senders: Vec<_> = (0..4)
            .map(|_| {
                let (tx, returned, received, max_ahead) = (
                    tx.clone(),
                    returned.clone(),
                    received.clone(),
                    max_ahead.clone(),
                );
                thread::spawn(move || {
                    for i in 0..PER_SENDER {
                        tx.send(i).unwrap();
                        let r = returned.fetch_add(1, SeqCst) + 1;
                        // A returned send's value was popped; the receiver counts it right after
                        // its recv, so at most one popped-but-uncounted value explains a gap.
                        max_ahead.fetch_max(r.saturating_sub(received.load(SeqCst)), SeqCst);
                    }
                })
            })
            .collect();
        drop(tx);
        // Count *before* returning from recv is impossible from outside; count right after.
        while rx.recv().is_ok() {
            received.fetch_add(1, SeqCst);
        }
        senders.into_iter().for_each(|s| s.join().unwrap());
        assert_eq!(received.load(SeqCst), 4 * PER_SENDER as usize);
        assert!(
            max_ahead.load(SeqCst) <= 1,
            "senders ran {} ahead of receives",
            max_ahead.load(SeqCst)
        );
    })
}

/// Every section of the exercise passes its self-checks in a quick run.
#[test]
#[cfg_attr(
    miri,
    ignore = "the sections are live measurements (timed workloads, tokio runtimes, deliberate \
              deadlocks left to a watchdog): too slow interpreted, and they test no unsafe code \
              the other tests here do not"
)]
fn exercise_sections_pass_their_checks() {
    for section in phase1::channels::EXERCISE.sections {
        let name = section.name;
        let failed = within_no_leaks(Duration::from_secs(60), move || {
            let section = phase1::channels::EXERCISE
                .sections
                .iter()
                .find(|s| s.name == name)
                .unwrap();
            let mut ctx = harness::Ctx::for_test(name);
            (section.run)(&mut ctx);
            ctx.checks()
                .iter()
                .filter(|(_, ok, _)| !ok)
                .map(|(l, _, d)| format!("{l} ({d})"))
                .collect::<Vec<_>>()
        });
        assert!(failed.is_empty(), "{name}: failed checks: {failed:?}");
    }
}

/// Ours drops the values still buffered as soon as the last receiver leaves (nobody can receive them
/// any more), in bounded and unbounded channels alike; a rendezvous sender's value goes back to it.
#[test]
fn buffered_values_are_dropped_when_the_last_receiver_leaves() {
    for (tx, rx) in [phase1::channels::bounded(8), phase1::channels::unbounded()] {
        let drops = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            assert!(tx.send(Counted(drops.clone())).is_ok(), "receiver alive");
        }
        drop(rx);
        assert_eq!(
            drops.load(SeqCst),
            5,
            "buffered values dropped with the last receiver"
        );
        let refused = tx.send(Counted(drops.clone())).expect_err("no receiver");
        assert_eq!(
            drops.load(SeqCst),
            5,
            "a refused value is handed back, not dropped"
        );
        drop(refused);
        drop(tx);
        assert_eq!(drops.load(SeqCst), 6);
    }
}

/// Capacity 0 buffers nothing: while a sender is blocked handing its value over, `len()` is 0 and
/// `is_empty()` is true on both halves (the value is still the sender's, see `shared.rs`).
#[test]
fn a_rendezvous_channel_is_empty_while_a_sender_blocks() {
    within_no_leaks(Duration::from_secs(20), || {
        let (tx, rx) = bounded::<u32>(0);
        let tx2 = tx.clone();
        let blocked = thread::spawn(move || tx2.send(7));
        thread::sleep(Duration::from_millis(30)); // the sender is (very likely) in its phase 2 now
        assert_eq!((tx.len(), rx.len()), (0, 0), "len at capacity 0");
        assert!(tx.is_empty() && rx.is_empty(), "is_empty at capacity 0");
        assert_eq!(rx.recv(), Ok(7));
        assert_eq!(blocked.join().unwrap(), Ok(()));
    });
}

/// A sender that times out in its phase 2 withdraws its value and so frees the slot: a sender
/// blocked in phase 1 waiting for that slot must be woken by the withdrawal (nobody else will: no
/// receiver has taken anything), push, and hand its value to the next receiver.
#[test]
fn a_withdrawn_value_wakes_the_sender_waiting_for_the_slot() {
    within_no_leaks(Duration::from_secs(20), || {
        let (tx, rx) = bounded::<u32>(0);
        let tx2 = tx.clone();
        let waiting = thread::spawn(move || {
            // Long enough for the main thread's value to be in the slot: this send waits for it.
            thread::sleep(Duration::from_millis(50));
            tx2.send(2)
        });
        match tx.send_timeout(1, Duration::from_millis(300)) {
            Err(SendTimeoutError::Timeout(1)) => {}
            other => panic!("no receiver, yet the send returned {other:?}"),
        }
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Ok(2),
            "the sender waiting for the slot was not woken by the withdrawal"
        );
        assert_eq!(waiting.join().unwrap(), Ok(()));
    });
}

/// `try_send` at capacity 0 succeeds only while a receiver is blocked in `recv`: one whose
/// `recv_timeout` timed out is no longer waiting, so a `try_send` after it fails with its value.
#[test]
fn a_receiver_that_timed_out_is_no_longer_waiting_for_try_send() {
    within_no_leaks(Duration::from_secs(20), || {
        let (tx, rx) = bounded::<u32>(0);
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        );
        match tx.try_send(1) {
            Err(TrySendError::Full(1)) => {}
            other => panic!("nobody waits in recv, yet try_send returned {other:?}"),
        }
    });
}

/// A value whose `Drop` panics records its id in the ledger first, then panics.
struct Ledgered {
    id: u32,
    panics: bool,
    ledger: Arc<std::sync::Mutex<Vec<u32>>>,
}

impl Drop for Ledgered {
    fn drop(&mut self) {
        self.ledger.lock().unwrap().push(self.id);
        if self.panics {
            panic!("drop of {} panics", self.id);
        }
    }
}

/// Fills a channel with values 0..6, of which 1, 3 and 4 panic when dropped.
fn filled_with_panicking_drops(
    cap: Option<usize>,
) -> (
    phase1::channels::Sender<Ledgered>,
    phase1::channels::Receiver<Ledgered>,
    Arc<std::sync::Mutex<Vec<u32>>>,
) {
    let (tx, rx) = match cap {
        Some(c) => bounded(c),
        None => phase1::channels::unbounded(),
    };
    let ledger = Arc::new(std::sync::Mutex::new(Vec::new()));
    for id in 0..6 {
        let value = Ledgered {
            id,
            panics: [1, 3, 4].contains(&id),
            ledger: ledger.clone(),
        };
        assert!(tx.send(value).is_ok(), "receiver alive");
    }
    (tx, rx, ledger)
}

/// The rule of `shared.rs` ("A buffered value whose `Drop` panics"): when the last receiver drops
/// the buffer, every value is dropped exactly once even though three of them panic, no abort, and
/// the first panic (value 1's, the oldest panicking one) comes out of the receiver's drop.
#[test]
fn panicking_drops_of_buffered_values_drop_the_rest_then_resume_the_first() {
    for cap in [Some(8), None] {
        let (tx, rx, ledger) = filled_with_panicking_drops(cap);
        let outcome = harness::exercise::expect_panic(move || drop(rx));
        assert_eq!(
            outcome,
            Err("drop of 1 panics".to_string()),
            "cap {cap:?}: the first panic is resumed"
        );
        assert_eq!(
            *ledger.lock().unwrap(),
            [0, 1, 2, 3, 4, 5],
            "cap {cap:?}: every value dropped exactly once, oldest first"
        );
        assert!(
            tx.send(Ledgered {
                id: 9,
                panics: false,
                ledger: ledger.clone()
            })
            .is_err(),
            "cap {cap:?}: the channel is closed for senders"
        );
    }
}

/// The same, with the receiver dropped while its thread is already unwinding from another panic:
/// the caught panics are discarded (resuming one would abort), the thread's own panic is what it
/// ends with, and every value is still dropped exactly once.
#[test]
fn panicking_drops_during_unwinding_do_not_abort() {
    let (tx, rx, ledger) = filled_with_panicking_drops(Some(8));
    let outcome = thread::spawn(move || {
        harness::exercise::expect_panic(move || {
            let _held_while_unwinding = rx;
            panic!("the thread's own panic");
        })
    })
    .join()
    .expect("no abort, no escaped panic");
    assert_eq!(outcome, Err("the thread's own panic".to_string()));
    assert_eq!(*ledger.lock().unwrap(), [0, 1, 2, 3, 4, 5]);
    drop(tx);
}
