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
