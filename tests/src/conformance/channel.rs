//! The channel conformance suite, written once against [`ChannelFlavor`] and run against ours,
//! `std::sync::mpsc` and crossbeam-channel (`phase1/tests/channel_conformance.rs`).
//!
//! Every case runs under [`within`], so a deadlock fails fast with a message. Cases check observable
//! effects that hold in every valid interleaving: exact multisets, per-sender order, drop counts,
//! a measured occupancy bound, and "has not returned yet" observations that can only be wrong if the
//! channel is. Where a peer legitimately lacks a feature (std's receiver does not clone, std has no
//! stable `send_timeout`), the case says so and checks what the peer does have.
//!
//! Use [`channel_conformance!`](crate::channel_conformance) to instantiate every case as a `#[test]`.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use crate::contracts::channel::{
    ChannelFlavor, ChannelReceiver, ChannelSender, RecvTimeoutFailure, SendTimeoutFailure,
    TryRecvFailure, TrySendFailure,
};
use crate::ledger::Counted;
use crate::wait::poll_until;
use crate::watchdog::within;

/// Deadline for one case: generous, since a case only fails by it when something is deadlocked.
/// Under Miri the clock is virtual and advances with every interpreted step, and a spinning
/// channel (crossbeam backs off by spinning before it sleeps) burns through 20 s of it: 600 s there.
pub const CASE_DEADLINE: Duration = if cfg!(miri) {
    Duration::from_secs(600)
} else {
    Duration::from_secs(20)
};

/// A pause long enough for a thread that *could* run to have run, on a loaded 2-core machine. Used
/// only to give a wrong outcome the chance to show ("the sender has not returned"), never to assert a
/// duration.
const SETTLE: Duration = Duration::from_millis(30);

/// `full` normally, `miri` under Miri (`make miri`), which interprets every step: the stress cases
/// keep their shape (threads, capacities, checks) with fewer values.
const fn sized(full: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { full }
}

// All atomics in this suite use SeqCst: they are test bookkeeping, read after joins or as flags, and
// the simplest correct ordering keeps the suite about the channel, not about the suite.

/// The capacities every size-generic case runs at (0 only for flavors with rendezvous).
fn capacities<F: ChannelFlavor>() -> Vec<Option<usize>> {
    let mut caps = vec![Some(1), Some(3), Some(64), None];
    if F::FEATURES.rendezvous {
        caps.insert(0, Some(0));
    }
    caps
}

fn make<F: ChannelFlavor, T: Send + 'static>(cap: Option<usize>) -> (F::Sender<T>, F::Receiver<T>) {
    match cap {
        Some(c) => F::bounded(c),
        None => F::unbounded(),
    }
}

/// The capacities at which a send blocks once the channel is as [`full`] leaves it: 1, and 0 for
/// flavors with rendezvous.
fn blocking_capacities<F: ChannelFlavor>() -> Vec<usize> {
    let mut caps = vec![1];
    if F::FEATURES.rendezvous {
        caps.insert(0, 0);
    }
    caps
}

/// A bounded channel of capacity `cap` (0 or 1) in which the next send blocks: at capacity 1 it
/// holds `filler`; a rendezvous channel has no room to fill.
fn full<F: ChannelFlavor>(cap: usize, filler: u32) -> (F::Sender<u32>, F::Receiver<u32>) {
    let (tx, rx) = F::bounded::<u32>(cap);
    if cap == 1 {
        tx.send(filler).unwrap();
    }
    (tx, rx)
}

/// Two producers send `(id, seq)`; one consumer sees each producer's sequence in order, complete.
pub fn fifo_per_sender<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in capacities::<F>() {
            let (tx, rx) = make::<F, (usize, usize)>(cap);
            let n = sized(2_000, 40);
            let producers: Vec<_> = (0..2)
                .map(|id| {
                    let tx = tx.clone();
                    thread::spawn(move || {
                        (0..n).for_each(|seq| tx.send((id, seq)).expect("receiver alive"))
                    })
                })
                .collect();
            drop(tx);
            let mut next = [0usize; 2];
            while let Some((id, seq)) = rx.recv() {
                assert_eq!(
                    seq,
                    next[id],
                    "{}: cap {cap:?}: producer {id} out of order",
                    F::NAME
                );
                next[id] += 1;
            }
            producers.into_iter().for_each(|p| p.join().unwrap());
            assert_eq!(next, [n, n], "{}: cap {cap:?}: lost values", F::NAME);
        }
    })
}

