//! `spill`: the `overflow` section's producer (an item every 5 ms) and slow sink (10 ms an item)
//! behind the same edge of 8, now under `block` and under `spill-to-disk` with room for everything
//! on disk and with room for 32 items. The oracle is what the sink received and the spill directory
//! on disk; the report's spill counts must agree with both.
use std::path::Path;

use harness::Ctx;
use pipeline::{Overflow, Spill};

use super::overflow::{CAPACITY, CONSUME, PRODUCE, paced};

/// A `u64` record on disk: 8 bytes of frame (length, CRC-32), 8 of payload.
const FRAME: u64 = 16;
/// A segment's magic.
const HEADER: u64 = 8;
/// The capped run's room on disk, in items.
const CAP_ITEMS: u64 = 32;

pub(crate) fn run(ctx: &mut Ctx) {
    let n: u64 = ctx.pick(400, 100);
    let tmp = match harness::tempdir::TempDir::new("pipeline-tour-spill") {
        Ok(t) => t,
        Err(e) => {
            ctx.check_with("a temporary directory for the spill", false, e.to_string());
            return;
        }
    };
    let capped = HEADER + CAP_ITEMS * FRAME;
    ctx.say(format!(
        "{n} items; the producer sends one every {PRODUCE:?}, the sink takes {CONSUME:?} each, its \
         edge holds {CAPACITY} in memory. Under spill-to-disk the rest goes to checksummed segments \
         in a directory and comes back in order; at the disk cap ({capped} bytes = {CAP_ITEMS} items \
         in the capped run) the edge blocks."
    ));
    let mut table = ctx.table(
        "one slow sink: block, spill, spill with a cap",
        &[
            "policy",
            "delivered",
            "in order",
            "spilled",
            "bytes written",
            "most on disk",
            "max depth",
            "source backpressured",
            "dir left",
        ],
    );
    let runs = [
        ("block", Overflow::Block, None),
        (
            "spill-to-disk (1 MiB)",
            spill(tmp.path(), "roomy", 1 << 20),
            Some(tmp.path().join("roomy")),
        ),
        (
            "spill-to-disk (capped)",
            spill(tmp.path(), "capped", capped),
            Some(tmp.path().join("capped")),
        ),
    ];
    let all: Vec<u64> = (0..n).collect();
    let mut results = Vec::new();
    for (label, policy, dir) in runs {
        let Some((seen, report)) = super::paused(paced(n, policy)).flatten() else {
            ctx.check_with(
                format!("{label}: the pipeline runs to its end"),
                false,
                "watchdog or error",
            );
            return;
        };
        let (Some(sink), Some(source)) = (report.stage("sink"), report.stage("source")) else {
            ctx.check_with(
                format!("{label}: the report has its stages"),
                false,
                format!("{report:?}"),
            );
            return;
        };
        let left = dir.as_deref().is_some_and(Path::exists);
        table.row([
            label.to_string(),
            seen.len().to_string(),
            (seen == all).to_string(),
            sink.spilled.to_string(),
            sink.spilled_bytes.to_string(),
            sink.max_spill_bytes.to_string(),
            sink.max_depth.to_string(),
            format!("{:.0} %", 100.0 * source.backpressured),
            if dir.is_some() {
                left.to_string()
            } else {
                "-".into()
            },
        ]);
        ctx.record(format!("{label}_spilled"), sink.spilled);
        results.push((label, seen, report.clone(), left));
    }
    ctx.show(table);
    for (label, seen, report, left) in &results {
        let Some(sink) = report.stage("sink") else {
            continue;
        };
        let source_bp = report.stage("source").map_or(0.0, |s| s.backpressured);
        let base = super::accounted(report)
            && seen == &all
            && sink.dropped + sink.rejected + sink.failed == 0
            && !left;
        let detail = format!(
            "delivered {}, spilled {} ({} bytes, at most {} on disk), source backpressured {:.0} %",
            seen.len(),
            sink.spilled,
            sink.spilled_bytes,
            sink.max_spill_bytes,
            100.0 * source_bp
        );
        let (claim, ok) = if label.starts_with("block") {
            (
                "block: every item in order, nothing on disk, the source waits",
                sink.spilled == 0 && source_bp > 0.0,
            )
        } else if label.contains("capped") {
            (
                "spill, capped: every item in order; the disk never holds more than the cap, and \
                 past it the source waits (backpressure, not loss)",
                sink.spilled > 0 && sink.max_spill_bytes <= capped && source_bp > 0.0,
            )
        } else {
            (
                "spill: every item in order, the backlog written to disk (16 bytes an item) and the \
                 source never waits; the directory is gone after the run",
                sink.spilled > 0 && sink.spilled_bytes == sink.spilled * FRAME && source_bp == 0.0,
            )
        };
        ctx.check_with(format!("{label} — {claim}"), base && ok, detail);
    }
    ctx.takeaway(
        "Spilling turns a full edge into disk instead of waiting or losing: the source runs at its \
         own pace while the disk has room, the order holds (memory first, then the spill as \
         written), and a disk cap turns it back into backpressure.",
    );
}

fn spill(root: &Path, name: &str, max_bytes: u64) -> Overflow {
    Overflow::SpillToDisk(Spill::new::<u64>(root.join(name), max_bytes))
}
