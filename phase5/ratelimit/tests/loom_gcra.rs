//! Loom models of GCRA's quota change: a check racing `set_quota` is decided wholly under one quota.
#![cfg(loom)]
use std::time::Duration;

use loom::sync::Arc;
use loom::thread;
use ratelimit::{Clock, Gcra, Quota, RateLimiter};

/// Time stands still inside a model.
struct Frozen;

impl Clock for Frozen {
    fn now(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn sleep(&self, _: Duration) {}
}

fn quota(burst: u32) -> Quota {
    Quota::per_second(10).unwrap().with_burst(burst).unwrap()
}

/// Burst 2, full; one thread checks 2 while another lowers the burst to 1. Either the check comes
/// first (admitted; nothing held, so nothing after the change) or the change does (2 now exceed the
/// burst; the one permit held remains). A change that read `tat` and stored the conversion without
/// freezing it could overwrite the admission: admitted, and still one permit left.
#[test]
fn a_check_racing_a_quota_change_is_decided_under_one_quota() {
    loom::model(|| {
        let l = Arc::new(Gcra::with_clock(quota(2), Frozen));
        let checker = {
            let l = l.clone();
            thread::spawn(move || l.check_n(2).is_ok())
        };
        l.set_quota(quota(1));
        let admitted = checker.join().unwrap();
        let remaining = l.snapshot().remaining;
        assert_eq!(
            remaining,
            if admitted { 0 } else { 1 },
            "admitted: {admitted}"
        );
    });
}

/// A check reads the quota's interval and burst without a lock of their own, validated by `tat`.
/// Interval 100 ms, burst 4, three permits spent; one thread checks 1 while another changes the
/// quota to interval 50 ms, burst 8 (the one permit held carries over). Both quotas admit the check.
/// A check that read the new interval with the old burst (the setter stores one field, then the
/// other) would see a window of 200 ms with 350 ms of debt and deny it: a decision neither quota
/// makes. The check must see that the word changed under it, and decide again.
#[test]
fn a_check_never_decides_on_half_of_a_quota_change() {
    let q = |interval_ms: u64, burst: u32| {
        Quota::with_interval(Duration::from_millis(interval_ms))
            .unwrap()
            .with_burst(burst)
            .unwrap()
    };
    loom::model(move || {
        let l = Arc::new(Gcra::with_clock(q(100, 4), Frozen));
        l.check_n(3).unwrap();
        let checker = {
            let l = l.clone();
            thread::spawn(move || l.check())
        };
        l.set_quota(q(50, 8));
        let decision = checker.join().unwrap();
        assert_eq!(decision, Ok(()), "both quotas admit it");
        assert_eq!(l.snapshot().remaining, 0);
    });
}
