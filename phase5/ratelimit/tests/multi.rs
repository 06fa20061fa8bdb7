//! Multi-quota checks on a virtual clock: all or nothing, exact retry-after, and no over-admission
//! with threads mixing multi-checks and single checks.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use harness::clock::VirtualClock;
use ratelimit::{Denied, MultiLimiter, NotUntil, Quota, QuotaCell};

fn q(per_second: u32, burst: u32) -> Quota {
    Quota::per_second(per_second)
        .unwrap()
        .with_burst(burst)
        .unwrap()
}

#[test]
fn a_denial_consumes_nothing_and_reports_the_longest_wait() {
    let clock = VirtualClock::new();
    let l = MultiLimiter::with_clock(clock.clone());
    let user = QuotaCell::new(q(10, 1)); // T = 100 ms
    let org = QuotaCell::new(q(4, 2)); // T = 250 ms
    let global = QuotaCell::new(q(1000, 100));
    let all = [(&user, 1), (&org, 1), (&global, 1)];
    assert_eq!(l.check_all(&all), Ok(()));
    let d = l.check_all(&all).unwrap_err();
    assert_eq!(d.part, 0);
    assert_eq!(
        d.denied,
        Denied::NotUntil(NotUntil::new(Duration::from_millis(100)))
    );
    assert_eq!(
        l.snapshot(&org).remaining,
        1,
        "the org quota kept its permit"
    );
    assert_eq!(l.snapshot(&global).remaining, 99);
    // The org spends its last permit elsewhere: now both deny, the org for longer.
    assert_eq!(l.check(&org, 1), Ok(()));
    clock.advance(Duration::from_millis(100));
    let d = l.check_all(&all).unwrap_err();
    assert_eq!(d.part, 1);
    assert_eq!(d.denied.retry_after(), Some(Duration::from_millis(150)));
    assert_eq!(
        l.snapshot(&user).remaining,
        1,
        "the user quota kept its permit"
    );
    clock.advance(Duration::from_millis(150));
    assert_eq!(l.check_all(&all), Ok(()));
}

#[test]
fn a_cell_listed_twice_is_charged_the_sum_and_bad_sizes_are_errors() {
    let l = MultiLimiter::with_clock(VirtualClock::new());
    let a = QuotaCell::new(q(10, 3));
    let b = QuotaCell::new(q(10, 3));
    assert_eq!(l.check_all(&[(&a, 2), (&b, 1), (&a, 1)]), Ok(()));
    assert_eq!(l.snapshot(&a).remaining, 0);
    assert_eq!(l.snapshot(&b).remaining, 2);
    let d = l.check_all(&[(&b, 2), (&b, 2)]).unwrap_err();
    assert!(matches!(d.denied, Denied::InsufficientCapacity(_)), "{d:?}");
    assert_eq!(l.snapshot(&b).remaining, 2);
    let d = l.check_all(&[(&b, 1), (&a, 4)]).unwrap_err();
    assert_eq!(d.part, 1);
    assert!(matches!(d.denied, Denied::InsufficientCapacity(_)));
    // More parts than the inline array: the Vec path.
    let cells: Vec<QuotaCell> = (0..12).map(|_| QuotaCell::new(q(10, 1))).collect();
    let parts: Vec<(&QuotaCell, u32)> = cells.iter().map(|c| (c, 1)).collect();
    assert_eq!(l.check_all(&parts), Ok(()));
    assert_eq!(l.check_all(&parts).unwrap_err().part, 0);
    assert!(cells.iter().all(|c| l.snapshot(c).remaining == 0));
}

/// Threads on a frozen clock: users share an org quota and a global one, in different orders, some
/// single checks mixed in. No quota admits more than its burst; a denial took nothing, so each
/// quota's admissions add up exactly to what it has spent.
#[test]
fn threads_never_over_admit_and_denials_take_nothing() {
    for round in 0..20 {
        let clock = VirtualClock::new();
        let l = Arc::new(MultiLimiter::with_clock(clock));
        let users: Arc<Vec<QuotaCell>> =
            Arc::new((0..4).map(|_| QuotaCell::new(q(1, 30))).collect());
        let org = Arc::new(QuotaCell::new(q(1, 50)));
        let global = Arc::new(QuotaCell::new(q(1, 70)));
        let spent: Arc<Vec<AtomicU64>> = Arc::new((0..6).map(|_| AtomicU64::new(0)).collect());
        let threads: Vec<_> = (0..4usize)
            .map(|t| {
                let (l, users, org, global, spent) = (
                    l.clone(),
                    users.clone(),
                    org.clone(),
                    global.clone(),
                    spent.clone(),
                );
                std::thread::spawn(move || {
                    for i in 0..200usize {
                        let user = &users[(t + i + round) % 4];
                        let ui = (t + i + round) % 4;
                        if i % 5 == 4 {
                            if l.check(&global, 1).is_ok() {
                                spent[5].fetch_add(1, Ordering::Relaxed);
                            }
                            continue;
                        }
                        let parts = if t % 2 == 0 {
                            [(user, 1), (&*org, 1), (&*global, 1)]
                        } else {
                            [(&*global, 1), (&*org, 1), (user, 1)]
                        };
                        if l.check_all(&parts).is_ok() {
                            spent[ui].fetch_add(1, Ordering::Relaxed);
                            spent[4].fetch_add(1, Ordering::Relaxed);
                            spent[5].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for h in threads {
            h.join().unwrap();
        }
        let got = |i: usize| spent[i].load(Ordering::Relaxed);
        // What each cell has left says what it spent (the clock never moved).
        for (i, u) in users.iter().enumerate() {
            assert_eq!(30 - l.snapshot(u).remaining, got(i) as u32, "user {i}");
        }
        assert_eq!(50 - l.snapshot(&org).remaining, got(4) as u32, "org");
        assert_eq!(70 - l.snapshot(&global).remaining, got(5) as u32, "global");
        assert!(got(4) <= 50 && got(5) <= 70);
        assert_eq!(
            got(4),
            50,
            "the org quota is the binding one and all of it was used"
        );
    }
}
