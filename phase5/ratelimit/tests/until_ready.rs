//! Async waiting on tokio's paused clock: the wait is the reservation's delay (plus jitter within its
//! bound), a dropped wait gives its permits back, waiters are served one interval apart.
#![cfg(feature = "async")]
use std::sync::Arc;
use std::time::Duration;

use ratelimit::{Denied, Gcra, Jitter, Quota, RateLimiter, TokioClock, until_ready};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn limiter() -> Gcra<TokioClock> {
    Gcra::with_clock(
        Quota::per_second(10).unwrap().with_burst(1).unwrap(),
        TokioClock::new(),
    )
}

#[tokio::test(start_paused = true)]
async fn waits_exactly_until_ready() {
    let l = limiter();
    let start = Instant::now();
    until_ready(&l, 1, Jitter::default()).await.unwrap();
    assert_eq!(start.elapsed(), ms(0));
    until_ready(&l, 1, Jitter::default()).await.unwrap();
    assert_eq!(start.elapsed(), ms(100));
    assert!(l.check().is_err(), "the permit waited for is taken");
}

#[tokio::test(start_paused = true)]
async fn jitter_adds_at_most_its_bound() {
    let l = limiter();
    l.check().unwrap();
    for _ in 0..20 {
        let start = Instant::now();
        until_ready(&l, 1, Jitter::up_to(ms(30))).await.unwrap();
        let waited = start.elapsed();
        assert!(waited <= ms(130), "{waited:?}");
    }
    // 20 draws in [0, 30 ms]: not all zero (a jitter that never jitters fails here).
    let draws: Vec<_> = (0..20).map(|_| Jitter::up_to(ms(30)).sample()).collect();
    assert!(draws.iter().all(|d| *d <= ms(30)));
    assert!(draws.iter().any(|d| !d.is_zero()), "{draws:?}");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_wait_gives_its_permits_back() {
    let l = limiter();
    l.check().unwrap();
    let before = l.snapshot();
    let gave_up = tokio::time::timeout(ms(50), until_ready(&l, 1, Jitter::default())).await;
    assert!(gave_up.is_err(), "the wait should have timed out");
    // 50 ms on: the only permit taken is the first one, half accrued.
    assert_eq!(l.snapshot().reset_after, before.reset_after - ms(50));
    tokio::time::sleep(ms(50)).await;
    assert_eq!(l.check(), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn above_the_burst_fails_at_once() {
    let l = limiter();
    let start = Instant::now();
    assert!(matches!(
        until_ready(&l, 2, Jitter::default()).await,
        Err(Denied::InsufficientCapacity(_))
    ));
    assert_eq!(start.elapsed(), ms(0));
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_one_interval_apart() {
    let l = Arc::new(limiter());
    let start = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let l = l.clone();
            tokio::spawn(async move {
                until_ready(&*l, 1, Jitter::default()).await.unwrap();
                start.elapsed()
            })
        })
        .collect();
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap());
    }
    done.sort();
    assert_eq!(done, [ms(0), ms(100), ms(200), ms(300)]);
}
