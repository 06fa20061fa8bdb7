//! The `queue` kind: a reader's non-blocking MPMC queue (`harness::contracts::queue::QueueFlavor`),
//! reviewed by targeted scenarios (one per catalogued flaw), the queue conformance suite, a
//! ledger-tracked stress test with the leak checker, and a quick bench against ours (phase 4's
//! Vyukov queue) and crossbeam's `ArrayQueue`.
use std::process::ExitCode;
use std::time::Duration;

use harness::contracts::queue::QueueFlavor;

use crate::driver::{self, ReviewArgs};
use crate::{Flaw, Group, Kind, Scenario, Verdict};

mod bench;
pub mod flawed;
#[path = "../../../templates/queue/src/lib.rs"]
pub mod naive;
mod scenarios;

/// The queue catalogue: the failure modes phase 4's queue suite and loom models look for.
pub const CATALOGUE: &[Flaw] = &[
    Flaw {
        id: "capacity-exceeded",
        name: "a bounded queue takes more values than its capacity",
        meaning: "the bound is what gives a producer backpressure and caps the memory; one more \
                  value than asked is an off-by-one in the fullness check, and in a ring of \
                  exactly `capacity` slots it overwrites the oldest value",
        lesson: "phase4/src/lockfree/vyukov.rs (a slot is free only when its stamp says so); \
                 harness::conformance::queue::full_and_empty",
        hint: "full means `len == capacity` (`tail - head == cap`), checked in the same step as \
               the insert; test capacity 1, where an off-by-one shows at once",
    },
    Flaw {
        id: "failed-push-changes-queue",
        name: "a push refused by a full queue hands back another value, or changes the queue",
        meaning: "`Err(value)` is the contract's promise that nothing happened: the caller keeps its \
                  value to retry or drop. Evicting the oldest to make room (a drop-oldest policy) \
                  loses a value the caller never sees again, and a retry reorders the queue",
        lesson: "tests/src/contracts/queue.rs (`try_push`: `Err(value)` handed back, not dropped); \
                 phase5/pipeline (drop-oldest is an edge policy, chosen, not a queue's default)",
        hint: "when full, return `Err(value)` with the value you were given and leave head, tail \
               and slots untouched",
    },
    Flaw {
        id: "fifo-violated",
        name: "values come out in another order than one producer pushed them",
        meaning: "a queue promises first in, first out for each producer; a consumer that relies on \
                  it (a log, a stream of commands) applies them in the wrong order",
        lesson: "harness::conformance::queue::fifo_single_thread; phase4/src/lockfree/vyukov.rs \
                 (consumers take positions in `head` order)",
        hint: "pop from the end you did not push to: take the slot at `head` and advance `head`",
    },
    Flaw {
        id: "lost-on-concurrent-push",
        name: "two producers pushing at once write the same slot: a value is lost",
        meaning: "the tail is read, then the slot written, in two steps: two producers read the \
                  same tail, both write its slot, one value overwrites the other, and both pushes \
                  return Ok",
        lesson: "phase4/src/lockfree/vyukov.rs (a producer claims its position with a CAS on \
                 `tail` before it writes the slot); phase4/README.md#exercise2--high-performance-concurrency",
        hint: "claim the position and the slot in one atomic step: a compare-and-swap on the tail \
               (retry when it fails), or one critical section around read-write-advance",
    },
    Flaw {
        id: "spurious-empty",
        name: "try_pop returns None while the queue still holds values",
        meaning: "two consumers read the same head; the one that loses finds the slot empty and \
                  reports the whole queue empty. A consumer that stops at None (a drain, a \
                  shutdown) leaves values behind",
        lesson: "phase4/src/lockfree/vyukov.rs (a consumer claims its position with a CAS on \
                 `head`; a lost CAS retries instead of giving up); phase4/tests/loom_queues.rs \
                 (\"not empty after a push returned\")",
        hint: "return None only when the queue was empty at one instant; when another consumer \
               took the slot you looked at, load the head again and retry",
    },
    Flaw {
        id: "values-leak-on-drop",
        name: "values still in the queue when it drops are never dropped",
        meaning: "a queue of `MaybeUninit` slots (or a forgotten buffer) frees the memory but not \
                  the values: their destructors never run, so files stay open, locks stay held, \
                  memory they own leaks",
        lesson: "harness::conformance::queue::drops_exactly_once; phase4/src/lockfree/vyukov.rs \
                 (its Drop pops what is left)",
        hint: "in Drop, drop every value between head and tail exactly once (pop until empty)",
    },
    Flaw {
        id: "try-push-blocks",
        name: "try_push on a full queue waits for room instead of returning",
        meaning: "a non-blocking queue's caller chose what to do when it is full (retry, drop, shed \
                  load); waiting inside try_push takes that choice away, and a producer that is \
                  also the consumer deadlocks",
        lesson: "tests/src/contracts/queue.rs (`ConcurrentQueue`: never blocks); the blocking \
                 version is a channel (phase1/src/channels)",
        hint: "when full, return Err(value) at once; blocking belongs to a channel built on top",
    },
];

