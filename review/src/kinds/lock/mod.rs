//! The `lock` kind: a reader's mutex (`harness::contracts::lock::Lock<u64>`), reviewed by targeted
//! scenarios (one per catalogued flaw), the lock conformance suite, a counter stress test with the
//! leak checker, and a quick bench against ours (phase 1's futex `Mutex`) and `parking_lot::Mutex`.
use std::process::ExitCode;
use std::time::Duration;

use harness::contracts::lock::Lock;

use crate::driver::{self, ReviewArgs};
use crate::{Flaw, Group, Kind, Scenario};

mod bench;
pub mod flawed;
#[path = "../../../templates/lock/src/lib.rs"]
pub mod naive;
mod scenarios;

/// The lock catalogue: the failure modes phase 1's sync lesson teaches.
pub const CATALOGUE: &[Flaw] = &[
    Flaw {
        id: "two-holders",
        name: "two holders at once: a woken waiter takes the lock without checking it again",
        meaning: "when the holder releases and several waiters wake, more than one gets a guard: \
                  mutual exclusion is gone and updates to the data are lost or torn",
        lesson: "phase1/src/sync/condvar.rs (wait_while); phase1/README.md#pitfalls-2 (`if` instead \
                 of `while` around a condvar wait)",
        hint: "wait in a loop that re-checks \"held\" under the inner lock every time it wakes \
               (`while held { wait }`, or `wait_while`): a wake-up is a hint, not a hand-over",
    },
    Flaw {
        id: "try-lock-ignores-holder",
        name: "try_lock succeeds while another thread holds the lock",
        meaning: "a caller of try_lock gets a guard next to the holder's: two threads in the \
                  critical section, exactly what the lock is for preventing",
        lesson: "phase1/src/sync/mutex.rs (try_lock: one compare-exchange 0 → 1); \
                 phase1/README.md#exercise3--the-sync-toolbox",
        hint: "try_lock takes the lock only if it is free, looked at and taken in one step (under \
               the inner lock, or one compare_exchange), and returns None otherwise",
    },
    Flaw {
        id: "guard-drop-keeps-lock",
        name: "dropping the guard does not release the lock",
        meaning: "after the first critical section the lock stays held with no guard alive: every \
                  later lock() blocks forever and every try_lock() fails",
        lesson: "phase1/src/sync/mutex.rs (MutexGuard's Drop calls unlock); \
                 phase1/README.md#exercise3--the-sync-toolbox (\"unlocks in the guard's Drop\")",
        hint: "the guard's Drop must mark the lock free (and then wake a waiter); in Rust the \
               unlock *is* the guard's drop",
    },
    Flaw {
        id: "lost-wakeup",
        name: "lost wake-up: unlock does not wake a thread asleep in lock()",
        meaning: "a thread waiting for the lock sleeps on after it was released; the program stalls \
                  until some unrelated lock() or unlock happens to wake it, or forever",
        lesson: "phase1/src/sync/mutex.rs (state 2, \"locked with sleepers\": unlock wakes one); \
                 phase1/README.md#pitfalls-2",
        hint: "an unlock that may leave a sleeper behind must wake one (notify_one after clearing \
               the flag); skip the wake only when you know nobody sleeps",
    },
    Flaw {
        id: "try-lock-blocks",
        name: "try_lock blocks while another thread holds the lock",
        meaning: "a caller that asked not to wait waits: code that uses try_lock to avoid a \
                  deadlock (lock ordering, a back-off) deadlocks anyway",
        lesson: "phase1/src/sync/mutex.rs (try_lock never sleeps); \
                 phase1/README.md#exercise3--the-sync-toolbox",
        hint: "try_lock must look once and return None if the lock is held; it must never call \
               lock() or wait on the condvar",
    },
];

/// The `lock` kind.
pub const KIND: Kind = Kind {
    name: "lock",
    catalogue: CATALOGUE,
    not_run: &[
        "loom models: the review has no loom model for an attempt yet (the template builds on \
         shim::sync so one can be written; phase1/tests/loom_sync.rs shows the shape)",
        "Miri: not run by the review yet (an attempt with unsafe code should run its own tests \
         under `cargo +nightly miri test`)",
    ],
};

