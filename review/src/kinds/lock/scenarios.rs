//! The lock scenarios. Each targeted one exposes one catalogued flaw and nothing else: before it
//! relies on another property of the lock (a dropped guard releases it, a waiter is woken) it checks
//! that property and, if it does not hold, skips with the name of the scenario that reports it; it
//! waits for every blocked call with a deadline ([`join_within`]), and makes a thread wait for the
//! lock only once `/proc` shows it asleep ([`spawn_blocked`]), never after a fixed pause.
//!
//! The holder-counting scenario never dereferences a guard: a flawed lock that lets two holders in
//! is observed through an atomic count, without two `&mut` to the data.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use harness::contracts::lock::Lock;
use harness::wait::poll_until;

use crate::{Verdict, join_within, spawn_blocked, step};

/// How long a thread that should return gets before it counts as blocked.
const HANG: Duration = Duration::from_secs(2);
/// How long a holder waits, inside, for a second holder to show up.
const OVERLAP_WINDOW: Duration = Duration::from_millis(300);

/// Lock, drop the guard, `try_lock` on this thread: the precondition of the scenarios that need a
/// released lock to be free again. `None` when it holds.
fn released_lock_is_free<L: Lock<u64>>(lock: &L, needed_by: &str) -> Option<Verdict> {
    drop(lock.lock());
    match lock.try_lock() {
        Some(_) => None,
        None => Some(Verdict::Skipped {
            why: format!(
                "{needed_by} needs a dropped guard to release the lock, and it does not \
                 (guard-drop-releases reports that)"
            ),
        }),
    }
}

/// `try-lock-ignores-holder`: while one thread holds the lock, `try_lock` on another returns `None`.
pub(super) fn try_lock_refused_while_held<L: Lock<u64> + 'static>() -> Verdict {
    step("thread A holds the lock; thread B calls try_lock");
    let lock = Arc::new(L::new(0));
    let held = lock.lock();
    let other = lock.clone();
    let tried = thread::spawn(move || other.try_lock().is_some());
    let result = join_within(tried, HANG);
    drop(held);
    match result {
        None => Verdict::Skipped {
            why: "try_lock did not return while the lock was held (try-lock-returns-at-once \
                  reports that)"
                .into(),
        },
        Some(true) => Verdict::fail(
            "thread A held the lock and thread B's try_lock returned a guard: two holders at once",
        ),
        Some(false) => Verdict::Pass,
    }
}

/// `try-lock-blocks`: `try_lock` returns at once while another thread holds the lock.
pub(super) fn try_lock_returns_at_once<L: Lock<u64> + 'static>() -> Verdict {
    step("thread A holds the lock; thread B calls try_lock and must return");
    let lock = Arc::new(L::new(0));
    let held = lock.lock();
    let other = lock.clone();
    let tried = thread::spawn(move || {
        drop(other.try_lock());
    });
    let result = join_within(tried, HANG);
    drop(held);
    match result {
        None => Verdict::fail(format!(
            "thread A held the lock; thread B's try_lock had not returned {HANG:?} later: it \
             waits for the holder"
        )),
        Some(()) => Verdict::Pass,
    }
}

/// `guard-drop-keeps-lock`: after the guard drops, the lock can be taken again, here and elsewhere.
pub(super) fn guard_drop_releases<L: Lock<u64> + 'static>() -> Verdict {
    step("lock, drop the guard, try_lock on the same thread");
    let lock = Arc::new(L::new(0));
    drop(lock.lock());
    match lock.try_lock() {
        Some(g) => drop(g),
        None => {
            return Verdict::fail(
                "lock(), the guard dropped, then try_lock() on the same thread returned None: \
                 the lock stayed held with no guard alive",
            );
        }
    }
    step("lock, drop the guard, then lock() on another thread");
    drop(lock.lock());
    let other = lock.clone();
    let taker = thread::spawn(move || {
        drop(other.lock());
    });
    match join_within(taker, HANG) {
        None => Verdict::fail(format!(
            "lock(), the guard dropped, then lock() on another thread was still blocked {HANG:?} \
             later: the lock stayed held with no guard alive"
        )),
        Some(()) => Verdict::Pass,
    }
}

