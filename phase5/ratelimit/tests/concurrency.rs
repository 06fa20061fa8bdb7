//! The concurrency limiter: permits held for a request's life, released on drop, never more than the
//! limit in flight whatever the interleaving.
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use harness::watchdog::within;
use ratelimit::{ConcurrencyLimiter, Denied};

#[test]
fn permits_are_released_on_drop() {
    let l = ConcurrencyLimiter::new(3);
    let two = l.acquire_n(2).unwrap();
    assert_eq!(two.permits(), 2);
    let one = l.acquire().unwrap();
    match l.acquire() {
        Err(Denied::Saturated(s)) => assert_eq!((s.in_use, s.limit), (3, 3)),
        other => panic!("{other:?}"),
    }
    drop(two);
    assert_eq!(l.in_use(), 1);
    assert!(l.acquire_n(2).is_ok());
    drop(one);
    assert_eq!(l.in_use(), 0);
    assert!(l.acquire_n(4).is_err());
}

#[test]
fn lowering_the_limit_takes_nothing_back() {
    let l = ConcurrencyLimiter::new(2);
    let a = l.acquire().unwrap();
    let _b = l.acquire().unwrap();
    l.set_limit(1);
    drop(a);
    assert!(l.acquire().is_err(), "one still held, limit 1");
}

#[test]
fn never_more_than_the_limit_in_flight() {
    let l = Arc::new(ConcurrencyLimiter::new(3));
    let inside = Arc::new(AtomicU32::new(0));
    let most = Arc::new(AtomicU32::new(0));
    within(Duration::from_secs(60), {
        let (l, inside, most) = (l.clone(), inside.clone(), most.clone());
        move || {
            std::thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        for _ in 0..20_000 {
                            if let Ok(_p) = l.acquire() {
                                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                std::hint::spin_loop();
                                inside.fetch_sub(1, Ordering::SeqCst);
                            }
                        }
                    });
                }
            });
        }
    });
    assert!(most.load(Ordering::SeqCst) <= 3, "{most:?} in flight");
    assert_eq!(l.in_use(), 0);
}
