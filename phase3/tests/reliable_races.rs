//! Races that compile: the fixed forms are exact on real threads (fetch_add loses no increment, the
//! CAS withdrawal never overdraws), and the exercise's sections pass their own checks.
#![cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use harness::leaks::within_no_leaks;
use phase3::reliable::lockstep;
use phase3::reliable::races::{Account, DATA_RACE_SNIPPET, increment_fetch_add};

#[test]
fn fetch_add_from_two_threads_is_exact() {
    let total = within_no_leaks(Duration::from_secs(30), || {
        const PER_THREAD: u64 = 500_000;
        let c = Arc::new(AtomicU64::new(0));
        let start = Arc::new(Barrier::new(2));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (c, start) = (c.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..PER_THREAD {
                        increment_fetch_add(&c);
                    }
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        // Relaxed: the joins ordered every increment before this load.
        (c.load(Ordering::Relaxed), 2 * PER_THREAD)
    });
    assert_eq!(total.0, total.1);
}

#[test]
fn cas_withdrawals_in_lockstep_never_overdraw() {
    const TRIALS: usize = 5_000;
    let accounts: Arc<Vec<Account>> = Arc::new((0..TRIALS).map(|_| Account::new(1)).collect());
    let run = {
        let accounts = accounts.clone();
        lockstep::run("t-acct", TRIALS, Duration::from_secs(5), move |_, i| {
            accounts[i].withdraw(1) as u8
        })
    };
    assert!(run.iterations() > 0);
    for (i, (a, b)) in run.pairs().enumerate() {
        assert_eq!(a + b, 1, "trial {i}: exactly one withdrawal succeeds");
        assert_eq!(accounts[i].balance(), 0);
    }
}

#[test]
fn the_data_race_snippet_is_the_one_that_fails_to_compile() {
    // The doc test on DATA_RACE_SNIPPET (compile_fail, E0499) checks it does not compile; here: it
    // is the two-mutable-borrows program the section prints.
    assert_eq!(DATA_RACE_SNIPPET.matches("hits += 1").count(), 2);
}

#[test]
fn every_section_passes_its_own_checks() {
    for section in phase3::reliable::EXERCISE.sections {
        let mut ctx = harness::Ctx::for_test(section.name);
        (section.run)(&mut ctx);
        let failed: Vec<_> = ctx.checks().iter().filter(|c| !c.1).collect();
        assert!(failed.is_empty(), "{}: {failed:?}", section.name);
        assert!(!ctx.checks().is_empty());
    }
}
