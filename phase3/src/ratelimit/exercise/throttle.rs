//! `throttle-debounce`: one keystroke-like trace through every edge, on tokio's paused clock.

use std::time::Duration;

use harness::Ctx;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use crate::ratelimit::{Edge, debounce, throttle};

/// Event `i` arrives at `TRACE_MS[i]`: a burst, a pair, a single, a burst, a single.
pub(crate) const TRACE_MS: &[u64] = &[0, 30, 60, 90, 120, 150, 400, 700, 720, 740, 1_100];
const INTERVAL: Duration = Duration::from_millis(100);
const QUIET: Duration = Duration::from_millis(50);

/// What each operator must emit on the trace, as (event, time ms), derived from the definitions:
/// windows open at the first event of a quiet spell (and, for a trailing emission, at that emission).
/// (event index, emitted at ms).
type Emitted = &'static [(usize, u64)];

const LEADING: Emitted = &[(0, 0), (4, 120), (6, 400), (7, 700), (10, 1_100)];
const TRAILING: Emitted = &[(3, 100), (5, 200), (6, 500), (9, 800), (10, 1_200)];
const BOTH: Emitted = &[
    (0, 0),
    (3, 100),
    (5, 200),
    (6, 400),
    (7, 700),
    (9, 800),
    (10, 1_100),
];
const DEBOUNCED: Emitted = &[(5, 200), (6, 450), (9, 790), (10, 1_150)];

/// Which operator to replay.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operator {
    /// `throttle(interval, edge)`.
    Throttle(Duration, Edge),
    /// `debounce(quiet)`.
    Debounce(Duration),
}

/// Replays `trace` (arrival offsets) through `op` on the current (paused) runtime; returns what came
/// out as (event index, offset from the start).
pub(crate) async fn replay(trace: &[Duration], op: Operator) -> Vec<(usize, Duration)> {
    let start = Instant::now();
    let (in_tx, in_rx) = mpsc::channel(trace.len().max(1));
    let (out_tx, mut out_rx) = mpsc::channel(trace.len().max(1));
    let operator = tokio::spawn(async move {
        match op {
            Operator::Throttle(interval, edge) => throttle(in_rx, out_tx, interval, edge).await,
            Operator::Debounce(quiet) => debounce(in_rx, out_tx, quiet).await,
        }
    });
    let offsets = trace.to_vec();
    let producer = tokio::spawn(async move {
        for (i, at) in offsets.into_iter().enumerate() {
            sleep_until(start + at).await;
            in_tx.send(i).await.expect("operator alive");
        }
        // Dropping `in_tx` closes the input: the operator flushes and returns.
    });
    let mut out = Vec::new();
    while let Some(i) = out_rx.recv().await {
        out.push((i, start.elapsed()));
    }
    producer.await.expect("producer");
    operator.await.expect("operator");
    out
}

pub(super) fn run(ctx: &mut Ctx) {
    ctx.say(format!(
        "Events arrive at {TRACE_MS:?} ms. Throttle interval 100 ms, debounce quiet time 50 ms. \
         Replayed on tokio's paused clock: the timers fire at exact virtual instants, so the output \
         is compared with what each definition gives, to the millisecond."
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    let trace: Vec<Duration> = TRACE_MS
        .iter()
        .map(|&ms| Duration::from_millis(ms))
        .collect();
    let cases: [(&str, Operator, Emitted); 4] = [
        (
            "throttle, leading",
            Operator::Throttle(INTERVAL, Edge::Leading),
            LEADING,
        ),
        (
            "throttle, trailing",
            Operator::Throttle(INTERVAL, Edge::Trailing),
            TRAILING,
        ),
        (
            "throttle, both",
            Operator::Throttle(INTERVAL, Edge::Both),
            BOTH,
        ),
        ("debounce", Operator::Debounce(QUIET), DEBOUNCED),
    ];
    let mut t = ctx.table(
        "emitted: event#@ms",
        &["operator", "emitted", "out of", "events", "as defined"],
    );
    let mut all_exact = true;
    for (name, op, expected) in cases {
        let started = std::time::Instant::now();
        let out = rt.block_on(replay(&trace, op));
        let real = started.elapsed();
        let got: Vec<(usize, u64)> = out
            .iter()
            .map(|&(i, d)| (i, d.as_millis() as u64))
            .collect();
        let exact = got == expected && out.iter().all(|(_, d)| d.subsec_nanos() % 1_000_000 == 0);
        all_exact &= exact;
        t.row([
            name.to_string(),
            got.len().to_string(),
            TRACE_MS.len().to_string(),
            got.iter()
                .map(|(i, ms)| format!("#{i}@{ms}"))
                .collect::<Vec<_>>()
                .join(" "),
            if exact {
                "✓".to_string()
            } else {
                format!("✗ expected {expected:?}")
            },
        ]);
        ctx.record(format!("{name} real time ms"), real.as_secs_f64() * 1e3);
        ctx.check_with(
            format!("{name}: exactly the events and instants its definition gives"),
            exact,
            format!("{} emitted", got.len()),
        );
        if let Operator::Throttle(..) = op {
            ctx.check(
                format!("{name}: emissions at least one interval apart"),
                got.windows(2).all(|w| w[1].1 >= w[0].1 + 100),
            );
        }
    }
    ctx.show(t);
    ctx.takeaway(format!(
        "A throttle caps the rate and keeps events flowing during a burst (leading: the first at once; \
         trailing: the latest, one interval late); a debounce waits for the burst to end and emits \
         once per burst ({} bursts, {} emissions). {}",
        DEBOUNCED.len(),
        DEBOUNCED.len(),
        if all_exact { "Every output matched its definition to the millisecond." } else { "" }
    ));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_section_passes_its_checks() {
        let mut ctx = harness::Ctx::for_test("throttle-debounce");
        super::run(&mut ctx);
        assert_eq!(ctx.failed(), 0, "{:?}", ctx.checks());
    }
}
