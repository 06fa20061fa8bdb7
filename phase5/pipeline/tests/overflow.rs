//! Each overflow policy's counts are exact behind a gated sink: the sink holds item 0 until the
//! gate opens, so its edge fills with the next `CAPACITY` items, and what happens to the rest is
//! the policy. The oracle is what the sink received; the report must agree with it.
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pipeline::{Overflow, Pipeline, Report, Stage};
use tokio::sync::mpsc;

const N: u64 = 50;
const CAPACITY: usize = 8;

/// Runs `0..N` into a gated sink behind an edge of `CAPACITY` with `policy` (through a pass-through
/// stage first when `middle`, so the policy applies to an inner edge); returns what the sink got.
async fn gated(policy: Overflow, middle: bool) -> (Vec<u64>, Report) {
    let (tx, rx) = mpsc::channel(N as usize);
    let (gate, held) = common::Gate::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (sink_gate, sink_seen) = (Arc::clone(&gate), Arc::clone(&seen));
    let source = Pipeline::from_receiver(rx);
    let source = if middle {
        // A middle stage with room for everything: the sink's edge is where items pile up.
        source.map(
            Stage::new("pass").capacity(N as usize),
            |x| async move { x },
        )
    } else {
        source
    };
    let runnable = source.for_each(
        Stage::new("sink").capacity(CAPACITY).overflow(policy),
        move |x: u64| {
            sink_seen.lock().unwrap().push(x);
            let wait = (x == 0).then(|| sink_gate.hold());
            async move {
                if let Some(wait) = wait {
                    wait.await;
                }
            }
        },
    );
    let run = tokio::spawn(runnable.run());
    tx.send(0).await.unwrap();
    held.await.expect("the sink holds item 0");
    for i in 1..N {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    // On the paused clock this sleep ends only once every task is idle: the source has offered all
    // it could (a blocked one waits at the full edge).
    tokio::time::sleep(Duration::from_millis(1)).await;
    gate.open();
    let report = run.await.unwrap().unwrap();
    let seen = seen.lock().unwrap().clone();
    (seen, report)
}

fn check(policy: Overflow, middle: bool) {
    let (seen, report) = common::paused(gated(policy.clone(), middle));
    common::assert_accounted(&report);
    let sink = report.stage("sink").unwrap();
    let c = CAPACITY as u64;
    let lost = N - 1 - c;
    assert_eq!(
        sink.offered, N,
        "{policy}: every item reached the sink's edge"
    );
    assert_eq!(
        sink.completed,
        seen.len() as u64,
        "{policy}: completed = what the sink saw"
    );
    assert_eq!(
        sink.max_depth, CAPACITY,
        "{policy}: the edge filled, and no further"
    );
    match policy {
        Overflow::Block => {
            assert_eq!(seen, (0..N).collect::<Vec<_>>());
            assert_eq!((sink.dropped, sink.rejected), (0, 0));
            let upstream = &report.stages[report.stages.len() - 2];
            assert!(
                upstream.backpressured > 0.0,
                "{policy}: the sender waited: {upstream:?}"
            );
        }
        Overflow::DropNewest => {
            assert_eq!(seen, (0..=c).collect::<Vec<_>>());
            assert_eq!((sink.dropped, sink.rejected), (lost, 0));
        }
        Overflow::DropOldest => {
            let expected: Vec<u64> = std::iter::once(0).chain(N - c..N).collect();
            assert_eq!(seen, expected);
            assert_eq!((sink.dropped, sink.rejected), (lost, 0));
        }
        Overflow::Reject => {
            assert_eq!(seen, (0..=c).collect::<Vec<_>>());
            assert_eq!((sink.dropped, sink.rejected), (0, lost));
            let nacked: Vec<u64> = report.nacks.iter().map(|n| n.seq).collect();
            assert_eq!(
                nacked,
                (c + 1..N).collect::<Vec<_>>(),
                "the source hears of each refusal"
            );
            assert!(report.nacks.iter().all(|n| n.stage == "sink"));
        }
        Overflow::SpillToDisk(_) => {
            panic!("the spilling edge has tests of its own (spill_edge.rs)")
        }
    }
}

#[test]
fn block_delivers_everything_and_backpressures() {
    check(Overflow::Block, false);
    check(Overflow::Block, true);
}

#[test]
fn drop_newest_keeps_the_first_capacity() {
    check(Overflow::DropNewest, false);
    check(Overflow::DropNewest, true);
}

#[test]
fn drop_oldest_keeps_the_last_capacity() {
    check(Overflow::DropOldest, false);
    check(Overflow::DropOldest, true);
}

#[test]
fn reject_reports_every_refusal_to_the_source() {
    check(Overflow::Reject, false);
    check(Overflow::Reject, true);
}

/// While the pipeline runs, the refusals are there to read (the source's way to learn of them
/// before the end), from any point on.
#[test]
fn nacks_can_be_read_while_running() {
    use tokio_util::sync::CancellationToken;
    let (early, later, report) = common::paused(async {
        let (gate, held) = common::Gate::new();
        let sink_gate = Arc::clone(&gate);
        let running = Pipeline::from_iter(0..20u64)
            .for_each(
                Stage::new("sink").capacity(4).overflow(Overflow::Reject),
                move |x| {
                    let wait = (x == 0).then(|| sink_gate.hold());
                    async move {
                        if let Some(wait) = wait {
                            wait.await;
                        }
                    }
                },
            )
            .spawn(CancellationToken::new(), Duration::from_secs(1));
        held.await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await; // the source has offered everything
        let early: Vec<u64> = running.nacks(0).iter().map(|n| n.seq).collect();
        let later: Vec<u64> = running.nacks(10).iter().map(|n| n.seq).collect();
        gate.open();
        (early, later, running.join().await.unwrap())
    });
    // Which items are refused depends on whether the sink took item 0 before the source filled the
    // edge; that every refusal is readable while the sink is still held does not.
    let all: Vec<u64> = report.nacks.iter().map(|n| n.seq).collect();
    assert_eq!(early, all, "every refusal was readable before the end");
    assert_eq!(later, all[10..]);
    let sink = report.stage("sink").unwrap();
    assert_eq!(sink.completed + all.len() as u64, 20);
    assert!(
        all.len() >= 15,
        "at most the held item and 4 queued got through: {report}"
    );
}
