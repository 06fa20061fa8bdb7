//! Tickers and the periodic worker: the never-stopped ticker keeps running (counted) and the correct
//! form stops; the periodic worker never overlaps its runs and leaves no thread; and the `leaks`,
//! `missed-ticks` (Burst / Delay / Skip measured) and `periodic` sections pass their self-checks.
#![cfg(not(loom))]
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;
use phase2::timers::{LeakyTicker, PeriodicWorker, Schedule, Ticker};

const DEADLINE: Duration = Duration::from_secs(20);

#[test]
fn never_stopped_ticker_keeps_running_after_its_owner_is_dropped() {
    within(DEADLINE, || {
        let check = ThreadLeakCheck::named("t-leaky");
        let (owner, containment) = LeakyTicker::spawn("t-leaky", Duration::from_millis(2));
        drop(owner);
        let at_drop = containment.ticks();
        // Wait for ticks to show up after the drop (bounded by the watchdog), rather than a fixed sleep.
        while containment.ticks() < at_drop + 5 {
            thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(check.alive_now().len(), 1, "the leaked thread is alive");
        let total = containment.stop();
        assert!(total >= at_drop + 5);
        check.assert_no_leak(Duration::from_secs(2));
    });
}

#[test]
fn ticker_stops_on_drop_and_leaves_no_thread() {
    within(DEADLINE, || {
        let check = ThreadLeakCheck::named("t-ok");
        let count = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&count);
        let ticker = Ticker::spawn("t-ok", Duration::from_millis(2), move || {
            c.fetch_add(1, Ordering::Relaxed);
        });
        while ticker.ticks() < 3 {
            thread::sleep(Duration::from_millis(2));
        }
        drop(ticker);
        let at_drop = count.load(Ordering::Relaxed);
        check.assert_no_leak(Duration::ZERO);
        thread::sleep(Duration::from_millis(30));
        assert_eq!(count.load(Ordering::Relaxed), at_drop, "no tick after drop");
    });
}

#[test]
fn periodic_worker_never_overlaps_and_stops_cleanly() {
    within(DEADLINE, || {
        let check = ThreadLeakCheck::named("t-periodic");
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let (f, m) = (Arc::clone(&in_flight), Arc::clone(&max));
        let schedule = Schedule::new(Duration::from_millis(2), Duration::from_micros(500), 9);
        let worker = PeriodicWorker::spawn("t-periodic", schedule, move |k| {
            let now = f.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            // Every other run overruns the period by far.
            thread::sleep(Duration::from_millis(if k % 2 == 0 { 7 } else { 0 }));
            f.fetch_sub(1, Ordering::SeqCst);
        });
        thread::sleep(Duration::from_millis(80));
        let runs = worker.stop();
        assert!(runs > 0);
        assert_eq!(max.load(Ordering::SeqCst), 1, "runs overlapped");
        check.assert_no_leak(Duration::ZERO);
    });
}

#[test]
fn every_section_passes_its_checks() {
    for section in phase2::timers::EXERCISE.sections {
        if section.name == "wheel" {
            continue; // covered by the smoke test (--quick) and the conformance tests
        }
        let run = section.run;
        let name = section.name;
        let ctx = within(DEADLINE, move || {
            let mut ctx = harness::Ctx::for_test(name);
            run(&mut ctx);
            ctx
        });
        assert_eq!(ctx.failed(), 0, "{}: {:?}", section.name, ctx.checks());
    }
}
