//! The retry schedule: exponential, capped, jittered from a seeded RNG (same seed, same delays),
//! and exact on the virtual clock: the retrier is still asleep 1 ns before each scheduled delay and
//! awake at it.
#![cfg(not(loom))]
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use harness::clock::{SystemClock, VirtualClock};
use harness::leaks::within_no_leaks;
use phase2::pool::{Attempt, RetryPolicy};

const NS: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn without_jitter_the_schedule_is_exponential_and_capped() {
    let p = RetryPolicy::exponential(ms(10), 3.0, ms(500)).with_max_attempts(7);
    assert_eq!(
        p.schedule(),
        vec![ms(10), ms(30), ms(90), ms(270), ms(500), ms(500)]
    );
}

#[test]
fn jitter_is_seeded_bounded_and_only_shortens() {
    let p = RetryPolicy::exponential(ms(10), 2.0, ms(200))
        .with_max_attempts(12)
        .with_jitter(0.5, 7);
    let s = p.schedule();
    assert_eq!(s, p.clone().schedule(), "same seed, same delays");
    assert_ne!(
        s,
        p.clone().with_jitter(0.5, 8).schedule(),
        "another seed, other delays"
    );
    for (k, d) in s.iter().enumerate() {
        let ceiling = p.ceiling(k as u32);
        assert!(
            *d <= ceiling && *d <= ms(200),
            "retry {k}: {d:?} above {ceiling:?}"
        );
        assert!(
            *d >= ceiling / 2,
            "retry {k}: {d:?} below half of {ceiling:?}"
        );
    }
}

#[test]
fn the_schedule_is_exact_on_the_virtual_clock() {
    within_no_leaks(Duration::from_secs(30), || {
        let p = RetryPolicy::exponential(ms(50), 2.0, ms(300))
            .with_max_attempts(6)
            .with_jitter(0.3, 99);
        let clock = VirtualClock::new();
        let attempts = Arc::new(AtomicU32::new(0));
        let retrier = {
            let (clock, attempts, p) = (clock.clone(), attempts.clone(), p.clone());
            std::thread::spawn(move || {
                p.run(&*clock, |k| {
                    // Release: publishes the attempt to the test's Acquire loads.
                    attempts.fetch_add(1, Ordering::Release);
                    if k < 4 {
                        Err(Attempt::Retryable(k))
                    } else {
                        Ok(k)
                    }
                })
            })
        };
        let wait_for = |n: u32, limit: Duration| {
            let end = Instant::now() + limit;
            // Acquire: pairs with the Release above.
            while attempts.load(Ordering::Acquire) < n {
                if Instant::now() > end {
                    return false;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            true
        };
        assert!(wait_for(1, Duration::from_secs(5)));
        let schedule = p.schedule();
        let mut expected_times = vec![Duration::ZERO];
        for (k, d) in schedule.iter().take(4).enumerate() {
            assert!(
                clock.wait_for_sleepers(1, Duration::from_secs(5)),
                "retry {k}: not asleep"
            );
            clock.advance(*d - NS);
            assert!(
                !wait_for(k as u32 + 2, ms(10)),
                "retry {k}: woke 1 ns early"
            );
            clock.advance(NS);
            assert!(
                wait_for(k as u32 + 2, Duration::from_secs(5)),
                "retry {k}: did not wake at {d:?}"
            );
            expected_times.push(*expected_times.last().unwrap() + *d);
        }
        let report = retrier.join().expect("no panic");
        assert_eq!(report.result, Ok(4));
        assert_eq!(report.attempt_times, expected_times);
        assert_eq!(report.delays, schedule[..4].to_vec());
    });
}

#[test]
fn permanent_errors_stop_and_retryable_ones_run_out() {
    within_no_leaks(Duration::from_secs(30), || {
        let p = RetryPolicy::exponential(ms(1), 2.0, ms(4)).with_max_attempts(3);
        // A permanent error on the first attempt: no sleep, so the virtual clock is never waited on.
        let clock = VirtualClock::new();
        let r = p.run(&*clock, |_| Err::<(), _>(Attempt::Permanent("no")));
        assert_eq!(
            (r.result, r.attempt_times.len(), r.delays.len()),
            (Err("no"), 1, 0)
        );
        // Retryable, then permanent: stops at the permanent one (real clock, 1 ms delay).
        let sys = SystemClock::new();
        let calls = AtomicU32::new(0);
        let r = p.run(&sys, |k| {
            calls.fetch_add(1, Ordering::Relaxed); // Relaxed: same thread
            if k == 1 {
                Err::<(), _>(Attempt::Permanent("bad"))
            } else {
                Err(Attempt::Retryable("busy"))
            }
        });
        assert_eq!(
            (r.result, r.attempt_times.len(), calls.into_inner()),
            (Err("bad"), 2, 2)
        );
        // Always retryable: exactly max_attempts calls, max_attempts − 1 sleeps.
        let r = p.run(&sys, |_| Err::<(), _>(Attempt::Retryable("busy")));
        assert_eq!(
            (r.result, r.attempt_times.len(), r.delays.len()),
            (Err("busy"), 3, 2)
        );
    });
}
