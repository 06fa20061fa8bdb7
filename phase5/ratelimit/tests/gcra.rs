//! GCRA on a virtual clock: exact admissions, retry-after and snapshots.
use std::time::Duration;

use harness::clock::VirtualClock;
use ratelimit::{Denied, Gcra, Quota, RateLimiter, Snapshot};

fn limiter(
    per_second: u32,
    burst: u32,
) -> (
    std::sync::Arc<VirtualClock>,
    Gcra<std::sync::Arc<VirtualClock>>,
) {
    let clock = VirtualClock::new();
    let q = Quota::per_second(per_second)
        .unwrap()
        .with_burst(burst)
        .unwrap();
    (clock.clone(), Gcra::with_clock(q, clock))
}

#[test]
fn full_at_start_then_one_permit_per_interval() {
    let (clock, l) = limiter(10, 3);
    for _ in 0..3 {
        assert_eq!(l.check(), Ok(()));
    }
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Some(Duration::from_millis(100))
    );
    clock.advance(Duration::from_millis(99));
    assert_eq!(
        l.check().unwrap_err().retry_after(),
        Some(Duration::from_millis(1))
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(l.check(), Ok(()));
    assert!(l.check().is_err());
}

#[test]
fn check_n_is_all_or_nothing_and_above_burst_is_an_error() {
    let (clock, l) = limiter(10, 4);
    assert_eq!(l.check_n(3), Ok(()));
    // One left: a request for two consumes nothing and says when it would pass.
    assert_eq!(
        l.check_n(2).unwrap_err().retry_after(),
        Some(Duration::from_millis(100))
    );
    assert_eq!(l.check(), Ok(()));
    match l.check_n(5) {
        Err(Denied::InsufficientCapacity(c)) => assert_eq!((c.requested, c.burst), (5, 4)),
        other => panic!("{other:?}"),
    }
    clock.advance(Duration::from_millis(400));
    assert_eq!(l.check_n(4), Ok(()));
}

#[test]
fn idle_time_never_accrues_past_the_burst() {
    let (clock, l) = limiter(100, 5);
    clock.advance(Duration::from_secs(3600));
    for _ in 0..5 {
        assert_eq!(l.check(), Ok(()));
    }
    assert!(l.check().is_err());
}

#[test]
fn snapshot_reports_remaining_and_resets() {
    let (clock, l) = limiter(10, 3);
    let full = Snapshot {
        limit: 3,
        remaining: 3,
        retry_after: Duration::ZERO,
        reset_after: Duration::ZERO,
    };
    assert_eq!(l.snapshot(), full);
    l.check_n(3).unwrap();
    assert_eq!(
        l.snapshot(),
        Snapshot {
            limit: 3,
            remaining: 0,
            retry_after: Duration::from_millis(100),
            reset_after: Duration::from_millis(300)
        }
    );
    clock.advance(Duration::from_millis(150));
    assert_eq!(
        l.snapshot(),
        Snapshot {
            limit: 3,
            remaining: 1,
            retry_after: Duration::ZERO,
            reset_after: Duration::from_millis(150)
        }
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(l.snapshot(), full);
}
