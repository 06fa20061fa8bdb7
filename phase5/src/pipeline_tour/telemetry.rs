//! `telemetry`: Flink's accounting per stage — busy in its function, backpressured waiting for
//! room downstream, idle waiting for input — and the verdict that names the bottleneck, for a chain
//! with one deliberately slow stage.
use std::time::Duration;

use harness::Ctx;
use pipeline::{Pipeline, Report, Stage};

/// source → parse (1 ms) → enrich (`slow` ms) → sink (1 ms), 8 items per edge.
async fn chain(n: u64, slow: u64, enrich_par: usize) -> Option<Report> {
    let ms = Duration::from_millis;
    Pipeline::from_iter(0..n)
        .map(Stage::new("parse").capacity(8), move |x| async move {
            tokio::time::sleep(ms(1)).await;
            x
        })
        .map(
            Stage::new("enrich")
                .with_parallelism(enrich_par)
                .capacity(8),
            move |x| async move {
                tokio::time::sleep(ms(slow)).await;
                x
            },
        )
        .for_each(Stage::new("sink").capacity(8), move |_| async move {
            tokio::time::sleep(ms(1)).await;
        })
        .run()
        .await
        .ok()
}

pub(crate) fn run(ctx: &mut Ctx) {
    let n: u64 = ctx.pick(500, 100);
    ctx.say(format!(
        "{n} items through source → parse (1 ms) → enrich (10 ms, deliberately slow) → sink (1 ms) \
         on the paused clock; then enrich again with 20 workers, which takes it off the critical path."
    ));
    let Some(slow) = super::paused(chain(n, 10, 1)).flatten() else {
        ctx.check_with("the pipeline runs to its end", false, "watchdog or error");
        return;
    };
    let Some(fixed) = super::paused(chain(n, 10, 20)).flatten() else {
        ctx.check_with("the pipeline runs to its end", false, "watchdog or error");
        return;
    };
    for (title, report) in [("enrich ×1", &slow), ("enrich ×20", &fixed)] {
        let mut table = ctx.table(
            format!(
                "{title}: where each stage's time went ({:?} virtual)",
                report.elapsed
            ),
            &["stage", "workers", "done", "busy", "backpressured", "idle"],
        );
        for s in &report.stages {
            table.row([
                s.name.clone(),
                s.parallelism.to_string(),
                s.completed.to_string(),
                format!("{:.0} %", 100.0 * s.busy),
                format!("{:.0} %", 100.0 * s.backpressured),
                format!("{:.0} %", 100.0 * s.idle),
            ]);
        }
        ctx.show(table);
        ctx.say(format!("verdict: {}", report.verdict()));
    }
    let get = |r: &Report, name: &str| r.stage(name).cloned();
    let (Some(parse), Some(enrich), Some(sink)) = (
        get(&slow, "parse"),
        get(&slow, "enrich"),
        get(&slow, "sink"),
    ) else {
        ctx.check_with("the report has every stage", false, format!("{slow:?}"));
        return;
    };
    ctx.record("enrich_busy", enrich.busy);
    ctx.record("parse_backpressured", parse.backpressured);
    ctx.record("sink_idle", sink.idle);
    ctx.check_with(
        "the slow stage is the busiest; the stage before it is mostly backpressured, the one after \
         it mostly idle",
        enrich.busy > parse.busy
            && enrich.busy > sink.busy
            && parse.backpressured > parse.busy
            && parse.backpressured > parse.idle
            && sink.idle > sink.busy,
        format!(
            "enrich busy {:.2}; parse busy {:.2} bp {:.2} idle {:.2}; sink busy {:.2} idle {:.2}",
            enrich.busy, parse.busy, parse.backpressured, parse.idle, sink.busy, sink.idle
        ),
    );
    let verdict = slow.verdict();
    ctx.check_with(
        "the verdict names enrich, with parse as the backpressured upstream",
        verdict.starts_with("enrich is the bottleneck") && verdict.contains("upstream parse"),
        verdict,
    );
    let after = fixed.verdict();
    ctx.check_with(
        "with 20 enrich workers the verdict no longer names enrich, and the run is shorter",
        !after.starts_with("enrich is the bottleneck") && fixed.elapsed < slow.elapsed,
        format!("{after} ({:?} vs {:?})", fixed.elapsed, slow.elapsed),
    );
    ctx.check_with(
        "every item accounted for at every stage, in both runs",
        super::accounted(&slow) && super::accounted(&fixed),
        format!(
            "sink completed {} and {}",
            sink.completed,
            get(&fixed, "sink").map_or(0, |s| s.completed)
        ),
    );
    ctx.takeaway(
        "\"Which stage is slow\" is answered by time shares, not queue lengths: the bottleneck is busy, \
         its upstream waits for room, its downstream waits for input.",
    );
}
