//! The exercise's sections, run quick and silent: each must finish, pass its self-checks and leave
//! no thread of its own behind.
#![cfg(not(loom))] // real threads and real time; the loom models are in loom_parker.rs
use std::time::Duration;

use harness::exercise::Ctx;
use harness::leaks::ThreadLeakCheck;
use harness::watchdog::within;

fn run_section(name: &'static str) {
    let section = phase1::scheduler::EXERCISE
        .sections
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("section {name} exists"));
    let run = section.run;
    let failed = within(Duration::from_secs(60), move || {
        let mut ctx = Ctx::for_test(name);
        run(&mut ctx);
        ctx.checks()
            .iter()
            .filter(|c| !c.1)
            .map(|c| format!("{} ({})", c.0, c.2))
            .collect::<Vec<_>>()
    });
    assert!(
        failed.is_empty(),
        "section {name}: failed checks: {failed:?}"
    );
}

#[test]
fn sections_pass_and_leave_no_thread_behind() {
    // One test, sections in sequence: they measure timing, so they must not run in parallel.
    let leaks = ThreadLeakCheck::start();
    for s in ["model", "park", "blocking", "cpu-vs-io"] {
        run_section(s);
    }
    let left = leaks.leaked_after(Duration::from_secs(2));
    assert!(left.is_empty(), "threads left behind: {left:?}");
}

#[test]
fn the_exercise_is_described() {
    let ex = &phase1::scheduler::EXERCISE;
    assert_eq!(ex.id, "phase1/exercise1");
    assert_eq!(ex.title, "Threads, tasks and the scheduler");
    let names: Vec<_> = ex.sections.iter().map(|s| s.name).collect();
    assert_eq!(names, ["model", "park", "blocking", "cpu-vs-io"]);
}
