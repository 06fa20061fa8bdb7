//! Loom models of the parker, the condvar event and the one-shot event, plus two deliberately wrong
//! variants whose models must fail (so the models are seen to be able to fail).
//!
//! `make loom` (RUSTFLAGS="--cfg loom", LOOM_MAX_PREEMPTIONS=2, --release).
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicU8, Ordering::*};
use loom::thread;
use phase1::scheduler::{CondvarEvent, OneShotEvent, Parker};

#[test]
fn unpark_before_park_is_not_lost() {
    loom::model(|| {
        let p = Parker::new();
        p.unparker().unpark();
        p.unparker().unpark(); // tokens do not accumulate, and a second unpark is harmless
        p.park(); // must return: the token was left before we parked
    });
}

#[test]
fn unpark_from_another_thread_wakes_park_in_every_order() {
    loom::model(|| {
        let p = Parker::new();
        let u = p.unparker();
        let t = thread::spawn(move || u.unpark());
        p.park(); // whether the unpark lands before, during or after this call, it returns
        t.join().unwrap();
    });
}

#[test]
fn unpark_publishes_what_was_written_before_it() {
    loom::model(|| {
        let p = Parker::new();
        let u = p.unparker();
        let data = Arc::new(UnsafeCell::new(0u32));
        let d2 = data.clone();
        let t = thread::spawn(move || {
            // SAFETY: the parked thread reads `data` only after consuming the token set below.
            d2.with_mut(|v| unsafe { *v = 42 });
            u.unpark();
        });
        p.park();
        // SAFETY: the token (Release swap → Acquire CAS) orders the write above before this read;
        // loom reports a causality violation otherwise.
        assert_eq!(data.with(|v| unsafe { *v }), 42);
        t.join().unwrap();
    });
}

#[test]
fn two_parkers_ping_pong() {
    loom::model(|| {
        let main = Parker::new();
        let to_main = main.unparker();
        let (tx, rx) = loom::sync::mpsc::channel();
        let t = thread::spawn(move || {
            let me = Parker::new();
            tx.send(me.unparker()).unwrap();
            me.park(); // ping
            to_main.unpark(); // pong
        });
        let to_partner = rx.recv().unwrap();
        to_partner.unpark();
        main.park();
        t.join().unwrap();
    });
}

#[test]
fn condvar_event_has_no_lost_wakeup() {
    loom::model(|| {
        let e = CondvarEvent::new();
        let e2 = e.clone();
        let t = thread::spawn(move || e2.notify());
        e.wait(); // returns whatever the order of notify and wait
        t.join().unwrap();
    });
}

#[test]
fn one_shot_event_set_once_wakes_every_waiter() {
    loom::model(|| {
        let e = OneShotEvent::new();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let e = e.clone();
                thread::spawn(move || e.wait())
            })
            .collect();
        e.set();
        for w in waiters {
            w.join().unwrap();
        }
        assert!(e.is_set());
    });
}

/// What the setter wrote before `set` is visible to a waiter once `wait` returns, whether the
/// waiter found the flag already set (Acquire load) or was parked and woken. Without this model the
/// one-shot models passed with `set`'s Release weakened to Relaxed: they only checked that `wait`
/// returned. (The waiter is the spawned thread: `set` may unpark a waiter that never slept, and
/// loom mistakes that stale unpark for the end of a `join` the main thread would be blocked in.)
#[test]
fn one_shot_event_publishes_what_was_written_before_set() {
    loom::model(|| {
        let e = OneShotEvent::new();
        let data = Arc::new(UnsafeCell::new(0u32));
        let (e2, d2) = (e.clone(), data.clone());
        let waiter = thread::spawn(move || {
            e2.wait();
            // SAFETY: `set`'s Release swap → `is_set`'s Acquire load orders the setter's write
            // before this read; loom reports a causality violation otherwise.
            d2.with(|v| unsafe { *v })
        });
        // SAFETY: the waiter reads `data` only after `wait` returned, i.e. after seeing the flag.
        data.with_mut(|v| unsafe { *v = 42 });
        e.set();
        assert_eq!(waiter.join().unwrap(), 42);
    });
}