/// Three producers, two consumers (one if the receiver cannot clone): every value arrives exactly once.
pub fn exact_multiset_mpmc<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in capacities::<F>() {
            let (tx, rx) = make::<F, u64>(cap);
            let per = sized(3_000, 40) as u64;
            let producers: Vec<_> = (0..3u64)
                .map(|p| {
                    let tx = tx.clone();
                    thread::spawn(move || (0..per).for_each(|i| tx.send(p * per + i).unwrap()))
                })
                .collect();
            drop(tx);
            // std mpsc is single-consumer: one consumer thread there, two elsewhere.
            let mut receivers = vec![];
            if let Some(second) = rx.try_clone() {
                receivers.push(second);
            }
            receivers.push(rx);
            let consumers: Vec<_> = receivers
                .into_iter()
                .map(|rx| {
                    thread::spawn(move || std::iter::from_fn(|| rx.recv()).collect::<Vec<u64>>())
                })
                .collect();
            producers.into_iter().for_each(|p| p.join().unwrap());
            let mut all: Vec<u64> = consumers
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect();
            all.sort_unstable();
            let expected: Vec<u64> = (0..3 * per).collect();
            assert!(
                all == expected,
                "{}: cap {cap:?}: lost or duplicated values",
                F::NAME
            );
        }
    })
}

/// With the consumer paused, exactly `cap` sends complete (a rendezvous: none), and each recv lets
/// exactly one more through.
pub fn capacity_is_honoured<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        let caps: Vec<usize> = capacities::<F>()
            .into_iter()
            .flatten()
            .filter(|&c| c <= 64)
            .collect();
        for cap in caps {
            let (tx, rx) = F::bounded::<usize>(cap);
            let completed = Arc::new(AtomicUsize::new(0));
            let c = completed.clone();
            let total = cap + 3;
            let producer = thread::spawn(move || {
                for i in 0..total {
                    tx.send(i).unwrap();
                    c.fetch_add(1, SeqCst);
                }
            });
            assert!(
                poll_until(CASE_DEADLINE, || completed.load(SeqCst) >= cap),
                "{}: cap {cap}: the first {cap} sends never completed",
                F::NAME
            );
            thread::sleep(SETTLE);
            assert_eq!(
                completed.load(SeqCst),
                cap,
                "{}: cap {cap}: sends completed past the capacity",
                F::NAME
            );
            for taken in 1..=3 {
                assert!(rx.recv().is_some());
                assert!(
                    poll_until(CASE_DEADLINE, || completed.load(SeqCst) >= cap + taken),
                    "{}: cap {cap}: a recv never let a blocked send complete",
                    F::NAME
                );
                if taken < 3 {
                    thread::sleep(SETTLE);
                    assert_eq!(
                        completed.load(SeqCst),
                        cap + taken,
                        "{}: cap {cap}: one recv, one slot",
                        F::NAME
                    );
                }
            }
            producer.join().unwrap();
            for expected in 3..total {
                assert_eq!(rx.recv(), Some(expected));
            }
        }
    })
}