/// `lost-wakeup`: a thread asleep in `lock()` is woken when the holder's guard drops (3 rounds).
pub(super) fn unlock_wakes_sleeper<L: Lock<u64> + 'static>() -> Verdict {
    let lock = Arc::new(L::new(0));
    if let Some(skip) = released_lock_is_free(&*lock, "unlock-wakes-sleeper") {
        return skip;
    }
    for round in 1..=3 {
        step(format!(
            "round {round}: A holds; B sleeps in lock(); A drops its guard"
        ));
        let held = lock.lock();
        let other = lock.clone();
        let sleeper = spawn_blocked(move || {
            drop(other.lock());
        });
        drop(held);
        if join_within(sleeper, HANG).is_none() {
            return Verdict::fail(format!(
                "round {round}: thread B was asleep in lock() when A dropped its guard, and was \
                 still asleep {HANG:?} later, with the lock free"
            ));
        }
    }
    Verdict::Pass
}

/// `two-holders`: two threads asleep in `lock()` when the holder releases get in one at a time.
pub(super) fn one_holder_after_wakeup<L: Lock<u64> + 'static>() -> Verdict {
    let lock = Arc::new(L::new(0));
    if let Some(skip) = released_lock_is_free(&*lock, "one-holder-after-wakeup") {
        return skip;
    }
    step("A holds; B and C sleep in lock(); A drops its guard; count the holders");
    // SeqCst on both counters: they are the detector, read and written by the holders only; no data
    // travels through them, so the strongest ordering costs nothing that matters here.
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let held = lock.lock();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let (lock, inside, most) = (lock.clone(), inside.clone(), most.clone());
            spawn_blocked(move || {
                let guard = lock.lock();
                let now = inside.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                // Stay inside a while: a second holder, if the lock lets one in, arrives now.
                poll_until(OVERLAP_WINDOW, || {
                    most.fetch_max(inside.load(SeqCst), SeqCst);
                    inside.load(SeqCst) >= 2
                });
                inside.fetch_sub(1, SeqCst);
                drop(guard);
            })
        })
        .collect();
    drop(held);
    let mut all_returned = true;
    for w in waiters {
        all_returned &= join_within(w, HANG + OVERLAP_WINDOW * 2).is_some();
    }
    if most.load(SeqCst) >= 2 {
        return Verdict::fail(
            "B and C were asleep in lock() when A dropped its guard; both were then inside at \
             the same time (a woken waiter took the lock without checking it again)",
        );
    }
    if !all_returned {
        return Verdict::Skipped {
            why: "a waiter was not woken after the release (unlock-wakes-sleeper reports that)"
                .into(),
        };
    }
    Verdict::Pass
}

/// The stress check: 4 threads × 5 000 increments, mixing `lock` and `try_lock`, exact total, no
/// thread left behind.
pub(super) fn stress_counter<L: Lock<u64> + 'static>() -> Verdict {
    const THREADS: u64 = 4;
    const EACH: u64 = 5_000;
    step(format!(
        "{THREADS} threads x {EACH} increments (every third one through try_lock, retried)"
    ));
    let leaks = harness::leaks::no_leaks().grace(Duration::from_millis(500));
    let lock = Arc::new(L::new(0));
    // Relaxed: only counts try_lock refusals, for the evidence; no data travels through it.
    let refused = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (lock, refused) = (lock.clone(), refused.clone());
            thread::spawn(move || {
                for i in 0..EACH {
                    let mut guard = if i % 3 == 0 {
                        loop {
                            match lock.try_lock() {
                                Some(g) => break g,
                                None => {
                                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                    thread::yield_now();
                                }
                            }
                        }
                    } else {
                        lock.lock()
                    };
                    let v = *guard;
                    std::hint::black_box(v);
                    *guard = v + 1;
                }
            })
        })
        .collect();
    for w in workers {
        if join_within(w, Duration::from_secs(20)).is_none() {
            return Verdict::fail("a worker was still running after 20 s");
        }
    }
    let total = *lock.lock();
    if total != THREADS * EACH {
        return Verdict::fail(format!(
            "{THREADS} threads x {EACH} increments under the lock: the counter reads {total}, \
             not {}: updates were lost",
            THREADS * EACH
        ));
    }
    let report = leaks.leaks();
    if !report.is_clean() {
        return Verdict::fail(format!("threads left behind: {report}"));
    }
    Verdict::Pass
}
