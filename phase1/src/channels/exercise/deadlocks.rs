//! `deadlocks`: Go's runtime reports "all goroutines are asleep" only when *every* goroutine is
//! blocked; a partial deadlock just hangs, and Rust reports neither. Here each classic channel
//! deadlock runs under a watchdog. Each party records "I wait for X on channel C" in a wait-for
//! graph before blocking; on the timeout the graph shows the cycle. Then the demo is unblocked from
//! outside and joined, and the fixed version runs to completion.
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use harness::Ctx;
use harness::watchdog::{self, Outcome};

use super::wait_for::WaitFor;
use crate::channels::{Sender, bounded};

const JOIN_LIMIT: Duration = Duration::from_secs(3);

/// A broken demo, started: its watchdog outcome, its graph, and how to unblock it.
struct Started {
    outcome: Outcome<()>,
    graph: WaitFor,
    release: Box<dyn FnOnce()>,
}

fn spawn_named<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .expect("spawn")
}

/// 1. Send on a rendezvous channel whose only receiver is the sender itself, later.
fn rendezvous_alone(deadline: Duration) -> Started {
    let (tx, rx) = bounded::<u32>(0);
    let release_rx = rx.clone();
    let graph = WaitFor::default();
    let g = graph.clone();
    let outcome = watchdog::run("ch-dl-alone", deadline, move || {
        {
            let _w = g.wait("main", "main", "ch(cap 0)");
            let _ = tx.send(42); // needs a receiver *now*; the only one is this thread, below
        }
        drop(tx);
        let _ = rx.recv();
    });
    let release = Box::new(move || {
        let _ = release_rx.recv_timeout(JOIN_LIMIT); // a receiver appears: the send completes
    });
    Started {
        outcome,
        graph,
        release,
    }
}

fn rendezvous_alone_fixed(deadline: Duration) -> bool {
    let outcome = watchdog::run("ch-dl-alone-ok", deadline, || {
        let (tx, rx) = bounded::<u32>(1); // a buffer of one decouples the send from the recv
        tx.send(42).expect("open");
        rx.recv() == Ok(42)
    });
    matches!(outcome, Outcome::Finished(true))
}

/// 2. Two parties, each receiving from the other before sending.
fn two_parties(
    deadline: Duration,
    fixed: bool,
) -> (Outcome<()>, WaitFor, Sender<u32>, Sender<u32>) {
    let (a_tx, a_rx) = bounded::<u32>(1); // A → B
    let (b_tx, b_rx) = bounded::<u32>(1); // B → A
    let (rel_a, rel_b) = (a_tx.clone(), b_tx.clone());
    let graph = WaitFor::default();
    let (ga, gb) = (graph.clone(), graph.clone());
    let name = if fixed { "ch-dl-pair-ok" } else { "ch-dl-pair" };
    let outcome = watchdog::run(name, deadline, move || {
        let a = spawn_named("ch-dl-A", move || {
            if fixed {
                a_tx.send(1).expect("open"); // the fix: one side speaks first
            }
            {
                let _w = ga.wait("A", "B", "b→a");
                let _ = b_rx.recv();
            }
            if !fixed {
                let _ = a_tx.send(1);
            }
        });
        let b = spawn_named("ch-dl-B", move || {
            {
                let _w = gb.wait("B", "A", "a→b");
                let _ = a_rx.recv();
            }
            let _ = b_tx.send(2);
        });
        a.join().expect("A");
        b.join().expect("B");
    });
    (outcome, graph, rel_a, rel_b)
}

