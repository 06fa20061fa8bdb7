//! Loom models of the keyed limiter's table (`make loom`: `RUSTFLAGS="--cfg loom"`).
//!
//! Every shard of [`Keyed`] is a table behind one lock (the shim's `Mutex`, loom's under
//! `--cfg loom`, so every lock and unlock is a scheduling point loom permutes). What can go wrong is a
//! decision made on a view of the table that another thread changed before the decision was written:
//! - two first checks of one key both finding it untracked, so both get a fresh full burst;
//! - two new keys both finding room under the cap ([`AtCap::DenyNewKeys`] must never exceed it);
//! - [`AtCap::EvictLeastDebt`] forgetting a key in debt while another key is full, or not the key
//!   with the least debt (the module docs' promise), when a check changes the debts meanwhile;
//! - a sweep forgetting a key whose TAT a racing check has just moved (the charge lost);
//! - a check deciding on a clock reading taken before it waited for the lock, after a sweep that
//!   read a later time forgot the key: the key restarts full at the older time, over-admitting.
//!
//! Two or three threads, one shard, keys of `u64`, a clock in a loom atomic (read at loom's
//! scheduling points, moved only where a model says so). Without loom this file is empty.
#![cfg(loom)]

use std::hash::RandomState;
use std::num::NonZeroUsize;
use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::thread;
use ratelimit::{AtCap, Bounds, Denied, Evictions, Keyed, KeyedRateLimiter, Quota};

/// A clock in a loom atomic: every read is a point where loom may run another thread first.
#[derive(Debug, Clone)]
struct LoomClock(Arc<AtomicU64>);

