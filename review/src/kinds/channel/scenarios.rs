//! The channel scenarios. Each targeted one exposes one catalogued flaw and nothing else: it fills
//! a channel with `try_send` until `Full` rather than assuming the capacity (so a capacity bug does
//! not show up as a wake-up bug), compares delivered values as a multiset where order is not its
//! question, and waits for every blocked call with a deadline ([`join_within`]) so a hang is its
//! finding, with the step it hung at ([`step`]).
use std::collections::HashMap;
use std::thread;
use std::time::Duration;

use harness::contracts::channel::{
    ChannelFlavor, ChannelReceiver, ChannelSender, RecvTimeoutFailure, TrySendFailure,
};
use harness::ledger::{DropLedger, Tracked};

use crate::{Verdict, join_within, spawn_blocked, step};

/// How long a woken thread gets to return before it counts as not woken.
const HANG: Duration = Duration::from_secs(2);

/// Sends with `try_send` until the channel says `Full`; how many it took (at most 1 024).
fn fill<F: ChannelFlavor>(tx: &F::Sender<u32>) -> Result<usize, Verdict> {
    for n in 0..1024 {
        match tx.try_send(n as u32) {
            Ok(()) => {}
            Err(TrySendFailure::Full(_)) => return Ok(n),
            Err(TrySendFailure::Disconnected(_)) => {
                return Err(Verdict::fail(
                    "try_send reported Disconnected with a receiver alive",
                ));
            }
        }
    }
    Err(Verdict::fail(
        "a bounded channel accepted 1 024 try_sends without reporting Full",
    ))
}

/// The bounded capacities at which a send can block: 1 and 4, and 0 where rendezvous is claimed.
fn blocking_caps<F: ChannelFlavor>() -> Vec<usize> {
    let mut caps = vec![1, 4];
    if F::FEATURES.rendezvous {
        caps.insert(0, 0);
    }
    caps
}

fn make<F: ChannelFlavor, T: Send + 'static>(cap: Option<usize>) -> (F::Sender<T>, F::Receiver<T>) {
    match cap {
        Some(c) => F::bounded(c),
        None => F::unbounded(),
    }
}

fn describe(cap: Option<usize>) -> String {
    cap.map_or("unbounded()".into(), |c| format!("bounded({c})"))
}

/// `capacity-exceeded`: `cap` try_sends succeed, the next is `Full`.
pub(super) fn capacity_honoured<F: ChannelFlavor>() -> Verdict {
    for cap in [1usize, 2, 5] {
        step(format!("bounded({cap}): {cap} try_sends, then one more"));
        let (tx, _rx) = F::bounded::<usize>(cap);
        for i in 0..cap {
            if tx.try_send(i).is_err() {
                return Verdict::fail(format!(
                    "bounded({cap}) refused try_send number {} with only {i} values in it",
                    i + 1
                ));
            }
        }
        if tx.try_send(cap).is_ok() {
            return Verdict::fail(format!(
                "bounded({cap}) accepted try_send number {} with nothing received: it holds more than {cap}",
                cap + 1
            ));
        }
    }
    Verdict::Pass
}

/// `fifo-violated`: one sender's values come out in order, on one thread and across two.
pub(super) fn fifo_one_sender<F: ChannelFlavor>() -> Verdict {
    step("one thread: send 0, 1, 2, 3 into bounded(4), then receive four");
    let (tx, rx) = F::bounded::<u32>(4);
    for i in 0..4 {
        if tx.send(i).is_err() {
            return Verdict::fail("send failed with the receiver alive");
        }
    }
    let got: Vec<Option<u32>> = (0..4).map(|_| rx.try_recv().ok()).collect();
    if got != [Some(0), Some(1), Some(2), Some(3)] {
        return Verdict::fail(format!("sent 0, 1, 2, 3 from one thread, received {got:?}"));
    }
    step("a sender thread sends 0..20000 through bounded(16); the receiver checks the order");
    let (tx, rx) = F::bounded::<u32>(16);
    let sender = thread::spawn(move || {
        for i in 0..20_000 {
            if tx.send(i).is_err() {
                return;
            }
        }
    });
    // At most as many receives as sends, never "until closed": a channel that does not wake a
    // receiver when the last sender drops must not hang here, and one that reports the end with
    // values still buffered must not look like a FIFO violation (close-drains-first checks that).
    let receiver = thread::spawn(move || {
        let mut previous = None;
        for _ in 0..20_000 {
            let Some(v) = rx.recv() else {
                return Ok(());
            };
            if previous.is_some_and(|p| v <= p) {
                return Err(format!(
                    "one sender sent 0..20000 in order; {v} was received after {}",
                    previous.unwrap_or_default()
                ));
            }
            previous = Some(v);
        }
        Ok(())
    });
    let Some(()) = join_within(sender, Duration::from_secs(10)) else {
        return Verdict::fail("the sender thread was still blocked after 10 s");
    };
    match join_within(receiver, Duration::from_secs(10)) {
        None => Verdict::fail("the receiver thread was still blocked after 10 s"),
        Some(Err(e)) => Verdict::fail(e),
        Some(Ok(())) => Verdict::Pass,
    }
}

