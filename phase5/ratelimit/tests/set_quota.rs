//! Changing a limiter's quota: what carries over (permits held, capped at the new burst; a negative
//! balance too), the new rate from the change on, and atomicity under concurrent checks.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use harness::clock::VirtualClock;
use harness::watchdog::within;
use ratelimit::{Gcra, Quota, QuotaError, RateLimiter, Reserve};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn gcra(q: Quota) -> (Arc<VirtualClock>, Arc<Gcra<Arc<VirtualClock>>>) {
    let clock = VirtualClock::new();
    (clock.clone(), Arc::new(Gcra::with_clock(q, clock)))
}

fn per_second(count: u32, burst: u32) -> Quota {
    Quota::per_second(count).unwrap().with_burst(burst).unwrap()
}

#[test]
fn permits_held_are_kept_and_accrue_at_the_new_rate() {
    let (clock, l) = gcra(per_second(10, 10));
    l.check_n(4).unwrap();
    l.set_quota(per_second(100, 20));
    assert_eq!(l.quota(), per_second(100, 20));
    assert_eq!(l.snapshot().remaining, 6);
    clock.advance(ms(10));
    assert_eq!(l.snapshot().remaining, 7);
    assert_eq!(l.snapshot().reset_after, ms(130));
}

#[test]
fn permits_held_are_capped_at_the_new_burst() {
    let (clock, l) = gcra(per_second(10, 10));
    l.check_n(4).unwrap();
    l.set_burst(3).unwrap();
    assert_eq!(l.snapshot().remaining, 3);
    assert_eq!(l.snapshot().reset_after, ms(0));
    l.check_n(3).unwrap();
    assert!(l.check().is_err());
    clock.advance(ms(100));
    assert_eq!(l.check(), Ok(()));
}

/// Changes that leave `tat` where it was (the same quota set twice at one clock reading) cost
/// nothing: the word still changes (its generation does), so no stale check can slip in, without
/// moving the time by a nanosecond and so a permit.
#[test]
fn repeated_changes_at_one_reading_keep_every_permit() {
    let (clock, l) = gcra(per_second(10, 4));
    clock.advance(ms(1_000));
    for _ in 0..9 {
        l.set_quota(per_second(10, 4));
        assert_eq!(l.snapshot().remaining, 4);
    }
    l.check_n(4).unwrap();
    assert!(l.check().is_err());
}

#[test]
fn a_partial_permit_converts_to_the_new_rate() {
    let (clock, l) = gcra(per_second(10, 10));
    l.check_n(10).unwrap();
    clock.advance(ms(50)); // half a permit accrued
    l.set_rate(1, Duration::from_secs(1)).unwrap();
    assert_eq!(l.check().unwrap_err().retry_after(), Some(ms(500)));
}

#[test]
fn a_negative_balance_is_kept() {
    let (_clock, l) = gcra(per_second(10, 2));
    l.check_n(2).unwrap();
    let r = l.reserve_n(2).unwrap(); // two permits owed: balance −2
    assert_eq!(r.ready_at(), ms(200));
    l.set_rate(20, Duration::from_secs(1)).unwrap();
    // Three permits at 50 ms each until one is free.
    assert_eq!(l.check().unwrap_err().retry_after(), Some(ms(150)));
}

#[test]
fn bad_changes_are_errors_and_change_nothing() {
    let (_clock, l) = gcra(per_second(10, 10));
    assert_eq!(l.set_burst(0), Err(QuotaError::ZeroBurst));
    assert_eq!(
        l.set_rate(0, Duration::from_secs(1)),
        Err(QuotaError::ZeroCount)
    );
    assert_eq!(l.quota(), per_second(10, 10));
}

/// Checks race quota changes (burst 10 ↔ 2, one permit per ms) while the clock moves in 1 ms steps.
/// Whatever the interleaving, every admission's slot ends at most `burst·T` after its clock reading,
/// so in all at most `elapsed / T + 10` permits pass. A change that overwrote `tat` without freezing
/// it would lose admissions made meanwhile and let more through.
#[test]
fn concurrent_changes_never_over_admit() {
    let q = |burst| {
        Quota::with_interval(ms(1))
            .unwrap()
            .with_burst(burst)
            .unwrap()
    };
    let (clock, l) = gcra(q(10));
    let stop = Arc::new(AtomicBool::new(false));
    let admitted = Arc::new(AtomicU64::new(0));
    let steps = 3_000;
    let elapsed = within(Duration::from_secs(60), {
        let (clock, l, stop, admitted) = (clock.clone(), l.clone(), stop.clone(), admitted.clone());
        move || {
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        while !stop.load(Ordering::Relaxed) {
                            if l.check().is_ok() {
                                admitted.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    });
                }
                s.spawn(|| {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        l.set_quota(q(if i.is_multiple_of(2) { 2 } else { 10 }));
                        i += 1;
                    }
                });
                for _ in 0..steps {
                    clock.advance(ms(1));
                    std::thread::yield_now();
                }
                stop.store(true, Ordering::Relaxed);
            });
            ratelimit::Clock::now(&clock)
        }
    });
    let bound = q(10).allowed(elapsed);
    let n = admitted.load(Ordering::Relaxed);
    assert!(n <= bound, "{n} admitted, at most {bound} allowed");
    assert!(n > 0);
}
