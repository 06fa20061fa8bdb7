//! Loom models of the lock-free token bucket: however the CAS loops interleave, the threads together
//! never admit more than the quota allows (and, on a frozen clock, admit exactly the burst). The
//! load-then-store version over-admits, and loom finds the interleaving.
#![cfg(loom)]
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
    Quota::new(Duration::from_nanos(10), burst).expect("non-zero")
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