/// `close-before-drain`: values sent before the last sender dropped are received first.
pub(super) fn close_drains_first<F: ChannelFlavor>() -> Verdict {
    for cap in [Some(4), None] {
        step(format!(
            "{}: send 1, 2, 3; drop the sender; receive",
            describe(cap)
        ));
        let (tx, rx) = make::<F, u32>(cap);
        for v in 1..=3 {
            if tx.send(v).is_err() {
                return Verdict::fail("send failed with the receiver alive");
            }
        }
        drop(tx);
        let receiver = thread::spawn(move || (0..4).map(|_| rx.recv()).collect::<Vec<_>>());
        let Some(got) = join_within(receiver, HANG) else {
            return Verdict::fail(format!(
                "{}: recv blocked after the last sender dropped, with values sent before",
                describe(cap)
            ));
        };
        let mut values: Vec<u32> = got.iter().flatten().copied().collect();
        values.sort_unstable();
        if values != [1, 2, 3] || got[3].is_some() {
            return Verdict::fail(format!(
                "{}: sent 1, 2, 3 then dropped the sender; four recv() calls returned {got:?} \
                 (expected the three values, in any order here, then None)",
                describe(cap)
            ));
        }
    }
    Verdict::Pass
}

/// `buffered-values-leak`: values still buffered when both halves drop are dropped exactly once.
pub(super) fn buffered_values_dropped<F: ChannelFlavor>() -> Verdict {
    for cap in [Some(8), None] {
        step(format!(
            "{}: 5 tracked values sent, none received, both halves dropped",
            describe(cap)
        ));
        let ledger = DropLedger::new(5);
        let (tx, rx) = make::<F, Tracked>(cap);
        for id in 0..5 {
            if tx.send(ledger.element(id)).is_err() {
                return Verdict::fail("send failed with the receiver alive");
            }
        }
        drop(tx);
        drop(rx);
        let wrong = ledger.wrong();
        if !wrong.is_empty() {
            let never: Vec<usize> = wrong.iter().filter(|w| w.1 == 0).map(|w| w.0).collect();
            let twice: Vec<(usize, usize)> = wrong.iter().filter(|w| w.1 > 1).copied().collect();
            return Verdict::fail(format!(
                "{}: 5 values buffered, then both halves dropped: never dropped: {never:?}; \
                 dropped more than once (id, times): {twice:?}",
                describe(cap)
            ));
        }
    }
    Verdict::Pass
}

/// `sender-not-woken-on-close`: a sender blocked on a full channel returns its value once the last
/// receiver drops.
pub(super) fn last_receiver_wakes_sender<F: ChannelFlavor>() -> Verdict {
    for cap in blocking_caps::<F>() {
        step(format!(
            "bounded({cap}) filled; a sender blocks; the receiver drops"
        ));
        let (tx, rx) = F::bounded::<u32>(cap);
        if let Err(v) = fill::<F>(&tx) {
            return v;
        }
        let sender = spawn_blocked(move || tx.send(999));
        drop(rx);
        match join_within(sender, HANG) {
            None => {
                return Verdict::fail(format!(
                    "bounded({cap}), full: a sender blocked in send() was still blocked {HANG:?} \
                     after the last receiver dropped"
                ));
            }
            Some(Err(999)) => {}
            Some(other) => {
                return Verdict::fail(format!(
                    "bounded({cap}), full, nobody receiving: send returned {other:?} instead of \
                     Err(999) after the last receiver dropped"
                ));
            }
        }
    }
    Verdict::Pass
}

