//! Loom models of the multi-quota check (`make loom`: `RUSTFLAGS="--cfg loom"`).
//!
//! Two threads, two quotas of burst 1, a frozen clock: every interleaving of two multi-checks (in
//! opposite orders, so a naive lock order would deadlock), or of a multi-check and a single check.
//! What must hold: no quota admits more than its burst, and each quota's TAT moved by exactly the
//! permits admitted on it (a denial consumed nothing). The broken twin (`check_all_then_take_each`:
//! check every quota, then take from each) must fail the model: between its check and its takes the
//! other thread takes a permit, and its later part then denies after the earlier one was charged.
//!
//! Without loom this file is empty.
#![cfg(loom)]

use std::time::Duration;

use loom::sync::Arc;
use loom::thread;
use ratelimit::{MultiLimiter, Quota, QuotaCell};

/// Time stands still inside a model.
#[derive(Debug, Clone, Copy)]
struct Frozen;

impl ratelimit::Clock for Frozen {
    fn now(&self) -> Duration {
        Duration::from_secs(10)
    }
    fn sleep(&self, _d: Duration) {}
}

fn cell() -> QuotaCell {
    QuotaCell::new(Quota::per_second(1).unwrap()) // burst 1, T = 1 s
}

/// Permits `c` has handed out since the model began (the clock is frozen).
fn spent(l: &MultiLimiter<Frozen>, c: &QuotaCell) -> u32 {
    1 - l.snapshot(c).remaining
}

#[derive(Clone, Copy)]
enum Check {
    Real,
    Twin,
}

fn multi(l: &MultiLimiter<Frozen>, parts: &[(&QuotaCell, u32)], how: Check) -> bool {
    match how {
        Check::Real => l.check_all(parts).is_ok(),
        Check::Twin => l.check_all_then_take_each(parts).is_ok(),
    }
}

fn two_multi_checks(how: Check) {
    loom::model(move || {
        let l = Arc::new(MultiLimiter::with_clock(Frozen));
        let a = Arc::new(cell());
        let b = Arc::new(cell());
        let t = {
            let (l, a, b) = (l.clone(), a.clone(), b.clone());
            thread::spawn(move || multi(&l, &[(&b, 1), (&a, 1)], how))
        };
        let first = multi(&l, &[(&a, 1), (&b, 1)], how);
        let second = t.join().unwrap();
        let admitted = u32::from(first) + u32::from(second);
        // Each admission took one permit from each quota; a denial took none.
        assert_eq!(spent(&l, &a), admitted, "quota a: {first} {second}");
        assert_eq!(spent(&l, &b), admitted, "quota b: {first} {second}");
        assert_eq!(admitted, 1, "burst 1: exactly one of the two passes");
    });
}

fn multi_and_single(how: Check) {
    loom::model(move || {
        let l = Arc::new(MultiLimiter::with_clock(Frozen));
        let a = Arc::new(cell());
        let b = Arc::new(cell());
        let t = {
            let (l, b) = (l.clone(), b.clone());
            thread::spawn(move || l.check(&b, 1).is_ok())
        };
        let both = multi(&l, &[(&a, 1), (&b, 1)], how);
        let single = t.join().unwrap();
        assert_eq!(spent(&l, &a), u32::from(both), "a denial consumed quota a");
        assert_eq!(spent(&l, &b), u32::from(both) + u32::from(single));
        assert!(spent(&l, &b) <= 1, "quota b over-admitted");
        assert!(both != single, "one of them gets b's permit");
    });
}

#[test]
fn two_multi_checks_in_opposite_orders() {
    two_multi_checks(Check::Real);
}

#[test]
#[should_panic]
fn two_multi_checks_twin_check_then_take_is_caught() {
    two_multi_checks(Check::Twin);
}

#[test]
fn a_multi_check_against_a_single_check() {
    multi_and_single(Check::Real);
}

#[test]
#[should_panic]
fn a_multi_check_against_a_single_check_twin_is_caught() {
    multi_and_single(Check::Twin);
}
