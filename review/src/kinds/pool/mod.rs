//! The `pool` kind: a reader's worker pool (`harness::contracts::pool::PoolFlavor`), reviewed by
//! targeted scenarios (one per catalogued flaw), the core cases of the pool conformance suite, a
//! stress test whose tasks carry ledger-tracked values, and a quick bench against ours (`workpool`)
//! and `threadpool`.
use std::process::ExitCode;
use std::time::Duration;

use harness::contracts::pool::PoolFlavor;

use crate::driver::{self, ReviewArgs};
use crate::{Flaw, Group, Kind, Scenario, Verdict};

mod bench;
pub mod flawed;
#[path = "../../../templates/pool/src/lib.rs"]
pub mod naive;
pub mod ours;
mod scenarios;

/// The pool catalogue: the failure modes phase 2's pool lesson and `workpool` are built against.
pub const CATALOGUE: &[Flaw] = &[
    Flaw {
        id: "panic-kills-worker",
        name: "a panicking task kills its worker: the pool loses capacity",
        meaning: "a task's panic unwinds out of the worker loop and ends the thread; the pool \
                  runs with one worker fewer each time, then with none, and every later task \
                  waits forever; the panicking task's handle may never report either",
        lesson: "phase2/src/pool/workers.rs (each job runs under catch_unwind); phase5/workpool/src/sync.rs \
                 (user code never takes a worker down); \
                 phase2/README.md#exercise1--worker-pool-bounded-concurrency",
        hint: "run each task under `std::panic::catch_unwind` and report the payload through the \
               handle; the worker loop itself must never unwind",
    },
    Flaw {
        id: "shutdown-drops-queued",
        name: "shutdown(Drain) discards tasks still queued",
        meaning: "a drain promises that every admitted task runs before the pool stops; a \
                  shutdown that empties the queue (or lets workers exit while it holds tasks) \
                  loses work the callers were told was accepted",
        lesson: "phase5/workpool/src/pool.rs (`shutdown`: drain, then stop; `shutdown_now` \
                 abandons); phase2/src/pool/workers.rs (workers exit only on an empty, closed \
                 queue)",
        hint: "on drain, only close the intake: a worker exits when the queue is closed AND \
               empty, so everything admitted before the close still runs",
    },
    Flaw {
        id: "shutdown-hangs",
        name: "shutdown (or drop) never returns: sleeping workers are not woken to see it",
        meaning: "the flag is set, but workers asleep on the condvar waiting for work never wake \
                  to read it; joining them waits forever, and so does the program that drops \
                  the pool",
        lesson: "phase2/src/pool/workers.rs (closing wakes every waiter); \
                 phase1/README.md#exercise2--channels-deep-dive (closing wakes receivers)",
        hint: "set the flag under the lock the workers wait with, then `notify_all` their condvar \
               (not `notify_one`); a worker checks the flag before each wait",
    },
    Flaw {
        id: "tasks-run-after-shutdown",
        name: "shutdown(Drain) returns while tasks are still running or queued",
        meaning: "the caller takes the return of shutdown as \"all work is done\": it reads \
                  results, closes files, exits; the tasks that still run after it touch \
                  what it tore down",
        lesson: "phase5/workpool/src/pool.rs (`shutdown` waits, up to its deadline, for the \
                 queue and the running tasks); phase5/workpool/README.md",
        hint: "after closing the intake, wait (a condvar, up to the deadline) until every worker \
               has exited or the queue is empty and nothing runs; report what is left",
    },
    Flaw {
        id: "submit-after-shutdown-accepted",
        name: "submit after shutdown is accepted silently",
        meaning: "a task submitted after shutdown is queued where no worker will ever run it; \
                  its handle waits forever and the caller was told it was accepted",
        lesson: "tests/src/contracts/pool.rs (`SubmitRefused::ShutDown`); phase5/workpool/src/pool.rs \
                 (submit checks the closed flag under the queue's lock)",
        hint: "check the closed flag in submit, under the same lock as the push, and return \
               Err(ShutDown)",
    },
    Flaw {
        id: "bounded-over-admits",
        name: "a bounded queue admits more tasks than its bound",
        meaning: "the bound is what gives submitters backpressure and caps memory; an \
                  off-by-one admits one task more than asked, and under `Reject` refuses later \
                  than the caller planned for",
        lesson: "phase2/README.md#exercise1--worker-pool-bounded-concurrency (the bound is the \
                 channel's capacity); harness::conformance::pool::queue_bound_holds",
        hint: "full means `queued >= capacity` (plus the idle workers a task can go to directly), \
               checked in the same critical section as the push; test capacity 1",
    },
    Flaw {
        id: "results-mixed-up",
        name: "under concurrent submits a result is lost or reaches another task's handle",
        meaning: "tasks are numbered by a counter read and written back in two steps: two \
                  submitters take the same number, one result overwrites the other, and one \
                  handle gets the other's value while the other waits forever",
        lesson: "phase5/workpool/src/task.rs (`TaskCell`: each task owns its result cell, shared \
                 only with its handle); phase1/README.md#exercise3--the-sync-toolbox (atomics)",
        hint: "give each task its own result slot (an Arc shared by the task and its handle), or \
               number tasks with one atomic `fetch_add`",
    },
];