/// `receiver-not-woken-on-close`: a receiver blocked on an empty channel returns `None` once the
/// last sender drops.
pub(super) fn last_sender_wakes_receiver<F: ChannelFlavor>() -> Verdict {
    let mut caps = vec![Some(1), None];
    if F::FEATURES.rendezvous {
        caps.insert(0, Some(0));
    }
    for cap in caps {
        step(format!(
            "{}: a receiver blocks on the empty channel; the sender drops",
            describe(cap)
        ));
        let (tx, rx) = make::<F, u32>(cap);
        let receiver = spawn_blocked(move || rx.recv());
        drop(tx);
        match join_within(receiver, HANG) {
            None => {
                return Verdict::fail(format!(
                    "{}: a receiver blocked in recv() on an empty channel was still blocked \
                     {HANG:?} after the last sender dropped",
                    describe(cap)
                ));
            }
            Some(None) => {}
            Some(Some(v)) => {
                return Verdict::fail(format!(
                    "{}: recv returned Some({v}) though nothing was sent",
                    describe(cap)
                ));
            }
        }
    }
    Verdict::Pass
}

/// `lost-wakeup`: two waiters, two changes in quick succession; both waiters must get through.
pub(super) fn two_waiters_both_woken<F: ChannelFlavor>() -> Verdict {
    const ROUNDS: usize = 50;
    for round in 1..=ROUNDS {
        step(format!(
            "round {round}: two senders blocked on a full bounded(2); receive back to back"
        ));
        let (tx, rx) = F::bounded::<u32>(2);
        let filled = match fill::<F>(&tx) {
            Ok(n) => n,
            Err(v) => return v,
        };
        let senders: Vec<_> = [100, 101]
            .into_iter()
            .map(|v| {
                let tx = tx.clone();
                spawn_blocked(move || tx.send(v))
            })
            .collect();
        let mut got = Vec::new();
        for _ in 0..filled + 2 {
            match rx.recv_timeout(HANG) {
                Ok(v) => got.push(v),
                Err(RecvTimeoutFailure::Timeout) => {
                    return Verdict::fail(format!(
                        "round {round}: two senders were blocked on a full bounded(2) and the \
                         receiver took values back to back; after {got:?} nothing more arrived in \
                         {HANG:?}: a sender slept on with room free"
                    ));
                }
                Err(RecvTimeoutFailure::Disconnected) => {
                    return Verdict::fail("recv reported Disconnected with senders alive");
                }
            }
        }
        for s in senders {
            if join_within(s, HANG).is_none() {
                return Verdict::fail(format!(
                    "round {round}: a sender whose value was received had not returned after {HANG:?}"
                ));
            }
        }
        if !F::FEATURES.receiver_clones {
            continue;
        }
        step(format!(
            "round {round}: two receivers blocked on an empty bounded(4); send twice back to back"
        ));
        let (tx, rx) = F::bounded::<u32>(4);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.try_clone().expect("receiver_clones");
                spawn_blocked(move || rx.recv_timeout(HANG))
            })
            .collect();
        for v in [1, 2] {
            if tx.send(v).is_err() {
                return Verdict::fail("send failed with receivers alive");
            }
        }
        let results: Vec<_> = receivers
            .into_iter()
            .map(|r| join_within(r, HANG + HANG))
            .collect();
        let mut got: Vec<u32> = results
            .iter()
            .filter_map(|r| r.as_ref().and_then(|r| r.as_ref().ok().copied()))
            .collect();
        got.sort_unstable();
        if got != [1, 2] {
            return Verdict::fail(format!(
                "round {round}: two receivers were blocked on an empty channel and 2 values were \
                 sent back to back; the receivers returned {results:?}: one slept on with a value \
                 in the buffer"
            ));
        }
        drop(rx);
    }
    Verdict::Pass
}

