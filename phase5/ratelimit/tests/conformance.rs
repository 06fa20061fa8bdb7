//! One property, one generic function; each instantiated for every algorithm on a virtual clock. The
//! algorithms differ on purpose (a shaping queue has no burst; window algorithms cannot reserve), so a
//! property runs on the algorithms it states something about, and says so.
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use harness::clock::VirtualClock;
use proptest::prelude::*;
use ratelimit::{
    Denied, FixedWindow, Gcra, LeakyBucket, LeakyQueue, Quota, RateLimiter, Reserve,
    SlidingCounter, SlidingLog, TokenBucket,
};

type Clock = Arc<VirtualClock>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// 10 permits a second (T = 100 ms), burst 4.
fn quota() -> Quota {
    Quota::per_second(10).unwrap().with_burst(4).unwrap()
}

/// Builds one algorithm on a fresh virtual clock.
trait Algo {
    type L: RateLimiter;
    fn build(q: Quota, clock: Clock) -> Self::L;
}

macro_rules! algo {
    ($name:ident, $ty:ident) => {
        struct $name;
        impl Algo for $name {
            type L = $ty<Clock>;
            fn build(q: Quota, clock: Clock) -> $ty<Clock> {
                $ty::with_clock(q, clock)
            }
        }
    };
}
algo!(GcraA, Gcra);
algo!(TokenA, TokenBucket);
algo!(MeterA, LeakyBucket);
algo!(QueueA, LeakyQueue);
algo!(LogA, SlidingLog);
algo!(CounterA, SlidingCounter);
algo!(FixedA, FixedWindow);

fn new<A: Algo>() -> (Clock, A::L) {
    // Start a little way into the clock, so window algorithms are not aligned with time 0 by luck.
    let clock = VirtualClock::new();
    clock.advance(ms(1_234));
    (clock.clone(), A::build(quota(), clock))
}

/// The burst passes at once; the next request is denied with a positive retry-after.
fn burst_at_start<A: Algo>() {
    let (_c, l) = new::<A>();
    for i in 0..4 {
        assert_eq!(l.check(), Ok(()), "{}: request {i}", l.name());
    }
    let d = l.check().unwrap_err();
    assert!(d.retry_after().unwrap() > Duration::ZERO, "{}", l.name());
}

/// More than the burst is never admissible, and says so.
fn above_burst_is_an_error<A: Algo>() {
    let (_c, l) = new::<A>();
    assert!(
        matches!(l.check_n(5), Err(Denied::InsufficientCapacity(c)) if c.requested == 5 && c.burst == 4),
        "{}",
        l.name()
    );
    assert_eq!(l.snapshot().remaining, l.snapshot().limit, "{}", l.name());
}

/// A denial consumes nothing: the snapshot is the same before and after.
fn denial_consumes_nothing<A: Algo>() {
    let (_c, l) = new::<A>();
    while l.check().is_ok() {}
    let before = l.snapshot();
    assert!(l.check_n(2).is_err());
    assert!(l.check().is_err());
    assert_eq!(l.snapshot(), before, "{}", l.name());
}

/// After a denial, waiting exactly its retry-after makes the same request pass (nobody else took
/// anything), and waiting less does not.
fn retry_after_is_exact<A: Algo>() {
    let (c, l) = new::<A>();
    for n in [1, 2, 3, 1, 4, 2] {
        let Err(d) = l.check_n(n) else { continue };
        let wait = d.retry_after().unwrap();
        c.advance(wait - Duration::from_nanos(1));
        assert!(
            l.check_n(n).is_err(),
            "{}: passed before retry-after",
            l.name()
        );
        c.advance(Duration::from_nanos(1));
        assert_eq!(
            l.check_n(n),
            Ok(()),
            "{}: retry-after {wait:?} for {n}",
            l.name()
        );
    }
}

/// Idle time never accrues past the burst.
fn idle_accrues_at_most_the_burst<A: Algo>() {
    let (c, l) = new::<A>();
    c.advance(Duration::from_secs(3_600));
    assert_eq!(l.check_n(4), Ok(()), "{}", l.name());
    assert!(l.check().is_err(), "{}", l.name());
}

/// The snapshot's `remaining` is how many single checks pass now.
fn snapshot_counts_what_passes<A: Algo>() {
    let (c, l) = new::<A>();
    for step in [0, 30, 170, 40, 400, 90] {
        c.advance(ms(step));
        let s = l.snapshot();
        let mut passed = 0;
        while l.check().is_ok() {
            passed += 1;
        }
        assert_eq!(s.remaining, passed, "{} after +{step} ms", l.name());
    }
}

/// Lowering the burst of a full limiter caps what passes at the new burst.
fn lowering_the_burst_caps<A: Algo>() {
    let (_c, l) = new::<A>();
    l.set_burst(2).unwrap();
    assert_eq!(l.quota().burst(), 2);
    assert_eq!(l.check_n(2), Ok(()), "{}", l.name());
    assert!(l.check().is_err(), "{}", l.name());
}

/// A reservation past the burst is ready exactly when the next permit accrues; cancelling it restores
/// the state (it was the last one taken).
fn reservation_ready_time_and_cancel<A: Algo>()
where
    A::L: Reserve,
{
    let (c, l) = new::<A>();
    while l.check().is_ok() {}
    let before = l.snapshot();
    let now = ratelimit::Clock::now(&*c);
    let r = l.reserve().unwrap();
    assert_eq!(r.ready_at() - now, before.retry_after, "{}", l.name());
    r.cancel();
    assert_eq!(l.snapshot(), before, "{}", l.name());
}

