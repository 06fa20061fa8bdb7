//! The `channel` kind: a reader's `ChannelFlavor` (harness::contracts::channel), reviewed by
//! targeted scenarios (one per catalogued flaw), the channel conformance suite, a drop-ledger
//! stress test with the leak checker, and a quick bench against ours (phase1) and crossbeam-channel.
use std::process::ExitCode;
use std::time::Duration;

use harness::contracts::channel::ChannelFlavor;

use crate::driver::{self, ReviewArgs};
use crate::{Flaw, Group, Kind, Scenario};

mod bench;
pub mod flawed;
#[path = "../../../templates/channel/src/lib.rs"]
pub mod naive;
mod scenarios;

/// The channel catalogue: the failure modes phase 1's channel lesson teaches.
pub const CATALOGUE: &[Flaw] = &[
    Flaw {
        id: "sender-not-woken-on-close",
        name: "a blocked sender is not woken when the last receiver drops",
        meaning: "a producer waiting for room sleeps forever once the consumer is gone: the thread \
                  (and its value) leak, the Rust twin of a goroutine blocked on a channel nobody reads",
        lesson: "phase1/src/channels/shared.rs (\"close\" in the protocol); phase1/README.md#pitfalls-1",
        hint: "when the receiver count reaches 0, notify_all the condvar senders sleep on (one \
               notify_one wakes one of them; each must fail with its own value), and have a woken \
               sender re-check the receiver count before waiting again",
    },
    Flaw {
        id: "receiver-not-woken-on-close",
        name: "a blocked receiver is not woken when the last sender drops",
        meaning: "`for v in rx` never ends after every producer finished: the consumer thread hangs \
                  instead of seeing the end of the stream",
        lesson: "phase1/src/channels/shared.rs (\"close\" in the protocol); phase1/README.md#exercise2--channels-deep-dive (closing)",
        hint: "the last Sender's Drop must notify_all the receivers' condvar, and a receiver must \
               check the sender count before it waits",
    },
    Flaw {
        id: "buffered-values-leak",
        name: "buffered values are not dropped (exactly once) when the channel drops",
        meaning: "values still in the buffer when both halves are gone are never dropped (their \
                  memory, files or sockets leak) or are dropped twice",
        lesson: "phase1/src/channels/shared.rs (\"close\", and \"A buffered value whose Drop panics\"); tests/src/ledger.rs",
        hint: "the buffer owns its values: let the queue drop them (when the last receiver leaves, \
               or with the shared state); never mem::forget or ptr::read them out",
    },
    Flaw {
        id: "fifo-violated",
        name: "FIFO violated for one sender",
        meaning: "values from one sender come out in an order other than the one they were sent in; \
                  every protocol built on a channel (requests then close, a sequence of updates) breaks",
        lesson: "phase1/src/channels/shared.rs (\"recv: pop the oldest value\"); phase1/README.md#exercise2--channels-deep-dive",
        hint: "push at the back and pop at the front of one queue (VecDeque::push_back / pop_front), \
               under the same lock",
    },
    Flaw {
        id: "lost-wakeup",
        name: "lost wake-up: a waiter sleeps on although it could proceed",
        meaning: "a receiver sleeps with a value in the buffer (or a sender with room free) because \
                  the notification it needed was skipped or went to another thread; the program \
                  stalls until some unrelated event, or forever",
        lesson: "phase1/src/channels/shared.rs (the protocol's first paragraph); phase1/src/channels/broken.rs",
        hint: "notify on every change a waiter may be waiting for, not only on empty→non-empty or \
               full→not-full transitions: with two waiters, the second change is the one that \
               must wake the second thread",
    },
    Flaw {
        id: "capacity-exceeded",
        name: "capacity exceeded: a bounded channel holds more than its capacity",
        meaning: "back-pressure is gone: a producer does not slow down when the consumer falls \
                  behind, and memory grows past what `bounded(n)` promised",
        lesson: "phase1/src/channels/shared.rs (\"send, capacity N > 0\"); phase1/README.md#exercise2--channels-deep-dive",
        hint: "a send may push only while len < capacity (not <=), checked under the lock that the \
               push holds",
    },
    Flaw {
        id: "close-before-drain",
        name: "values lost on close: the receiver reports disconnection with values still buffered",
        meaning: "the last values a producer sent before dropping its sender are never received, \
                  although send returned Ok for them",
        lesson: "phase1/src/channels/shared.rs (\"recv: … report disconnection if every sender is gone (so receivers drain the buffer first)\"); phase1/README.md#exercise2--channels-deep-dive (closing)",
        hint: "in recv, try to pop first; report disconnection only when the queue is empty and \
               the sender count is 0",
    },
];

