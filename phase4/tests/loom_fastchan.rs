//! Loom models of fastchan's waiter list: no wake-up is lost when a thread parks just as the other
//! side makes progress, and the twin without the re-check after registering ([`NoRecheck`]) is
//! caught losing one (loom reports the deadlock: every thread parked, none to wake them). And the
//! rendezvous's hand-off: a waiter withdrawing at its deadline races a partner claiming its packet,
//! and the value goes one way exactly once; the twin that withdraws without a compare-and-swap
//! ([`RacyWithdraw`]) is caught.
//!
//! The models use [`ParkAtOnce`] (no spinning), so every blocked operation goes through the waiter
//! list, which is what is modelled; the slots themselves have their own models in `loom_queues.rs`.
//!
//! The fences in `waiters.rs` are SeqCst *fences*, which loom models (it is SeqCst *accesses* it
//! treats as AcqRel; this protocol uses none). No deadlines: loom has no time, and a timed park is a
//! plain park under loom.
#![cfg(loom)]
use std::mem::ManuallyDrop;
use std::time::Duration;

use phase1::shim::thread;
use phase4::fastchan::{self, NoRecheck, ParkAtOnce, RacyWithdraw, SendTimeoutError};

/// A receiver parks on an empty channel while a sender sends: it gets the value.
#[test]
fn a_receiver_parking_as_a_value_arrives_is_woken() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(1);
        let receiver = thread::spawn(move || rx.recv());
        tx.send(7).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(7));
    });
}

/// A sender parks on a full channel while the receiver makes room: it completes.
#[test]
fn a_sender_parking_as_room_appears_is_woken() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(1);
        tx.send(1).unwrap();
        let sender = thread::spawn(move || tx.send(2));
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(sender.join().unwrap(), Ok(()));
    });
}

/// A receiver parks as the last sender leaves: it sees the disconnection.
#[test]
fn a_receiver_parking_as_the_last_sender_leaves_is_woken() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(1);
        let receiver = thread::spawn(move || rx.recv());
        drop(tx);
        assert!(receiver.join().unwrap().is_err());
    });
}

/// Two receivers, two values: whichever receiver a wake-up goes to, and whether it uses it or
/// takes a value by its re-check instead (and must pass the wake-up on), both get a value.
///
/// Three threads and two waits per receiver take more scheduling branches than loom's default
/// 1 000 allows, and at two preemptions the model ran for over ten minutes without finishing: this
/// one is explored with at most one preemption.
#[test]
fn two_receivers_two_values_both_delivered() {
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 100_000;
    builder.preemption_bound = Some(1);
    builder.check(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(2);
        let spawn_recv = |rx: fastchan::Receiver<u32, ParkAtOnce>| thread::spawn(move || rx.recv());
        let a = spawn_recv(rx.clone());
        let b = spawn_recv(rx);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut got = vec![a.join().unwrap().unwrap(), b.join().unwrap().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// The broken twin: registering and parking without the re-check. In the interleaving where the send
/// lands between the receiver's failed pop and its registration, the sender sees no waiter and wakes
/// no one, and the receiver parks for good.
#[test]
#[should_panic(expected = "deadlock")]
fn without_the_recheck_a_wakeup_is_lost() {
    phase1::shim::model(|| {
        // Dropped by hand, never while unwinding: loom reports the deadlock by panicking, and a loom
        // object (the channel's `Arc`) dropped during that unwinding aborts the test process. Not
        // leaked either: loom checks every execution that finishes for leaked `Arc`s.
        let (tx, rx) = fastchan::bounded_with::<NoRecheck, u32>(1);
        let tx = ManuallyDrop::new(tx);
        let receiver = thread::spawn(move || {
            let rx = ManuallyDrop::new(rx);
            let got = rx.recv();
            drop(ManuallyDrop::into_inner(rx));
            got
        });
        tx.send(7).unwrap();
        let got = receiver.join().unwrap();
        drop(ManuallyDrop::into_inner(tx));
        assert_eq!(got, Ok(7));
    });
}

/// Rendezvous: a sender whose deadline has passed (`send_timeout` with zero: it offers the value,
/// then withdraws at once) races a receiver. Either the receiver claims the packet first and the
/// send succeeds, or the sender withdraws first and gets its value back (and the receiver, woken by
/// the sender's drop, sees the disconnection): exactly one of the two, in every interleaving.
#[test]
fn rendezvous_a_timed_out_sender_delivers_or_keeps_its_value_exactly_once() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(0);
        let sender = thread::spawn(move || {
            let sent = tx.send_timeout(7, Duration::ZERO);
            drop(tx);
            sent
        });
        let got = rx.recv();
        match sender.join().unwrap() {
            Ok(()) => assert_eq!(got, Ok(7), "sent, but not received"),
            Err(SendTimeoutError::Timeout(v)) => {
                assert_eq!(v, 7);
                assert!(got.is_err(), "handed back and received too");
            }
            Err(e) => panic!("the receiver was alive: {e:?}"),
        }
    });
}

/// Rendezvous, the mirror image: a receiver whose deadline has passed races a sender. The value
/// is received, or it stays with the sender (which, woken by the receiver's drop, gets it back).
#[test]
fn rendezvous_a_timed_out_receiver_gets_the_value_or_leaves_it_exactly_once() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(0);
        let receiver = thread::spawn(move || {
            let got = rx.recv_timeout(Duration::ZERO);
            drop(rx);
            got
        });
        let sent = tx.send(7);
        match receiver.join().unwrap() {
            Ok(v) => assert_eq!((v, sent), (7, Ok(()))),
            Err(_) => assert_eq!(sent, Err(fastchan::SendError(7)), "sent, but not received"),
        }
    });
}

/// The broken twin: withdrawal by a load and a store ([`RacyWithdraw`]). A receiver's claim lands
/// between the two, both sides believe they own the value, and the sender finds its packet empty.
#[test]
#[should_panic(expected = "a withdrawn sender's packet still holds its value")]
fn rendezvous_withdrawing_without_a_cas_is_caught() {
    phase1::shim::model(|| {
        // Dropped by hand, never while unwinding (as in the `NoRecheck` model above).
        let (tx, rx) = fastchan::bounded_with::<RacyWithdraw, u32>(0);
        let rx = ManuallyDrop::new(rx);
        let sender = thread::spawn(move || {
            let tx = ManuallyDrop::new(tx);
            let sent = tx.send_timeout(7, Duration::ZERO);
            drop(ManuallyDrop::into_inner(tx));
            sent
        });
        let got = rx.recv();
        let sent = sender.join().unwrap();
        drop(ManuallyDrop::into_inner(rx));
        assert_eq!(
            sent.is_ok(),
            got.is_ok(),
            "delivered and handed back, or neither"
        );
    });
}

/// The unbounded list of blocks (2 slots per block under loom): a sender pushes three values,
/// crossing into a second block it allocates and links, while a receiver takes them and frees the
/// first block. FIFO, each value once, in every interleaving.
#[test]
fn unbounded_a_block_is_handed_over_while_both_sides_run() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::unbounded_with::<ParkAtOnce, u32>();
        let sender = thread::spawn(move || (0..3).for_each(|v| tx.send(v).unwrap()));
        let got: Vec<u32> = (0..3).map(|_| rx.recv().unwrap()).collect();
        sender.join().unwrap();
        assert_eq!(got, [0, 1, 2]);
    });
}
