//! Property tests of every rate limiter on a virtual clock: no algorithm ever admits more than
//! `rate × elapsed + burst` in any interval, and each admits exactly what its definition says
//! (checked against a reference model written from the definition, in a different representation).
//! governor (GCRA on its fake clock) runs the same traces: it must agree with our token bucket.
#![cfg(not(loom))]
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use harness::clock::VirtualClock;
use phase3::ratelimit::{
    LeakyBucket, MutexTokenBucket, NaiveTokenBucket, Quota, RateLimiter, SlidingCounter,
    SlidingLog, TokenBucket,
};
use proptest::prelude::*;

/// A trace: (advance the clock by ns, attempts at that instant).
type Trace = Vec<(u64, u32)>;

fn quota_and_trace() -> impl Strategy<Value = (Quota, Trace)> {
    (1u64..=1_000, 1u32..=6).prop_flat_map(|(interval, burst)| {
        let quota = Quota::with_interval(Duration::from_nanos(interval))
            .and_then(|q| q.with_burst(burst))
            .expect("a valid quota");
        // Gaps up to three windows, often zero (several attempts at one instant).
        let gap = prop_oneof![Just(0u64), 0..=3 * interval * u64::from(burst)];
        (
            Just(quota),
            proptest::collection::vec((gap, 1u32..=4), 1..60),
        )
    })
}

/// Replays `trace` on `limiter`, whose clock is `clock`: the decision of every attempt, with its time.
fn replay(limiter: &dyn RateLimiter, clock: &VirtualClock, trace: &Trace) -> Vec<(u64, bool)> {
    let mut out = Vec::new();
    let mut now = 0;
    for &(gap, attempts) in trace {
        clock.advance(Duration::from_nanos(gap));
        now += gap;
        for _ in 0..attempts {
            out.push((now, limiter.check()));
        }
    }
    out
}

fn admitted(decisions: &[(u64, bool)]) -> Vec<u64> {
    decisions.iter().filter(|d| d.1).map(|d| d.0).collect()
}

fn decisions(d: &[(u64, bool)]) -> Vec<bool> {
    d.iter().map(|d| d.1).collect()
}

/// Every closed interval between two admissions holds at most `floor(e / interval) + burst`.
fn assert_bound(name: &str, admitted: &[u64], q: Quota) -> Result<(), TestCaseError> {
    for i in 0..admitted.len() {
        for j in i..admitted.len() {
            let allowed = (admitted[j] - admitted[i]) / q.interval_ns() + u64::from(q.burst());
            prop_assert!(
                (j - i + 1) as u64 <= allowed,
                "{name}: {} admitted in [{}, {}] ns, allowed {allowed}",
                j - i + 1,
                admitted[i],
                admitted[j]
            );
        }
    }
    Ok(())
}

/// The textbook token bucket, as the definition states it: `burst` tokens, one more per interval.
/// Tokens are kept in ns of refill time, so the model is exact.
fn token_model(q: Quota, times: impl Iterator<Item = u64>) -> Vec<bool> {
    let (cap, cost) = (q.window_ns(), q.interval_ns());
    let (mut credit, mut last) = (cap, 0);
    times
        .map(|t| {
            credit = (credit + (t - last)).min(cap);
            last = t;
            let ok = credit >= cost;
            if ok {
                credit -= cost;
            }
            ok
        })
        .collect()
}

/// The sliding log's definition: admit at `t` iff fewer than `burst` admissions lie in `(t − W, t]`.
fn log_model(q: Quota, times: impl Iterator<Item = u64>) -> Vec<bool> {
    let mut admitted: Vec<u64> = Vec::new();
    times
        .map(|t| {
            let inside = admitted.iter().filter(|&&s| s + q.window_ns() > t).count();
            let ok = inside < q.burst() as usize;
            if ok {
                admitted.push(t);
            }
            ok
        })
        .collect()
}

/// The sliding counter's definition: with `prev`, `cur` the admissions in the previous and current
/// fixed windows and `x` the offset into the current one, admit iff `prev·(W − x)/W + cur + 1 ≤ L`
/// (compared multiplied through by W, in exact integers).
fn counter_model(q: Quota, times: impl Iterator<Item = u64>) -> Vec<bool> {
    let w = q.window_ns();
    let mut admitted: Vec<u64> = Vec::new();
    times
        .map(|t| {
            let index = t / w;
            let prev = admitted
                .iter()
                .filter(|&&s| index >= 1 && s / w == index - 1)
                .count() as u128;
            let cur = admitted.iter().filter(|&&s| s / w == index).count() as u128;
            let x = u128::from(t - index * w);
            let ok = prev * (u128::from(w) - x) + (cur + 1) * u128::from(w)
                <= u128::from(q.burst()) * u128::from(w);
            if ok {
                admitted.push(t);
            }
            ok
        })
        .collect()
}