/// The `pool` kind.
pub const KIND: Kind = Kind {
    name: "pool",
    catalogue: CATALOGUE,
    not_run: &[
        "loom models: the review has no loom model for an attempt yet (the template builds on \
         shim::sync so one can be written; phase5/workpool/tests/loom_pool.rs shows the shape)",
        "Miri: not run by the review yet (an attempt with unsafe code should run its own tests \
         under `cargo +nightly miri test`)",
    ],
};

/// Every scenario of the kind, smallest first, instantiated for the flavor `F`.
pub fn scenarios<F: PoolFlavor>() -> Vec<Scenario> {
    let targeted = Scenario::targeted;
    let mut all = vec![
        targeted(
            "bounded-admits-exactly",
            "fixed(1).bounded(2, Reject), its worker held at a gate; submit until refused: \
             exactly 2 admitted",
            "bounded-over-admits",
            scenarios::bounded_admits_exactly::<F> as fn() -> _,
        ),
        targeted(
            "submit-after-shutdown-refused",
            "fixed(1); shutdown(Drain, 3 s); then submit: it must be refused with ShutDown",
            "submit-after-shutdown-accepted",
            scenarios::submit_after_shutdown_refused::<F>,
        ),
        targeted(
            "panic-keeps-workers",
            "fixed(2); 2 tasks panic, their handles report it; then 2 tasks must run at once (a \
             rendezvous of 2)",
            "panic-kills-worker",
            scenarios::panic_keeps_workers::<F>,
        ),
        targeted(
            "idle-pool-stops",
            "fixed(2) with both workers asleep waiting for work; shutdown(Drain, 10 s) and drop \
             must return",
            "shutdown-hangs",
            scenarios::idle_pool_stops::<F>,
        ),
        targeted(
            "drain-runs-queued",
            "fixed(1), worker held at a gate, tasks 1..4 queued; shutdown(Drain) begins, the \
             gate opens: every handle reports its task's value",
            "shutdown-drops-queued",
            scenarios::drain_runs_queued::<F>,
        ),
        targeted(
            "shutdown-waits-for-tasks",
            "fixed(1), worker held at a gate, 2 tasks queued; shutdown(Drain, 10 s) must not \
             return while the gate is closed, and when it returns the queued tasks have ended",
            "tasks-run-after-shutdown",
            scenarios::shutdown_waits_for_tasks::<F>,
        ),
        targeted(
            "results-reach-their-handles",
            "fixed(3); 4 threads submit 250 numbered tasks each at once: every handle reports \
             its own task's value, every task ran once (3 rounds)",
            "results-mixed-up",
            scenarios::results_reach_their_handles::<F>,
        ),
    ];
    all.push(Scenario {
        name: "stress-ledger",
        group: Group::Stress,
        what: "fixed(3), bounded(8, Block) if the attempt has it; 4 submitters x 500 tasks \
               carrying ledger-tracked values: each handle its own value, each task run once, \
               each value dropped once, no worker thread left after drop",
        flaw: None,
        limit: Duration::from_secs(45),
        run: scenarios::stress_ledger::<F>,
    });
    use harness::conformance::pool as suite;
    type Case = (&'static str, fn() -> Verdict);
    let cases: [Case; 8] = [
        ("every_task_runs_exactly_once", || {
            suite::every_task_runs_exactly_once::<F>();
            Verdict::Pass
        }),
        ("in_flight_bounded_and_reached", || {
            suite::in_flight_bounded_and_reached::<F>();
            Verdict::Pass
        }),
        ("queue_bound_holds", || {
            suite::queue_bound_holds::<F>();
            Verdict::Pass
        }),
        ("overflow_block_waits_for_a_slot", || {
            suite::overflow_block_waits_for_a_slot::<F>();
            Verdict::Pass
        }),
        ("overflow_reject_refuses_at_once", || {
            suite::overflow_reject_refuses_at_once::<F>();
            Verdict::Pass
        }),
        ("panics_reported_and_contained", || {
            suite::panics_reported_and_contained::<F>();
            Verdict::Pass
        }),
        ("drop_joins_workers", || {
            suite::drop_joins_workers::<F>();
            Verdict::Pass
        }),
        ("shutdown_reports", || {
            suite::shutdown_reports::<F>();
            Verdict::Pass
        }),
    ];
    all.extend(cases.into_iter().map(|(name, case)| Scenario {
        name,
        group: Group::Conformance,
        what: "a case of the pool conformance suite (tests/src/conformance/pool.rs; a feature \
               the attempt refuses with Unsupported is skipped inside the case, on stderr)",
        flaw: None,
        // The suite's own deadline for a case, and a margin for the child process to start.
        limit: suite::CASE_DEADLINE + Duration::from_secs(5),
        run: case,
    }));
    all.push(Scenario {
        name: "bench",
        group: Group::Bench,
        what: "fixed(4), 20 000 tiny tasks each joined, from 1 submitter and from 4: the \
               attempt, ours (workpool) and threadpool, best of 3 each, interleaved",
        flaw: None,
        limit: Duration::from_secs(120),
        run: bench::bench::<F>,
    });
    all
}

/// Reviews the pool flavor `F` with the options in `args` (see [`driver::run`]).
pub fn review<F: PoolFlavor>(args: &ReviewArgs) -> ExitCode {
    driver::run(&KIND, F::NAME, &scenarios::<F>(), args)
}

/// The `main` of an attempt's review binary: `fn main() -> ExitCode { review::kinds::pool::main::<Attempt>() }`.
pub fn main<F: PoolFlavor>() -> ExitCode {
    driver::main(&KIND, F::NAME, &scenarios::<F>())
}