/// The `channel` kind.
pub const KIND: Kind = Kind {
    name: "channel",
    catalogue: CATALOGUE,
    not_run: &[
        "loom models: the review has no loom model for an attempt yet (the template builds on \
         shim::sync so one can be written; phase1/tests/loom_channel.rs shows the shape)",
        "Miri: not run by the review yet (an attempt with unsafe code should run its own tests \
         under `cargo +nightly miri test`)",
    ],
};

/// Every scenario of the kind, smallest first, instantiated for the flavor `F`.
pub fn scenarios<F: ChannelFlavor>() -> Vec<Scenario> {
    let targeted = Scenario::targeted;
    let mut all = vec![
        targeted(
            "capacity-honoured",
            "bounded(cap) for cap 1, 2, 5: cap try_sends succeed, the next one must be Full",
            "capacity-exceeded",
            scenarios::capacity_honoured::<F> as fn() -> _,
        ),
        targeted(
            "fifo-one-sender",
            "one thread sends 0, 1, 2, 3 into bounded(4) and receives them; then 20 000 values \
             through bounded(16) from one sender thread",
            "fifo-violated",
            scenarios::fifo_one_sender::<F>,
        ),
        targeted(
            "close-drains-first",
            "send 1, 2, 3, drop the sender, then receive: 1, 2, 3 come out before the disconnection",
            "close-before-drain",
            scenarios::close_drains_first::<F>,
        ),
        targeted(
            "buffered-values-dropped",
            "send 5 ledger-tracked values into bounded(8) (and unbounded), drop both halves: each \
             must have been dropped exactly once",
            "buffered-values-leak",
            scenarios::buffered_values_dropped::<F>,
        ),
        targeted(
            "last-receiver-wakes-sender",
            "a sender blocks on a full channel; the last receiver drops; the send must return its \
             value within 2 s",
            "sender-not-woken-on-close",
            scenarios::last_receiver_wakes_sender::<F>,
        ),
        targeted(
            "last-sender-wakes-receiver",
            "a receiver blocks on an empty channel; the last sender drops; recv must return None \
             within 2 s",
            "receiver-not-woken-on-close",
            scenarios::last_sender_wakes_receiver::<F>,
        ),
        targeted(
            "two-waiters-both-woken",
            "two senders blocked on a full bounded(2) while one thread receives back to back; and \
             two receivers blocked on an empty channel while one thread sends twice back to back: \
             both waiters must get through (50 rounds)",
            "lost-wakeup",
            scenarios::two_waiters_both_woken::<F>,
        ),
    ];
    all.push(Scenario {
        name: "stress-ledger",
        group: Group::Stress,
        what: "4 producers × 2 000 ledger-tracked values through bounded(8) and unbounded to 2 \
               receivers (1 without receiver clones): exact multiset, per-producer order, every value \
               dropped once, no thread left behind",
        flaw: None,
        limit: Duration::from_secs(30),
        run: scenarios::stress_ledger::<F>,
    });
    use harness::conformance::channel as suite;
    // Each case as a `fn() -> Verdict`: a panic (a failed assertion) is caught by the driver.
    macro_rules! cases {
        ($($case:ident),* $(,)?) => {
            [$((stringify!($case), (|| { suite::$case::<F>(); crate::Verdict::Pass }) as fn() -> crate::Verdict)),*]
        };
    }
    let cases = cases![
        fifo_per_sender,
        exact_multiset_mpmc,
        capacity_is_honoured,
        occupancy_bounded,
        rendezvous_waits_for_the_receiver,
        rendezvous_try_send,
        close_drains_then_disconnects,
        send_after_receivers_dropped,
        try_variants,
        timeout_variants,
        values_dropped_exactly_once,
        receivers_share_values,
        len_counts_buffered_values_only,
        timeout_max_means_no_deadline,
        close_wakes_every_blocked_thread,
    ];
    all.extend(cases.into_iter().map(|(name, case)| Scenario {
        name,
        group: Group::Conformance,
        what: "a case of the channel conformance suite (tests/src/conformance/channel.rs)",
        flaw: None,
        // The suite's own deadline is 20 s a case; a hang is killed sooner, to keep a review short.
        limit: Duration::from_secs(8),
        run: case,
    }));
    all.push(Scenario {
        name: "bench",
        group: Group::Bench,
        what: "SPSC and MPMC hand-offs of u64 through bounded(64): the attempt, ours (phase1) and \
               crossbeam-channel, best of 3 each, interleaved",
        flaw: None,
        limit: Duration::from_secs(60),
        run: bench::bench::<F>,
    });
    all
}

/// Reviews the flavor `F` with the options in `args` (see [`driver::run`]).
pub fn review<F: ChannelFlavor>(args: &ReviewArgs) -> ExitCode {
    driver::run(&KIND, F::NAME, &scenarios::<F>(), args)
}

/// The `main` of an attempt's review binary: `fn main() -> ExitCode { review::kinds::channel::main::<MyFlavor>() }`.
pub fn main<F: ChannelFlavor>() -> ExitCode {
    driver::main(&KIND, F::NAME, &scenarios::<F>())
}