/// Two producers and one consumer: after every send, completed sends minus completed receives never
/// exceeds `cap + 1` (the one value a consumer may hold between popping and counting). Measured.
pub fn occupancy_bounded<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in capacities::<F>().into_iter().flatten() {
            let (tx, rx) = F::bounded::<usize>(cap);
            let sent = Arc::new(AtomicUsize::new(0));
            let received = Arc::new(AtomicUsize::new(0));
            let max_seen = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let (tx, sent, received, max_seen) =
                        (tx.clone(), sent.clone(), received.clone(), max_seen.clone());
                    thread::spawn(move || {
                        for i in 0..sized(3_000, 40) {
                            tx.send(i).unwrap();
                            let s = sent.fetch_add(1, SeqCst) + 1;
                            let r = received.load(SeqCst);
                            max_seen.fetch_max(s.saturating_sub(r), SeqCst);
                        }
                    })
                })
                .collect();
            drop(tx);
            while rx.recv().is_some() {
                received.fetch_add(1, SeqCst);
            }
            producers.into_iter().for_each(|p| p.join().unwrap());
            let max = max_seen.load(SeqCst);
            // Counted sends <= values pushed, and counted receives >= values popped - 1 (the one
            // consumer may have popped and not yet counted); `received` only grows after `s` is
            // read. So s - r <= (pushed - popped) + 1 <= cap + 1 (capacity 0: a completed send was
            // already popped, so also <= 1).
            assert!(
                max <= cap + 1,
                "{}: cap {cap}: measured occupancy {max} exceeds cap + 1",
                F::NAME
            );
        }
    })
}

/// Capacity 0: `send` does not return before a receiver has begun receiving, and with two senders
/// and one `recv` exactly one of them returns.
pub fn rendezvous_waits_for_the_receiver<F: ChannelFlavor>() {
    if !F::FEATURES.rendezvous {
        return; // no capacity 0 in this flavor
    }
    within(CASE_DEADLINE, || {
        let (tx, rx) = F::bounded::<usize>(0);
        // How many `recv` calls have begun. The k-th send to return needs k receives begun: a send
        // that returns with fewer has not been met by a receiver.
        let recvs_begun = Arc::new(AtomicUsize::new(0));
        let returned = Arc::new(AtomicUsize::new(0));
        let met_by_a_receiver = Arc::new(AtomicUsize::new(0));
        let senders: Vec<_> = (0..2)
            .map(|i| {
                let (tx, begun, returned, met) = (
                    tx.clone(),
                    recvs_begun.clone(),
                    returned.clone(),
                    met_by_a_receiver.clone(),
                );
                thread::spawn(move || {
                    tx.send(i).unwrap();
                    let rank = returned.fetch_add(1, SeqCst) + 1;
                    if begun.load(SeqCst) >= rank {
                        met.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        drop(tx);
        thread::sleep(SETTLE);
        assert_eq!(
            returned.load(SeqCst),
            0,
            "{}: a rendezvous send returned with no receiver",
            F::NAME
        );
        recvs_begun.fetch_add(1, SeqCst);
        let first = rx.recv().unwrap();
        assert!(
            poll_until(CASE_DEADLINE, || returned.load(SeqCst) >= 1),
            "{}: no rendezvous sender returned after a recv",
            F::NAME
        );
        thread::sleep(SETTLE);
        assert_eq!(
            returned.load(SeqCst),
            1,
            "{}: one recv let two rendezvous senders return",
            F::NAME
        );
        recvs_begun.fetch_add(1, SeqCst);
        let second = rx.recv().unwrap();
        senders.into_iter().for_each(|s| s.join().unwrap());
        assert_eq!(
            met_by_a_receiver.load(SeqCst),
            2,
            "{}: the k-th send returned before the k-th recv began",
            F::NAME
        );
        assert_eq!(
            first + second,
            1,
            "{}: each sender's value exactly once",
            F::NAME
        );
        assert_eq!(rx.recv(), None);
    })
}

/// Capacity 0: `try_send` fails (`Full`) with no receiver waiting, and succeeds once one is blocked.
pub fn rendezvous_try_send<F: ChannelFlavor>() {
    if !F::FEATURES.rendezvous {
        return;
    }
    within(CASE_DEADLINE, || {
        let (tx, rx) = F::bounded::<u32>(0);
        assert!(
            matches!(tx.try_send(1), Err(TrySendFailure::Full(1))),
            "{}: try_send with nobody there",
            F::NAME
        );
        let receiver = thread::spawn(move || rx.recv());
        // The receiver blocks at some point; until then try_send keeps failing with its value back.
        let mut value = 7;
        loop {
            match tx.try_send(value) {
                Ok(()) => break,
                Err(TrySendFailure::Full(v)) => value = v,
                Err(TrySendFailure::Disconnected(_)) => panic!("{}: receiver vanished", F::NAME),
            }
            thread::yield_now();
        }
        assert_eq!(receiver.join().unwrap(), Some(7));
    })
}

/// Dropping the last sender: receivers drain what is buffered, in order, then see disconnection,
/// through every receive method; a receiver blocked at that moment is woken.
pub fn close_drains_then_disconnects<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in [Some(4), None] {
            let (tx, rx) = make::<F, u32>(cap);
            let tx2 = tx.clone();
            for v in 0..3 {
                tx.send(v).unwrap();
            }
            drop(tx);
            assert_eq!(rx.recv(), Some(0), "{}: one sender is still alive", F::NAME);
            drop(tx2); // the last one
            assert_eq!(rx.recv(), Some(1));
            assert_eq!(rx.try_recv(), Ok(2));
            assert_eq!(rx.recv(), None);
            assert_eq!(rx.try_recv(), Err(TryRecvFailure::Disconnected));
            assert_eq!(
                rx.recv_timeout(Duration::from_millis(5)),
                Err(RecvTimeoutFailure::Disconnected)
            );
        }
        // A blocked receiver is woken by the close.
        let (tx, rx) = F::bounded::<u32>(1);
        let blocked = thread::spawn(move || rx.recv());
        thread::sleep(SETTLE);
        drop(tx);
        assert_eq!(
            blocked.join().unwrap(),
            None,
            "{}: close wakes a blocked receiver",
            F::NAME
        );
    })
}

/// Dropping every receiver: every send method fails and hands the value back; a sender blocked on a
/// full channel (or a rendezvous) at that moment is woken with its value.
pub fn send_after_receivers_dropped<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in capacities::<F>() {
            let (tx, rx) = make::<F, String>(cap);
            drop(rx);
            assert_eq!(
                tx.send("a".into()),
                Err("a".to_string()),
                "{}: cap {cap:?}",
                F::NAME
            );
            assert_eq!(
                tx.try_send("b".into()),
                Err(TrySendFailure::Disconnected("b".into()))
            );
            if F::FEATURES.send_timeout {
                let r = tx.send_timeout("c".into(), Duration::from_millis(5));
                assert_eq!(r, Err(SendTimeoutFailure::Disconnected("c".into())));
            }
        }
        let blocked_caps: Vec<usize> = if F::FEATURES.rendezvous {
            vec![0, 1]
        } else {
            vec![1]
        };
        for cap in blocked_caps {
            let (tx, rx) = F::bounded::<u32>(cap);
            if cap == 1 {
                tx.send(0).unwrap(); // full now
            }
            let blocked = thread::spawn(move || tx.send(42));
            thread::sleep(SETTLE);
            drop(rx);
            assert_eq!(
                blocked.join().unwrap(),
                Err(42),
                "{}: cap {cap}: a blocked sender gets its value back",
                F::NAME
            );
        }
    })
}

