//! `closing`: in Go, `close(ch)` is an explicit call that only a sender should make, exactly once;
//! in Rust a channel closes when the last `Sender` is dropped, so "who closes" is decided by
//! ownership, and a send to a channel nobody reads returns the value instead of panicking.
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::stats::fmt_duration;
use harness::watchdog::{self, Outcome};

use crate::channels::{RecvError, TryRecvError, bounded};

pub(crate) fn run(ctx: &mut Ctx) {
    let mut t = ctx.table(
        "closing, counted",
        &["scenario", "sent", "received / returned", "then"],
    );

    // 1. Drop of the last sender: the buffer drains, then receivers see the disconnection.
    let (tx, rx) = bounded::<u32>(8);
    for v in 0..5 {
        tx.send(v).expect("receiver alive");
    }
    drop(tx);
    let drained: Vec<u32> = rx.iter().collect();
    let after = rx.recv();
    let after_try = rx.try_recv();
    t.row([
        "drop the last Sender with 5 buffered".to_string(),
        "5".into(),
        format!("{} received, in order", drained.len()),
        format!("recv → {after:?}, try_recv → {after_try:?}"),
    ]);
    ctx.check(
        "drain then disconnect: all 5 buffered values received, in order",
        drained == [0, 1, 2, 3, 4],
    );
    ctx.check(
        "after draining, recv reports Disconnected",
        after == Err(RecvError) && after_try == Err(TryRecvError::Disconnected),
    );

    // 2. Dropped receiver: every send fails and returns its value (Go: send on a channel nobody
    // will read blocks forever, and send on a closed channel panics).
    let (tx, rx) = bounded::<String>(8);
    drop(rx);
    let returned: Vec<String> = (0..3)
        .filter_map(|i| tx.send(format!("msg{i}")).err().map(|e| e.0))
        .collect();
    t.row([
        "send after the Receiver was dropped".to_string(),
        "3".into(),
        format!("{} returned to the caller: {returned:?}", returned.len()),
        "no panic, no block".into(),
    ]);
    ctx.check(
        "a dropped receiver makes every send fail and hand its value back",
        returned == ["msg0", "msg1", "msg2"],
    );

    // 3. One closer for many producers: each producer owns a Sender clone; the channel closes when
    // the last one finishes, so the consumer's `for` ends exactly after the last value.
    let producers = 4;
    let per = ctx.pick(1_000, 100);
    let (tx, rx) = bounded::<usize>(16);
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            thread::Builder::new()
                .name(format!("ch-close-p{p}"))
                .spawn(move || (0..per).for_each(|i| tx.send(p * per + i).expect("consumer alive")))
                .expect("spawn")
        })
        .collect();
    drop(tx); // the coordinator's own handle: without this drop the loop below never ends
    let mut seen: Vec<usize> = rx.iter().collect();
    handles
        .into_iter()
        .for_each(|h| h.join().expect("producer"));
    seen.sort_unstable();
    let complete = seen == (0..producers * per).collect::<Vec<_>>();
    t.row([
        format!("{producers} producers, each drops its own Sender clone"),
        format!("{}", producers * per),
        format!("{} received", seen.len()),
        "loop ended when the last clone dropped".into(),
    ]);
    ctx.check(
        "one-closer rule by ownership: every value of every producer received, then the loop ends",
        complete,
    );

    // 4. Broadcast close: dropping one "done" Sender wakes every receiver blocked on it.
    let waiters = 3;
    let (done_tx, done_rx) = bounded::<()>(0);
    let outcome = watchdog::run("ch-broadcast", Duration::from_secs(5), move || {
        let handles: Vec<_> = (0..waiters)
            .map(|i| {
                let done = done_rx.clone();
                thread::Builder::new()
                    .name(format!("ch-close-w{i}"))
                    .spawn(move || done.recv().is_err())
                    .expect("spawn")
            })
            .collect();
        thread::sleep(Duration::from_millis(20)); // let them block
        let t0 = Instant::now();
        drop(done_tx);
        let woken = handles
            .into_iter()
            .map(|h| h.join().expect("waiter"))
            .filter(|d| *d)
            .count();
        (woken, t0.elapsed())
    });
    let (woken, took) = match outcome {
        Outcome::Finished(r) => r,
        _ => (0, Duration::ZERO),
    };
    t.row([
        format!("drop a `done` Sender with {waiters} receivers blocked on it"),
        "0".into(),
        format!("{woken} woken with Disconnected"),
        format!("all woken and joined in {}", fmt_duration(took)),
    ]);
    ctx.record("broadcast_close_wake_all_s", took.as_secs_f64());
    ctx.check(
        "broadcast close: dropping the done Sender woke every blocked receiver",
        woken == waiters,
    );
    ctx.show(t);
    ctx.takeaway(
        "In Rust the last Sender's drop is the close: the refcount enforces Go's one-closer rule, receivers \
         drain first, and a send with no receiver gives the value back instead of panicking.",
    );
}
