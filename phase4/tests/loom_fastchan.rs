//! Loom models of fastchan's waiter list: no wake-up is lost when a thread parks just as the other
//! side makes progress, and the twin without the re-check after registering ([`NoRecheck`]) is
//! caught losing one (loom reports the deadlock: every thread parked, none to wake them).
//!
//! The models use [`ParkAtOnce`] (no spinning), so every blocked operation goes through the waiter
//! list, which is what is modelled; the slots themselves have their own models in `loom_queues.rs`.
//!
//! The fences in `waiters.rs` are SeqCst *fences*, which loom models (it is SeqCst *accesses* it
//! treats as AcqRel; this protocol uses none). No deadlines: loom has no time, and a timed park is a
//! plain park under loom.
#![cfg(loom)]
use std::mem::ManuallyDrop;

use phase1::shim::thread;
use phase4::fastchan::{self, NoRecheck, ParkAtOnce};

/// A receiver parks on an empty channel while a sender sends: it gets the value.
#[test]
fn a_receiver_parking_as_a_value_arrives_is_woken() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(1).unwrap();
        let receiver = thread::spawn(move || rx.recv());
        tx.send(7).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(7));
    });
}

/// A sender parks on a full channel while the receiver makes room: it completes.
#[test]
fn a_sender_parking_as_room_appears_is_woken() {
    phase1::shim::model(|| {
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(1).unwrap();
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
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(1).unwrap();
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
        let (tx, rx) = fastchan::bounded_with::<ParkAtOnce, u32>(2).unwrap();
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
        let (tx, rx) = fastchan::bounded_with::<NoRecheck, u32>(1).unwrap();
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