/// `try_*` never block: empty gives `Empty`, full gives `Full` with the value back.
pub fn try_variants<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        let (tx, rx) = F::bounded::<u32>(1);
        assert_eq!(rx.try_recv(), Err(TryRecvFailure::Empty));
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Err(TrySendFailure::Full(2)));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvFailure::Empty));
        let (utx, urx) = F::unbounded::<u32>();
        let sends = sized(1_000, 50);
        for i in 0..sends as u32 {
            assert_eq!(
                utx.try_send(i),
                Ok(()),
                "{}: unbounded try_send never reports Full",
                F::NAME
            );
        }
        assert_eq!(std::iter::from_fn(|| urx.try_recv().ok()).count(), sends);
    })
}

/// `*_timeout`: an empty recv times out no earlier than asked; a full (or rendezvous) send times out
/// and its value comes back and is never delivered; a value arriving in time is received.
pub fn timeout_variants<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        let (tx, rx) = F::bounded::<u32>(1);
        let asked = Duration::from_millis(20);
        let t0 = Instant::now();
        assert_eq!(rx.recv_timeout(asked), Err(RecvTimeoutFailure::Timeout));
        assert!(
            t0.elapsed() >= asked,
            "{}: recv_timeout returned before its timeout",
            F::NAME
        );
        let late = {
            let tx = tx.clone();
            thread::spawn(move || {
                thread::sleep(SETTLE);
                tx.send(5).unwrap();
            })
        };
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Ok(5),
            "{}: a value arriving in time",
            F::NAME
        );
        late.join().unwrap();
        if !F::FEATURES.send_timeout {
            return; // std: SyncSender::send_timeout is unstable
        }
        tx.send(1).unwrap();
        assert_eq!(
            tx.send_timeout(2, asked),
            Err(SendTimeoutFailure::Timeout(2)),
            "{}: full",
            F::NAME
        );
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvFailure::Empty),
            "{}: the timed-out value was not delivered",
            F::NAME
        );
        if F::FEATURES.rendezvous {
            let (tx0, rx0) = F::bounded::<u32>(0);
            assert_eq!(
                tx0.send_timeout(9, asked),
                Err(SendTimeoutFailure::Timeout(9)),
                "{}: rendezvous",
                F::NAME
            );
            assert_eq!(
                rx0.try_recv(),
                Err(TryRecvFailure::Empty),
                "{}: a timed-out rendezvous value is withdrawn",
                F::NAME
            );
            let receiver = thread::spawn(move || rx0.recv());
            assert_eq!(tx0.send_timeout(10, Duration::from_secs(10)), Ok(()));
            assert_eq!(receiver.join().unwrap(), Some(10));
        }
    })
}

