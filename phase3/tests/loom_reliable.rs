//! Loom models of phase3::reliable: each bug of the exercise found exhaustively (a `should_panic`
//! model), and its fix passing every interleaving loom explores.
//!
//! - message passing: a Relaxed flag lets the reader see the flag and miss the payload; Release/Acquire
//!   does not.
//! - lost update: load + store increments from two threads can lose one; fetch_add cannot.
//! - check-then-act: two withdrawals can both pass the balance check; the CAS loop cannot.
//!
//! Loom's limit that matters here: it treats SeqCst like AcqRel, so the store-buffering outcome
//! (allowed under AcqRel) is not modelled; that one is run on the CPU by the exercise instead.
#![cfg(loom)]
use loom::sync::Arc;
use loom::thread;
use phase1::shim::sync::atomic::AtomicU64;
use phase3::reliable::message::{Mailbox, RelaxedMailbox};
use phase3::reliable::races::{Account, RacyAccount, increment_fetch_add, increment_load_store};

#[test]
#[should_panic(expected = "flag seen, payload missing")]
fn relaxed_message_passing_loses_the_payload() {
    loom::model(|| {
        let mb = Arc::new(RelaxedMailbox::new());
        let writer = {
            let mb = mb.clone();
            thread::spawn(move || mb.send(42))
        };
        if let Some(v) = mb.try_recv() {
            assert_eq!(v, 42, "flag seen, payload missing");
        }
        writer.join().unwrap();
    });
}

#[test]
fn release_acquire_message_passing_delivers_the_payload() {
    loom::model(|| {
        let mb = Arc::new(Mailbox::new());
        let writer = {
            let mb = mb.clone();
            thread::spawn(move || mb.send(42))
        };
        if let Some(v) = mb.try_recv() {
            assert_eq!(v, 42, "flag seen, payload missing");
        }
        writer.join().unwrap();
        assert_eq!(mb.try_recv(), Some(42));
    });
}

fn two_increments(increment: fn(&AtomicU64)) -> u64 {
    let c = Arc::new(AtomicU64::new(0));
    let other = {
        let c = c.clone();
        thread::spawn(move || increment(&c))
    };
    increment(&c);
    other.join().unwrap();
    // Relaxed: the join ordered the other thread's increment before this load.
    c.load(std::sync::atomic::Ordering::Relaxed)
}

#[test]
#[should_panic(expected = "an increment was lost")]
fn load_store_increments_lose_an_update() {
    loom::model(|| {
        assert_eq!(
            two_increments(increment_load_store),
            2,
            "an increment was lost"
        );
    });
}

#[test]
fn fetch_add_increments_lose_nothing() {
    loom::model(|| {
        assert_eq!(two_increments(increment_fetch_add), 2);
    });
}

#[test]
#[should_panic(expected = "overdrawn")]
fn check_then_act_overdraws() {
    loom::model(|| {
        let acct = Arc::new(RacyAccount::new(1));
        let other = {
            let acct = acct.clone();
            thread::spawn(move || acct.withdraw(1))
        };
        let mine = acct.withdraw(1);
        let theirs = other.join().unwrap();
        assert!(acct.balance() >= 0, "overdrawn: balance {}", acct.balance());
        assert_eq!(u8::from(mine) + u8::from(theirs), 1);
    });
}

#[test]
fn cas_withdrawal_never_overdraws() {
    loom::model(|| {
        let acct = Arc::new(Account::new(1));
        let other = {
            let acct = acct.clone();
            thread::spawn(move || acct.withdraw(1))
        };
        let mine = acct.withdraw(1);
        let theirs = other.join().unwrap();
        assert_eq!(acct.balance(), 0);
        assert_eq!(
            u8::from(mine) + u8::from(theirs),
            1,
            "exactly one withdrawal"
        );
    });
}
