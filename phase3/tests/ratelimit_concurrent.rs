//! Concurrent use: several threads hammering one limiter at a frozen virtual instant admit exactly
//! what one thread admits at that instant: the budget, no more (a lost update) and no less.
#![cfg(not(loom))]
use std::sync::{Arc, Barrier};
use std::time::Duration;

use harness::clock::VirtualClock;
use harness::watchdog::within;
use phase3::ratelimit::{
    LeakyBucket, MutexTokenBucket, Quota, RateLimiter, SlidingCounter, SlidingLog, TokenBucket,
};

type Make = fn(Quota, Arc<VirtualClock>) -> Arc<dyn RateLimiter>;

const MAKERS: [Make; 5] = [
    |q, c| Arc::new(TokenBucket::new(q, c)),
    |q, c| Arc::new(MutexTokenBucket::new(q, c)),
    |q, c| Arc::new(LeakyBucket::new(q, c)),
    |q, c| Arc::new(SlidingLog::new(q, c)),
    |q, c| Arc::new(SlidingCounter::new(q, c)),
];

const THREADS: usize = 4;
const PER_THREAD: usize = 2_000;

#[test]
fn several_threads_admit_exactly_the_budget() {
    within(Duration::from_secs(60), || {
        // 1 permit per 10 µs, bursts of 500 (window 5 ms): each step's budget is below the attempts.
        let q = Quota::with_interval(Duration::from_micros(10))
            .and_then(|q| q.with_burst(500))
            .expect("a valid quota");
        let steps_us: [u64; 7] = [0, 5, 1_230, 5_000, 7_500, 15_001, 400];
        for make in MAKERS {
            let (clock, twin_clock) = (VirtualClock::new(), VirtualClock::new());
            let (shared, twin) = (make(q, clock.clone()), make(q, twin_clock.clone()));
            for step in steps_us {
                clock.advance(Duration::from_micros(step));
                twin_clock.advance(Duration::from_micros(step));
                let start = Barrier::new(THREADS);
                let together: usize = std::thread::scope(|s| {
                    let hs: Vec<_> = (0..THREADS)
                        .map(|_| {
                            s.spawn(|| {
                                start.wait();
                                (0..PER_THREAD).filter(|_| shared.check()).count()
                            })
                        })
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap()).sum()
                });
                let alone = (0..THREADS * PER_THREAD).filter(|_| twin.check()).count();
                assert_eq!(
                    together,
                    alone,
                    "{}: {THREADS} threads admitted {together}, one thread {alone}, after +{step} µs",
                    shared.name()
                );
                assert!(alone < THREADS * PER_THREAD, "the budget must run out");
            }
        }
    });
}
