//! The token bucket against x/time/rate's documented behaviour, as a table run on a virtual clock:
//! full at the start, continuous accrual capped at the burst, the fractional part carried over,
//! reservations taking tokens below zero and refunds.
use std::time::Duration;

use harness::clock::VirtualClock;
use ratelimit::{Quota, RateLimiter, Reserve, TokenBucket};

/// What a row does at its instant.
#[derive(Debug, Clone, Copy)]
enum Do {
    /// `AllowN(n)`: expect it to pass or not.
    Allow(u32, bool),
    /// `ReserveN(n)`: expect this delay; `true` cancels it at once.
    Reserve(u32, u64, bool),
    /// Expect `Tokens()` (× 1000, rounded).
    Tokens(i64),
}

/// One row: milliseconds since the start, the action.
struct Row(u64, Do);

#[test]
fn x_time_rate_behaviour_table() {
    use Do::*;
    // NewLimiter(10, 3): ten tokens a second, burst 3.
    let table = [
        Row(0, Tokens(3_000)),               // full at the start
        Row(0, Allow(3, true)),              // the burst at once
        Row(0, Allow(1, false)),             // empty
        Row(50, Tokens(500)),                // half a token accrued
        Row(50, Allow(1, false)),            // not a whole one
        Row(100, Allow(1, true)),            // one after 100 ms
        Row(250, Tokens(1_500)),             // 1.5 accrued since
        Row(250, Allow(1, true)),            // the fraction carries over:
        Row(300, Allow(1, true)),            // 0.5 + 0.5 = 1 at 300 ms
        Row(300, Allow(1, false)),           //
        Row(10_000, Tokens(3_000)),          // capped at the burst however long idle
        Row(10_000, Allow(3, true)),         //
        Row(10_000, Reserve(2, 200, false)), // two below zero: 200 ms away
        Row(10_000, Tokens(-2_000)),         //
        Row(10_000, Reserve(1, 300, true)),  // reserved and cancelled at once: refunded
        Row(10_000, Tokens(-2_000)),         //
        Row(10_100, Allow(1, false)),        // still −1
        Row(10_200, Tokens(0)),              //
        Row(10_300, Allow(1, true)),         //
        Row(10_300, Reserve(4, 0, false)),   // more than the burst: refused (InsufficientCapacity)
    ];
    let clock = VirtualClock::new();
    let bucket = TokenBucket::with_clock(
        Quota::per_second(10).unwrap().with_burst(3).unwrap(),
        clock.clone(),
    );
    let mut at = 0;
    for (i, Row(t, what)) in table.into_iter().enumerate() {
        clock.advance(Duration::from_millis(t - at));
        at = t;
        match what {
            Allow(n, pass) => assert_eq!(bucket.check_n(n).is_ok(), pass, "row {i}: {what:?}"),
            Reserve(n, delay, cancel) if n <= 3 => {
                let r = bucket.reserve_n(n).unwrap();
                assert_eq!(r.delay(), Duration::from_millis(delay), "row {i}: {what:?}");
                if cancel {
                    r.cancel();
                }
            }
            Reserve(n, ..) => assert!(bucket.reserve_n(n).is_err(), "row {i}"),
            Tokens(milli) => {
                assert_eq!((bucket.tokens() * 1000.0).round() as i64, milli, "row {i}")
            }
        }
    }
}