/// Every value is dropped exactly once: received ones by the receiver, refused ones by the caller,
/// and the ones still buffered when the last receiver goes or, at the latest, when the channel is freed.
pub fn values_dropped_exactly_once<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in [Some(8), None] {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = make::<F, Counted>(cap);
            for _ in 0..6 {
                assert!(tx.send(Counted(drops.clone())).is_ok());
            }
            for _ in 0..2 {
                drop(rx.recv().expect("buffered"));
            }
            assert_eq!(
                drops.load(SeqCst),
                2,
                "{}: received values dropped once",
                F::NAME
            );
            drop(rx);
            // When the buffered values are dropped is not part of the contract: crossbeam (and std, a
            // port of it) drops them as the last receiver leaves in an unbounded channel but keeps
            // them in a bounded one until the channel is freed; ours drops them at once in both. Either
            // way each is dropped exactly once, which the count below checks.
            let after_rx = drops.load(SeqCst);
            assert!(
                after_rx == 2 || after_rx == 6,
                "{}: cap {cap:?}: {after_rx} drops after the receiver left (2 or 6 expected)",
                F::NAME
            );
            let refused = tx.send(Counted(drops.clone())).unwrap_err();
            assert_eq!(
                drops.load(SeqCst),
                after_rx,
                "{}: a refused value is handed back, not dropped",
                F::NAME
            );
            drop(refused);
            drop(tx);
            assert_eq!(
                drops.load(SeqCst),
                7,
                "{}: cap {cap:?}: 6 + the refused one = 7 drops",
                F::NAME
            );
        }
    })
}

/// MPMC: two receivers of one channel share the values (skipped for std: its receiver cannot clone).
pub fn receivers_share_values<F: ChannelFlavor>() {
    if !F::FEATURES.receiver_clones {
        return; // std::sync::mpsc is single-consumer by design
    }
    within(CASE_DEADLINE, || {
        let (tx, rx) = F::bounded::<u32>(4);
        let rx2 = rx.try_clone().expect("receiver_clones");
        let a = thread::spawn(move || std::iter::from_fn(|| rx.recv()).collect::<Vec<_>>());
        let b = thread::spawn(move || std::iter::from_fn(|| rx2.recv()).collect::<Vec<_>>());
        let sends = sized(10_000, 100);
        for i in 0..sends as u32 {
            tx.send(i).unwrap();
        }
        drop(tx);
        let (va, vb) = (a.join().unwrap(), b.join().unwrap());
        let mut counts = HashMap::new();
        for v in va.iter().chain(&vb) {
            *counts.entry(*v).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), sends, "{}: every value delivered", F::NAME);
        assert!(
            counts.values().all(|&c| c == 1),
            "{}: no value delivered twice",
            F::NAME
        );
    })
}

