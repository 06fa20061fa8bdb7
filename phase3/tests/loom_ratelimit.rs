//! Loom models of the lock-free token bucket: however the CAS loops interleave, the threads together
//! never admit more than the quota allows (and, on a frozen clock, admit exactly the burst). The
//! load-then-store version over-admits, and loom finds the interleaving. A check preempted between
//! its clock read and its CAS over-admits by at most one (the bound `TokenBucket`'s docs state), and
//! loom finds the interleaving that reaches it.
#![cfg(loom)]
use std::cell::Cell;
use std::time::Duration;

use harness::clock::Clock;
use phase1::shim::sync::Arc;
use phase1::shim::sync::atomic::{AtomicU64, Ordering};
use phase1::shim::thread;
use phase3::ratelimit::{NaiveTokenBucket, Quota, RateLimiter, TokenBucket};

/// A clock that never moves: the whole run happens at one instant.
struct Frozen;

impl Clock for Frozen {
    fn now(&self) -> Duration {
        Duration::ZERO
    }
    fn sleep(&self, _: Duration) {
        unreachable!("nothing sleeps in these models")
    }
}

/// A clock moved by a thread of the model: its reads are loom atomics, so they interleave too.
#[derive(Default)]
struct Stepped {
    /// Nanoseconds since the origin.
    now: AtomicU64,
}

impl Clock for Stepped {
    fn now(&self) -> Duration {
        // Relaxed: only the value matters; no data hangs on the clock.
        Duration::from_nanos(self.now.load(Ordering::Relaxed))
    }
    fn sleep(&self, _: Duration) {
        unreachable!("nothing sleeps in these models")
    }
}

fn quota(burst: u32) -> Quota {
    Quota::with_interval(Duration::from_nanos(10))
        .and_then(|q| q.with_burst(burst))
        .expect("a valid quota")
}

/// Three threads take from a bucket of 2 at one instant: exactly 2 admissions, whatever the order.
#[test]
fn concurrent_checks_admit_exactly_the_burst() {
    loom::model(|| {
        let bucket = Arc::new(TokenBucket::new(quota(2), Frozen));
        let others: Vec<_> = (0..2)
            .map(|_| {
                let bucket = bucket.clone();
                thread::spawn(move || bucket.check())
            })
            .collect();
        let mut admitted = usize::from(bucket.check());
        for t in others {
            admitted += usize::from(t.join().unwrap());
        }
        assert_eq!(admitted, 2);
    });
}

/// One thread advances the clock by one interval while two others check a bucket of 1: never more
/// than `floor(10 ns / 10 ns) + 1 = 2` admitted, whichever time each thread saw.
#[test]
fn checks_racing_a_moving_clock_never_over_admit() {
    loom::model(|| {
        let clock = std::sync::Arc::new(Stepped::default());
        let bucket = Arc::new(TokenBucket::new(quota(1), clock.clone()));
        let checkers: Vec<_> = (0..2)
            .map(|_| {
                let bucket = bucket.clone();
                thread::spawn(move || bucket.check())
            })
            .collect();
        clock.now.store(10, Ordering::Relaxed);
        let mut admitted = usize::from(bucket.check());
        for t in checkers {
            admitted += usize::from(t.join().unwrap());
        }
        assert!(admitted <= 2, "{admitted} admitted");
        assert!(admitted >= 1, "the first check finds a full bucket");
    });
}

/// The load-then-store bucket: two threads both load "full", both admit, one token spent twice.
#[test]
#[should_panic(expected = "over-admitted")]
fn wrong_load_then_store_over_admits() {
    loom::model(|| {
        let bucket = Arc::new(NaiveTokenBucket::new(quota(1), Frozen));
        let other = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.check())
        };
        let admitted = usize::from(bucket.check()) + usize::from(other.join().unwrap());
        assert!(
            admitted <= 1,
            "over-admitted: {admitted} permits from a bucket of 1"
        );
    });
}

/// The instant the window of the stale-check models opens: long after every token taken before it
/// has been refilled (the bucket is full again by then, whatever happened earlier).
const LATE: u64 = 1_000;

loom::thread_local! {
    /// What `now()` returns on this model thread: [`LATE`] unless the thread sets an older reading.
    static READING: Cell<u64> = Cell::new(LATE);
}

/// A clock each model thread reads on its own: a thread that sets an older [`READING`] models a check
/// that read the real clock at that instant, was preempted, and runs its CAS loop only now.
struct PerThreadReading;

impl Clock for PerThreadReading {
    fn now(&self) -> Duration {
        Duration::from_nanos(READING.with(Cell::get))
    }
    fn sleep(&self, _: Duration) {
        unreachable!("nothing sleeps in these models")
    }
}

/// Every CAS of the model happens at the one instant [`LATE`] (the window `[LATE, LATE]`, whose quota
/// is `burst`): one thread per entry of `stale` read the clock at that older instant before the window
/// opened; the main thread makes `fresh` checks reading `LATE`. Returns what was admitted.
fn admitted_in_the_window(burst: u32, stale: &[u64], fresh: usize) -> usize {
    let bucket = Arc::new(TokenBucket::new(quota(burst), PerThreadReading));
    let late: Vec<_> = stale
        .iter()
        .map(|&reading| {
            let bucket = bucket.clone();
            thread::spawn(move || {
                READING.with(|r| r.set(reading));
                bucket.check()
            })
        })
        .collect();
    let mut admitted = (0..fresh).filter(|_| bucket.check()).count();
    for t in late {
        admitted += usize::from(t.join().unwrap());
    }
    admitted
}

/// The stated bound (`TokenBucket` docs): at most one extra admission per check that read the clock
/// before the window and completed inside it. Two such checks (readings 0 and 50 ns; interval 10 ns,
/// burst 1) and two fresh ones: never more than `1 + 2`, whatever the order of the CASes.
const STALE: [u64; 2] = [0, 50];

#[test]
fn stale_checks_over_admit_at_most_one_each() {
    loom::model(|| {
        let admitted = admitted_in_the_window(1, &STALE, 2);
        let bound = 1 + STALE.len();
        assert!(
            admitted <= bound,
            "over the stated bound: {admitted} admitted in one instant, burst 1 + {} stale",
            STALE.len()
        );
        assert!(admitted >= 1, "a full bucket admits the first fresh check");
    });
}

/// The bound is exact: stated one smaller, loom finds the interleaving that breaks it (the stale
/// check read at 0 takes the token first, the one read at 50 finds the bucket full again at its
/// reading, and the fresh check finds it full at `LATE`: 3 admissions at one instant).
#[test]
#[should_panic(expected = "over the bound stated one too small")]
fn stale_checks_bound_stated_one_too_small_fails() {
    loom::model(|| {
        let admitted = admitted_in_the_window(1, &STALE, 2);
        let too_small = STALE.len(); // 1 + STALE.len() − 1
        assert!(
            admitted <= too_small,
            "over the bound stated one too small: {admitted} admitted, {too_small} stated"
        );
    });
}

/// One preempted check: over-admits by exactly one, no more (loom finds the one, the bound holds).
#[test]
fn one_stale_check_over_admits_by_at_most_one() {
    let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = most.clone();
    loom::model(move || {
        let admitted = admitted_in_the_window(1, &[0], 2);
        assert!(
            admitted <= 2,
            "over the stated bound: {admitted} admitted, burst 1 + 1 stale"
        );
        seen.fetch_max(admitted, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(
        most.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "some interleaving reaches the bound"
    );
}