/// Every scenario of the kind, smallest first, instantiated for the lock `L`.
pub fn scenarios<L: Lock<u64> + 'static>() -> Vec<Scenario> {
    let targeted = Scenario::targeted;
    let mut all = vec![
        targeted(
            "try-lock-returns-at-once",
            "thread A holds the lock; thread B's try_lock must return within 2 s",
            "try-lock-blocks",
            scenarios::try_lock_returns_at_once::<L> as fn() -> _,
        ),
        targeted(
            "try-lock-refused-while-held",
            "thread A holds the lock; thread B's try_lock must return None",
            "try-lock-ignores-holder",
            scenarios::try_lock_refused_while_held::<L>,
        ),
        targeted(
            "guard-drop-releases",
            "lock, drop the guard; try_lock on the same thread must succeed, and lock() on \
             another thread must return within 2 s",
            "guard-drop-keeps-lock",
            scenarios::guard_drop_releases::<L>,
        ),
        targeted(
            "unlock-wakes-sleeper",
            "A holds; B is asleep in lock(); A drops its guard; B must return within 2 s (3 rounds)",
            "lost-wakeup",
            scenarios::unlock_wakes_sleeper::<L>,
        ),
        targeted(
            "one-holder-after-wakeup",
            "A holds; B and C are asleep in lock(); A drops its guard; B and C must get in one at \
             a time (each stays 300 ms, watching for the other)",
            "two-holders",
            scenarios::one_holder_after_wakeup::<L>,
        ),
    ];
    all.push(Scenario {
        name: "stress-counter",
        group: Group::Stress,
        what: "4 threads x 5 000 increments of a plain counter under the lock, every third \
               through try_lock: exact total, no thread left behind",
        flaw: None,
        limit: Duration::from_secs(30),
        run: scenarios::stress_counter::<L>,
    });
    use harness::conformance::lock as suite;
    type Case = (&'static str, fn() -> crate::Verdict);
    let cases: [Case; 4] = [
        ("mutual_exclusion", || {
            suite::mutual_exclusion::<L>(4, 2_000);
            crate::Verdict::Pass
        }),
        ("try_lock_fails_while_held", || {
            suite::try_lock_fails_while_held::<L>();
            crate::Verdict::Pass
        }),
        ("guard_drop_releases", || {
            suite::guard_drop_releases::<L>();
            crate::Verdict::Pass
        }),
        ("no_deadlock_under_churn", || {
            suite::no_deadlock_under_churn::<L>(4, Duration::from_millis(500));
            crate::Verdict::Pass
        }),
    ];
    all.extend(cases.into_iter().map(|(name, case)| Scenario {
        name,
        group: Group::Conformance,
        what: "a case of the lock conformance suite (tests/src/conformance/lock.rs)",
        flaw: None,
        // The suite's own deadline is 30 s a case; a hang is killed sooner, to keep a review short.
        limit: Duration::from_secs(8),
        run: case,
    }));
    all.push(Scenario {
        name: "bench",
        group: Group::Bench,
        what: "200 000 lock/unlock of a counter, on 1 thread and shared by 4: the attempt, ours \
               (phase 1's futex Mutex) and parking_lot::Mutex, best of 3 each, interleaved",
        flaw: None,
        limit: Duration::from_secs(60),
        run: bench::bench::<L>,
    });
    all
}

/// Reviews the lock `L` with the options in `args` (see [`driver::run`]).
pub fn review<L: Lock<u64> + 'static>(args: &ReviewArgs) -> ExitCode {
    driver::run(&KIND, L::NAME, &scenarios::<L>(), args)
}

/// The `main` of an attempt's review binary: `fn main() -> ExitCode { review::kinds::lock::main::<MyLock<u64>>() }`.
pub fn main<L: Lock<u64> + 'static>() -> ExitCode {
    driver::main(&KIND, L::NAME, &scenarios::<L>())
}

#[cfg(test)]
mod tests {
    //! The naive template (what `make attempt KIND=lock` starts a reader from) under the lock
    //! suite. `make miri` runs these (tests/miri.txt): the template's `Deref` reaches the data through
    //! an `UnsafeCell`, and Miri is what shows that every such access is ordered by the inner lock.
    use harness::conformance::lock as suite;

    type Naive = super::naive::Attempt<u64>;

    #[test]
    fn naive_template_excludes() {
        suite::mutual_exclusion::<Naive>(4, if cfg!(miri) { 100 } else { 20_000 });
    }

    #[test]
    fn naive_template_try_lock_fails_while_held() {
        suite::try_lock_fails_while_held::<Naive>();
    }

    #[test]
    fn naive_template_guard_drop_releases() {
        suite::guard_drop_releases::<Naive>();
    }
}