type Make = fn(Quota, Arc<VirtualClock>) -> Box<dyn RateLimiter>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_limiter_stays_within_rate_times_elapsed_plus_burst((q, trace) in quota_and_trace()) {
        let makers: [(&str, Make); 5] = [
            ("token bucket", |q, c| Box::new(TokenBucket::new(q, c))),
            ("mutex token bucket", |q, c| Box::new(MutexTokenBucket::new(q, c))),
            ("leaky bucket", |q, c| Box::new(LeakyBucket::new(q, c))),
            ("sliding log", |q, c| Box::new(SlidingLog::new(q, c))),
            ("sliding counter", |q, c| Box::new(SlidingCounter::new(q, c))),
        ];
        for (name, make) in makers {
            let clock = VirtualClock::new();
            let limiter = make(q, clock.clone());
            let d = replay(limiter.as_ref(), &clock, &trace);
            assert_bound(name, &admitted(&d), q)?;
        }
    }

    #[test]
    fn token_buckets_and_the_leaky_meter_refill_as_defined((q, trace) in quota_and_trace()) {
        let makers: [Make; 3] = [
            |q, c| Box::new(TokenBucket::new(q, c)),
            |q, c| Box::new(MutexTokenBucket::new(q, c)),
            |q, c| Box::new(LeakyBucket::new(q, c)),
        ];
        for make in makers {
            let clock = VirtualClock::new();
            let limiter = make(q, clock.clone());
            let d = replay(limiter.as_ref(), &clock, &trace);
            let model = token_model(q, d.iter().map(|d| d.0));
            prop_assert_eq!(decisions(&d), model, "{}", limiter.name());
        }
    }

    /// The naive bucket's only fault is the race between its load and its store (loom_ratelimit
    /// shows it); on one thread it must decide exactly as the definition says, or its over-admission
    /// under threads would not be the race's alone.
    #[test]
    fn the_naive_token_bucket_on_one_thread_refills_as_defined((q, trace) in quota_and_trace()) {
        let clock = VirtualClock::new();
        let naive = NaiveTokenBucket::new(q, clock.clone());
        let d = replay(&naive, &clock, &trace);
        prop_assert_eq!(decisions(&d), token_model(q, d.iter().map(|d| d.0)));
    }

    #[test]
    fn governor_agrees_with_our_token_bucket((q, trace) in quota_and_trace()) {
        let fake = governor::clock::FakeRelativeClock::default();
        let gq = governor::Quota::with_period(q.interval())
            .expect("non-zero")
            .allow_burst(NonZeroU32::new(q.burst()).expect("non-zero"));
        let gov = governor::RateLimiter::direct_with_clock(gq, fake.clone());
        let clock = VirtualClock::new();
        let ours = TokenBucket::new(q, clock.clone());
        for &(gap, attempts) in &trace {
            fake.advance(Duration::from_nanos(gap));
            clock.advance(Duration::from_nanos(gap));
            for _ in 0..attempts {
                prop_assert_eq!(gov.check().is_ok(), ours.check());
            }
        }
    }

    #[test]
    fn the_sliding_log_is_exact((q, trace) in quota_and_trace()) {
        let clock = VirtualClock::new();
        let log = SlidingLog::new(q, clock.clone());
        let d = replay(&log, &clock, &trace);
        prop_assert_eq!(decisions(&d), log_model(q, d.iter().map(|d| d.0)));
        let a = admitted(&d);
        for (j, &t) in a.iter().enumerate() {
            let inside = a[..=j].iter().filter(|&&s| s + q.window_ns() > t).count();
            prop_assert!(inside <= q.burst() as usize);
        }
    }

    #[test]
    fn the_sliding_counter_blends_as_defined_within_its_error_bound((q, trace) in quota_and_trace()) {
        let clock = VirtualClock::new();
        let counter = SlidingCounter::new(q, clock.clone());
        let d = replay(&counter, &clock, &trace);
        prop_assert_eq!(decisions(&d), counter_model(q, d.iter().map(|d| d.0)));
        let (a, w, l) = (admitted(&d), q.window_ns(), q.burst() as usize);
        for (j, &t) in a.iter().enumerate() {
            // The documented bound: at most 2L − 1 in any window (t − W, t] …
            let inside = a[..=j].iter().filter(|&&s| s + w > t).count();
            prop_assert!(inside < 2 * l, "{} in one window, L = {}", inside, l);
            // … and at most L in any fixed window.
            let fixed = a.iter().filter(|&&s| s / w == t / w).count();
            prop_assert!(fixed <= l);
        }
    }
}

#[test]
fn the_counter_can_exceed_l_in_a_sliding_window_the_log_cannot() {
    // The error the counter's bound allows is real: L just before a boundary, then the blend lets
    // more through in the next window while those L are still inside one window length.
    let q = Quota::with_interval(Duration::from_millis(100))
        .and_then(|q| q.with_burst(10))
        .expect("a valid quota");
    let trace: Trace = std::iter::once((900_000_000, 10))
        .chain((0..200).map(|_| (10_000_000, 1)))
        .collect();
    let most = |limiter: &dyn RateLimiter, clock: &VirtualClock| {
        let a = admitted(&replay(limiter, clock, &trace));
        (0..a.len())
            .map(|j| {
                a[..=j]
                    .iter()
                    .filter(|&&s| s + q.window_ns() > a[j])
                    .count()
            })
            .max()
            .unwrap()
    };
    let clock = VirtualClock::new();
    let counter = most(&SlidingCounter::new(q, clock.clone()), &clock);
    let clock = VirtualClock::new();
    let log = most(&SlidingLog::new(q, clock.clone()), &clock);
    assert!(counter > 10 && counter < 20, "counter: {counter}");
    assert_eq!(log, 10);
}