/// Reservations cancelled in reverse order (the last first) give everything back.
fn reverse_cancels_restore_everything<A: Algo>()
where
    A::L: Reserve,
{
    let (c, l) = new::<A>();
    l.check().unwrap();
    c.advance(ms(30));
    let before = l.snapshot();
    // Sizes the shaping queue (4 places, one taken) can hold too.
    let a = l.reserve_n(2).unwrap();
    let b = l.reserve_n(1).unwrap();
    b.cancel();
    a.cancel();
    assert_eq!(l.snapshot(), before, "{}", l.name());
}

macro_rules! for_algos {
    ($prop:ident: $($algo:ident),+) => {
        mod $prop {
            #[allow(non_snake_case)]
            mod each {
                $(#[test] fn $algo() { super::super::$prop::<super::super::$algo>() })+
            }
        }
    };
}

// The queue has no burst (it spaces every request), so the burst properties leave it out.
for_algos!(burst_at_start: GcraA, TokenA, MeterA, LogA, CounterA, FixedA);
for_algos!(above_burst_is_an_error: GcraA, TokenA, MeterA, QueueA, LogA, CounterA, FixedA);
for_algos!(denial_consumes_nothing: GcraA, TokenA, MeterA, QueueA, LogA, CounterA, FixedA);
for_algos!(retry_after_is_exact: GcraA, TokenA, MeterA, QueueA, LogA, CounterA, FixedA);
for_algos!(idle_accrues_at_most_the_burst: GcraA, TokenA, MeterA, LogA, CounterA, FixedA);
// The queue again: one request of up to `burst` leaves an empty queue, but a second waits.
for_algos!(snapshot_counts_what_passes: GcraA, TokenA, MeterA, LogA, CounterA, FixedA);
for_algos!(lowering_the_burst_caps: GcraA, TokenA, MeterA, LogA, CounterA, FixedA);
for_algos!(reservation_ready_time_and_cancel: GcraA, TokenA, MeterA, QueueA);
for_algos!(reverse_cancels_restore_everything: GcraA, TokenA, MeterA, QueueA);

/// governor runs GCRA too: on any trace of advances and checks, GCRA, the token bucket and the leaky
/// meter decide every request as governor does.
fn same_as_governor<A: Algo>(burst: u32, trace: &[(u64, u32)]) -> Result<(), TestCaseError> {
    let q = Quota::with_interval(ms(100))
        .unwrap()
        .with_burst(burst)
        .unwrap();
    let clock = VirtualClock::new();
    let ours = A::build(q, clock.clone());
    let gclock = governor::clock::FakeRelativeClock::default();
    let gq = governor::Quota::with_period(ms(100))
        .unwrap()
        .allow_burst(NonZeroU32::new(burst).unwrap());
    let theirs = governor::RateLimiter::direct_with_clock(gq, gclock.clone());
    for (i, &(advance_us, n)) in trace.iter().enumerate() {
        clock.advance(Duration::from_micros(advance_us));
        gclock.advance(Duration::from_micros(advance_us));
        let n = n.min(burst);
        let want = matches!(theirs.check_n(NonZeroU32::new(n).unwrap()), Ok(Ok(())));
        prop_assert_eq!(ours.check_n(n).is_ok(), want, "{} step {}", ours.name(), i);
    }
    Ok(())
}

proptest! {
    #[test]
    fn gcra_decides_as_governor(burst in 1u32..6, trace in prop::collection::vec((0u64..250_000, 1u32..6), 1..100)) {
        same_as_governor::<GcraA>(burst, &trace)?;
    }

    #[test]
    fn token_bucket_decides_as_governor(burst in 1u32..6, trace in prop::collection::vec((0u64..250_000, 1u32..6), 1..100)) {
        same_as_governor::<TokenA>(burst, &trace)?;
    }

    #[test]
    fn leaky_meter_decides_as_governor(burst in 1u32..6, trace in prop::collection::vec((0u64..250_000, 1u32..6), 1..100)) {
        same_as_governor::<MeterA>(burst, &trace)?;
    }
}

/// The fixed window's documented weakness: a closed interval across a boundary holds two budgets.
#[test]
fn fixed_window_admits_two_budgets_across_a_boundary() {
    let clock = VirtualClock::new();
    let l = FixedWindow::with_clock(quota(), clock.clone());
    clock.advance(ms(399)); // the window is 400 ms: 1 ms before its end
    assert_eq!(l.check_n(4), Ok(()));
    clock.advance(ms(1));
    assert_eq!(l.check_n(4), Ok(()));
    assert!(quota().allowed(ms(1)) < 8);
}

/// The shaping queue spaces departures one interval apart and refuses past `burst` queued permits.
#[test]
fn leaky_queue_spaces_and_bounds_the_queue() {
    let clock = VirtualClock::new();
    let q = LeakyQueue::with_clock(quota(), clock.clone());
    let ready: Vec<_> = (0..4).map(|_| q.reserve().unwrap().ready_at()).collect();
    assert_eq!(ready, [ms(0), ms(100), ms(200), ms(300)]);
    // Four queued (the first leaving now): room for one more once it has left.
    assert_eq!(q.reserve().unwrap_err().retry_after(), Some(ms(100)));
    clock.advance(ms(100));
    assert_eq!(q.reserve().unwrap().ready_at(), ms(400));
}
