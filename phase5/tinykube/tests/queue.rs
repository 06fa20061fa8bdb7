//! The scheduling queue on a virtual clock: priority order, and the backoff curve of an
//! unschedulable pod (1 s, 2 s, 4 s, 8 s, then 10 s), stepped exactly.
use std::time::Duration;

use harness::clock::VirtualClock;
use tinykube::scheduler::{Backoff, SchedulingQueue};

#[test]
fn higher_priority_first_then_oldest_first() {
    let mut q = SchedulingQueue::new(VirtualClock::new(), Backoff::default());
    q.add("low-1", 0);
    q.add("high", 10);
    q.add("low-2", 0);
    q.add("negative", -5);
    let order: Vec<String> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(order, ["high", "low-1", "low-2", "negative"]);
}

#[test]
fn an_unschedulable_pod_follows_the_backoff_curve() {
    let clock = VirtualClock::new();
    let mut q = SchedulingQueue::new(clock.clone(), Backoff::default());
    q.add("p", 0);
    assert_eq!(q.pop().as_deref(), Some("p"));
    let mut retried_after = Vec::new();
    for _ in 0..6 {
        q.unschedulable("p", 0);
        // Step in 100 ms ticks until it is handed out again; count how long that took.
        let mut waited = Duration::ZERO;
        while q.pop().is_none() {
            clock.advance(Duration::from_millis(100));
            waited += Duration::from_millis(100);
            assert!(waited <= Duration::from_secs(11), "never ready again");
        }
        retried_after.push(waited.as_millis());
    }
    assert_eq!(retried_after, [1000, 2000, 4000, 8000, 10_000, 10_000]);
}

#[test]
fn a_bound_pod_forgets_its_attempts() {
    let clock = VirtualClock::new();
    let mut q = SchedulingQueue::new(clock.clone(), Backoff::default());
    q.unschedulable("p", 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(q.pop().as_deref(), Some("p"));
    q.unschedulable("p", 0);
    assert_eq!(
        q.next_ready(),
        Some(Duration::from_secs(3)),
        "second attempt: 2 s"
    );
    q.remove("p"); // bound
    q.unschedulable("p", 0);
    assert_eq!(
        q.next_ready(),
        Some(Duration::from_secs(2)),
        "counting starts again: 1 s"
    );
    assert_eq!(q.len(), 1);
}