/// 3. A ring of three stages joined by full channels: each sends two values before receiving.
fn ring(
    deadline: Duration,
    cap: usize,
) -> (Outcome<usize>, WaitFor, Vec<crate::channels::Receiver<u32>>) {
    const STAGES: [&str; 3] = ["S0", "S1", "S2"];
    const LINKS: [&str; 3] = ["s0→s1", "s1→s2", "s2→s0"];
    let chans: Vec<_> = (0..3).map(|_| bounded::<u32>(cap)).collect();
    let release: Vec<_> = chans.iter().map(|(_, rx)| rx.clone()).collect();
    let graph = WaitFor::default();
    let mut parts = vec![];
    for i in 0..3 {
        let tx = chans[i].0.clone();
        let rx = chans[(i + 2) % 3].1.clone();
        parts.push((i, tx, rx, graph.clone()));
    }
    drop(chans);
    let name = if cap >= 2 {
        "ch-dl-ring-ok"
    } else {
        "ch-dl-ring"
    };
    let outcome = watchdog::run(name, deadline, move || {
        let stages: Vec<_> = parts
            .into_iter()
            .map(|(i, tx, rx, g)| {
                spawn_named(&format!("ch-dl-{}", STAGES[i]), move || {
                    for v in 0..2 {
                        let _w = g.wait(STAGES[i], STAGES[(i + 1) % 3], LINKS[i]);
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    drop(tx);
                    rx.iter().count()
                })
            })
            .collect();
        stages.into_iter().map(|s| s.join().expect("stage")).sum()
    });
    (outcome, graph, release)
}

/// The collector's own handle on `results`, reachable from outside so the demo can be released.
type HeldSender = Arc<Mutex<Option<Sender<u32>>>>;

/// 4. Iterating a receiver while still holding one of its Senders.
fn self_held(deadline: Duration, fixed: bool) -> (Outcome<u32>, WaitFor, HeldSender) {
    let (tx, rx) = bounded::<u32>(4);
    // The collector keeps a Sender "to resubmit failed work later": that handle keeps `results` open.
    let resubmit = Arc::new(Mutex::new(if fixed { None } else { Some(tx.clone()) }));
    let held = resubmit.clone();
    let graph = WaitFor::default();
    let g = graph.clone();
    let name = if fixed { "ch-dl-self-ok" } else { "ch-dl-self" };
    let outcome = watchdog::run(name, deadline, move || {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let tx = tx.clone();
                spawn_named(&format!("ch-dl-w{w}"), move || {
                    (1..=3).for_each(|v| tx.send(v).expect("open"))
                })
            })
            .collect();
        drop(tx);
        let _keep = held; // the collector's state, alive for the whole loop
        let _w = g.wait("collector", "collector", "results");
        let total: u32 = rx.iter().sum(); // ends only when every Sender is gone, including ours
        workers.into_iter().for_each(|w| w.join().expect("worker"));
        total
    });
    (outcome, graph, resubmit)
}

/// How a broken run ended: timed out?, the cycle found, the edges at that moment, released and joined?
type Settled = (bool, String, Vec<super::wait_for::Edge>, bool);

/// Reports a broken run: waits (briefly) for every party to have logged its edge — on a loaded
/// machine one may not have been scheduled yet when the watchdog fired — reads the cycle, then
/// releases and joins it.
fn settle<T>(outcome: Outcome<T>, graph: &WaitFor, release: impl FnOnce()) -> Settled {
    match outcome {
        Outcome::TimedOut(stuck) => {
            let patience = Instant::now() + JOIN_LIMIT;
            while graph.cycle().is_none() && Instant::now() < patience {
                thread::sleep(Duration::from_millis(2));
            }
            let edges = graph.edges();
            let cycle = graph.cycle().unwrap_or_else(|| "no cycle recorded".into());
            release();
            (true, cycle, edges, stuck.join_within(JOIN_LIMIT))
        }
        Outcome::Finished(_) => (false, "finished: no deadlock".into(), vec![], true),
        Outcome::Panicked(m) => (false, format!("panicked: {m}"), vec![], true),
    }
}

