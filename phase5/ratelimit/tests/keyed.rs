//! The keyed limiter on a virtual clock: exact decisions per key, forgetting full keys changes
//! nothing, the cap and its two policies, the cost of eviction bounded, the cap under threads, and
//! memory bounded while a million distinct keys pass through.
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use harness::clock::VirtualClock;
use harness::rng::XorShift64Star;
use ratelimit::{
    AtCap, Bounds, Denied, Gcra, Keyed, KeyedRateLimiter, NotUntil, Quota, RateLimiter,
};

type Clocked = Arc<VirtualClock>;

fn quota(per_second: u32, burst: u32) -> Quota {
    Quota::per_second(per_second)
        .unwrap()
        .with_burst(burst)
        .unwrap()
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

fn keyed(
    q: Quota,
    max_keys: usize,
    at_cap: AtCap,
    shards: usize,
) -> (Clocked, Keyed<u64, Clocked>) {
    let clock = VirtualClock::new();
    let bounds = Bounds {
        max_keys: nz(max_keys),
        at_cap,
        shards: nz(shards),
    };
    let l = Keyed::with_bounds(q, bounds, clock.clone(), Default::default());
    (clock, l)
}

#[test]
fn each_key_has_its_own_exact_quota() {
    let (clock, l) = keyed(quota(10, 2), 100, AtCap::DenyNewKeys, 4);
    assert_eq!(l.check_key(&1), Ok(()));
    assert_eq!(l.check_key(&1), Ok(()));
    assert_eq!(
        l.check_key(&1),
        Err(Denied::NotUntil(NotUntil::new(Duration::from_millis(100))))
    );
    // Key 2 is untouched by key 1's debt.
    assert_eq!(l.check_key_n(&2, 2), Ok(()));
    assert!(matches!(
        l.check_key_n(&3, 3),
        Err(Denied::InsufficientCapacity(_))
    ));
    let s = l.snapshot_key(&1);
    assert_eq!((s.limit, s.remaining), (2, 0));
    assert_eq!(s.retry_after, Duration::from_millis(100));
    assert_eq!(s.reset_after, Duration::from_millis(200));
    assert_eq!(l.snapshot_key(&99).remaining, 2, "a key never seen is full");
    clock.advance(Duration::from_millis(99));
    assert_eq!(
        l.check_key(&1).unwrap_err().retry_after(),
        Some(Duration::from_millis(1))
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(l.check_key(&1), Ok(()));
    assert!(l.check_key(&1).is_err());
}

#[test]
fn string_keys_are_checked_by_str() {
    let l = Keyed::<String, _>::with_clock(quota(1, 1), VirtualClock::new());
    assert_eq!(l.check_key("alice"), Ok(()));
    assert!(l.check_key("alice").is_err());
    assert_eq!(l.check_key("bob"), Ok(()));
    assert_eq!(l.len(), 2);
}

/// Forgetting keys that are full changes no decision: a keyed limiter whose single shard sweeps
/// often decides exactly as one `Gcra` per key kept forever, on random traces.
#[test]
fn forgetting_full_keys_changes_no_decision() {
    for seed in 1..=20u64 {
        let q = quota(100, 3); // T = 10 ms, window 30 ms
        let (clock, l) = keyed(q, 1 << 16, AtCap::DenyNewKeys, 1);
        let mut reference: HashMap<u64, Gcra<Clocked>> = HashMap::new();
        let mut rng = XorShift64Star::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut swept = false;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5_000 {
            let key = rng.below(40);
            let n = 1 + rng.below(3) as u32;
            let want = reference
                .entry(key)
                .or_insert_with(|| Gcra::with_clock(q, clock.clone()))
                .check_n(n);
            assert_eq!(l.check_key_n(&key, n), want, "seed {seed}, key {key}");
            seen.insert(key);
            swept |= l.len() < seen.len();
            clock.advance(Duration::from_micros(rng.below(4_000)));
        }
        assert!(
            swept,
            "seed {seed}: the trace never made the limiter forget a key"
        );
        assert_eq!(l.evictions().in_debt, 0);
    }
}

#[test]
fn deny_new_keys_at_the_cap_says_when_a_slot_frees_up() {
    let (clock, l) = keyed(quota(10, 2), 2, AtCap::DenyNewKeys, 1);
    assert_eq!(l.check_key_n(&1, 2), Ok(())); // key 1 full again in 200 ms
    assert_eq!(l.check_key(&2), Ok(())); // key 2 in 100 ms
    assert_eq!(
        l.check_key(&3),
        Err(Denied::KeyCapacity(NotUntil::new(Duration::from_millis(
            100
        ))))
    );
    // Tracked keys keep being served.
    assert_eq!(l.check_key(&2), Ok(()));
    assert_eq!(l.len(), 2);
    clock.advance(Duration::from_millis(150));
    // Key 2 now owes until 200 ms as well; nothing is full yet.
    assert_eq!(
        l.check_key(&3).unwrap_err(),
        Denied::KeyCapacity(NotUntil::new(Duration::from_millis(50)))
    );
    clock.advance(Duration::from_millis(50));
    assert_eq!(l.check_key(&3), Ok(()));
    assert_eq!(l.len(), 1, "both full keys were swept, key 3 is in");
}

#[test]
fn evict_least_debt_forgets_the_key_nearest_to_full_and_counts_it() {
    let (clock, l) = keyed(quota(10, 4), 2, AtCap::EvictLeastDebt, 1);
    assert_eq!(l.check_key_n(&1, 4), Ok(())); // debt 400 ms: used first, the least recent
    clock.advance(Duration::from_millis(10));
    assert_eq!(l.check_key(&2), Ok(())); // debt 100 ms
    assert_eq!(l.check_key(&3), Ok(())); // evicts key 2, not key 1
    let e = l.evictions();
    assert_eq!(e.in_debt, 1);
    assert_eq!(e.debt_forgiven, Duration::from_millis(100));
    assert!(l.check_key(&1).is_err(), "key 1 kept its debt");
    // Key 2 starts full again: the forgiven debt is the over-admission, one permit here.
    assert_eq!(l.check_key_n(&2, 4), Ok(()));
}

/// Admission times of one key respect the quota: no closed interval of length `e` holds more than
/// `floor(e / T) + burst` of them (requests of one permit).
fn respects_quota(times: &[u64], q: Quota) -> bool {
    let t = q.interval_ns();
    (0..times.len()).all(|i| {
        (i..times.len())
            .all(|j| (j - i + 1) as u64 <= (times[j] - times[i]) / t + u64::from(q.burst()))
    })
}

/// A trace of many keys through a table much smaller than them: deny-new-keys never lets a key past
/// its quota; evict-least-debt over-admits by no more than the debt it reports forgiving.
#[test]
fn the_cap_policies_cost_what_they_say() {
    let q = quota(100, 2); // T = 10 ms
    for policy in [AtCap::DenyNewKeys, AtCap::EvictLeastDebt] {
        let (clock, l) = keyed(q, 16, policy, 2);
        let mut reference: HashMap<u64, Gcra<Clocked>> = HashMap::new();
        let mut admitted: HashMap<u64, Vec<u64>> = HashMap::new();
        let (mut ours, mut ideal, mut at_cap) = (0u64, 0u64, 0u64);
        let mut rng = XorShift64Star::new(7);
        for step in 0..20_000u64 {
            let key = rng.below(64);
            let now = step * 500_000; // 0.5 ms a request
            let r = l.check_key(&key);
            match r {
                Ok(()) => {
                    ours += 1;
                    admitted.entry(key).or_default().push(now);
                }
                Err(Denied::KeyCapacity(_)) => at_cap += 1,
                Err(_) => {}
            }
            let g = reference
                .entry(key)
                .or_insert_with(|| Gcra::with_clock(q, clock.clone()));
            ideal += u64::from(g.check().is_ok());
            assert!(l.len() <= 16);
            clock.advance(Duration::from_micros(500));
        }
        match policy {
            AtCap::DenyNewKeys => {
                assert!(at_cap > 0, "the trace never reached the cap");
                for (key, times) in &admitted {
                    assert!(respects_quota(times, q), "key {key} over-admitted");
                }
                assert_eq!(l.evictions().in_debt, 0);
            }
            AtCap::EvictLeastDebt => {
                let e = l.evictions();
                assert!(e.in_debt > 0, "the trace never evicted a key in debt");
                let bound = e.debt_forgiven.as_nanos() as u64 / q.interval_ns() + e.in_debt;
                assert!(
                    ours <= ideal + bound,
                    "admitted {ours}, ideal {ideal}, forgiven debt allows {bound} more"
                );
            }
        }
    }
}

/// Threads × keys on a frozen clock: every key admits exactly its burst in total, and the table never
/// holds more than its cap, whichever the policy.
#[test]
fn the_cap_holds_and_every_key_stays_exact_under_threads() {
    for policy in [AtCap::DenyNewKeys, AtCap::EvictLeastDebt] {
        let (_clock, l) = keyed(quota(1, 5), 64, policy, 8);
        let l = Arc::new(l);
        // Keys 0..8 are hammered by every thread and tracked (in debt) first; the rest come and go.
        for k in 0..8u64 {
            l.check_key(&k).unwrap();
        }
        let hot_admitted: u64 = (0..4u64)
            .map(|t| {
                let l = l.clone();
                std::thread::spawn(move || {
                    let mut rng = XorShift64Star::new(t + 11);
                    let mut hot = 0u64;
                    for i in 0..20_000u64 {
                        if i % 2 == 0 {
                            hot += u64::from(l.check_key(&rng.below(8)).is_ok());
                        } else {
                            let _ = l.check_key(&(8 + rng.below(100_000)));
                        }
                        assert!(l.len() <= 64);
                    }
                    hot
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<u64>();
        assert!(l.len() <= 64);
        match policy {
            // Deny-new-keys never forgets a key in debt: each hot key has its 4 remaining permits.
            AtCap::DenyNewKeys => assert_eq!(hot_admitted, 8 * 4),
            AtCap::EvictLeastDebt => {
                let e = l.evictions();
                let bound = e.debt_forgiven.as_nanos() as u64 / 200_000_000 + e.in_debt;
                assert!(hot_admitted >= 8 * 4);
                assert!(hot_admitted <= 8 * 4 + bound);
            }
        }
    }
}

#[test]
fn a_million_keys_pass_through_in_bounded_memory() {
    // Every key in debt for 100 ms while a new key arrives every 1 µs: about 100 000 live keys
    // against a cap of 1 024.
    for policy in [AtCap::DenyNewKeys, AtCap::EvictLeastDebt] {
        let (clock, l) = keyed(quota(10, 1), 1024, policy, 16);
        let mut max_cap = 0;
        for key in 0..1_000_000u64 {
            let _ = l.check_key(&key);
            clock.advance(Duration::from_micros(1));
            if key % 4096 == 0 {
                assert!(l.len() <= 1024);
                max_cap = max_cap.max(l.capacity());
            }
        }
        assert!(l.len() <= 1024);
        // A shard's 64 keys fit 128 buckets (capacity 112); the tombstones of constant churn make
        // hashbrown grow it once, to 256 buckets (capacity 224), where it rehashes in place for ever.
        assert!(
            max_cap <= 16 * 224,
            "{policy:?}: table capacity grew to {max_cap}"
        );
    }
    // Without any pressure from the cap, expiry alone keeps the table at about the live keys: each key
    // is full again 1 ms after its request, one new key every 100 µs: ~10 live.
    let (clock, l) = keyed(quota(1000, 1), 1 << 20, AtCap::DenyNewKeys, 16);
    let mut max_len = 0;
    for key in 0..1_000_000u64 {
        l.check_key(&key).unwrap();
        clock.advance(Duration::from_micros(100));
        if key % 4096 == 0 {
            max_len = max_len.max(l.len());
        }
    }
    assert!(
        max_len <= 16 * 16,
        "expiry let the table grow to {max_len} keys"
    );
    l.sweep();
    assert!(
        l.len() <= 11,
        "{} keys still tracked after a sweep",
        l.len()
    );
}