/// The `queue` kind.
pub const KIND: Kind = Kind {
    name: "queue",
    catalogue: CATALOGUE,
    not_run: &[
        "loom models: the review has no loom model for an attempt yet (the template builds on \
         shim::sync so one can be written; phase4/tests/loom_queues.rs shows the shape)",
        "Miri: not run by the review yet (an attempt with unsafe code should run its own tests \
         under `cargo +nightly miri test`)",
    ],
};

/// Every scenario of the kind, smallest first, instantiated for the flavor `F`.
pub fn scenarios<F: QueueFlavor>() -> Vec<Scenario> {
    let targeted = Scenario::targeted;
    let mut all = vec![
        targeted(
            "capacity-honoured",
            "with_capacity(4); try_push 0, 1, 2, … until one is refused: exactly 4 taken",
            "capacity-exceeded",
            scenarios::capacity_honoured::<F> as fn() -> _,
        ),
        targeted(
            "failed-push-hands-back",
            "fill with_capacity(4) with 0..4; try_push(99) must give Err(99), and the queue \
             still hold 0..4",
            "failed-push-changes-queue",
            scenarios::failed_push_hands_back::<F>,
        ),
        targeted(
            "try-ops-return-at-once",
            "try_pop on an empty queue, then try_push on a full with_capacity(4), each on another \
             thread: each must return within 2 s",
            "try-push-blocks",
            scenarios::try_ops_return_at_once::<F>,
        ),
        targeted(
            "fifo-one-producer",
            "push 0..8 and pop on one thread; then one producer and one consumer move 0..20000 \
             through with_capacity(64): always in order",
            "fifo-violated",
            scenarios::fifo_one_producer::<F>,
        ),
        targeted(
            "drop-drops-buffered",
            "push 3 ledger-tracked values, pop 1, drop the queue: each dropped exactly once",
            "values-leak-on-drop",
            scenarios::drop_drops_buffered::<F>,
        ),
        targeted(
            "concurrent-pushes-keep-every-value",
            "4 producers push 5000 distinct values each at once into a queue with room for all; \
             one thread then pops all 20000 (5 rounds)",
            "lost-on-concurrent-push",
            scenarios::concurrent_pushes_keep_every_value::<F>,
        ),
        targeted(
            "concurrent-pops-see-every-value",
            "push 0..20000; two consumers pop at once, both stopping at the first None either \
             sees: by then they have all 20000 (5 rounds)",
            "spurious-empty",
            scenarios::concurrent_pops_see_every_value::<F>,
        ),
    ];
    all.push(Scenario {
        name: "stress-ledger",
        group: Group::Stress,
        what: "2 producers x 4000 ledger-tracked values through with_capacity(64), 2 consumers, \
               retrying when full or empty: exact multiset, each producer's order, every value \
               dropped once, no thread left",
        flaw: None,
        limit: Duration::from_secs(30),
        run: scenarios::stress_ledger::<F>,
    });
    use harness::conformance::queue as suite;
    type Case = (&'static str, fn() -> Verdict);
    let cases: [Case; 6] = [
        ("fifo_single_thread", || {
            suite::fifo_single_thread::<F>();
            Verdict::Pass
        }),
        ("full_and_empty", || {
            suite::full_and_empty::<F>();
            Verdict::Pass
        }),
        ("matches_sequential_model", || {
            suite::matches_sequential_model::<F>();
            Verdict::Pass
        }),
        ("mpmc_exact_multiset", || {
            suite::mpmc_exact_multiset::<F>();
            Verdict::Pass
        }),
        ("drops_exactly_once", || {
            suite::drops_exactly_once::<F>();
            Verdict::Pass
        }),
        ("stress_drops_exactly_once", || {
            suite::stress_drops_exactly_once::<F>();
            Verdict::Pass
        }),
    ];
    all.extend(cases.into_iter().map(|(name, case)| Scenario {
        name,
        group: Group::Conformance,
        what: "a case of the queue conformance suite (tests/src/conformance/queue.rs)",
        flaw: None,
        // The suite's own deadline for a case, and a margin for the child process to start.
        limit: suite::CASE_DEADLINE + Duration::from_secs(5),
        run: case,
    }));
    all.push(Scenario {
        name: "bench",
        group: Group::Bench,
        what: "100 000 u64 through capacity 1024, 1 producer + 1 consumer and 2 + 2: the attempt, \
               ours (phase 4's Vyukov queue) and crossbeam's ArrayQueue, best of 3 each, \
               interleaved",
        flaw: None,
        limit: Duration::from_secs(90),
        run: bench::bench::<F>,
    });
    all
}

/// Reviews the queue flavor `F` with the options in `args` (see [`driver::run`]).
pub fn review<F: QueueFlavor>(args: &ReviewArgs) -> ExitCode {
    driver::run(&KIND, F::NAME, &scenarios::<F>(), args)
}

/// The `main` of an attempt's review binary: `fn main() -> ExitCode { review::kinds::queue::main::<Attempt>() }`.
pub fn main<F: QueueFlavor>() -> ExitCode {
    driver::main(&KIND, F::NAME, &scenarios::<F>())
}
