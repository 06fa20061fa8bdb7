//! The parker, the condvar event and the one-shot event with real threads: the token, many rounds
//! between two threads with exact counts, and the timeouts. Every test runs under a watchdog and a
//! leak guard (no thread it started may outlive it).
#![cfg(not(loom))] // real threads and real time; the loom models are in loom_parker.rs
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::thread;
use std::time::Duration;

use harness::leaks::within_no_leaks;
use phase1::scheduler::{CondvarEvent, OneShotEvent, Parker};

const DEADLINE: Duration = Duration::from_secs(20);

#[test]
fn an_unpark_before_park_is_not_lost() {
    within_no_leaks(DEADLINE, || {
        let p = Parker::new();
        p.unparker().unpark();
        p.park(); // returns: the token was waiting
    });
}

#[test]
fn unparks_do_not_accumulate() {
    within_no_leaks(DEADLINE, || {
        let p = Parker::new();
        let u = p.unparker();
        for _ in 0..5 {
            u.unpark();
        }
        assert!(
            p.park_timeout(Duration::from_millis(10)),
            "the first park consumes the one token"
        );
        assert!(
            !p.park_timeout(Duration::from_millis(10)),
            "five unparks left one token, not five"
        );
    });
}

#[test]
fn park_timeout_returns_without_a_token_and_leaves_no_state_behind() {
    within_no_leaks(DEADLINE, || {
        let p = Parker::new();
        assert!(!p.park_timeout(Duration::from_millis(5)));
        // After a timeout the parker is EMPTY again: a later unpark is a fresh token.
        p.unparker().unpark();
        assert!(p.park_timeout(Duration::from_secs(5)));
    });
}

#[test]
fn unpark_from_another_thread_wakes_a_parked_thread() {
    within_no_leaks(DEADLINE, || {
        let p = Parker::new();
        let u = p.unparker();
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)); // very likely parked by now (either order is fine)
            u.unpark();
        });
        p.park();
        t.join().unwrap();
    });
}

/// Ping-pong through two parkers: every wake-up is matched by exactly one park, so the counts are
/// exact, and every value written before an unpark is seen after the matching park.
#[test]
fn ping_pong_through_parkers_counts_exactly() {
    const ROUNDS: u64 = if cfg!(miri) { 200 } else { 20_000 };
    within_no_leaks(DEADLINE, || {
        let main = Parker::new();
        let to_main = main.unparker();
        let ball = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let b2 = ball.clone();
        let partner = thread::spawn(move || {
            let me = Parker::new();
            tx.send(me.unparker()).unwrap();
            let mut seen = 0;
            for i in 0..ROUNDS {
                me.park();
                // Relaxed is enough: the parker's token orders the main thread's store before this.
                assert_eq!(
                    b2.load(Relaxed),
                    2 * i + 1,
                    "saw the ball the main thread threw"
                );
                b2.store(2 * i + 2, Relaxed);
                seen += 1;
                to_main.unpark();
            }
            seen
        });
        let to_partner = rx.recv().unwrap();
        for i in 0..ROUNDS {
            ball.store(2 * i + 1, Relaxed);
            to_partner.unpark();
            main.park();
            assert_eq!(
                ball.load(Relaxed),
                2 * i + 2,
                "saw the ball the partner threw back"
            );
        }
        assert_eq!(partner.join().unwrap(), ROUNDS);
    });
}

/// Ping-pong through two condvar events, checked as the parker one is: each thread throws the ball
/// (an odd or even number) and then waits for its own event; a `wait` that returned without the
/// partner's `notify` (a token not consumed, a wake-up taken as a token) sees a stale ball. At the
/// end no token is left over on either event: every notify was consumed by exactly one wait.
#[test]
fn ping_pong_through_condvar_events_counts_exactly() {
    const ROUNDS: u64 = if cfg!(miri) { 200 } else { 20_000 };
    within_no_leaks(DEADLINE, || {
        let (ping, pong) = (CondvarEvent::new(), CondvarEvent::new());
        let (p2, q2) = (ping.clone(), pong.clone());
        let ball = Arc::new(AtomicU64::new(0));
        let b2 = ball.clone();
        let partner = thread::spawn(move || {
            for i in 0..ROUNDS {
                p2.wait();
                // Relaxed is enough: the event's mutex orders the main thread's store before this.
                assert_eq!(
                    b2.load(Relaxed),
                    2 * i + 1,
                    "saw the ball the main thread threw"
                );
                b2.store(2 * i + 2, Relaxed);
                q2.notify();
            }
        });
        for i in 0..ROUNDS {
            ball.store(2 * i + 1, Relaxed);
            ping.notify();
            pong.wait();
            assert_eq!(
                ball.load(Relaxed),
                2 * i + 2,
                "saw the ball the partner threw back"
            );
        }
        partner.join().unwrap();
        assert!(
            !ping.wait_timeout(Duration::from_millis(5))
                && !pong.wait_timeout(Duration::from_millis(5)),
            "every notify was consumed by exactly one wait: no token left over"
        );
    });
}

/// Runs `signal` on another thread 50 ms from now.
fn signal_later(signal: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        signal();
    })
}

// `Duration::MAX` is "no deadline" (as in std) for the three timed waits below: no "overflow when
// adding duration to instant" panic, and each returns true once signalled 50 ms later.

#[test]
fn park_timeout_with_duration_max_waits_for_the_unpark() {
    within_no_leaks(DEADLINE, || {
        let p = Parker::new();
        let u = p.unparker();
        let t = signal_later(move || u.unpark());
        assert!(p.park_timeout(Duration::MAX), "the token came");
        t.join().unwrap();
    });
}

#[test]
fn condvar_event_wait_timeout_with_duration_max_waits_for_the_notify() {
    within_no_leaks(DEADLINE, || {
        let e = CondvarEvent::new();
        let e2 = e.clone();
        let t = signal_later(move || e2.notify());
        assert!(e.wait_timeout(Duration::MAX), "the token came");
        t.join().unwrap();
    });
}

#[test]
fn one_shot_wait_timeout_with_duration_max_waits_for_the_set() {
    within_no_leaks(DEADLINE, || {
        let o = OneShotEvent::new();
        let o2 = o.clone();
        let t = signal_later(move || o2.set());
        assert!(o.wait_timeout(Duration::MAX), "set");
        t.join().unwrap();
    });
}

#[test]
fn condvar_event_token_and_timeout() {
    within_no_leaks(DEADLINE, || {
        let e = CondvarEvent::new();
        assert!(
            !e.wait_timeout(Duration::from_millis(5)),
            "no token: times out"
        );
        e.notify();
        e.notify();
        assert!(
            e.wait_timeout(Duration::from_millis(5)),
            "a token left before the wait is not lost"
        );
        assert!(
            !e.wait_timeout(Duration::from_millis(5)),
            "two notifies left one token"
        );
    });
}

#[test]
fn one_shot_event_wakes_every_waiter_and_stays_set() {
    within_no_leaks(DEADLINE, || {
        let e = OneShotEvent::new();
        let woke = Arc::new(AtomicU64::new(0));
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let (e, woke) = (e.clone(), woke.clone());
                thread::spawn(move || {
                    e.wait();
                    woke.fetch_add(1, Relaxed);
                })
            })
            .collect();
        assert!(!e.wait_timeout(Duration::from_millis(10)), "not set yet");
        assert_eq!(woke.load(Relaxed), 0);
        e.set();
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(woke.load(Relaxed), 4, "every waiter returned");
        e.wait(); // a late waiter returns at once
        assert!(e.wait_timeout(Duration::from_millis(1)));
        e.set(); // setting twice is harmless
    });
}