/// `len` counts buffered values only: at capacity 0 it is 0 even while a sender is blocked handing
/// a value over (a rendezvous buffers nothing), and at capacity 2 it counts what is buffered.
/// Skipped where the flavor has no `len` (std's mpsc).
pub fn len_counts_buffered_values_only<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        let (tx, rx) = F::bounded::<u32>(2);
        if rx.len().is_none() {
            return; // no `len` in this flavor
        }
        assert_eq!(
            (tx.len(), rx.len()),
            (Some(0), Some(0)),
            "{}: empty",
            F::NAME
        );
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(
            (tx.len(), rx.len()),
            (Some(2), Some(2)),
            "{}: two buffered",
            F::NAME
        );
        assert_eq!((tx.is_empty(), rx.is_empty()), (Some(false), Some(false)));
        assert_eq!(rx.recv(), Some(1));
        assert_eq!(rx.len(), Some(1), "{}: one left", F::NAME);
        if !F::FEATURES.rendezvous {
            return;
        }
        let (tx0, rx0) = F::bounded::<u32>(0);
        let tx0b = tx0.clone();
        let blocked = thread::spawn(move || tx0b.send(7));
        thread::sleep(SETTLE); // the sender is (very likely) blocked with its value in hand now
        assert_eq!(
            (tx0.len(), rx0.len(), tx0.is_empty(), rx0.is_empty()),
            (Some(0), Some(0), Some(true), Some(true)),
            "{}: a rendezvous channel buffers nothing, even with a sender blocked",
            F::NAME
        );
        assert_eq!(rx0.recv(), Some(7));
        assert_eq!(blocked.join().unwrap(), Ok(()));
        assert_eq!(rx0.len(), Some(0));
    })
}

/// A timeout too long to be a deadline (`Duration::MAX`) means "no deadline": the call waits as
/// long as the plain one would, and neither panics nor returns early. A receiver in
/// `recv_timeout(MAX)` gets a value sent 50 ms later, or sees the disconnection; a sender in
/// `send_timeout(v, MAX)` on a full (or rendezvous) channel completes once a receiver makes room.
pub fn timeout_max_means_no_deadline<F: ChannelFlavor>() {
    const LATER: Duration = Duration::from_millis(50);
    within(CASE_DEADLINE, || {
        let (tx, rx) = F::bounded::<u32>(1);
        let receiver = thread::spawn(move || {
            let first = rx.recv_timeout(Duration::MAX);
            let second = rx.recv_timeout(Duration::MAX);
            (first, second)
        });
        thread::sleep(LATER);
        tx.send(5).unwrap();
        thread::sleep(LATER);
        drop(tx);
        assert_eq!(
            receiver.join().unwrap(),
            (Ok(5), Err(RecvTimeoutFailure::Disconnected)),
            "{}: recv_timeout(Duration::MAX) waits for a value, then for the disconnection",
            F::NAME
        );
        if !F::FEATURES.send_timeout {
            return; // std: SyncSender::send_timeout is unstable
        }
        for cap in blocking_capacities::<F>() {
            let (tx, rx) = full::<F>(cap, 1);
            let sender = thread::spawn(move || tx.send_timeout(2, Duration::MAX));
            thread::sleep(LATER);
            if cap == 1 {
                assert_eq!(rx.recv(), Some(1));
            }
            assert_eq!(rx.recv(), Some(2), "{}: cap {cap}", F::NAME);
            assert_eq!(
                sender.join().unwrap(),
                Ok(()),
                "{}: cap {cap}: send_timeout(v, Duration::MAX) completes when there is room",
                F::NAME
            );
            // And it fails with its value once every receiver is gone.
            let (tx, rx) = full::<F>(cap, 1);
            let sender = thread::spawn(move || tx.send_timeout(3, Duration::MAX));
            thread::sleep(LATER);
            drop(rx);
            assert_eq!(
                sender.join().unwrap(),
                Err(SendTimeoutFailure::Disconnected(3)),
                "{}: cap {cap}: send_timeout(v, Duration::MAX) is woken by the disconnection",
                F::NAME
            );
        }
    })
}

