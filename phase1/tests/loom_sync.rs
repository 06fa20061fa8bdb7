//! Loom models of the sync toolbox: every interleaving (up to `LOOM_MAX_PREEMPTIONS`) of small
//! scenarios, with the futex emulated by a loom Mutex + Condvar (see `phase1::sync::futex`).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p phase1 --test loom_sync`.
//! A lost wake-up shows up as loom's "deadlock" failure; a missing happens-before as a causality
//! violation on an `UnsafeCell`. `broken_relaxed_spin_lock_is_caught` is expected to fail: it shows the
//! models can.
#![cfg(loom)]

use phase1::shim::UnsafeCell;
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use phase1::shim::{model, thread};
use phase1::sync::{Condvar, Mutex, OnceCell, RwLock, WaitGroup};

/// A counter with no synchronisation of its own: loom flags any two unordered accesses.
struct Cell(UnsafeCell<usize>);
// SAFETY: only accessed under the lock being modelled; loom checks exactly that.
unsafe impl Sync for Cell {}
impl Cell {
    fn bump(&self) {
        // SAFETY: callers hold the lock under test; loom reports a race if they do not exclude.
        self.0.with_mut(|p| unsafe { *p += 1 });
    }
    fn get(&self) -> usize {
        // SAFETY: as above.
        self.0.with(|p| unsafe { *p })
    }
}

#[test]
fn mutex_excludes_and_wakes_waiters() {
    model(|| {
        let lock = Arc::new(Mutex::new(()));
        let cell = Arc::new(Cell(UnsafeCell::new(0)));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (lock, cell) = (lock.clone(), cell.clone());
                thread::spawn(move || {
                    let _g = lock.lock();
                    cell.bump();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let _g = lock.lock();
        assert_eq!(cell.get(), 2);
    });
}

/// Three contenders, so that two can be asleep at once: the path where a woken sleeper re-locks as
/// "contended" while a newcomer takes the lock as "locked" (0 → 1) and another sleeper still waits.
/// Kept to one preemption: three threads with two explode loom's state space on 2 cores.
#[test]
fn mutex_three_contenders_all_get_in() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(1);
    builder.check(|| {
        let lock = Arc::new(Mutex::new(()));
        let cell = Arc::new(Cell(UnsafeCell::new(0)));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (lock, cell) = (lock.clone(), cell.clone());
                thread::spawn(move || {
                    let _g = lock.lock();
                    cell.bump();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(cell.get(), 3);
    });
}

/// Two waiters and two `notify_one`s: each notify must reach a waiter (the waiter count that lets a
/// notify skip its system call must never skip a sleeper).
#[test]
fn condvar_two_waiters_two_notifies() {
    model(|| {
        let state = Arc::new((Mutex::new(0usize), Condvar::new()));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let state = state.clone();
                thread::spawn(move || {
                    let (lock, cond) = &*state;
                    let mut tickets = cond.wait_while(lock.lock(), |t| *t == 0);
                    *tickets -= 1;
                })
            })
            .collect();
        let (lock, cond) = &*state;
        for _ in 0..2 {
            *lock.lock() += 1;
            cond.notify_one();
        }
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(*lock.lock(), 0);
    });
}

#[test]
fn condvar_loses_no_wakeup() {
    model(|| {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let notifier = {
            let pair = pair.clone();
            thread::spawn(move || {
                *pair.0.lock() = true;
                pair.1.notify_one();
            })
        };
        let (lock, cond) = &*pair;
        let guard = cond.wait_while(lock.lock(), |ready| !*ready);
        assert!(*guard);
        drop(guard);
        notifier.join().unwrap();
    });
}

#[test]
fn rwlock_readers_exclude_the_writer() {
    model(|| {
        let lock = Arc::new(RwLock::new(()));
        let cell = Arc::new(Cell(UnsafeCell::new(0)));
        let writer = {
            let (lock, cell) = (lock.clone(), cell.clone());
            thread::spawn(move || {
                let _w = lock.write();
                cell.bump();
            })
        };
        let reader = {
            let (lock, cell) = (lock.clone(), cell.clone());
            thread::spawn(move || {
                let _r = lock.read();
                let v = cell.get();
                assert!(v == 0 || v == 1);
            })
        };
        {
            let _r = lock.read();
            let v = cell.get();
            assert!(v == 0 || v == 1);
        }
        writer.join().unwrap();
        reader.join().unwrap();
        assert_eq!(cell.get(), 1);
    });
}

#[test]
fn oncecell_runs_once_and_waiters_see_the_value() {
    model(|| {
        let cell = Arc::new(OnceCell::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let other = {
            let (cell, runs) = (cell.clone(), runs.clone());
            thread::spawn(move || {
                **cell.get_or_init(|| {
                    runs.fetch_add(1, Ordering::Relaxed);
                    Box::new(7)
                })
            })
        };
        let mine = **cell.get_or_init(|| {
            runs.fetch_add(1, Ordering::Relaxed);
            Box::new(7)
        });
        assert_eq!(mine, 7);
        assert_eq!(other.join().unwrap(), 7);
        assert_eq!(runs.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn waitgroup_wait_returns_after_all_done() {
    model(|| {
        let wg = Arc::new(WaitGroup::new());
        let cells = Arc::new([Cell(UnsafeCell::new(0)), Cell(UnsafeCell::new(0))]);
        wg.add(2);
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (wg, cells) = (wg.clone(), cells.clone());
                thread::spawn(move || {
                    cells[i].bump();
                    wg.done();
                })
            })
            .collect();
        wg.wait();
        // Reading the workers' cells before joining them: loom reports a race if `wait` returned early.
        assert_eq!(cells[0].get() + cells[1].get(), 2);
        for h in handles {
            h.join().unwrap();
        }
    });
}

/// A spin lock whose lock and unlock are Relaxed: it still excludes (the swap is atomic), but the
/// holder's writes are not published to the next holder.
struct RelaxedSpinLock(AtomicBool);
impl RelaxedSpinLock {
    fn lock(&self) {
        while self.0.swap(true, Ordering::Relaxed) {
            thread::yield_now();
        }
    }
    fn unlock(&self) {
        self.0.store(false, Ordering::Relaxed); // BUG: must be Release (and the swap Acquire)
    }
}

#[test]
#[should_panic(expected = "Causality violation")]
fn broken_relaxed_spin_lock_is_caught() {
    model(|| {
        let lock = Arc::new(RelaxedSpinLock(AtomicBool::new(false)));
        let cell = Arc::new(Cell(UnsafeCell::new(0)));
        let other = {
            let (lock, cell) = (lock.clone(), cell.clone());
            thread::spawn(move || {
                lock.lock();
                cell.bump();
                lock.unlock();
            })
        };
        lock.lock();
        cell.bump();
        lock.unlock();
        other.join().unwrap();
    });
}

#[test]
fn rwlock_two_writers_and_a_reader_all_get_in() {
    model(|| {
        let lock = Arc::new(RwLock::new(()));
        let cell = Arc::new(Cell(UnsafeCell::new(0)));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (lock, cell) = (lock.clone(), cell.clone());
                thread::spawn(move || {
                    let _w = lock.write();
                    cell.bump();
                })
            })
            .collect();
        {
            let _r = lock.read();
            assert!(cell.get() <= 2);
        }
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(cell.get(), 2);
    });
}
