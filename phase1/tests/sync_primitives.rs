//! Unit tests of the from-scratch primitives beyond the lock contract: WaitGroup, OnceCell, Condvar,
//! ObjectPool, ShardedMap. Every test that can block runs under a watchdog and a leak guard.
#![cfg(not(loom))]
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use harness::exercise::expect_panic;
use harness::leaks::within_no_leaks;
use harness::ledger::Counted;
use phase1::sync::{Condvar, Mutex, ObjectPool, OnceCell, Poisoned, ShardedMap, WaitGroup};
use proptest::prelude::*;

const DEADLINE: Duration = Duration::from_secs(30);

#[test]
fn waitgroup_waits_for_every_done() {
    within_no_leaks(DEADLINE, || {
        let wg = Arc::new(WaitGroup::new());
        let finished = Arc::new(AtomicUsize::new(0));
        wg.add(8);
        for i in 0..8 {
            let (wg, finished) = (wg.clone(), finished.clone());
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(i * 3));
                finished.fetch_add(1, SeqCst);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(finished.load(SeqCst), 8);
        assert_eq!(wg.outstanding(), 0);
    });
}

#[test]
fn waitgroup_tokens_cannot_go_negative_and_reuse_works() {
    within_no_leaks(DEADLINE, || {
        let wg = WaitGroup::new();
        thread::scope(|s| {
            for _ in 0..4 {
                let token = wg.enter();
                s.spawn(move || drop(token));
            }
            wg.wait();
        });
        assert_eq!(wg.outstanding(), 0);
        // Reuse after wait: a second round.
        let token = wg.enter();
        assert_eq!(wg.outstanding(), 1);
        drop(token);
        wg.wait();
    });
}

#[test]
fn waitgroup_negative_counter_panics_clearly() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let err = expect_panic(|| wg.done()).expect_err("a done without add must panic");
    assert!(err.contains("negative"), "message was: {err}");
    assert_eq!(wg.outstanding(), 0, "the counter stays at zero");
}

#[test]
fn oncecell_runs_the_initialiser_exactly_once_under_contention() {
    within_no_leaks(DEADLINE, || {
        for _ in 0..50 {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (cell, runs) = (cell.clone(), runs.clone());
                    thread::spawn(move || {
                        *cell.get_or_init(|| {
                            runs.fetch_add(1, SeqCst);
                            thread::sleep(Duration::from_micros(200)); // others must wait, asleep
                            String::from("value")
                        }) == "value"
                    })
                })
                .collect();
            assert!(handles.into_iter().all(|h| h.join().unwrap()));
            assert_eq!(runs.load(SeqCst), 1);
        }
    });
}

#[test]
fn oncecell_poisons_on_panic_and_wakes_waiters() {
    within_no_leaks(DEADLINE, || {
        let cell = Arc::new(OnceCell::<u32>::new());
        let started = Arc::new(AtomicUsize::new(0));
        let waiter = {
            let (cell, started) = (cell.clone(), started.clone());
            thread::spawn(move || {
                while started.load(SeqCst) == 0 {
                    thread::yield_now();
                }
                cell.try_get_or_init(|| 1).copied()
            })
        };
        let r = expect_panic(|| {
            cell.get_or_init(|| {
                started.store(1, SeqCst);
                thread::sleep(Duration::from_millis(20));
                panic!("initialiser failed")
            })
        });
        assert!(r.is_err());
        assert!(cell.is_poisoned());
        // The waiter either slept through the panic or arrived after: either way, it sees poison.
        assert_eq!(waiter.join().unwrap(), Err(Poisoned));
        assert_eq!(cell.try_get_or_init(|| 2), Err(Poisoned));
        let msg = expect_panic(|| *cell.get_or_init(|| 3)).unwrap_err();
        assert!(msg.contains("poisoned"), "message was: {msg}");
        assert_eq!(cell.get(), None);
    });
}

#[test]
fn oncecell_drops_its_value() {
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = OnceCell::new();
    cell.get_or_init(|| Counted(drops.clone()));
    drop(cell);
    assert_eq!(drops.load(SeqCst), 1);
    drop(OnceCell::<Counted>::new()); // never set: nothing to drop
    assert_eq!(drops.load(SeqCst), 1);
}