impl LoomClock {
    fn at(t: Duration) -> Self {
        LoomClock(Arc::new(AtomicU64::new(t.as_nanos() as u64)))
    }
    fn set(&self, t: Duration) {
        // SeqCst: the models order the clock against the table only through it and the locks.
        self.0.store(t.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl ratelimit::Clock for LoomClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
    fn sleep(&self, d: Duration) {
        self.0.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
}

type Table = Keyed<u64, LoomClock, RandomState>;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn table(quota: Quota, max_keys: usize, at_cap: AtCap, clock: &LoomClock) -> Arc<Table> {
    let bounds = Bounds {
        max_keys: NonZeroUsize::new(max_keys).unwrap(),
        at_cap,
        shards: NonZeroUsize::new(1).unwrap(),
    };
    Arc::new(Keyed::with_bounds(
        quota,
        bounds,
        clock.clone(),
        RandomState::new(),
    ))
}

fn admitted(r: Result<(), Denied>) -> bool {
    match r {
        Ok(()) => true,
        Err(Denied::NotUntil(_)) => false,
        Err(other) => panic!("unexpected denial {other:?}"),
    }
}

/// Burst 2. One thread asks for 1 permit, the other for 2, both on a key nobody has seen: whichever
/// comes first passes and the other is denied (1 + 2 > 2). Split the lookup from the insertion and
/// both find the key untracked, both start from a full burst, and the table holds it twice.
#[test]
fn two_first_checks_of_one_key_share_one_burst() {
    loom::model(|| {
        let clock = LoomClock::at(secs(10.0));
        let l = table(Quota::per_second(2).unwrap(), 8, AtCap::DenyNewKeys, &clock);
        let t = {
            let l = l.clone();
            thread::spawn(move || admitted(l.check_key_n(&7, 1)))
        };
        let two = admitted(l.check_key_n(&7, 2));
        let one = t.join().unwrap();
        let permits = u32::from(one) + 2 * u32::from(two);
        assert!(one != two, "exactly one passes: one {one}, two {two}");
        assert_eq!(l.len(), 1, "the key is tracked once");
        assert_eq!(
            l.snapshot_key(&7).remaining,
            2 - permits,
            "charged {permits}"
        );
    });
}

/// A cap of 1 key, every key in debt once admitted: of two new keys racing for the one slot, one
/// passes and the other meets `KeyCapacity`; never two keys tracked.
#[test]
fn deny_new_keys_never_exceeds_the_cap() {
    loom::model(|| {
        let clock = LoomClock::at(secs(10.0));
        let l = table(Quota::per_second(1).unwrap(), 1, AtCap::DenyNewKeys, &clock);
        let t = {
            let l = l.clone();
            thread::spawn(move || l.check_key(&1))
        };
        let second = l.check_key(&2);
        let first = t.join().unwrap();
        let passed = [&first, &second].iter().filter(|r| r.is_ok()).count();
        assert_eq!(passed, 1, "{first:?} {second:?}");
        for r in [&first, &second] {
            assert!(matches!(r, Ok(()) | Err(Denied::KeyCapacity(_))), "{r:?}");
        }
        assert_eq!(l.len(), 1, "the cap is 1 key");
    });
}

/// A cap of 2 keys, T = 1 s, burst 1, at t = 11 s: key 1 is full (TAT 11 s), key 2 is 0.5 s in debt
/// (TAT 11.5 s). A new key 3 races a check of key 1. In either order key 1 is charged (to 12 s) or
/// forgotten as full, never evicted in debt, and then the one key evicted is key 2: its 0.5 s is the
/// least debt (the others owe 1 s). Both checks pass; nothing else is forgiven.
#[test]
fn evict_least_debt_forgets_full_keys_first_then_the_least_debt() {
    loom::model(|| {
        let clock = LoomClock::at(secs(10.0));
        let l = table(
            Quota::per_second(1).unwrap(),
            2,
            AtCap::EvictLeastDebt,
            &clock,
        );
        l.check_key(&1).unwrap();
        clock.set(secs(10.5));
        l.check_key(&2).unwrap();
        clock.set(secs(11.0));
        let t = {
            let l = l.clone();
            thread::spawn(move || l.check_key(&3))
        };
        let old = l.check_key(&1);
        let new = t.join().unwrap();
        assert!(old.is_ok() && new.is_ok(), "{old:?} {new:?}");
        assert_eq!(
            l.evictions(),
            Evictions {
                in_debt: 1,
                debt_forgiven: secs(0.5),
            },
            "only key 2, with the least debt, is forgotten"
        );
        assert_eq!(l.len(), 2);
        assert_eq!(l.snapshot_key(&1).remaining, 0, "key 1's charge is kept");
        assert_eq!(l.snapshot_key(&3).remaining, 0, "key 3's charge is kept");
        assert_eq!(l.snapshot_key(&2).remaining, 1, "key 2 was forgotten");
    });
}

/// Key 1 is full (TAT 11 s at t = 11 s); a sweep races a check of it. The sweep may forget it before
/// the check (which then starts it afresh) or find it charged to 12 s and keep it: either way the
/// check's charge stands.
#[test]
fn a_sweep_racing_a_check_keeps_the_charge() {
    loom::model(|| {
        let clock = LoomClock::at(secs(10.0));
        let l = table(Quota::per_second(1).unwrap(), 4, AtCap::DenyNewKeys, &clock);
        l.check_key(&1).unwrap();
        clock.set(secs(11.0));
        let t = {
            let l = l.clone();
            thread::spawn(move || l.sweep())
        };
        let r = l.check_key(&1);
        t.join().unwrap();
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(l.snapshot_key(&1).remaining, 0, "the charge was lost");
        assert_eq!(l.len(), 1);
    });
}

/// T = 1 s, burst 2 (a window of 2 s). Key 1's TAT is 12 s at t = 11 s. One thread checks key 1;
/// another moves the clock to 12 s and sweeps. In every serial order the key ends at TAT 13 s (one
/// permit left at 12 s): checked at 11 s (12 → 13, kept by the sweep), or at 12 s before or after the
/// sweep forgot it. A check that read 11 s before waiting for the lock, and then took it after the
/// sweep at 12 s forgot the key, would restart it full at 11 s: TAT 12 s, two permits left at 12 s.
#[test]
fn a_check_decides_on_the_time_it_holds_the_lock() {
    loom::model(|| {
        let clock = LoomClock::at(secs(10.0));
        let quota = Quota::per_second(1).unwrap().with_burst(2).unwrap();
        let l = table(quota, 4, AtCap::DenyNewKeys, &clock);
        l.check_key_n(&1, 2).unwrap(); // TAT 12 s
        clock.set(secs(11.0));
        let t = {
            let (l, clock) = (l.clone(), clock.clone());
            thread::spawn(move || {
                clock.set(secs(12.0));
                l.sweep();
            })
        };
        let r = l.check_key(&1);
        t.join().unwrap();
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(l.snapshot_key(&1).remaining, 1, "the key restarted early");
    });
}