/// The last receiver leaving wakes *every* blocked sender, each failing with its own value: three
/// senders blocked on a full capacity-1 channel (and on a rendezvous, where supported). And the
/// symmetric close: the last sender leaving wakes every blocked receiver (where receivers clone).
pub fn close_wakes_every_blocked_thread<F: ChannelFlavor>() {
    within(CASE_DEADLINE, || {
        for cap in blocking_capacities::<F>() {
            let (tx, rx) = full::<F>(cap, 0);
            let senders: Vec<_> = (1..=3)
                .map(|v| {
                    let tx = tx.clone();
                    thread::spawn(move || tx.send(v))
                })
                .collect();
            drop(tx);
            thread::sleep(SETTLE); // all three are (very likely) blocked now
            drop(rx);
            let results: Vec<_> = senders.into_iter().map(|s| s.join().unwrap()).collect();
            assert_eq!(
                results,
                [Err(1), Err(2), Err(3)],
                "{}: cap {cap}: every blocked sender gets its own value back",
                F::NAME
            );
        }
        let (tx, rx) = F::bounded::<u32>(1);
        let Some(first) = rx.try_clone() else {
            return; // std's receiver does not clone: one blocked receiver is all it can have
        };
        let receivers: Vec<_> = [Some(first), rx.try_clone(), Some(rx)]
            .into_iter()
            .map(|rx| {
                let rx = rx.expect("receiver_clones");
                thread::spawn(move || rx.recv())
            })
            .collect();
        thread::sleep(SETTLE); // all three are (very likely) blocked now
        drop(tx); // the last sender
        let results: Vec<_> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
        assert_eq!(
            results,
            [None, None, None],
            "{}: every blocked receiver sees the disconnection",
            F::NAME
        );
    })
}

/// Instantiates every case of the suite as a `#[test]` in a module: `channel_conformance!(ours, Ours);`
#[macro_export]
macro_rules! channel_conformance {
    ($module:ident, $flavor:ty) => {
        mod $module {
            use $crate::conformance::channel as suite;
            #[test]
            fn fifo_per_sender() {
                suite::fifo_per_sender::<$flavor>();
            }
            #[test]
            fn exact_multiset_mpmc() {
                suite::exact_multiset_mpmc::<$flavor>();
            }
            #[test]
            fn capacity_is_honoured() {
                suite::capacity_is_honoured::<$flavor>();
            }
            #[test]
            fn occupancy_bounded() {
                suite::occupancy_bounded::<$flavor>();
            }
            #[test]
            fn rendezvous_waits_for_the_receiver() {
                suite::rendezvous_waits_for_the_receiver::<$flavor>();
            }
            #[test]
            fn rendezvous_try_send() {
                suite::rendezvous_try_send::<$flavor>();
            }
            #[test]
            fn close_drains_then_disconnects() {
                suite::close_drains_then_disconnects::<$flavor>();
            }
            #[test]
            fn send_after_receivers_dropped() {
                suite::send_after_receivers_dropped::<$flavor>();
            }
            #[test]
            fn try_variants() {
                suite::try_variants::<$flavor>();
            }
            #[test]
            fn timeout_variants() {
                suite::timeout_variants::<$flavor>();
            }
            #[test]
            fn values_dropped_exactly_once() {
                suite::values_dropped_exactly_once::<$flavor>();
            }
            #[test]
            fn receivers_share_values() {
                suite::receivers_share_values::<$flavor>();
            }
            #[test]
            fn len_counts_buffered_values_only() {
                suite::len_counts_buffered_values_only::<$flavor>();
            }
            #[test]
            fn timeout_max_means_no_deadline() {
                suite::timeout_max_means_no_deadline::<$flavor>();
            }
            #[test]
            fn close_wakes_every_blocked_thread() {
                suite::close_wakes_every_blocked_thread::<$flavor>();
            }
        }
    };
}