pub(crate) fn run(ctx: &mut Ctx) {
    let deadline = Duration::from_millis(ctx.pick(300, 150));
    let fixed_deadline = Duration::from_secs(5);
    ctx.say(format!(
        "Each broken demo runs under a {} ms watchdog; every party logs its wait-for edge before blocking.",
        deadline.as_millis()
    ));
    let mut rows = vec![];

    let s = rendezvous_alone(deadline);
    let (timed_out, cycle, edges, released) = settle(s.outcome, &s.graph, s.release);
    let fixed = rendezvous_alone_fixed(fixed_deadline);
    rows.push((
        "send on cap 0 with no other receiver",
        timed_out,
        cycle,
        edges,
        released,
        fixed,
        "cap 1 (or a receiver thread)",
    ));

    let (outcome, graph, rel_a, rel_b) = two_parties(deadline, false);
    let (timed_out, cycle, edges, released) = settle(outcome, &graph, move || {
        let _ = rel_a.send(0);
        let _ = rel_b.send(0);
    });
    let (fixed_outcome, _, _, _) = two_parties(fixed_deadline, true);
    let fixed = matches!(fixed_outcome, Outcome::Finished(()));
    rows.push((
        "A and B each recv before send",
        timed_out,
        cycle,
        edges,
        released,
        fixed,
        "A sends first",
    ));

    let (outcome, graph, release) = ring(deadline, 1);
    let (timed_out, cycle, edges, released) = settle(outcome, &graph, move || {
        for rx in &release {
            let _ = rx.recv_timeout(JOIN_LIMIT); // one slot of room on every link
        }
    });
    let (fixed_outcome, _, _) = ring(fixed_deadline, 2);
    let fixed = matches!(fixed_outcome, Outcome::Finished(6));
    rows.push((
        "ring of 3 full cap-1 channels",
        timed_out,
        cycle,
        edges,
        released,
        fixed,
        "cap ≥ values in flight (2)",
    ));

    let (outcome, graph, resubmit) = self_held(deadline, false);
    let (timed_out, cycle, edges, released) = settle(outcome, &graph, move || {
        drop(resubmit.lock().unwrap().take()); // drop the collector's own Sender
    });
    let (fixed_outcome, _, _) = self_held(fixed_deadline, true);
    let fixed = matches!(fixed_outcome, Outcome::Finished(12));
    rows.push((
        "for v in rx while holding a Sender of rx",
        timed_out,
        cycle,
        edges,
        released,
        fixed,
        "hold no Sender of rx",
    ));

    let mut t = ctx.table(
        "classic channel deadlocks",
        &[
            "deadlock",
            "watchdog",
            "wait-for cycle",
            "released + joined",
            "fix",
            "fixed version",
        ],
    );
    for (name, timed_out, cycle, _, released, fixed, fix) in &rows {
        t.row([
            name.to_string(),
            if *timed_out {
                format!("timed out at {} ms", deadline.as_millis())
            } else {
                "finished?!".into()
            },
            cycle.clone(),
            if *released {
                "yes".into()
            } else {
                "NO".to_string()
            },
            fix.to_string(),
            if *fixed {
                "finished".into()
            } else {
                "did not finish".to_string()
            },
        ]);
    }
    ctx.show(t);
    for (name, _, _, edges, _, _, _) in &rows {
        let list: Vec<String> = edges
            .iter()
            .map(|e| format!("{} waits for {} on {}", e.who, e.on_whom, e.channel))
            .collect();
        ctx.say(format!("{name}: {}", list.join("; ")));
    }
    for (i, (_, timed_out, cycle, _, released, fixed, _)) in rows.iter().enumerate() {
        ctx.record(format!("demo{}_timed_out", i + 1), *timed_out);
        ctx.record(format!("demo{}_cycle", i + 1), cycle.as_str());
        ctx.record(format!("demo{}_released", i + 1), *released);
        ctx.record(format!("demo{}_fixed_finished", i + 1), *fixed);
    }
    for (name, timed_out, cycle, _, released, fixed, _) in &rows {
        ctx.check(
            format!("{name}: caught by the watchdog with a wait-for cycle"),
            *timed_out && !cycle.starts_with("no "),
        );
        ctx.check(format!("{name}: released and joined"), *released);
        ctx.check(format!("{name}: the fixed version finished"), *fixed);
    }
    ctx.takeaway(
        "Every channel deadlock is a cycle in the wait-for graph (a party can be its own predecessor); \
         break the cycle by buffering, by ordering (one side speaks first) or by dropping the handle that \
         keeps a channel open.",
    );
}
