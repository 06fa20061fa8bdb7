//! The quota's promise as a property: for any random arrival trace on a virtual clock, no closed
//! window of length `e` holds more than `floor(e / T) + burst` admitted permits. Reservations count at
//! their ready time unless cancelled; a settle below the estimate counts what was really used.
use std::sync::Arc;
use std::time::Duration;

use harness::clock::VirtualClock;
use proptest::prelude::*;
use ratelimit::{
    FixedWindow, Gcra, LeakyBucket, LeakyQueue, Quota, RateLimiter, Reservation, Reserve,
    SlidingCounter, SlidingLog, TokenBucket,
};

/// One step of a trace.
#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Check(u32),
    Reserve(u32),
    Cancel(usize),
    Settle(usize, u32),
    Keep(usize),
}

fn op(burst: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..250).prop_map(Op::Advance),
        3 => (1..=burst).prop_map(Op::Check),
        2 => (1..=burst).prop_map(Op::Reserve),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => (any::<usize>(), 0..burst).prop_map(|(i, m)| Op::Settle(i, m)),
        1 => any::<usize>().prop_map(Op::Keep),
    ]
}

/// The worst window: `(t1, t2, permits)` over the admissions `(time ns, permits)` if any exceeds the
/// bound.
fn violation(
    mut acts: Vec<(u64, u64)>,
    allowed: impl Fn(Duration) -> u64,
) -> Option<(u64, u64, u64)> {
    acts.sort_unstable();
    for i in 0..acts.len() {
        let mut sum = 0;
        for j in i..acts.len() {
            sum += acts[j].1;
            let e = Duration::from_nanos(acts[j].0 - acts[i].0);
            if sum > allowed(e) {
                return Some((acts[i].0, acts[j].0, sum));
            }
        }
    }
    None
}

/// Replays `ops` on a reserving limiter; the admissions, as `(time ns, permits)`.
fn run_reserving<L: Reserve>(
    build: impl FnOnce(Quota, Arc<VirtualClock>) -> L,
    q: Quota,
    ops: &[Op],
) -> Vec<(u64, u64)> {
    let clock = VirtualClock::new();
    let l = build(q, clock.clone());
    let ns = |d: Duration| d.as_nanos() as u64;
    let mut acts = Vec::new();
    let mut held: Vec<Reservation<'_>> = Vec::new();
    for op in ops {
        match *op {
            Op::Advance(ms) => clock.advance(Duration::from_millis(ms)),
            Op::Check(n) if l.check_n(n).is_ok() => {
                acts.push((ns(clock.now_virtual()), u64::from(n)));
            }
            Op::Reserve(n) => held.extend(l.reserve_n(n).ok()),
            Op::Cancel(i) if !held.is_empty() => held.swap_remove(i % held.len()).cancel(),
            Op::Settle(i, m) if !held.is_empty() => {
                let r = held.swap_remove(i % held.len());
                let m = m.min(r.permits());
                acts.push((ns(r.ready_at()), u64::from(m)));
                r.settle(m);
            }
            Op::Keep(i) if !held.is_empty() => {
                let r = held.swap_remove(i % held.len());
                acts.push((ns(r.ready_at()), u64::from(r.permits())));
            }
            _ => {}
        }
    }
    acts.extend(
        held.iter()
            .map(|r| (ns(r.ready_at()), u64::from(r.permits()))),
    );
    acts
}

/// Replays `ops` on any limiter, reservations ignored; the admissions.
fn run_checking<L: RateLimiter>(
    build: impl FnOnce(Quota, Arc<VirtualClock>) -> L,
    q: Quota,
    ops: &[Op],
) -> Vec<(u64, u64)> {
    let clock = VirtualClock::new();
    let l = build(q, clock.clone());
    let mut acts = Vec::new();
    for op in ops {
        match *op {
            Op::Advance(ms) => clock.advance(Duration::from_millis(ms)),
            Op::Check(n) | Op::Reserve(n) if l.check_n(n).is_ok() => {
                acts.push((clock.now_virtual().as_nanos() as u64, u64::from(n)));
            }
            _ => {}
        }
    }
    acts
}

/// A test-side reading of the virtual clock.
trait NowVirtual {
    fn now_virtual(&self) -> Duration;
}
impl NowVirtual for Arc<VirtualClock> {
    fn now_virtual(&self) -> Duration {
        ratelimit::Clock::now(&**self)
    }
}

fn trace() -> impl Strategy<Value = (u32, Vec<Op>)> {
    (1u32..5).prop_flat_map(|b| (Just(b), prop::collection::vec(op(b), 1..80)))
}

fn quota(burst: u32) -> Quota {
    Quota::with_interval(Duration::from_millis(100))
        .unwrap()
        .with_burst(burst)
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn gcra_never_exceeds_the_quota((burst, ops) in trace()) {
        let q = quota(burst);
        prop_assert_eq!(violation(run_reserving(Gcra::with_clock, q, &ops), |e| q.allowed(e)), None);
    }

    #[test]
    fn token_bucket_never_exceeds_the_quota((burst, ops) in trace()) {
        let q = quota(burst);
        prop_assert_eq!(violation(run_reserving(TokenBucket::with_clock, q, &ops), |e| q.allowed(e)), None);
    }

    #[test]
    fn leaky_meter_never_exceeds_the_quota((burst, ops) in trace()) {
        let q = quota(burst);
        prop_assert_eq!(violation(run_reserving(LeakyBucket::with_clock, q, &ops), |e| q.allowed(e)), None);
    }

    #[test]
    fn leaky_queue_never_exceeds_the_quota((burst, ops) in trace()) {
        let q = quota(burst);
        prop_assert_eq!(violation(run_reserving(LeakyQueue::with_clock, q, &ops), |e| q.allowed(e)), None);
    }

    #[test]
    fn sliding_log_never_exceeds_the_quota((burst, ops) in trace()) {
        let q = quota(burst);
        prop_assert_eq!(violation(run_checking(SlidingLog::with_clock, q, &ops), |e| q.allowed(e)), None);
    }

    #[test]
    fn sliding_counter_never_exceeds_the_quota((burst, ops) in trace()) {
        let q = quota(burst);
        prop_assert_eq!(violation(run_checking(SlidingCounter::with_clock, q, &ops), |e| q.allowed(e)), None);
    }

    /// The fixed window's own bound: `burst·(floor(e / W) + 2)` (two budgets across a boundary).
    #[test]
    fn fixed_window_never_exceeds_its_bound((burst, ops) in trace()) {
        let q = quota(burst);
        let w = q.window_ns();
        let bound = |e: Duration| u64::from(burst) * (e.as_nanos() as u64 / w + 2);
        prop_assert_eq!(violation(run_checking(FixedWindow::with_clock, q, &ops), bound), None);
    }
}