/// A message of the stress test: a tracked value from a producer, or the stop a receiver ends on
/// (so the test does not depend on close waking receivers, which has a scenario of its own).
enum Message {
    Value {
        producer: usize,
        seq: usize,
        value: Tracked,
    },
    Stop,
}

/// Catch-all: many producers and receivers, exact multiset, per-producer order, drop ledger, and no
/// thread left behind.
pub(super) fn stress_ledger<F: ChannelFlavor>() -> Verdict {
    const PRODUCERS: usize = 4;
    const EACH: usize = 2_000;
    let consumers = if F::FEATURES.receiver_clones { 2 } else { 1 };
    let guard = harness::leaks::no_leaks().grace(Duration::from_millis(500));
    for cap in [Some(8), None] {
        step(format!(
            "{}: {PRODUCERS} producers x {EACH}, {consumers} receiver(s)",
            describe(cap)
        ));
        let ledger = DropLedger::new(PRODUCERS * EACH);
        let (tx, rx) = make::<F, Message>(cap);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (tx, ledger) = (tx.clone(), ledger.clone());
                thread::spawn(move || {
                    for seq in 0..EACH {
                        let value = ledger.element(p * EACH + seq);
                        if tx
                            .send(Message::Value {
                                producer: p,
                                seq,
                                value,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                })
            })
            .collect();
        let mut receivers = Vec::new();
        for _ in 1..consumers {
            let rx = rx.try_clone().expect("receiver_clones");
            receivers.push(thread::spawn(move || receive_until_stop::<F>(rx)));
        }
        receivers.push(thread::spawn(move || receive_until_stop::<F>(rx)));
        for (i, p) in producers.into_iter().enumerate() {
            if join_within(p, Duration::from_secs(10)).is_none() {
                return Verdict::fail(format!(
                    "{}: producer {i} was still blocked in send after 10 s",
                    describe(cap)
                ));
            }
        }
        for _ in 0..consumers {
            if tx.send(Message::Stop).is_err() {
                return Verdict::fail("send failed with receivers alive");
            }
        }
        let mut delivered = vec![0usize; PRODUCERS * EACH];
        for r in receivers {
            let Some(got) = join_within(r, Duration::from_secs(10)) else {
                return Verdict::fail(format!(
                    "{}: a receiver was still blocked after 10 s (its stop was sent)",
                    describe(cap)
                ));
            };
            let got = match got {
                Ok(got) => got,
                Err(e) => return Verdict::fail(format!("{}: {e}", describe(cap))),
            };
            for id in got {
                delivered[id] += 1;
            }
        }
        let lost = delivered.iter().filter(|&&n| n == 0).count();
        let twice = delivered.iter().filter(|&&n| n > 1).count();
        if lost + twice > 0 {
            return Verdict::fail(format!(
                "{}: of {} values sent, {lost} were never received and {twice} more than once",
                describe(cap),
                PRODUCERS * EACH
            ));
        }
        drop(tx);
        let wrong = ledger.wrong();
        if !wrong.is_empty() {
            return Verdict::fail(format!(
                "{}: {} values not dropped exactly once (id, drops): {:?}",
                describe(cap),
                wrong.len(),
                &wrong[..wrong.len().min(5)]
            ));
        }
    }
    let leaks = guard.into_report();
    if !leaks.is_clean() {
        return Verdict::fail(format!(
            "threads left running after every handle was dropped: {leaks}"
        ));
    }
    Verdict::Pass
}

/// Receives until a stop; the ids received, or what broke per-producer order.
fn receive_until_stop<F: ChannelFlavor>(rx: F::Receiver<Message>) -> Result<Vec<usize>, String> {
    let mut last_seq: HashMap<usize, usize> = HashMap::new();
    let mut ids = Vec::new();
    loop {
        match rx.recv() {
            None => return Err("recv returned None while senders were alive".into()),
            Some(Message::Stop) => return Ok(ids),
            Some(Message::Value {
                producer,
                seq,
                value,
            }) => {
                if let Some(&prev) = last_seq.get(&producer)
                    && seq <= prev
                {
                    return Err(format!(
                        "producer {producer}'s value {seq} arrived after its value {prev}"
                    ));
                }
                last_seq.insert(producer, seq);
                ids.push(value.id);
            }
        }
    }
}
