//! `overflow`: a producer that sends an item every 5 ms in front of a sink that needs 10 ms an item,
//! through an edge of 8, under each overflow policy. The oracle is what the sink received and the
//! source's sequence numbers in the nacks; the report must agree with both.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::Ctx;
use pipeline::{Overflow, Pipeline, Report, Stage};
use tokio::sync::mpsc;

pub(super) const CAPACITY: usize = 8;
pub(super) const PRODUCE: Duration = Duration::from_millis(5);
pub(super) const CONSUME: Duration = Duration::from_millis(10);

/// Runs `0..n` from the paced producer into the slow sink under `policy`; returns what the sink
/// received, in order, and the report.
pub(super) async fn paced(n: u64, policy: Overflow) -> Option<(Vec<u64>, Report)> {
    let (tx, rx) = mpsc::channel(1);
    let producer = tokio::spawn(async move {
        for i in 0..n {
            if tx.send(i).await.is_err() {
                break;
            }
            tokio::time::sleep(PRODUCE).await;
        }
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let report = Pipeline::from_receiver(rx)
        .for_each(
            Stage::new("sink").capacity(CAPACITY).overflow(policy),
            move |x: u64| {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(x);
                tokio::time::sleep(CONSUME)
            },
        )
        .run()
        .await
        .ok()?;
    producer.await.ok()?;
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    Some((seen, report))
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n: u64 = ctx.pick(400, 100);
    ctx.say(format!(
        "{n} items; the producer sends one every {PRODUCE:?}, the sink takes {CONSUME:?} each (2× \
         slower), the sink's edge holds {CAPACITY}; paused clock, so every run is the same run."
    ));
    let mut table = ctx.table(
        "one slow sink, four policies",
        &[
            "policy",
            "delivered",
            "dropped",
            "rejected (nacks)",
            "max depth",
            "source backpressured",
            "virtual time",
        ],
    );
    let mut runs = Vec::new();
    for policy in [
        Overflow::Block,
        Overflow::DropNewest,
        Overflow::DropOldest,
        Overflow::Reject,
    ] {
        let Some((seen, report)) = super::paused(paced(n, policy.clone())).flatten() else {
            ctx.check_with(
                format!("{policy}: the pipeline runs to its end"),
                false,
                "watchdog or error",
            );
            return;
        };
        let (Some(sink), Some(source)) = (report.stage("sink"), report.stage("source")) else {
            ctx.check_with(
                format!("{policy}: the report has its stages"),
                false,
                format!("{report:?}"),
            );
            return;
        };
        table.row([
            policy.to_string(),
            seen.len().to_string(),
            sink.dropped.to_string(),
            format!("{} ({})", sink.rejected, report.nacks.len()),
            sink.max_depth.to_string(),
            format!("{:.0} %", 100.0 * source.backpressured),
            format!("{:?}", report.elapsed),
        ]);
        ctx.record(format!("{policy}_delivered"), seen.len() as u64);
        runs.push((policy, seen, report));
    }
    ctx.show(table);
    let all: Vec<u64> = (0..n).collect();
    for (policy, seen, report) in &runs {
        let Some(sink) = report.stage("sink") else {
            continue;
        };
        let base = super::accounted(report)
            && sink.offered == n
            && sink.completed == seen.len() as u64
            && sink.max_depth == CAPACITY
            && seen.windows(2).all(|w| w[0] < w[1]);
        let detail = format!(
            "offered {}, delivered {}, dropped {}, rejected {}, nacks {}, max depth {}",
            sink.offered,
            seen.len(),
            sink.dropped,
            sink.rejected,
            report.nacks.len(),
            sink.max_depth
        );
        let (label, ok) = match policy {
            Overflow::Block => (
                "block: every item delivered in order, none dropped; the edge fills and the source waits",
                seen == &all
                    && sink.dropped + sink.rejected == 0
                    && report
                        .stage("source")
                        .is_some_and(|s| s.backpressured > 0.0),
            ),
            Overflow::DropNewest => (
                "drop-newest: delivered + dropped = offered, nothing refused, delivered in order",
                sink.dropped > 0 && sink.rejected == 0 && sink.dropped + seen.len() as u64 == n,
            ),
            Overflow::DropOldest => (
                "drop-oldest: delivered + dropped = offered, and the last 8 items are all delivered",
                sink.dropped > 0
                    && sink.rejected == 0
                    && sink.dropped + seen.len() as u64 == n
                    && seen.ends_with(&all[all.len() - CAPACITY..]),
            ),
            Overflow::Reject => {
                // The nacks' sequence numbers and the delivered items partition 0..n exactly.
                let mut union: Vec<u64> = report.nacks.iter().map(|k| k.seq).collect();
                union.extend(seen.iter().copied());
                union.sort_unstable();
                (
                    "reject: each refusal comes back as a nack with its source sequence number; \
                     nacks and deliveries partition the input exactly",
                    sink.rejected > 0
                        && sink.dropped == 0
                        && sink.rejected == report.nacks.len() as u64
                        && union == all,
                )
            }
            Overflow::SpillToDisk(_) => ("spill-to-disk has its own section, `spill`", false),
        };
        ctx.check_with(label, base && ok, detail);
    }
    ctx.takeaway(
        "A bounded edge must decide what a full queue means: wait (and slow the source), lose the \
         newest or the oldest, or refuse and say which. Whichever it is, every item is counted once.",
    );
}
