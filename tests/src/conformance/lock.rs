//! The lock conformance suite, written once against [`Lock`] and [`RwLockContract`] and run against
//! ours, `std`'s and `parking_lot`'s (`phase1/tests/lock_conformance.rs`).
//!
//! Every check runs under [`watchdog::within`](crate::watchdog::within): a lock that deadlocks fails
//! the test with a message instead of hanging it. Nothing here asserts a time.
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use crate::contracts::lock::{Lock, RwLockContract};
use crate::wait::poll_until;
use crate::watchdog::within;

/// How long any single check may take before it counts as a deadlock.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// N threads × M increments of a plain (non-atomic) counter, each a read, a pause and a write so a
/// lock that lets two holders in loses updates: the total must be exact. A detector counts holders:
/// it must never see two at once.
pub fn mutual_exclusion<L: Lock<u64> + 'static>(threads: usize, per_thread: u64) {
    within(DEADLINE, move || {
        let lock = Arc::new(L::new(0));
        let inside = Arc::new(AtomicUsize::new(0));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (lock, inside, overlaps) = (lock.clone(), inside.clone(), overlaps.clone());
                thread::spawn(move || {
                    for i in 0..per_thread {
                        let mut g = lock.lock();
                        if inside.fetch_add(1, SeqCst) != 0 {
                            overlaps.fetch_add(1, SeqCst);
                        }
                        let v = *g;
                        if i % 64 == 0 {
                            thread::yield_now(); // invite a broken lock's second holder in
                        }
                        *g = black_box(v) + 1;
                        inside.fetch_sub(1, SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("worker panicked");
        }
        assert_eq!(
            overlaps.load(SeqCst),
            0,
            "{}: two holders were inside at once",
            L::NAME
        );
        assert_eq!(
            *lock.lock(),
            threads as u64 * per_thread,
            "{}: lost updates",
            L::NAME
        );
    });
}

/// `try_lock` fails while another thread holds the lock, and succeeds once it is released.
pub fn try_lock_fails_while_held<L: Lock<u64> + 'static>() {
    within(DEADLINE, || {
        let lock = Arc::new(L::new(0));
        let held = Arc::new(AtomicBool::new(false));
        let release = Arc::new(AtomicBool::new(false));
        let holder = {
            let (lock, held, release) = (lock.clone(), held.clone(), release.clone());
            thread::spawn(move || {
                let _g = lock.lock();
                held.store(true, SeqCst);
                while !release.load(SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                }
            })
        };
        while !held.load(SeqCst) {
            thread::yield_now();
        }
        assert!(
            lock.try_lock().is_none(),
            "{}: try_lock succeeded while held",
            L::NAME
        );
        release.store(true, SeqCst);
        holder.join().expect("holder panicked");
        assert!(
            lock.try_lock().is_some(),
            "{}: try_lock failed on a free lock",
            L::NAME
        );
    });
}

/// Dropping the guard releases the lock: lock, drop, lock again on the same thread and on another.
pub fn guard_drop_releases<L: Lock<u64> + 'static>() {
    within(DEADLINE, || {
        let lock = Arc::new(L::new(1));
        {
            let mut g = lock.lock();
            *g += 1;
        }
        assert_eq!(*lock.lock(), 2);
        let other = {
            let lock = lock.clone();
            thread::spawn(move || *lock.lock() += 1)
        };
        other.join().expect("other panicked");
        assert_eq!(*lock.lock(), 3, "{}", L::NAME);
    });
}

/// Several threads take the lock in bursts and hold it for varying times, for a while: no deadlock,
/// no lost wake-up (a sleeper never woken would hang this under the watchdog), exact total.
pub fn no_deadlock_under_churn<L: Lock<u64> + 'static>(threads: usize, duration: Duration) {
    within(DEADLINE, move || {
        let lock = Arc::new(L::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let end = Instant::now() + duration;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (lock, done) = (lock.clone(), done.clone());
                thread::spawn(move || {
                    let mut n = 0u64;
                    while Instant::now() < end {
                        let mut g = lock.lock();
                        *g += 1;
                        n += 1;
                        if (n + t as u64).is_multiple_of(97) {
                            thread::sleep(Duration::from_micros(50)); // a long hold: waiters must sleep
                        }
                        drop(g);
                        if n.is_multiple_of(13) {
                            thread::yield_now();
                        }
                    }
                    done.fetch_add(n as usize, SeqCst);
                })
            })
            .collect();
        for h in handles {
            h.join().expect("worker panicked");
        }
        assert_eq!(
            *lock.lock(),
            done.load(SeqCst) as u64,
            "{}: lost updates under churn",
            L::NAME
        );
    });
}

