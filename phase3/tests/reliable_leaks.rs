//! The leak guard (`harness::leaks::LeakGuard`) on the exercise's subscribers: it detects the leaky
//! one (and fails a test with it), passes the fixed one, and stays correct while other tests' threads
//! come and go in parallel.
#![cfg(not(loom))]
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use harness::leaks::{LeakGuard, no_leaks};
use phase3::reliable::subscriber_leak::{EventBus, LeakySubscription, Subscription, tasks};

const SHORT: Duration = Duration::from_millis(50);

/// Clears the bus when dropped: releases a leaked subscriber even while a failing test unwinds.
struct ReleaseOnDrop(EventBus);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.clear();
    }
}

#[test]
fn the_guard_detects_the_leaky_subscriber_and_clears_once_released() {
    let bus = EventBus::new();
    let guard = no_leaks().grace(SHORT);
    let sub = LeakySubscription::subscribe(&bus);
    assert_eq!(bus.publish(7), 1);
    drop(sub);
    let report = guard.leaks();
    assert_eq!(report.threads.len(), 1, "{report}");
    assert_eq!(report.threads[0].name, guard.tag());
    bus.clear();
    guard.grace(LeakGuard::GRACE).finish();
}

#[test]
#[should_panic(expected = "leak: 1 thread(s) still alive")]
fn a_test_that_leaks_a_subscriber_fails() {
    let bus = EventBus::new();
    let _release = ReleaseOnDrop(bus.clone()); // dropped after the guard: the thread is let go then
    let _guard = no_leaks().grace(SHORT);
    drop(LeakySubscription::subscribe(&bus));
}

#[test]
fn the_fixed_subscription_passes_the_guard() {
    let bus = EventBus::new();
    let guard = no_leaks();
    let sub = Subscription::subscribe(&bus);
    for e in 0..100 {
        assert_eq!(bus.publish(e), 1);
    }
    let seen = sub.seen.clone();
    drop(sub);
    guard.finish();
    // Relaxed: the drop joined the subscriber thread.
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 100);
    assert!(bus.is_empty());
}

#[test]
fn the_guard_counts_a_detached_task_and_not_an_owned_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bus: tasks::TaskBus = Arc::new(Mutex::new(Vec::new()));

    let guard = no_leaks().watch_runtime(rt.handle()).grace(SHORT);
    rt.block_on(async { tasks::subscribe_detached(&bus) });
    let report = guard.leaks();
    assert_eq!(report.tasks, vec![(0, 1)], "{report}");
    bus.lock().unwrap().clear();
    guard.grace(LeakGuard::GRACE).finish();

    let guard = no_leaks().watch_runtime(rt.handle());
    drop(rt.block_on(async { tasks::subscribe_owned(&bus) }));
    guard.finish();
    rt.shutdown_timeout(Duration::from_secs(5));
}

/// Four clean guarded "tests" on parallel threads while a fifth thread leaks a subscriber outside any
/// of them: each clean guard passes (it counts only its own threads), and only the leak is found.
#[test]
fn guards_on_parallel_threads_see_only_their_own_threads() {
    let start = Arc::new(Barrier::new(5));
    let leaking_bus = EventBus::new();
    let _release = ReleaseOnDrop(leaking_bus.clone());
    let clean: Vec<_> = (0..4)
        .map(|_| {
            let start = start.clone();
            thread::spawn(move || {
                let bus = EventBus::new();
                start.wait();
                let guard = no_leaks().grace(Duration::from_millis(200));
                for _ in 0..5 {
                    drop(Subscription::subscribe(&bus));
                }
                guard.into_report()
            })
        })
        .collect();
    let leaker = {
        let (start, bus) = (start.clone(), leaking_bus.clone());
        thread::spawn(move || {
            let guard = no_leaks().grace(Duration::from_millis(200));
            start.wait();
            drop(LeakySubscription::subscribe(&bus));
            guard.into_report()
        })
    };
    for c in clean {
        let report = c.join().unwrap();
        assert!(report.is_clean(), "a clean test was blamed: {report}");
    }
    let leaked = leaker.join().unwrap();
    assert_eq!(leaked.threads.len(), 1, "{leaked}");
}
