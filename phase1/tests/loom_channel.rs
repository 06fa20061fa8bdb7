//! Loom models of the channel: every interleaving (up to `LOOM_MAX_PREEMPTIONS`) of small scenarios.
//! A deadlock (every thread blocked) or a failed assertion in any interleaving fails the model.
//!
//! `lost_wakeup_channel_is_caught` runs the channel broken on purpose and is expected to fail: it shows
//! that these models can fail. Timeouts do not exist inside loom (`wait_timeout` never times out
//! there), so the `_timeout` paths are covered by the conformance suite with real threads.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::thread;
use phase1::channels::broken::LostWakeupChannel;
use phase1::channels::{TryRecvError, bounded, unbounded};

/// A receiver blocked on an empty channel is woken by the drop of the last sender, and sees the
/// buffered value (if the send won the race) before the disconnection.
#[test]
fn close_while_receiver_blocked() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let receiver = thread::spawn(move || {
            let first = rx.recv();
            let second = rx.recv();
            (first, second)
        });
        let tx2 = tx.clone();
        drop(tx);
        tx2.send(7).unwrap();
        drop(tx2);
        let (first, second) = receiver.join().unwrap();
        assert_eq!(first, Ok(7));
        assert!(second.is_err());
    });
}

/// A sender blocked on a full channel is woken by the drop of the last receiver and gets its value
/// back; the value already buffered is not delivered to anybody.
#[test]
fn close_while_sender_blocked_on_full() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(1).unwrap();
        let sender = thread::spawn(move || tx.send(2));
        drop(rx);
        assert_eq!(sender.join().unwrap().map_err(|e| e.0), Err(2));
    });
}

/// Two senders blocked on a full channel: the drop of the last receiver wakes *both*, each failing
/// with its own value (with `notify_one` there, one would sleep forever: loom reports the deadlock).
#[test]
fn close_wakes_both_blocked_senders() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(0).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1).map_err(|e| e.0));
        let b = thread::spawn(move || tx2.send(2).map_err(|e| e.0));
        drop(rx);
        assert_eq!((a.join().unwrap(), b.join().unwrap()), (Err(1), Err(2)));
    });
}

/// Capacity 0: exactly one value is delivered, and the sender returns only after the receiver began
/// receiving (it raises `receiving` just before calling `recv`; the take comes after).
#[test]
fn rendezvous_hand_off() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(0);
        let receiving = Arc::new(AtomicBool::new(false));
        let r = receiving.clone();
        let sender = thread::spawn(move || {
            tx.send(5).unwrap();
            assert!(
                r.load(SeqCst),
                "send returned before any receiver began receiving"
            );
        });
        receiving.store(true, SeqCst);
        let got = rx.recv().unwrap();
        sender.join().unwrap();
        assert_eq!(got, 5);
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Disconnected),
            "exactly one value"
        );
    });
}

/// Capacity 0, `try_send`: it succeeds only when a receiver is already blocked in `recv`. Retrying
/// until `Ok`, the sender must get through in every interleaving (a wrong count of blocked receivers
/// would leave it retrying forever, which loom reports as exceeding its branch limit), the only error
/// before that is `Full`, and the blocked receiver gets the value.
#[test]
fn rendezvous_try_send_reaches_the_blocked_receiver() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(0);
        let receiver = thread::spawn(move || rx.recv());
        loop {
            match tx.try_send(9) {
                Ok(()) => break,
                Err(e) => {
                    assert!(
                        matches!(e, phase1::channels::TrySendError::Full(9)),
                        "only Full is possible"
                    );
                    thread::yield_now();
                }
            }
        }
        assert_eq!(receiver.join().unwrap(), Ok(9));
    });
}

/// Capacity 0 with a receiver that may be dropped: the sender either handed its value over (and the
/// receiver got it) or got it back; never both, never neither.
#[test]
fn rendezvous_sender_withdraws_when_receiver_leaves() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(0);
        let sender = thread::spawn(move || tx.send(9).map_err(|e| e.0));
        let got = rx.try_recv().ok();
        drop(rx);
        let sent = sender.join().unwrap();
        match (got, sent) {
            (Some(9), Ok(())) | (None, Err(9)) => {}
            other => panic!("value both or neither delivered and returned: {other:?}"),
        }
    });
}

/// Capacity 0, two senders, one receive, then the receiver leaves: exactly one sender succeeds (the
/// one whose value was received) and the other gets its own value back — two senders never both
/// believe their value was taken (the tickets), and nobody is left blocked.
#[test]
fn rendezvous_two_senders_one_take() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(0);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1).map_err(|e| e.0));
        let b = thread::spawn(move || tx2.send(2).map_err(|e| e.0));
        let got = rx.recv().unwrap();
        drop(rx);
        let (ra, rb) = (a.join().unwrap(), b.join().unwrap());
        match got {
            1 => assert_eq!((ra, rb), (Ok(()), Err(2))),
            2 => assert_eq!((ra, rb), (Err(1), Ok(()))),
            other => panic!("received {other}"),
        }
    });
}

/// Capacity 1, two producers, one consumer: both values arrive, each exactly once.
#[test]
fn capacity_one_two_producers() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx.send(1).unwrap());
        let b = thread::spawn(move || tx2.send(2).unwrap());
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        a.join().unwrap();
        b.join().unwrap();
        got.sort();
        assert_eq!(got, [1, 2]);
        assert!(rx.recv().is_err());
    });
}

/// Unbounded: a send never blocks, and a blocked receiver always sees it.
#[test]
fn unbounded_send_wakes_receiver() {
    loom::model(|| {
        let (tx, rx) = unbounded::<u32>();
        let receiver = thread::spawn(move || rx.recv().unwrap());
        tx.send(3).unwrap();
        assert_eq!(receiver.join().unwrap(), 3);
    });
}

/// The lost wake-up, found: in the interleaving where the send and its notification fall between
/// the receiver's check and its wait, the receiver sleeps forever and loom reports the deadlock.
#[test]
#[should_panic(expected = "deadlock")]
fn lost_wakeup_channel_is_caught() {
    loom::model(|| {
        // Leaked rather than shared through an `Arc`: loom reports the deadlock by panicking, and
        // dropping loom objects while that panic unwinds would abort the test process instead.
        let chan: &'static LostWakeupChannel<u32> = Box::leak(Box::new(LostWakeupChannel::new()));
        let receiver = thread::spawn(move || chan.recv());
        chan.send(1);
        assert_eq!(receiver.join().unwrap(), 1);
    });
}