/// Two readers are observed inside at the same time (each waits, bounded, for the other).
pub fn readers_are_concurrent<L: RwLockContract<u64> + 'static>() {
    within(DEADLINE, || {
        let lock = Arc::new(L::new(5));
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (lock, inside) = (lock.clone(), inside.clone());
                thread::spawn(move || {
                    let g = lock.read();
                    inside.fetch_add(1, SeqCst);
                    let both = poll_until(Duration::from_secs(10), || inside.load(SeqCst) >= 2);
                    assert_eq!(*g, 5);
                    both
                })
            })
            .collect();
        let both: Vec<bool> = handles
            .into_iter()
            .map(|h| h.join().expect("reader panicked"))
            .collect();
        assert!(
            both.iter().all(|b| *b),
            "{}: two readers were never inside together",
            L::NAME
        );
    });
}

/// Writers are exclusive against readers and writers: a detector sees no reader or writer while a
/// writer is inside; the writers' increments are exact; readers only see whole values.
pub fn writers_are_exclusive<L: RwLockContract<(u64, u64)> + 'static>(per_thread: u64) {
    within(DEADLINE, move || {
        let lock = Arc::new(L::new((0, 0)));
        let readers = Arc::new(AtomicUsize::new(0));
        let writers = Arc::new(AtomicUsize::new(0));
        let violations = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for w in 0..4 {
            let (lock, readers, writers, violations) = (
                lock.clone(),
                readers.clone(),
                writers.clone(),
                violations.clone(),
            );
            handles.push(thread::spawn(move || {
                for i in 0..per_thread {
                    if w % 2 == 0 {
                        let mut g = lock.write();
                        if writers.fetch_add(1, SeqCst) != 0 || readers.load(SeqCst) != 0 {
                            violations.fetch_add(1, SeqCst);
                        }
                        let a = g.0;
                        if i % 64 == 0 {
                            thread::yield_now();
                        }
                        *g = (black_box(a) + 1, a + 1); // both halves move together
                        writers.fetch_sub(1, SeqCst);
                    } else {
                        let g = lock.read();
                        readers.fetch_add(1, SeqCst);
                        if writers.load(SeqCst) != 0 || g.0 != g.1 {
                            violations.fetch_add(1, SeqCst);
                        }
                        readers.fetch_sub(1, SeqCst);
                    }
                }
            }));
        }
        for h in handles {
            h.join().expect("worker panicked");
        }
        assert_eq!(
            violations.load(SeqCst),
            0,
            "{}: a writer overlapped another holder",
            L::NAME
        );
        assert_eq!(lock.read().0, 2 * per_thread, "{}: lost writes", L::NAME);
    });
}

/// `try_write` fails while a reader holds the lock; `try_read` and `try_write` fail while a writer does.
pub fn try_variants_respect_holders<L: RwLockContract<u64> + 'static>() {
    within(DEADLINE, || {
        let lock = L::new(0);
        {
            let _r = lock.read();
            assert!(
                lock.try_write().is_none(),
                "{}: try_write succeeded under a reader",
                L::NAME
            );
        }
        {
            let _w = lock.write();
            assert!(
                lock.try_read().is_none(),
                "{}: try_read succeeded under a writer",
                L::NAME
            );
            assert!(
                lock.try_write().is_none(),
                "{}: try_write succeeded under a writer",
                L::NAME
            );
        }
        assert!(
            lock.try_write().is_some(),
            "{}: try_write failed on a free lock",
            L::NAME
        );
        assert!(
            lock.try_read().is_some(),
            "{}: try_read failed on a free lock",
            L::NAME
        );
    });
}

/// A writer waiting behind a reader gets in once the reader leaves (no writer starvation while
/// the reader holds on; no deadlock).
pub fn waiting_writer_gets_in<L: RwLockContract<u64> + 'static>() {
    within(DEADLINE, || {
        let lock = Arc::new(L::new(0));
        let r = lock.read();
        let writer = {
            let lock = lock.clone();
            thread::spawn(move || *lock.write() += 1)
        };
        thread::sleep(Duration::from_millis(20)); // let the writer block (either way, correct)
        drop(r);
        writer.join().expect("writer panicked");
        assert_eq!(*lock.read(), 1, "{}", L::NAME);
    });
}
