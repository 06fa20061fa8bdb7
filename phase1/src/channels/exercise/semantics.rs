//! `semantics`: the same producer/consumer on a rendezvous, a bounded and an unbounded channel of
//! ours, as a trace of who blocks when.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;

use super::trace::Trace;
use crate::channels::{bounded, unbounded};

const VALUES: usize = 4;

struct Run {
    label: &'static str,
    cap: Option<usize>,
    trace: Trace,
    send_done: Vec<Duration>,
    recv_begin: Vec<Duration>,
    first_recv_begin: Duration,
}

/// One run: the producer sends `VALUES` values as fast as it can; the consumer first waits (up to
/// 2 s) for the producer to have completed `min(cap, VALUES)` sends — the ones that need no receiver —
/// then receives them with a 1 ms pause between receives, so the blocking is visible.
fn traced(label: &'static str, cap: Option<usize>) -> Run {
    let (tx, rx) = match cap {
        Some(c) => bounded::<usize>(c),
        None => unbounded(),
    };
    let trace = Trace::new();
    let completed = Arc::new(AtomicUsize::new(0));
    let free_sends = cap.unwrap_or(VALUES).min(VALUES);
    let producer = {
        let (trace, completed) = (trace.clone(), completed.clone());
        thread::Builder::new()
            .name("ch-sem-send".into())
            .spawn(move || {
                let mut done = vec![];
                for i in 0..VALUES {
                    trace.log("producer", format!("send({i}) begins"));
                    tx.send(i).expect("consumer alive");
                    done.push(trace.log("producer", format!("send({i}) done")));
                    completed.fetch_add(1, SeqCst); // test bookkeeping; SeqCst for simplicity
                }
                done
            })
            .expect("spawn")
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while completed.load(SeqCst) < free_sends && Instant::now() < deadline {
        thread::sleep(Duration::from_micros(200));
    }
    let mut recv_begin = vec![];
    for i in 0..VALUES {
        thread::sleep(Duration::from_millis(1));
        recv_begin.push(trace.log("consumer", "recv() begins"));
        let v = rx.recv().expect("value");
        trace.log("consumer", format!("recv() = {v}"));
        debug_assert_eq!(v, i);
    }
    let send_done = producer.join().expect("producer");
    Run {
        label,
        cap,
        trace,
        send_done,
        first_recv_begin: recv_begin[0],
        recv_begin,
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    ctx.say(
        "A producer sends 4 values; a consumer receives them 1 ms apart. Each row is one event, with its \
         offset from the common start. Watch when each `send` *completes* relative to the receives.",
    );
    let runs = [
        traced("rendezvous (cap 0)", Some(0)),
        traced("bounded (cap 2)", Some(2)),
        traced("unbounded", None),
    ];
    for r in &runs {
        let mut t = ctx.table(
            format!("{} — trace", r.label),
            &["t (µs)", "producer", "consumer"],
        );
        for e in r.trace.events() {
            let us = format!("{}", e.at.as_micros());
            if e.who == "producer" {
                t.row([us, e.what, String::new()]);
            } else {
                t.row([us, String::new(), e.what]);
            }
        }
        ctx.show(t);
    }
    let mut summary = ctx.table(
        "sends that completed before the first recv began",
        &[
            "channel",
            "capacity",
            "sends done before first recv",
            "rule checked",
        ],
    );
    for r in &runs {
        let early = r
            .send_done
            .iter()
            .filter(|d| **d < r.first_recv_begin)
            .count();
        summary.row([
            r.label.to_string(),
            r.cap.map_or("∞".into(), |c| c.to_string()),
            early.to_string(),
            match r.cap {
                Some(0) => "send(i) done after recv #i began".to_string(),
                Some(c) => format!("send(i) done after recv #(i-{c}) began"),
                None => "no send waits".to_string(),
            },
        ]);
        let key = match r.cap {
            Some(0) => "rendezvous".to_string(),
            Some(c) => format!("cap{c}"),
            None => "unbounded".to_string(),
        };
        ctx.record(format!("{key}_sends_before_first_recv"), early);
    }
    ctx.show(summary);
    for r in &runs {
        match r.cap {
            Some(cap) => {
                // A send into a full channel completes only after a receive made room: send(i) needs
                // recv #(i - cap) to have begun (cap 0: its own matching recv).
                let ok = (cap..VALUES).all(|i| r.send_done[i] > r.recv_begin[i - cap]);
                ctx.check(
                    format!(
                        "{}: every send(i) completed after recv #(i-{cap}) began",
                        r.label
                    ),
                    ok,
                );
                let early = r
                    .send_done
                    .iter()
                    .filter(|d| **d < r.first_recv_begin)
                    .count();
                ctx.check_with(
                    format!(
                        "{}: exactly {} sends completed with no receiver",
                        r.label,
                        cap.min(VALUES)
                    ),
                    early == cap.min(VALUES),
                    format!("{early}"),
                );
            }
            None => {
                let early = r
                    .send_done
                    .iter()
                    .filter(|d| **d < r.first_recv_begin)
                    .count();
                ctx.check_with(
                    format!("{}: all {VALUES} sends completed before any recv", r.label),
                    early == VALUES,
                    format!("{early}"),
                );
            }
        }
    }
    ctx.takeaway(
        "Capacity is how far a sender may run ahead of its receiver: 0 means every send waits for a \
         recv (a synchronisation point), N means N sends of slack, unbounded means no back-pressure at all.",
    );
}