/// WRONG on purpose: [`Parker`]'s algorithm with every ordering Relaxed. The state machine is the
/// same (EMPTY / PARKED / NOTIFIED, `Thread::unpark` only for a PARKED owner), so no wake-up is ever
/// lost: but when the token is left *before* the owner parks, nothing orders the unparker's earlier
/// writes before the owner's later reads (no `Thread::unpark` happens, so not even std's own token
/// synchronises them). Loom finds that interleaving and reports the read of `payload` as a data race.
struct RelaxedParker {
    /// 0: EMPTY, 1: PARKED, 2: NOTIFIED — as in `Parker`.
    state: AtomicU8,
    owner: thread::Thread,
}

impl RelaxedParker {
    fn park(&self) {
        // BUG: Relaxed — consuming the token does not acquire what the unparker published.
        if self.state.compare_exchange(2, 0, Relaxed, Relaxed).is_ok() {
            return;
        }
        if self.state.compare_exchange(0, 1, Relaxed, Relaxed).is_err() {
            self.state.store(0, Relaxed);
            return;
        }
        while self.state.compare_exchange(2, 0, Relaxed, Relaxed).is_err() {
            thread::park();
        }
    }

    fn unpark(&self) {
        // BUG: Relaxed — leaving the token does not release the writes made before it.
        if self.state.swap(2, Relaxed) == 1 {
            self.owner.unpark();
        }
    }
}

#[test]
#[should_panic(expected = "Causality violation")]
fn wrong_relaxed_parker_publishes_nothing() {
    loom::model(|| {
        let p = Arc::new(RelaxedParker {
            state: AtomicU8::new(0),
            owner: thread::current(),
        });
        let payload = Arc::new(UnsafeCell::new(0u32));
        let (p2, payload2) = (p.clone(), payload.clone());
        let t = thread::spawn(move || {
            // SAFETY: not actually safe — this write races with the read below; the model must say so.
            payload2.with_mut(|v| unsafe { *v = 7 });
            p2.unpark();
        });
        p.park();
        // SAFETY: not actually safe — loom reports this read as racing with the write above.
        let v = payload.with(|v| unsafe { *v });
        assert_eq!(v, 7);
        t.join().unwrap();
    });
}

/// WRONG on purpose: a "parker" whose notifier unparks only if it sees the waiter asleep, and whose
/// waiter checks the flag, *then* announces it is asleep, then parks: a check-then-act race. When the
/// notifier's check lands between the waiter's check and its announcement, no unpark is ever sent,
/// and the waiter parks forever (loom's `park`, like std's, only returns for an unpark it was sent):
/// loom reports the deadlock. `Parker` avoids it by making "announce" and "check for a token" one CAS.
struct CheckThenPark {
    notified: AtomicBool,
    sleeping: AtomicBool,
}

#[test]
#[should_panic(expected = "deadlock")]
fn wrong_check_then_park_loses_the_wakeup() {
    loom::model(|| {
        // A std Arc: a deadlocked model unwinds the blocked thread's stack, and loom's own types
        // must not be dropped then (they would need the aborted execution).
        let s = std::sync::Arc::new(CheckThenPark {
            notified: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
        });
        let waiter = thread::current();
        let s2 = s.clone();
        let t = thread::spawn(move || {
            s2.notified.store(true, SeqCst);
            if s2.sleeping.load(SeqCst) {
                // BUG: the waiter may be about to sleep without being seen here yet
                waiter.unpark();
            }
        });
        if !s.notified.load(SeqCst) {
            s.sleeping.store(true, SeqCst); // BUG: announced after the check, not atomically with it
            thread::park();
        }
        t.join().unwrap();
    });
}