/// Producer/consumer through a queue guarded by our Mutex and two Condvars: every item arrives once,
/// nobody hangs (a lost wake-up would time out under the watchdog).
#[test]
fn condvar_loses_no_wakeup_under_producer_consumer_stress() {
    within_no_leaks(DEADLINE, || {
        const ITEMS: usize = if cfg!(miri) { 200 } else { 20_000 };
        const CAP: usize = 4;
        let state = Arc::new((
            Mutex::new(Vec::<usize>::new()),
            Condvar::new(),
            Condvar::new(),
        ));
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let state = state.clone();
                thread::spawn(move || {
                    let (lock, not_full, not_empty) = &*state;
                    for i in 0..ITEMS / 2 {
                        let mut q = not_full.wait_while(lock.lock(), |q| q.len() >= CAP);
                        q.push(p * ITEMS + i);
                        drop(q);
                        not_empty.notify_one();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let state = state.clone();
                thread::spawn(move || {
                    let (lock, not_full, not_empty) = &*state;
                    let mut got = Vec::new();
                    for _ in 0..ITEMS / 2 {
                        let mut q = not_empty.wait_while(lock.lock(), |q| q.is_empty());
                        got.push(q.pop().unwrap());
                        drop(q);
                        not_full.notify_one();
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<usize> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        let mut expected: Vec<usize> = (0..2)
            .flat_map(|p| (0..ITEMS / 2).map(move |i| p * ITEMS + i))
            .collect();
        expected.sort_unstable();
        assert_eq!(all, expected);
    });
}

#[test]
fn condvar_wait_timeout_times_out_and_notify_wakes() {
    within_no_leaks(DEADLINE, || {
        let lock = Mutex::new(0);
        let cond = Condvar::new();
        let (g, r) = cond.wait_timeout(lock.lock(), Duration::from_millis(20));
        assert!(r.timed_out());
        drop(g);
        let (g, r) = cond.wait_timeout_while(lock.lock(), Duration::from_millis(20), |v| *v == 0);
        assert!(r.timed_out());
        assert_eq!(*g, 0);
        drop(g);
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let setter = {
            let pair = pair.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(10));
                *pair.0.lock() = true;
                pair.1.notify_all();
            })
        };
        let t0 = Instant::now();
        let (g, r) = pair
            .1
            .wait_timeout_while(pair.0.lock(), Duration::from_secs(20), |ready| !*ready);
        assert!(
            *g && !r.timed_out(),
            "woken by the notify, not the timeout ({:?})",
            t0.elapsed()
        );
        drop(g);
        setter.join().unwrap();
    });
}

/// `Duration::MAX` is "no deadline" (as in std): no "overflow when adding duration to instant"
/// panic, and the wait ends by the notify 50 ms later, not by a timeout.
#[test]
fn condvar_wait_timeout_while_with_duration_max_waits_for_the_notify() {
    within_no_leaks(DEADLINE, || {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let setter = {
            let pair = pair.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                *pair.0.lock() = true;
                pair.1.notify_all();
            })
        };
        let (g, r) = pair
            .1
            .wait_timeout_while(pair.0.lock(), Duration::MAX, |ready| !*ready);
        assert!(*g && !r.timed_out(), "woken by the notify");
        drop(g);
        setter.join().unwrap();
    });
}

#[test]
fn object_pool_reuses_objects() {
    let pool = ObjectPool::new(8, || Vec::<u8>::with_capacity(1024), |v| v.clear());
    for i in 0..100u8 {
        let mut b = pool.get();
        assert!(b.is_empty(), "the reset hook ran");
        b.push(i);
    }
    let s = pool.stats();
    assert_eq!(
        s.misses, 1,
        "one thread, one object at a time: created once"
    );
    assert_eq!(s.local_hits, 99);
    // Three at once: the slot holds one, the overflow list takes the rest.
    {
        let (_a, _b, _c) = (pool.get(), pool.get(), pool.get());
    }
    let s2 = pool.stats();
    assert_eq!(s2.misses, 3, "two more had to be created");
    {
        let (_a, _b, _c) = (pool.get(), pool.get(), pool.get());
    }
    let s3 = pool.stats();
    assert_eq!(s3.misses, 3, "the second round reuses all three");
    assert_eq!(
        s3.local_hits - s2.local_hits + s3.shared_hits - s2.shared_hits,
        3
    );
    let kept = pool.get().detach();
    assert_eq!(kept.capacity(), 1024);
}

/// `get`s per thread in the shared-pool test (shrunk under Miri, which interprets every step).
const POOL_GETS: u64 = if cfg!(miri) { 100 } else { 10_000 };

#[test]
fn object_pool_is_shared_between_threads() {
    within_no_leaks(DEADLINE, || {
        let pool = Arc::new(ObjectPool::new(
            64,
            || vec![0u64; 16],
            |v| v.iter_mut().for_each(|x| *x = 0),
        ));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || {
                    for i in 0..POOL_GETS {
                        let mut b = pool.get();
                        assert!(b.iter().all(|x| *x == 0));
                        b[0] = i + 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let s = pool.stats();
        assert_eq!(s.local_hits + s.shared_hits + s.misses, 4 * POOL_GETS);
        assert!(s.misses <= 8, "each thread creates about one object: {s:?}");
    });
}

/// Inserts (and upserts) per thread; at least 100 so every counter key 0..100 exists.
const MAP_OPS: u64 = if cfg!(miri) { 100 } else { 5_000 };

#[test]
fn sharded_map_concurrent_writers_lose_nothing() {
    within_no_leaks(DEADLINE, || {
        let map = Arc::new(ShardedMap::<u64, u64>::with_shards(8));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let map = map.clone();
                thread::spawn(move || {
                    for i in 0..MAP_OPS {
                        map.insert(1_000 + t * 1_000_000 + i, i); // disjoint from the counters 0..100
                        map.upsert(i % 100, || 0, |v| *v += 1);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(map.len(), 4 * MAP_OPS as usize + 100);
        let total: u64 = (0..100).map(|k| map.get(&k).unwrap()).sum();
        assert_eq!(total, 4 * MAP_OPS, "every read-modify-write counted");
    });
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, u32),
    Remove(u8),
    Get(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u8>(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        any::<u8>().prop_map(Op::Remove),
        any::<u8>().prop_map(Op::Get),
    ]
}

proptest! {
    // Under Miri: a handful of cases (each one is interpreted), and no failure persistence file
    // (Miri's isolation forbids the file system).
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { ProptestConfig::default().cases },
        failure_persistence: if cfg!(miri) { None } else { ProptestConfig::default().failure_persistence },
        ..ProptestConfig::default()
    })]
    #[test]
    fn sharded_map_matches_a_hashmap(ops in proptest::collection::vec(op(), 0..300), shards in 1usize..9) {
        let map = ShardedMap::with_shards(shards);
        let mut oracle = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v) => prop_assert_eq!(map.insert(k, v), oracle.insert(k, v)),
                Op::Remove(k) => prop_assert_eq!(map.remove(&k), oracle.remove(&k)),
                Op::Get(k) => prop_assert_eq!(map.get(&k), oracle.get(&k).copied()),
            }
        }
        prop_assert_eq!(map.len(), oracle.len());
        for (k, v) in &oracle {
            prop_assert_eq!(map.get(k), Some(*v));
        }
    }
}

/// A guard shared between threads gives each of them `&T`: it may be `Sync` only when `T` is. The
/// check is at compile time: `is_sync::<G>()` is ambiguous (does not compile) exactly when `G: Sync`,
/// so the calls below compile only because these guards of a `Cell` are *not* `Sync`.
#[test]
fn guards_of_a_non_sync_value_are_not_sync() {
    use phase1::sync::{MutexGuard, ReadGuard, SpinGuard, WriteGuard};
    use std::cell::Cell;

    trait NotSync<Marker> {
        fn not_sync() -> bool {
            true
        }
    }
    impl<T: ?Sized> NotSync<()> for T {}
    struct IfSync;
    impl<T: ?Sized + Sync> NotSync<IfSync> for T {}

    assert!(<SpinGuard<'static, Cell<u32>> as NotSync<_>>::not_sync());
    assert!(<MutexGuard<'static, Cell<u32>> as NotSync<_>>::not_sync());
    assert!(<ReadGuard<'static, Cell<u32>> as NotSync<_>>::not_sync());
    assert!(<WriteGuard<'static, Cell<u32>> as NotSync<_>>::not_sync());
}
