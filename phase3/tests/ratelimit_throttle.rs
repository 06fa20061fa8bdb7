//! Throttle and debounce on tokio's paused clock: on random event traces they emit exactly the events,
//! at exactly the instants, that their definitions give (a reference written from the definitions).
//! Ties (an event at a window's end) are part of the traces: the window closes first.
#![cfg(not(loom))]
use std::time::Duration;

use phase3::ratelimit::{Edge, debounce, throttle};
use proptest::prelude::*;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

#[derive(Debug, Clone, Copy)]
enum Op {
    Throttle(u64, Edge),
    Debounce(u64),
}

/// Runs `op` over events at `times_ms` on a fresh paused runtime; returns (event, emitted at ms).
fn run(times_ms: &[u64], op: Op) -> Vec<(usize, u64)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let times = times_ms.to_vec();
    rt.block_on(async move {
        let start = Instant::now();
        let (in_tx, in_rx) = mpsc::channel(times.len() + 1);
        let (out_tx, mut out_rx) = mpsc::channel(times.len() + 1);
        let operator = tokio::spawn(async move {
            match op {
                Op::Throttle(ms, edge) => {
                    throttle(in_rx, out_tx, Duration::from_millis(ms), edge).await
                }
                Op::Debounce(ms) => debounce(in_rx, out_tx, Duration::from_millis(ms)).await,
            }
        });
        let producer = tokio::spawn(async move {
            for (i, ms) in times.into_iter().enumerate() {
                sleep_until(start + Duration::from_millis(ms)).await;
                in_tx.send(i).await.unwrap();
            }
        });
        let mut out = Vec::new();
        while let Some(i) = out_rx.recv().await {
            let at = start.elapsed();
            assert_eq!(
                at.subsec_nanos() % 1_000_000,
                0,
                "paused time moves in whole timers"
            );
            out.push((i, at.as_millis() as u64));
        }
        producer.await.unwrap();
        operator.await.unwrap();
        out
    })
}

/// The throttle's definition. A window opens at the first event of a quiet spell (leading: emit it
/// now) and lasts `interval`; events before its end join it (the latest is kept). At its end, a
/// trailing throttle emits the latest joined event and that emission opens the next window;
/// otherwise the throttle goes quiet. An event exactly at a window's end arrives after it closed.
fn throttle_model(t: &[u64], interval: u64, edge: Edge) -> Vec<(usize, u64)> {
    let leading = matches!(edge, Edge::Leading | Edge::Both);
    let trailing = matches!(edge, Edge::Trailing | Edge::Both);
    let (mut out, mut i) = (Vec::new(), 0);
    while i < t.len() {
        let mut end = t[i] + interval;
        let mut pending = None;
        if leading {
            out.push((i, t[i]));
        } else {
            pending = Some(i);
        }
        i += 1;
        loop {
            while i < t.len() && t[i] < end {
                pending = Some(i);
                i += 1;
            }
            match pending.take() {
                Some(p) if trailing => {
                    out.push((p, end));
                    end += interval;
                }
                _ => break,
            }
        }
    }
    out
}

/// The debounce's definition: a burst ends when `quiet` passes without an event; its latest event is
/// emitted then. An event exactly `quiet` after the previous one starts a new burst.
fn debounce_model(t: &[u64], quiet: u64) -> Vec<(usize, u64)> {
    let (mut out, mut i) = (Vec::new(), 0);
    while i < t.len() {
        let mut last = i;
        i += 1;
        while i < t.len() && t[i] < t[last] + quiet {
            last = i;
            i += 1;
        }
        out.push((last, t[last] + quiet));
    }
    out
}

fn trace() -> impl Strategy<Value = Vec<u64>> {
    proptest::collection::vec(0u64..40, 0..40).prop_map(|gaps| {
        gaps.iter()
            .scan(0, |t, g| {
                *t += g;
                Some(*t)
            })
            .collect()
    })
}

fn edge() -> impl Strategy<Value = Edge> {
    prop_oneof![Just(Edge::Leading), Just(Edge::Trailing), Just(Edge::Both)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn throttle_emits_what_its_definition_gives(t in trace(), interval in 1u64..60, e in edge()) {
        let got = run(&t, Op::Throttle(interval, e));
        prop_assert_eq!(&got, &throttle_model(&t, interval, e));
        prop_assert!(got.windows(2).all(|w| w[1].1 >= w[0].1 + interval));
    }

    #[test]
    fn debounce_emits_once_per_burst(t in trace(), quiet in 1u64..60) {
        prop_assert_eq!(run(&t, Op::Debounce(quiet)), debounce_model(&t, quiet));
    }
}

#[test]
fn a_hand_checked_trace() {
    // Keystrokes at 0, 10, 20 ms, then 300 ms; interval / quiet 50 ms.
    let t = [0, 10, 20, 300];
    assert_eq!(run(&t, Op::Throttle(50, Edge::Leading)), [(0, 0), (3, 300)]);
    assert_eq!(
        run(&t, Op::Throttle(50, Edge::Trailing)),
        [(2, 50), (3, 350)]
    );
    assert_eq!(
        run(&t, Op::Throttle(50, Edge::Both)),
        [(0, 0), (2, 50), (3, 300)]
    );
    assert_eq!(run(&t, Op::Debounce(50)), [(2, 70), (3, 350)]);
}

#[test]
fn a_closed_output_stops_the_operators() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        for edge in [Edge::Leading, Edge::Trailing, Edge::Both] {
            let (in_tx, in_rx) = mpsc::channel(4);
            let (out_tx, out_rx) = mpsc::channel(4);
            drop(out_rx);
            let op = tokio::spawn(throttle(in_rx, out_tx, Duration::from_millis(10), edge));
            in_tx.send(1).await.unwrap();
            let _ = in_tx.send(2).await;
            tokio::time::timeout(Duration::from_secs(1), op)
                .await
                .expect("throttle returned")
                .unwrap();
        }
        let (in_tx, in_rx) = mpsc::channel(4);
        let (out_tx, out_rx) = mpsc::channel::<i32>(4);
        drop(out_rx);
        let op = tokio::spawn(debounce(in_rx, out_tx, Duration::from_millis(10)));
        in_tx.send(1).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), op)
            .await
            .expect("debounce returned")
            .unwrap();
    });
}
